"""Honest twin of a quiet hydra's *newcomers on one client*: a bring-your-own-key phone app.

Some phone apps ask their users for their own API key. When such an app is new or catches on,
its users sign up for an account that week, each on their own card and mail, and every request
comes from the phone: CGNAT leases of one to three carriers, home Wi-Fi, sometimes a VPN --
many /24 prefixes that seldom come back, through several networks. All of them send the
app's one client string and its system prompt. That is the surface of a hydra whose fresh
accounts each rotate through residential exits with one tool (``detect/newcomers.py`` links
exactly such accounts), from people chatting about their own day.

Some of these apps are *shortcuts* (``shortcut_share`` of the apps): a phone's "ask anything"
button that sends one question and shows one answer -- no conversation, any topic, several
times a day. Their users' traffic is single questions over many capability areas: the
harvest shape, from honest people, on the surface a newcomer link reads.

``proxied_app``: the same kind of app in a region the provider does not serve. Its users reach
the API through a proxy service in one to four served countries, a new exit every few hours:
a list of VPN nodes that all its users share and come back to, or a residential pool whose
exits never come back -- new accounts on one client, each hopping through many networks: the
surface of a residential proxy pool, from people chatting (or asking single questions).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillwatch.simulate import infra, timing
from distillwatch.simulate.lookalikes_networks import mobile_plan
from distillwatch.simulate.phone_networks import phone_pools, with_leases
from distillwatch.simulate.plan import (
    DAY,
    Account,
    Ctx,
    Plan,
    active_span,
    identity,
    lognormal_rate,
    proxy_ips,
)
from distillwatch.simulate.populations import Behaviour, Params, chat_plan

#: The app's persona (its system prompt); the users' own questions follow.
PERSONAS = (
    "You are Pocket Buddy, a friendly assistant in a phone app. Keep answers short.",
    "You are the assistant inside a journaling app. Be warm and brief.",
    "You are a travel helper in a mobile app. Answer in a few sentences.",
    "You are a study companion app. Explain simply and check understanding.",
)

#: A shortcut's system prompt: one question, one short answer.
SHORTCUT_PERSONAS = (
    "Answer the user's question directly in a few sentences.",
    "You are the Ask Anything shortcut. Give one clear, short answer.",
    "Reply concisely; the answer is shown in a phone notification.",
)

#: What people ask an "ask anything" button: a bit of everything.
SHORTCUT_MIX = (
    ("knowledge", 0.25),
    ("organic", 0.2),
    ("instructions", 0.15),
    ("reasoning", 0.15),
    ("coding", 0.1),
    ("sentences", 0.1),
    ("safety", 0.05),
)


def byok_accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    """Users of a few apps (``users_per_app`` each): most signed up during the run
    (``new_share``), each in their own country or the app's home market, on free mail, with
    their own card, and the app's client string."""
    sc = ctx.scenario
    out: list[Account] = []
    apps = max(1, round(n / max(1.0, p["users_per_app"])))
    for app in np.array_split(np.arange(n), apps):
        ua = infra.user_agent(rng, "custom")
        shortcut = bool(rng.random() < p["shortcut_share"])
        personas = SHORTCUT_PERSONAS if shortcut else PERSONAS
        persona = personas[int(rng.integers(len(personas)))]
        market = infra.pick_country(rng)
        launch = sc.start_ts + rng.uniform(-3.0, 0.5 * sc.days) * DAY
        for _ in app:
            new = rng.random() < p["new_share"]
            cc = market if rng.random() < p["home_market_share"] else infra.pick_country(rng)
            acct = identity(
                ctx,
                rng,
                label="benign",
                group=group,
                created=max(launch, sc.start_ts - 2 * DAY) + rng.uniform(0, 2.0) * DAY
                if new
                else None,
                country=cc,
                email=infra.email_domain(rng, free=0.9, disposable=0.01),
                payment=infra.hex_ids(rng, 1, 8, "pm_")[0],
                network="none",
            )
            acct.user_agents = (ua,)
            pools = phone_pools(ctx, rng, acct, cc, p)
            acct.shared.update(
                pools=pools,
                power=rng.random() < p["power_share"],
                system=persona,
                shortcut=shortcut,
            )
            out.append(acct)
    return out


def byok_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """A phone user's chat (or a shortcut's single questions) through the app, its persona as
    system prompt, a new address with each lease."""
    chat = shortcut_plan if acct.shared["shortcut"] else mobile_plan
    plan = chat(ctx, acct, p, rng)
    system = acct.shared["system"]
    render = plan.render

    def with_persona(i: int) -> dict[str, Any]:
        b = render(i)
        b["system"] = system
        return b

    plan.render = with_persona
    return plan


def shortcut_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Single questions on any topic, a few at a time through the day; never a follow-up."""
    a, b = active_span(ctx, acct)
    per_day = lognormal_rate(rng, p["sessions_per_day"] * p["shortcut_questions"], 0.8)
    starts = timing.session_starts(rng, a, b, per_day, acct.tz, "office", weekend_factor=0.8)
    one_shot = np.ones(len(starts), dtype=bool)
    plan = chat_plan(
        ctx,
        acct,
        rng,
        starts,
        1.0,
        5.0,
        None,
        p["adopt_new_model"],
        SHORTCUT_MIX,
        out_median=150.0,
        one_shot=one_shot,
    )
    return with_leases(plan, acct, p, rng)


def proxied_accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    """A bring-your-own-key app's users (:func:`byok_accounts`) behind one proxy service per
    app (per client string): a residential pool that rotates (``rotating_share`` of the
    services) or a list of a few dozen VPN nodes that every user of the service switches
    between, in up to ``exit_countries`` countries."""
    out = byok_accounts(ctx, group, p, n, rng, cid)
    services: dict[str, dict[str, Any]] = {}
    for acct in out:
        ua = acct.user_agents[0]
        if ua not in services:
            k = int(rng.integers(1, int(p["exit_countries"]) + 1))
            where = [str(c) for c in rng.choice(infra.COUNTRY_CODES, k, replace=False)]
            rotating = bool(rng.random() < p["rotating_share"])
            nodes = [] if rotating else _vpn_nodes(ctx, rng, where, int(rng.integers(5, 40)))
            services[ua] = {"where": where, "nodes": nodes}
        service = services[ua]
        acct.shared["exit_countries"] = service["where"]
        acct.shared["nodes"] = service["nodes"]
    return out


def _vpn_nodes(
    ctx: Ctx, rng: np.random.Generator, where: list[str], n: int
) -> list[tuple[str, infra.Asn]]:
    """A VPN service's node addresses in ``where``: the same list for all its users."""
    vpns = [a for a in ctx.net.of_kind("vpn") if a.country in where] or ctx.net.of_kind("vpn")
    picked = [vpns[int(i)] for i in rng.integers(0, len(vpns), n)]
    return [(infra.ip_in(rng, asn, 1)[0], asn) for asn in picked]


def proxied_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """The app's chat (:func:`byok_plan`), every request through the proxy service's current
    exit: a new one every ``exit_hours`` (minutes to a day, per user) -- a fresh residential
    address, or one of the service's VPN nodes again."""
    plan = byok_plan(ctx, acct, p, rng)
    ts = plan.ts
    if not len(ts):
        return plan
    per = max(rng.lognormal(np.log(p["exit_hours"] * timing.HOUR), 0.8), 60.0)
    periods = ((ts - ts.min()) // per).astype(np.int64)
    first = len(acct.ips)
    nodes = acct.shared["nodes"]
    if nodes:
        for ip, asn in nodes:
            acct.ips.append(ip)
            acct.asns.append(asn.number)
            acct.ip_countries.append(asn.country)
        chosen = rng.integers(0, len(nodes), int(periods.max()) + 1)
        plan.ip_idx = first + chosen[periods]
    else:
        proxy_ips(ctx, acct, rng, int(periods.max()) + 1, acct.shared["exit_countries"])
        plan.ip_idx = first + periods
    return plan


BYOK_LOOKALIKES: dict[str, Behaviour] = {
    "byok_app": Behaviour(byok_accounts, byok_plan),
    "proxied_app": Behaviour(proxied_accounts, proxied_plan),
}
