"""Retro-hunt: which of my accounts share a campaign another member reported?

Run over a scan's enriched requests (``scan`` keeps them in ``DIR/_work/enriched.parquet``
with ``keep_work``) or over traffic logs / an ingested dataset (the template ids are then
computed with the same signal the scan uses). Each distinct combination of an account's
network, client, card, domain and template is matched once against the imported
indicators (:mod:`.match`), at any time -- history is what is being hunted. Accounts whose
evidence for one shared campaign reaches the blocking confidence get a
:class:`~distillwatch.share.findings.SharedCampaignMatch`; weaker overlaps a hint. Their
scores are raised (noisy-OR with the finding's weight, like every other finding) with a
reason naming the member that shared the campaign.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from distillwatch.detect.evidence import Finding, noisy_or
from distillwatch.share.findings import SharedCampaignMatch, SharedIndicatorHint
from distillwatch.share.match import Match, Matcher, combined
from distillwatch.share.traffic import distinct_requests

__all__ = ["Hit", "distinct_requests", "hunt", "raise_scores", "write_hits"]

#: Weaker overlaps than this are not worth a hint (a popular user agent alone).
HINT_AT = 0.5


@dataclass
class Hit:
    account_id: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def block(self) -> bool:
        return any(isinstance(f, SharedCampaignMatch) for f in self.findings)


def hunt(rows: pl.DataFrame, matcher: Matcher) -> list[Hit]:
    """Findings per account that matches shared campaigns (accounts without any left out)."""
    per_account: dict[str, list[Match]] = {}
    for row in rows.iter_rows(named=True):
        found = matcher.evidence(row, any_time=True)
        if found:
            per_account.setdefault(row["account_id"], []).extend(found)
    hits = []
    for account, matches in sorted(per_account.items()):
        hit = Hit(account)
        for (source, campaign), confidence in sorted(combined(matches).items()):
            kinds = tuple(
                sorted({m.kind for m in matches if (m.source, m.campaign) == (source, campaign)})
            )
            if confidence >= matcher.block_at:
                hit.findings.append(SharedCampaignMatch(source, kinds, round(confidence, 3)))
            elif confidence >= HINT_AT:
                hit.findings.append(SharedIndicatorHint(source, kinds, round(confidence, 3)))
        if hit.findings:
            hits.append(hit)
    return hits


def raise_scores(scan_dir: Path, hits: list[Hit], threshold: float) -> int:
    """Rewrite ``accounts.jsonl`` with raised scores and reasons; accounts newly flagged."""
    path = scan_dir / "accounts.jsonl"
    by_account = {h.account_id: h for h in hits}
    rows: list[dict[str, Any]] = [
        orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()
    ]
    newly = 0
    for row in rows:
        hit = by_account.get(row["account_id"])
        if hit is None:
            continue
        boost = noisy_or(hit.findings)
        row["score"] = round(1.0 - (1.0 - float(row["score"])) * (1.0 - boost), 4)
        row["reasons"] = [str(f) for f in hit.findings] + list(row.get("reasons", []))
        row["findings"] = [f.to_dict() for f in hit.findings] + list(row.get("findings", []))
        if not row["flagged"] and row["score"] >= threshold:
            row["flagged"] = True
            newly += 1
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    os.replace(tmp, path)
    return newly


def write_hits(path: Path, hits: list[Hit]) -> None:
    """``retrohunt.jsonl``: one line per matching account, with its action for the engine."""
    path.write_bytes(
        b"".join(
            orjson.dumps(
                {
                    "account_id": h.account_id,
                    "action": "block" if h.block else "review",
                    "reasons": [str(f) for f in h.findings],
                    "findings": [f.to_dict() for f in h.findings],
                }
            )
            + b"\n"
            for h in hits
        )
    )
