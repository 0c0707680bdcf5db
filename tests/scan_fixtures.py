"""Build scan output v1 directories (``docs/scan-output.md``) and labels files by hand.

Tests of anything that reads a scan (report, evaluate, later the dashboard) use these instead
of running a scan, so each test states exactly the scan it reads. Every file follows the
contract field for field; ``write_scan`` derives ``summary.json`` and ``timeline.parquet``
from the accounts unless a test gives its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from distillwatch.report.scandir import TIMELINE_SCHEMA

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def iso(hours: float) -> str:
    """RFC 3339 time ``hours`` after :data:`START`."""
    return (START + dt.timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def cid(n: int) -> str:
    """A campaign id in the contract's form (``C-`` + 8 hex)."""
    return f"C-{n:08x}"


def account(
    account_id: str,
    score: float = 0.05,
    flagged: bool = False,
    campaign_id: str | None = None,
    requests: int = 10,
    reasons: Sequence[str] = (),
    hours: tuple[float, float] = (0.0, 5.0),
) -> dict[str, Any]:
    """One ``accounts.jsonl`` row; a flagged account without reasons gets one."""
    if flagged and not reasons:
        reasons = ["93% of prompts elicit step-by-step reasoning"]
    return {
        "account_id": account_id,
        "score": score,
        "flagged": flagged,
        "campaign_id": campaign_id,
        "reasons": list(reasons),
        "requests": requests,
        "first_seen": iso(hours[0]),
        "last_seen": iso(hours[1]),
        "findings": [
            {"kind": "cot_share", "severity": "high", "text": r, "tactic": "cot_harvesting"}
            for r in reasons
        ],
    }


def campaign(
    campaign_id: str,
    members: Sequence[dict[str, Any]],
    score: float = 0.95,
    tactics: Sequence[str] = ("hydra_cluster", "cot_harvesting"),
    capabilities: dict[str, float] | None = None,
) -> dict[str, Any]:
    """One ``campaigns.jsonl`` row over the given account rows (volume and span from them)."""
    return {
        "campaign_id": campaign_id,
        "accounts": [m["account_id"] for m in members],
        "score": score,
        "first_seen": min(m["first_seen"] for m in members),
        "last_seen": max(m["last_seen"] for m in members),
        "requests": sum(m["requests"] for m in members),
        "tactics": list(tactics),
        "capabilities": capabilities or {"reasoning": 0.5, "coding": 0.3, "translation": 0.2},
        "indicators": {
            "ip_prefixes": ["203.0.113.0/24"],
            "asns": [64500],
            "user_agents": ["python-requests/2.31"],
            "payment_fingerprints": ["pf_1"],
            "email_domains": ["mailinator.com"],
            "template_ids": ["00ff00ff00ff00ff"],
        },
        "links": {"payment_fingerprint": len(members) - 1, "template": 3},
        "reasons": [f"shares a payment fingerprint with {len(members) - 1} accounts"],
    }


def sample(account_id: str, campaign_id: str | None, prompt: str, hours: float = 1.0) -> dict:
    """One ``samples.jsonl`` row."""
    return {
        "campaign_id": campaign_id,
        "account_id": account_id,
        "ts": iso(hours),
        "capability": "reasoning",
        "cot_elicit": True,
        "grading_request": False,
        "language": "en",
        "prompt": prompt,
    }


def timeline_from(accounts: Iterable[dict[str, Any]]) -> pl.DataFrame:
    """``timeline.parquet`` rows: each account's requests spread evenly over its active hours."""
    rows: dict[tuple[dt.datetime, str | None, bool], int] = {}
    for a in accounts:
        first = dt.datetime.fromisoformat(a["first_seen"])
        hours = (
            max(int((dt.datetime.fromisoformat(a["last_seen"]) - first) / dt.timedelta(hours=1)), 0)
            + 1
        )
        for h in range(hours):
            total = a.get("requests") or 0
            n = total // hours + (1 if h < total % hours else 0)
            if n:
                key = (first + dt.timedelta(hours=h), a["campaign_id"], a["flagged"])
                rows[key] = rows.get(key, 0) + n
    return pl.DataFrame(
        [
            (h, c, f, n)
            for (h, c, f), n in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
        ],
        schema=TIMELINE_SCHEMA,
        orient="row",
    )


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def write_scan(
    out: Path,
    accounts: Sequence[dict[str, Any]],
    campaigns: Sequence[dict[str, Any]] = (),
    samples: Sequence[dict[str, Any]] = (),
    quarantined: dict[str, int] | None = None,
    timeline: pl.DataFrame | None = None,
    link_graphs: Sequence[dict[str, Any]] | None = None,
) -> Path:
    """Write a complete scan output v1 directory at ``out`` and return it (``link_graph.jsonl``
    only when ``link_graphs`` are given: scans before it had none)."""
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "accounts.jsonl", accounts)
    write_jsonl(out / "campaigns.jsonl", campaigns)
    if link_graphs is not None:
        write_jsonl(out / "link_graph.jsonl", link_graphs)
    write_jsonl(out / "samples.jsonl", samples)
    (timeline if timeline is not None else timeline_from(accounts)).write_parquet(
        out / "timeline.parquet"
    )
    quarantined = quarantined or {}
    write_jsonl(
        out / "quarantine.jsonl",
        [
            {"file": "log.jsonl", "line": i + 1, "reason": reason, "raw": "{"}
            for reason, n in quarantined.items()
            for i in range(n)
        ],
    )
    summary = {
        "scan_version": "1",
        "inputs": ["log.jsonl"],
        "records": sum(a.get("requests") or 0 for a in accounts),
        "accounts": len(accounts),
        "quarantined": quarantined,
        "flagged_accounts": sum(a["flagged"] for a in accounts),
        "campaigns": len(campaigns),
        "threshold": 0.5,
        "time_span": [
            min((a["first_seen"] for a in accounts), default=None),
            max((a["last_seen"] for a in accounts), default=None),
        ],
        "seconds": 1.5,
        "requests_per_second": 1000.0,
    }
    (out / "summary.json").write_bytes(orjson.dumps(summary))
    return out


def link_graph(
    campaign_id: str, pairs: Sequence[tuple[str, str, Sequence[str], float]], dropped: int = 0
) -> dict[str, Any]:
    """One ``link_graph.jsonl`` row: ``(a, b, kinds, confidence)`` per listed link."""
    return {
        "campaign_id": campaign_id,
        "edges": [
            {"a": a, "b": b, "kinds": list(kinds), "confidence": conf}
            for a, b, kinds, conf in pairs
        ],
        "dropped": dropped,
    }


def benign(account_id: str, population: str = "casual") -> dict[str, Any]:
    """One ``labels.jsonl`` row for a benign account."""
    return {
        "account_id": account_id,
        "label": "benign",
        "population": population,
        "campaign_id": None,
    }


def attack(account_id: str, tactic: str, campaign_id: str) -> dict[str, Any]:
    """One ``labels.jsonl`` row for an attack account."""
    return {
        "account_id": account_id,
        "label": "attack",
        "tactic": tactic,
        "campaign_id": campaign_id,
    }
