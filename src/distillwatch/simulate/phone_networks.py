"""A phone's networks: CGNAT leases of its carriers, home Wi-Fi, a VPN's exits, roaming.

Used by the ``mobile`` look-alike (``lookalikes_networks.py``) and by the bring-your-own-key
phone apps (``lookalikes_byok.py``): the honest surface of residential-proxy rotation, many
/24 prefixes over several networks, one lease at a time.
"""

from __future__ import annotations

import numpy as np

from distillwatch.simulate import infra
from distillwatch.simulate.lookalike_accounts import HOUR, add_ips, pick_asn
from distillwatch.simulate.phrasing import pick
from distillwatch.simulate.plan import Account, Ctx, Plan, lognormal_rate
from distillwatch.simulate.populations import Params


def phone_pools(
    ctx: Ctx, rng: np.random.Generator, acct: Account, cc: str, p: Params
) -> list[tuple[list[int], float]]:
    """A phone's networks, as (address indices in ``acct.ips``, weight) pools: CGNAT
    addresses of one to three carriers, home Wi-Fi (70%), a VPN provider's exits in 1-4
    countries (``vpn_share``), roaming abroad (10%)."""
    vpns = ctx.net.of_kind("vpn")
    weeks = ctx.scenario.days / 7.0
    carriers = ctx.net.of_kind("mobile", cc) + ctx.net.of_kind("carrier", cc)
    k = min(len(carriers), 1 + rng.binomial(2, 0.35))
    n_ips = max(3, round(lognormal_rate(rng, p["ips_per_week"] * weeks, 0.9)))
    picked = rng.choice(len(carriers), k, replace=False).tolist()
    specs = [([carriers[j]], max(1, n_ips // k), 1.0) for j in picked]  # CGNAT pools
    if rng.random() < 0.7:  # home Wi-Fi
        specs.append(([pick_asn(rng, ctx.net.of_kind("residential", cc))], 1, rng.uniform(0.2, 1)))
    if rng.random() < p["vpn_share"]:  # one provider's exits in 1-4 countries
        prov = pick_asn(rng, vpns).name.rsplit(" ", 1)[0]
        mine = [v for v in vpns if v.name.startswith(prov)]
        exits = [mine[e] for e in rng.permutation(len(mine))[: rng.integers(1, 5)].tolist()]
        specs.append((exits, 3, rng.uniform(0.2, 2.0)))
    if rng.random() < 0.1:  # roaming on a trip
        specs.append(([pick_asn(rng, ctx.net.of_kind("mobile", infra.pick_country(rng)))], 3, 0.3))
    return [
        ([i for asn in asns for i in add_ips(acct, infra.ip_in(rng, asn, per), asn)], w)
        for asns, per, w in specs
    ]


def with_leases(plan: Plan, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Give ``plan``'s requests a phone's addresses: a new lease (minutes to a day) from one
    of the phone's pools (``phone_pools``) at a time."""
    ts, pools = plan.ts, acct.shared["pools"]
    lease = rng.lognormal(np.log(p["lease_hours"] * HOUR), 1.2)  # minutes to a day
    _, inv = np.unique(((ts - ts.min()) // lease) if len(ts) else ts, return_inverse=True)
    w = np.array([wt for _, wt in pools])
    which = rng.choice(len(pools), int(inv.max()) + 1 if len(ts) else 0, p=w / w.sum())
    per_lease = [pick(rng, pools[k][0]) for k in which.tolist()]
    plan.ip_idx = np.asarray(per_lease, dtype=np.int64)[inv] if len(ts) else None
    return plan
