"""The volume baseline: what plain per-account rate limiting would catch at the scan's FPR.

A provider without distillwatch would cap or review the busiest accounts. To compare fairly,
the baseline may flag exactly as many benign accounts as the scan did (never more): it flags
every account whose request count is above a threshold, and the threshold is the lowest one
whose benign false positives do not exceed the scan's. Hydra clusters, reseller mixing and
slow-and-low campaigns are built to slip under exactly this line.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from distillwatch.evaluate.load import ATTACK, BENIGN
from distillwatch.evaluate.metrics import GroupRate, Rates, confusion, group_rates

#: Name of the verdict column the baseline adds to the joined frame.
BASELINE_FLAG = "baseline_flagged"


def volume_threshold(benign_requests: list[int], max_benign_flags: int) -> int:
    """The lowest ``t`` such that at most ``max_benign_flags`` benign accounts have ``> t``.

    Accounts tied at ``t`` stay unflagged, so the baseline may flag fewer benign accounts than
    allowed (never more). With ``max_benign_flags == 0`` the threshold is the busiest benign
    account's volume; when every benign account may be flagged it is one below the quietest.
    """
    if not benign_requests:
        return -1
    volumes = sorted(benign_requests, reverse=True)
    if max_benign_flags >= len(volumes):
        return volumes[-1] - 1
    return volumes[max(max_benign_flags, 0)]


@dataclass(frozen=True)
class VolumeBaseline:
    """The baseline's threshold and its figures, next to the scan's."""

    available: bool
    note: str
    threshold: int | None
    max_benign_flags: int
    rates: Rates | None
    tactics: list[GroupRate]
    populations: list[GroupRate]


def volume_baseline(
    labelled: pl.DataFrame, max_benign_flags: int
) -> tuple[VolumeBaseline, pl.DataFrame]:
    """The baseline at ``max_benign_flags`` benign flags, and ``labelled`` with its verdicts.

    The verdict column is :data:`BASELINE_FLAG`. When the scan did not report per-account
    ``requests`` the baseline cannot run: it comes back unavailable and every verdict false.
    """
    if labelled.filter(pl.col("requests").is_null()).height:
        note = "accounts.jsonl has no 'requests' for some accounts; the baseline needs it"
        unavailable = VolumeBaseline(False, note, None, max_benign_flags, None, [], [])
        return unavailable, labelled.with_columns(pl.lit(False).alias(BASELINE_FLAG))
    benign = labelled.filter(pl.col("label") == BENIGN)["requests"].to_list()
    threshold = volume_threshold(benign, max_benign_flags)
    flagged = labelled.with_columns((pl.col("requests") > threshold).alias(BASELINE_FLAG))
    rates = confusion(flagged, BASELINE_FLAG, score="requests")
    note = (
        f"flags accounts with more than {threshold:,} requests "
        f"({rates.false_positives:,} benign flagged, at most {max_benign_flags:,} allowed)"
    )
    baseline = VolumeBaseline(
        available=True,
        note=note,
        threshold=threshold,
        max_benign_flags=max_benign_flags,
        rates=rates,
        tactics=group_rates(flagged, ATTACK, BASELINE_FLAG),
        populations=group_rates(flagged, BENIGN, BASELINE_FLAG),
    )
    return baseline, flagged
