"""Which members of a linked group its verdict is judged on: all but the old, settled ones.

A group is judged on its typical member -- half of it new, the median member on several
networks, exits that do not come back (:mod:`.cluster`) -- which keeps a family, an office,
a class or a phone app's users from reading as a proxy pool. Judged on *every* member, that
typical member can be bought: an operator who puts a hydra's card on as many aged accounts
that chat from home as the hydra has new ones turns the group into a "cohort", and only
the accounts with fraud evidence of their own stay flagged (``benchmarks/results/dilution.md``:
15 aged decoys on the card of a 17-account hydra took it from 17 flagged to 1).

So the group's facts and its pooled behaviour are read from its *voters*: every member but
those that are old (signed up :data:`FRESH_DAYS` or more before their first request, or of
unknown age) **and** settled -- the linked bystanders of :mod:`.membership`: reachable mail,
a network or two whose prefixes come back. Those are the decoys' shape, and the shape of a
family's or a company's long-standing accounts; new members always vote, so a course's or a
phone app's new users still make their group a cohort, and a member that shows the group's
evidence itself (throw-away mail, hopping, exits that do not come back) votes however old.
A group with fewer than :data:`MIN_VOTERS` voters is judged on all its members, as before.

What it costs: a group of old, settled accounts beside a few new ones that hop networks is
judged on the new ones (at least :data:`MIN_VOTERS`; the cluster checks want more, e.g.
eight for a hydra). The bystanders themselves are still never flagged through the group.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from distillwatch.detect.checks.automation import FRESH_DAYS
from distillwatch.detect.checks.proxy_rotation import ProxyRotationCheck
from distillwatch.detect.cluster import MEMBER_NETWORKS
from distillwatch.detect.identity import with_identity
from distillwatch.detect.link import Links
from distillwatch.detect.membership import shows_group_evidence

#: Voters a group needs to be judged on them alone; with fewer, every member votes.
MIN_VOTERS = 2


def votes() -> pl.Expr:
    """Per account row (features with ``disposable_email``): whether it votes -- the
    vectorised negation of "old and :func:`.membership.bystander`"."""
    age = pl.col("account_age_days").cast(pl.Float64)
    recurrence = pl.col("prefix_recurrence").cast(pl.Float64)
    known_age = age.is_not_null() & age.is_not_nan()
    new = known_age & (age < FRESH_DAYS)
    exits_tell = recurrence.is_not_null() & recurrence.is_not_nan()
    shows = (
        pl.col("disposable_email").fill_null(False)
        | (pl.col("asns").cast(pl.Float64).fill_null(0.0) >= MEMBER_NETWORKS)
        | pl.when(exits_tell).then(recurrence < ProxyRotationCheck.proxy_recurrence).otherwise(new)
    )
    return (shows | new).fill_null(False)


def votes_one(member: Mapping[str, Any]) -> bool:
    """:func:`votes` for one account's features (the online engine's path)."""
    age = member.get("account_age_days")
    new = age is not None and age == age and float(age) < FRESH_DAYS  # NaN is unknown
    return new or shows_group_evidence(member)


def voting_members(accounts: pl.DataFrame, links: Links) -> pl.DataFrame:
    """``account_id``, ``component`` of the members each linked group is judged on."""
    membership = pl.DataFrame(
        {"account_id": links.accounts, "component": np.asarray(links.component, np.int64)},
        schema={"account_id": pl.String, "component": pl.Int64},
    )
    frame = (
        with_identity(accounts)
        .select("account_id", votes().alias("votes"))
        .join(membership, on="account_id")
    )
    voters = pl.col("votes").sum().over("component")
    return frame.filter(pl.col("votes") | (voters < MIN_VOTERS)).select("account_id", "component")
