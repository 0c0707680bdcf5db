"""Building blocks of the honest look-alikes' identities: group sizes, sign-up times, networks.

Shared by the identity look-alikes (``lookalikes_groups.py``, ``lookalikes_networks.py``) and
the phones' networks (``phone_networks.py``); each helper draws from the caller's ``rng`` in
a fixed order, so a population's traffic depends only on its own seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillwatch.simulate import infra
from distillwatch.simulate.plan import DAY, Account, Ctx, identity, lognormal_rate

HOUR = 3600.0


def group_sizes(rng: np.random.Generator, n: int, mean: float, least: int) -> list[int]:
    """Group sizes, log-normal around ``mean`` (at least ``least``), adding up to ``n``."""
    out: list[int] = []
    while sum(out) < n:
        out.append(max(least, round(lognormal_rate(rng, mean, 0.7))))
    if out:
        out[-1] -= sum(out) - n
    if len(out) > 1 and out[-1] < least:  # a too-small remainder joins the group before
        rest = out.pop()  # (not ``out[-2] += out.pop()``: its target is picked before the pop)
        out[-1] += rest
    return out


def pick_asn(rng: np.random.Generator, asns: list[infra.Asn]) -> infra.Asn:
    """One of ``asns``, uniformly."""
    return asns[int(rng.integers(len(asns)))]


def add_ips(acct: Account, ips: list[str], asn: infra.Asn) -> list[int]:
    """Give ``acct`` these addresses of ``asn``; return their indices in ``acct.ips``."""
    first = len(acct.ips)
    acct.ips.extend(ips)
    acct.asns.extend([asn.number] * len(ips))
    acct.ip_countries.extend([asn.country] * len(ips))
    return list(range(first, len(acct.ips)))


def nat_pool(rng: np.random.Generator, asn: infra.Asn, prefixes: int, most: int) -> list[str]:
    """A NAT pool: 1 to ``most`` addresses in each of ``prefixes`` /24s of ``asn``."""
    bases = infra.ip_in(rng, asn, prefixes)
    return [ip for b in bases for ip in infra.same_prefix(rng, b, int(rng.integers(1, most + 1)))]


def new_or_aged(ctx: Ctx, rng: np.random.Generator, new_share: float) -> float | None:
    """A sign-up time during the run for ``new_share`` of accounts, else None (aged)."""
    sc = ctx.scenario
    return sc.start_ts + rng.uniform(0, 0.8) * sc.days * DAY if rng.random() < new_share else None


def benign(ctx: Ctx, rng: np.random.Generator, group: str, **kw: Any) -> Account:
    """An honest account of ``group`` with no network of its own yet (the caller adds it)."""
    return identity(ctx, rng, label="benign", group=group, network="none", **kw)
