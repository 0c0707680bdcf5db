"""Campaign figures: which true campaigns the scan detected, and how pure its campaigns are.

A true campaign (accounts sharing a ``campaign_id`` in the labels) is *detected* when at least
half of its accounts are flagged: enough to act on the rest through their links. A predicted
campaign (accounts sharing the scan's ``campaign_id``) is *pure* to the extent its members
come from one true campaign; benign members, and members the labels do not know, are impure,
because acting on a campaign acts on all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from distillwatch.evaluate.metrics import ratio

#: Share of a true campaign's accounts that must be flagged for it to count as detected.
DETECTED_SHARE = 0.5


@dataclass(frozen=True)
class TrueCampaign:
    """One campaign of the ground truth, and how the scan saw it."""

    campaign_id: str
    tactic: str
    accounts: int
    flagged: int
    flagged_share: float
    detected: bool
    missing_from_scan: int
    #: predicted campaign id -> how many of this campaign's accounts it holds
    covered_by: dict[str, int]


@dataclass(frozen=True)
class PredictedCampaign:
    """One campaign the scan reported, and what it really holds."""

    campaign_id: str
    accounts: int
    purity: float
    majority_campaign: str | None
    benign_members: int
    unlabelled_members: int


@dataclass(frozen=True)
class CampaignFigures:
    true_campaigns: list[TrueCampaign]
    predicted: list[PredictedCampaign]
    total: int
    detected: int
    recall: float | None
    mean_purity: float | None
    min_purity: float | None


def _true_campaigns(joined: pl.DataFrame) -> list[TrueCampaign]:
    members = joined.filter(pl.col("in_labels") & pl.col("true_campaign").is_not_null())
    per = (
        members.group_by("true_campaign")
        .agg(
            tactic=pl.col("group").mode().sort().first(),
            accounts=pl.len(),
            flagged=pl.col("flagged").sum(),
            missing=(~pl.col("in_scan")).sum(),
        )
        .sort("true_campaign")
    )
    cover = (
        members.filter(pl.col("campaign_id").is_not_null())
        .group_by("true_campaign", "campaign_id")
        .agg(n=pl.len())
        .sort("n", "campaign_id", descending=[True, False])
    )
    covered: dict[str, dict[str, int]] = {}
    for true_id, pred_id, n in cover.iter_rows():
        covered.setdefault(true_id, {})[pred_id] = int(n)
    out = []
    for true_id, tactic, n, flagged, missing in per.iter_rows():
        share = int(flagged) / int(n)
        out.append(
            TrueCampaign(
                campaign_id=true_id,
                tactic=tactic,
                accounts=int(n),
                flagged=int(flagged),
                flagged_share=share,
                detected=share >= DETECTED_SHARE,
                missing_from_scan=int(missing),
                covered_by=covered.get(true_id, {}),
            )
        )
    return out


def _predicted(joined: pl.DataFrame) -> list[PredictedCampaign]:
    members = joined.filter(pl.col("campaign_id").is_not_null())
    sizes = members.group_by("campaign_id").agg(
        accounts=pl.len(),
        benign=(pl.col("in_labels") & pl.col("true_campaign").is_null()).sum(),
        unlabelled=(~pl.col("in_labels")).sum(),
    )
    majority = (
        members.filter(pl.col("true_campaign").is_not_null())
        .group_by("campaign_id", "true_campaign")
        .agg(n=pl.len())
        .sort("n", "true_campaign", descending=[True, False])
        .group_by("campaign_id", maintain_order=True)
        .first()
    )
    rows = sizes.join(majority, on="campaign_id", how="left").sort("campaign_id")
    return [
        PredictedCampaign(
            campaign_id=cid,
            accounts=int(n),
            purity=int(top or 0) / int(n),
            majority_campaign=true_id,
            benign_members=int(benign),
            unlabelled_members=int(unlabelled),
        )
        for cid, n, benign, unlabelled, true_id, top in rows.select(
            "campaign_id", "accounts", "benign", "unlabelled", "true_campaign", "n"
        ).iter_rows()
    ]


def campaign_figures(joined: pl.DataFrame) -> CampaignFigures:
    """Campaign recall and purity from the joined frame of ``join_scan_labels``."""
    true_campaigns = _true_campaigns(joined)
    predicted = _predicted(joined)
    purities = [p.purity for p in predicted]
    detected = sum(t.detected for t in true_campaigns)
    return CampaignFigures(
        true_campaigns=true_campaigns,
        predicted=predicted,
        total=len(true_campaigns),
        detected=detected,
        recall=ratio(detected, len(true_campaigns)),
        mean_purity=sum(purities) / len(purities) if purities else None,
        min_purity=min(purities) if purities else None,
    )
