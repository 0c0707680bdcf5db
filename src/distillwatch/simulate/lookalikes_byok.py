"""Honest twin of a quiet hydra's *newcomers on one client*: a bring-your-own-key phone app.

Some phone apps ask their users for their own API key. When such an app is new or catches on,
its users sign up for an account that week, each on their own card and mail, and every request
comes from the phone: CGNAT leases of one to three carriers, home Wi-Fi, sometimes a VPN --
many /24 prefixes that seldom come back, through several networks. All of them send the
app's one client string and its system prompt. That is the surface of a hydra whose fresh
accounts each rotate through residential exits with one tool (``detect/newcomers.py`` links
exactly such accounts), from people chatting about their own day.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillwatch.simulate import infra
from distillwatch.simulate.lookalikes_identity import mobile_plan, phone_pools
from distillwatch.simulate.plan import DAY, Account, Ctx, Plan, identity
from distillwatch.simulate.populations import Behaviour, Params

#: The app's persona (its system prompt); the users' own questions follow.
PERSONAS = (
    "You are Pocket Buddy, a friendly assistant in a phone app. Keep answers short.",
    "You are the assistant inside a journaling app. Be warm and brief.",
    "You are a travel helper in a mobile app. Answer in a few sentences.",
    "You are a study companion app. Explain simply and check understanding.",
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
        persona = PERSONAS[int(rng.integers(len(PERSONAS)))]
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
            acct.shared.update(pools=pools, power=rng.random() < p["power_share"], system=persona)
            out.append(acct)
    return out


def byok_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """A phone user's chat through the app (its persona as system prompt), a new address
    with each lease."""
    plan = mobile_plan(ctx, acct, p, rng)
    system = acct.shared["system"]
    render = plan.render

    def with_persona(i: int) -> dict[str, Any]:
        b = render(i)
        b["system"] = system
        return b

    plan.render = with_persona
    return plan


BYOK_LOOKALIKES: dict[str, Behaviour] = {"byok_app": Behaviour(byok_accounts, byok_plan)}
