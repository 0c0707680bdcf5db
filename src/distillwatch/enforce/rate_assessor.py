"""A simple, real assessor until the online engine lands: request rates and scan verdicts.

It scores an account by its recent request rate (an exponentially decayed counter, two floats
per account) and a cluster by the summed rate of its accounts, and it can start from the
verdicts of an earlier batch ``scan`` (``accounts.jsonl`` and ``campaigns.jsonl``): accounts
flagged yesterday keep their score and their campaign is their cluster today. That makes the
gateway useful on day one — scan last week's logs, put the gateway in front — and gives the
online engine a seam to replace this file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from distillwatch.enforce.assessment import Assessment, IndicatorMatcher, as_matches
from distillwatch.ingest.validate import timestamp_us


@dataclass(frozen=True)
class ScanVerdict:
    """What a batch scan said about an account."""

    score: float
    reasons: tuple[str, ...] = ()
    campaign_id: str | None = None


@dataclass(frozen=True)
class Campaign:
    score: float
    tactics: tuple[str, ...] = ()


class RateAssessor:
    """Scores from decayed request rates, optionally seeded by a scan's verdicts.

    ``half_rate`` is the per-account rate (requests per minute) that scores 0.5;
    ``cluster_half_rate`` the same for a whole cluster. A score rises smoothly with rate
    (``r / (r + half)``), so a policy threshold reads as a rate: score 0.9 = nine times the
    half rate.
    """

    def __init__(
        self,
        half_rate: float = 120.0,
        cluster_half_rate: float = 1200.0,
        window: float = 60.0,
        verdicts: Mapping[str, ScanVerdict] | None = None,
        campaigns: Mapping[str, Campaign] | None = None,
        clusters: Mapping[str, str] | None = None,
        matcher: IndicatorMatcher | None = None,
    ) -> None:
        self.half_rate = half_rate
        self.cluster_half_rate = cluster_half_rate
        self.window = window  # decay time constant in seconds
        self.verdicts = dict(verdicts or {})
        self.campaigns = dict(campaigns or {})
        self.clusters = dict(clusters or {})
        self.matcher = matcher
        self._accounts: dict[str, tuple[float, float]] = {}
        self._clusters: dict[str, tuple[float, float]] = {}
        self._seen = 0

    def assess(self, record: Mapping[str, Any]) -> Assessment:
        account = str(record["account_id"])
        now = timestamp_us(record["ts"], "ts") / 1e6
        verdict = self.verdicts.get(account)
        cluster = self.clusters.get(account) or (verdict.campaign_id if verdict else None)
        rate = self._bump(self._accounts, account, now)
        score = rate / (rate + self.half_rate)
        reasons: list[str] = []
        if score >= 0.5:
            reasons.append(f"{rate:.0f} requests/min recently")
        if verdict is not None and verdict.score > score:
            score = verdict.score
            reasons = [*verdict.reasons, *reasons]
        cluster_score = 0.0
        tactics: tuple[str, ...] = ()
        if cluster is not None:
            cluster_rate = self._bump(self._clusters, cluster, now)
            cluster_score = cluster_rate / (cluster_rate + self.cluster_half_rate)
            if cluster_score >= 0.5:
                reasons.append(f"cluster {cluster}: {cluster_rate:.0f} requests/min recently")
            campaign = self.campaigns.get(cluster)
            if campaign is not None:
                cluster_score = max(cluster_score, campaign.score)
                tactics = campaign.tactics
        self._seen += 1
        if self._seen % 100_000 == 0:
            self._forget(now)
        return Assessment(
            account_id=account,
            cluster_id=cluster,
            score=min(1.0, score),
            cluster_score=min(1.0, cluster_score),
            reasons=tuple(reasons),
            tactics=tactics,
            indicators=as_matches(self.matcher.match(record)) if self.matcher else (),
            # choosing the rate assessor is asking for rate limits: its scores act as they are
            distinctive=True,
        )

    def _bump(self, table: dict[str, tuple[float, float]], key: str, now: float) -> float:
        """Add one request to a decayed counter; the result is requests per minute."""
        value, when = table.get(key, (0.0, now))
        value = value * math.exp(-max(0.0, now - when) / self.window) + 1.0
        table[key] = (value, max(now, when))
        return value * 60.0 / self.window

    def _forget(self, now: float) -> None:
        """Drop counters that decayed to nothing, so memory follows active accounts only."""
        horizon = self.window * 20  # e^-20: nothing left
        for table in (self._accounts, self._clusters):
            for key in [k for k, (_, when) in table.items() if now - when > horizon]:
                del table[key]


def load_scan(scan_dir: Path) -> tuple[dict[str, ScanVerdict], dict[str, Campaign]]:
    """Account verdicts and campaigns from a ``distillwatch scan`` output directory."""
    verdicts: dict[str, ScanVerdict] = {}
    campaigns: dict[str, Campaign] = {}
    accounts_path, campaigns_path = scan_dir / "accounts.jsonl", scan_dir / "campaigns.jsonl"
    if not accounts_path.is_file():
        raise FileNotFoundError(f"{accounts_path}: not found (is {scan_dir} a scan output?)")
    for row in _rows(accounts_path):
        if row.get("flagged"):
            verdicts[str(row["account_id"])] = ScanVerdict(
                score=float(row["score"]),
                reasons=tuple(f"scan: {r}" for r in row.get("reasons") or ()),
                campaign_id=row.get("campaign_id"),
            )
    if campaigns_path.is_file():
        for row in _rows(campaigns_path):
            campaigns[str(row["campaign_id"])] = Campaign(
                score=float(row["score"]), tactics=tuple(row.get("tactics") or ())
            )
    return verdicts, campaigns


def _rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_bytes().splitlines(), 1):
        if line.strip():
            try:
                rows.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON ({exc})") from exc
    return rows
