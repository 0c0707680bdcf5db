"""Honest accounts on many addresses and networks: people on phones, apps behind cloud NAT.

``mobile`` mirrors residential-proxy rotation (CGNAT leases, home Wi-Fi, VPN exits, roaming;
see ``phone_networks.py``); ``cloud_egress`` mirrors hydra's many IPs and bulk's volume (an
enterprise app whose calls leave through a cloud egress pool). Registered in
``lookalikes_identity.IDENTITY_LOOKALIKES``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillwatch.simulate import infra, timing
from distillwatch.simulate.lookalike_accounts import add_ips, benign, nat_pool, new_or_aged
from distillwatch.simulate.phone_networks import phone_pools, with_leases
from distillwatch.simulate.phrasing import pick
from distillwatch.simulate.plan import (
    Account,
    Ctx,
    Plan,
    active_span,
    body,
    lognormal_rate,
    out_tokens,
    pick_models,
    user,
)
from distillwatch.simulate.populations import Params, casual_plan, power_plan
from distillwatch.simulate.starter_kits import PRODUCTS


# --- mobile: phones, CGNAT and VPNs (mirrors residential-proxy rotation) -------------------
def mobile_accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    """Mirrors residential-proxy rotation (hydra). People on phones: CGNAT addresses over one or
    more carriers, home Wi-Fi, some behind a VPN's exits in a few countries, some travelling
    (roaming abroad)."""
    out: list[Account] = []
    for _ in range(n):
        cc = infra.pick_country(rng)
        acct = benign(
            ctx,
            rng,
            group,
            created=new_or_aged(ctx, rng, 0.05),
            country=cc,
            email=infra.email_domain(rng, free=0.85, disposable=0.01),
            ua_family=pick(rng, ("browser", "custom", "http", "sdk")),
        )
        pools = phone_pools(ctx, rng, acct, cc, p)
        acct.shared.update(pools=pools, power=rng.random() < p["power_share"])
        out.append(acct)
    return out


def mobile_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Casual or power chat; the address changes with each lease (CGNAT, network, VPN)."""
    plan = (power_plan if acct.shared["power"] else casual_plan)(ctx, acct, p, rng)
    return with_leases(plan, acct, p, rng)


# --- cloud_egress: apps behind cloud NAT (mirrors hydra's many IPs and bulk's volume) -------
def cloud_egress_accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    """Mirrors hydra's many IPs and bulk's volume. An enterprise app whose calls leave through a
    cloud NAT/egress pool: many /24 prefixes in 2-``asns_max`` cloud ASNs, a few keys, an aged
    (sometimes new) account."""
    big = ctx.net.of_kind("hyperscale")
    pool = big + ctx.net.of_kind("cloud")
    out: list[Account] = []
    for _ in range(n):
        acct = benign(
            ctx,
            rng,
            group,
            created=new_or_aged(ctx, rng, 0.08),
            age_days=(20.0, 900.0),
            email=infra.corporate_domain(rng),
            ua_family=pick(rng, ("sdk", "http", "custom")),
            n_keys=int(rng.integers(1, 6)),
        )
        k = int(rng.integers(2, max(2, int(p["asns_max"])) + 1))
        prefixes = int(np.clip(round(lognormal_rate(rng, p["prefixes"], 0.7)), 2 * k, 80))
        # one large egress range, the rest anywhere; prefixes spread by each ASN's size
        chosen = [int(rng.integers(len(big))), *rng.choice(len(pool), k - 1, replace=False)]
        chosen = list(dict.fromkeys(chosen))  # (the large one may be drawn twice)
        size = np.array([len(pool[j].blocks) * pool[j].block_size for j in chosen], float)
        for j, m in zip(chosen, rng.multinomial(prefixes, size / size.sum()) + 1, strict=True):
            add_ips(acct, nat_pool(rng, pool[j], int(m), 3), pool[j])
        acct.ip_mode = "pool"
        out.append(acct)
    return out


def cloud_egress_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Steady automated product traffic: one system prompt, end users' text as payload."""
    a, b = active_span(ctx, acct)
    rate = lognormal_rate(rng, p["requests_per_day"], 1.0)
    ts = timing.poisson_stream(rng, a, b, rate, acct.tz, pick(rng, ("flat", "office", "evening")))
    n = len(ts)
    system, tmpl = pick(rng, PRODUCTS)
    system = system.format(co=acct.email_domain.split(".")[0].title())
    texts = ctx.corpus.draw(rng, pick(rng, ("organic", "sentences", "batch", "instructions")), n)
    docs = ctx.corpus.draw(rng, "knowledge", n) if "{c}" in tmpl else [""] * n
    models = pick_models(ctx, rng, ts, 0.15)
    outs = out_tokens(rng, n, rng.uniform(60.0, 400.0), 0.5)
    params: Params = {"temperature": float(pick(rng, (0.0, 0.2, 0.7))), "max_tokens": 1024}

    def render(i: int) -> dict[str, Any]:
        msgs = [user(tmpl.format(x=texts[i], c=docs[i]))]
        return body(str(models[i]), msgs, params, int(outs[i]), system=system)

    return Plan(ts, render)
