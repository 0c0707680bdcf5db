"""Online figures from a ``replay``: what each campaign got answered, what honest users lost.

Every answered request of a distillation campaign is training data gone, so a campaign's
*leak* is its answered requests (count and share of what it sent). The price is honest
requests refused -- throttled, challenged or blocked -- as a share of all benign requests.
Targets (issue "online engine"): median leak per campaign <= 5%, none over 20%, benign
refused <= 0.01%.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from distillwatch.evaluate.load import ATTACK, BENIGN, NoOverlapError, load_labels
from distillwatch.report.scandir import INT, OPT_STRING, STRING, Field, iter_jsonl, optional

REPLAY_FIELDS: dict[str, Field] = {
    "account_id": STRING,
    "requests": INT,
    "refused": INT,
    "first_refused": optional(OPT_STRING),
}
MEDIAN_LEAK_TARGET = 0.05
MAX_LEAK_TARGET = 0.20
BENIGN_REFUSED_TARGET = 0.0001


@dataclass(frozen=True)
class CampaignLeak:
    campaign: str
    tactic: str
    accounts: int
    requests: int
    answered: int

    @property
    def share(self) -> float:
        return self.answered / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class OnlineFigures:
    campaigns: list[CampaignLeak]
    benign_requests: int
    benign_refused: int
    benign_accounts_refused: int
    #: benign population -> requests refused
    refused_by_population: dict[str, int]

    @property
    def median_leak(self) -> float | None:
        return statistics.median(c.share for c in self.campaigns) if self.campaigns else None

    @property
    def max_leak(self) -> float | None:
        return max(c.share for c in self.campaigns) if self.campaigns else None

    @property
    def benign_refused_share(self) -> float | None:
        return self.benign_refused / self.benign_requests if self.benign_requests else None

    def targets(self) -> list[tuple[str, float | None, str, bool]]:
        """(figure, value, goal, met) for the three online targets."""
        med, top, refused = self.median_leak, self.max_leak, self.benign_refused_share
        return [
            (
                "median leak per campaign",
                med,
                "<= 5%",
                med is not None and med <= MEDIAN_LEAK_TARGET,
            ),
            ("largest campaign leak", top, "<= 20%", top is not None and top <= MAX_LEAK_TARGET),
            (
                "benign requests refused",
                refused,
                "<= 0.01%",
                refused is not None and refused <= BENIGN_REFUSED_TARGET,
            ),
        ]


def load_replay_accounts(replay_dir: Path) -> pl.DataFrame:
    path = replay_dir / "replay-accounts.jsonl"
    rows = [obj for _, obj in iter_jsonl(path, REPLAY_FIELDS)]
    return pl.DataFrame(
        {
            "account_id": [r["account_id"] for r in rows],
            "requests": [r["requests"] for r in rows],
            "refused": [r["refused"] for r in rows],
        },
        schema={"account_id": pl.String, "requests": pl.Int64, "refused": pl.Int64},
    )


def online_figures(replay_dir: Path, labels_path: Path) -> OnlineFigures:
    """Read ``replay-accounts.jsonl`` of a replay and the labels; compute the figures."""
    replayed = load_replay_accounts(replay_dir)
    joined = replayed.join(load_labels(labels_path), on="account_id", how="inner")
    if joined.height == 0:
        raise NoOverlapError(f"{replay_dir} and {labels_path} share no account id")
    attack = joined.filter(pl.col("label") == ATTACK)
    per_campaign = (
        attack.with_columns(pl.coalesce("true_campaign", "account_id").alias("campaign"))
        .group_by("campaign")
        .agg(
            pl.col("group").first().alias("tactic"),
            pl.len().alias("accounts"),
            pl.col("requests").sum(),
            (pl.col("requests") - pl.col("refused")).sum().alias("answered"),
        )
        .sort("campaign")
    )
    benign = joined.filter(pl.col("label") == BENIGN)
    refused = benign.group_by("group").agg(pl.col("refused").sum()).filter(pl.col("refused") > 0)
    return OnlineFigures(
        campaigns=[CampaignLeak(**row) for row in per_campaign.iter_rows(named=True)],
        benign_requests=int(benign["requests"].sum()),
        benign_refused=int(benign["refused"].sum()),
        benign_accounts_refused=int((benign["refused"] > 0).sum()),
        refused_by_population=dict(refused.iter_rows()),
    )
