"""Bring a scan directory and a replay's decisions into the store.

Every file is read through the scan readers of ``report/scandir.py`` (each line checked, a bad
one named by file and line) before anything is written, and the whole import is one
transaction: a broken scan leaves the store as it was.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from distillwatch.report import scandir
from distillwatch.report.scandir import Field, ScanFileError, iter_jsonl, unique_ids
from distillwatch.review import audit, cases, graph
from distillwatch.review.store import ConsoleError, Store, dumps, new_id
from distillwatch.review.tables import Tables

_CHUNK = 5000
_FINDINGS = Field(
    "a list of objects with a string 'kind'",
    lambda v: (
        isinstance(v, list)
        and all(isinstance(f, dict) and isinstance(f.get("kind"), str) for f in v)
    ),
    required=False,
)
_ACCOUNT_FIELDS = {
    **scandir.ACCOUNT_FIELDS,
    "findings": _FINDINGS,
    "distinctive": Field("true or false", lambda v: isinstance(v, bool), required=False),
}
_DECISION_FIELDS = {
    "ts": scandir.STRING,
    "account_id": scandir.STRING,
    "request_id": scandir.OPT_STRING,
    "action": Field(
        "allow, throttle, challenge or block",
        lambda v: v in ("allow", "throttle", "challenge", "block"),
    ),
    "reasons": scandir.STR_LIST,
}


@dataclass(frozen=True)
class ImportResult:
    scan_id: int
    accounts: int
    flagged: int
    campaigns: int
    cases_opened: int
    dismissed_before: int


def kinds_of(findings: list[dict[str, Any]]) -> str:
    """The evidence of an account as a comparable key: its sorted finding kinds."""
    return ",".join(sorted({str(f["kind"]) for f in findings}))


def _account_row(scan_id: int, a: dict[str, Any]) -> dict[str, Any]:
    findings = a.get("findings") or []
    return {
        "scan_id": scan_id,
        "account_id": a["account_id"],
        "score": float(a["score"]),
        "flagged": a["flagged"],
        "distinctive": a.get("distinctive", True) is not False,
        "campaign_id": a["campaign_id"],
        "requests": a.get("requests") or 0,
        "first_seen": a.get("first_seen"),
        "last_seen": a.get("last_seen"),
        "kinds": kinds_of(findings),
        "reasons": dumps(a["reasons"]),
        "findings": dumps(findings),
        "dismissed_case": None,
    }


def _campaign_row(scan_id: int, c: dict[str, Any]) -> dict[str, Any]:
    body = {k: c[k] for k in ("accounts", "capabilities", "indicators", "links", "reasons")}
    return {
        "scan_id": scan_id,
        "campaign_id": c["campaign_id"],
        "score": float(c["score"]),
        "members": len(c["accounts"]),
        "requests": c["requests"],
        "first_seen": c["first_seen"],
        "last_seen": c["last_seen"],
        "tactics": dumps(c["tactics"]),
        "body": dumps(body),
    }


def _graph_row(scan_id: int, c: dict[str, Any]) -> dict[str, Any]:
    edges, dropped = c["_graph"]
    laid = graph.layout(c["accounts"], edges, dropped)
    return {"scan_id": scan_id, "campaign_id": c["campaign_id"], "graph": dumps(laid)}


def _sample_row(scan_id: int, s: dict[str, Any]) -> dict[str, Any]:
    def text(key: str, cap: int) -> str | None:
        v = s.get(key)
        return str(v)[:cap] if v is not None else None

    return {
        "scan_id": scan_id,
        "campaign_id": s["campaign_id"],
        "account_id": s["account_id"],
        "ts": text("ts", 40),
        "capability": text("capability", 64),
        "cot_elicit": bool(s.get("cot_elicit")),
        "grading_request": bool(s.get("grading_request")),
        "language": text("language", 16),
        "prompt": s.get("prompt") or "",
    }


def _timelines(scan_dir: Path) -> tuple[list[list[Any]], list[tuple[str, str, int]]]:
    """The overall series ``[hour, flagged, other]`` and per-campaign ``(cid, hour, n)``."""
    frame = scandir.load_timeline(scan_dir)
    total: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per: list[tuple[str, str, int]] = []
    for hour, cid, flagged, n in frame.iter_rows():
        key = hour.strftime("%Y-%m-%dT%H:00Z")
        total[key][0 if flagged else 1] += int(n)
        if cid is not None:
            per.append((cid, key, int(n)))
    return [[h, f, o] for h, (f, o) in sorted(total.items())], per


def _number(value: Any) -> float | None:
    """A summary figure, or None when it is not a number (summary.json is not trusted)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value[:40] if isinstance(value, str) else None


def _insert(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), _CHUNK):
        conn.execute(sa.insert(table), rows[i : i + _CHUNK])


def read_scan(scan_dir: Path) -> tuple[list[dict], list[dict], list[dict], dict[str, Any]]:
    """Accounts, campaigns, samples and summary, every line checked; ConsoleError if broken.

    Each campaign with a link graph (``link_graph.jsonl``) carries it as ``_graph``: its
    edges and how many were dropped.
    """
    if not (scan_dir / scandir.ACCOUNTS_FILE).is_file():
        raise ConsoleError(f"{scan_dir}: no accounts.jsonl (is it a `distillwatch scan` output?)")
    try:
        path = scan_dir / scandir.ACCOUNTS_FILE
        accounts = unique_ids(path, iter_jsonl(path, _ACCOUNT_FIELDS), "account_id")
        campaigns = scandir.load_campaigns(scan_dir)
        samples = scandir.load_samples(scan_dir)
        summary = scandir.load_summary(scan_dir)
    except ScanFileError as exc:
        raise ConsoleError(str(exc)) from exc
    known = {c["campaign_id"] for c in campaigns}
    try:
        graphs = graph.read_link_graphs(
            scan_dir, {c["campaign_id"]: c["accounts"] for c in campaigns}
        )
    except ScanFileError as exc:
        raise ConsoleError(str(exc)) from exc
    for c in campaigns:
        if c["campaign_id"] in graphs:
            c["_graph"] = graphs[c["campaign_id"]]
    for a in accounts:
        if a["campaign_id"] is not None and a["campaign_id"] not in known:
            raise ConsoleError(
                f"{path}: account {a['account_id']!r} names campaign {a['campaign_id']!r}, "
                "which campaigns.jsonl does not have"
            )
    return accounts, campaigns, samples, summary


def import_scan(store: Store, scan_dir: Path, actor: str) -> ImportResult:
    """One scan into the store; flagged subjects get cases unless dismissed on this evidence."""
    accounts, campaigns, samples, summary = read_scan(scan_dir)
    try:
        series, per_campaign = _timelines(scan_dir)
    except ScanFileError as exc:
        raise ConsoleError(str(exc)) from exc
    t = store.t
    span = summary.get("time_span") or [None, None]
    with store.begin() as conn:
        scan_id = new_id(
            conn.execute(
                sa.insert(t.scans).values(
                    path=str(scan_dir.resolve()),
                    imported_at=time.time(),
                    imported_by=actor,
                    records=sum(a.get("requests") or 0 for a in accounts),
                    accounts=len(accounts),
                    flagged=sum(1 for a in accounts if a["flagged"]),
                    campaigns=len(campaigns),
                    threshold=_number(summary.get("threshold")),
                    first_seen=_text(span[0] if isinstance(span, list) and span else None),
                    last_seen=_text(span[-1] if isinstance(span, list) and span else None),
                    timeline=dumps(series),
                )
            )
        )
        _insert(conn, t.accounts, [_account_row(scan_id, a) for a in accounts])
        _insert(conn, t.campaigns, [_campaign_row(scan_id, c) for c in campaigns])
        _insert(conn, t.graphs, [_graph_row(scan_id, c) for c in campaigns if "_graph" in c])
        _insert(conn, t.samples, [_sample_row(scan_id, s) for s in samples])
        _insert(
            conn,
            t.timeline,
            [
                {"scan_id": scan_id, "campaign_id": c, "hour": h, "requests": n}
                for c, h, n in per_campaign
            ],
        )
        opened, dismissed = cases.open_for_scan(conn, t, scan_id, actor)
        conn.execute(
            sa.update(t.scans).where(t.scans.c.id == scan_id).values(dismissed_before=dismissed)
        )
        audit.record(
            conn,
            t,
            actor,
            "scan.import",
            f"scan:{scan_id}",
            None,
            path=str(scan_dir),
            accounts=len(accounts),
            campaigns=len(campaigns),
            cases_opened=opened,
            dismissed_before=dismissed,
        )
    flagged = sum(1 for a in accounts if a["flagged"])
    return ImportResult(scan_id, len(accounts), flagged, len(campaigns), opened, dismissed)


def import_replay(store: Store, replay_dir: Path, actor: str) -> int:
    """``decisions.jsonl`` of a replay; returns the number of decisions stored."""
    path = replay_dir / "decisions.jsonl" if replay_dir.is_dir() else replay_dir
    if not path.is_file():
        raise ConsoleError(
            f"{path}: no such file (is {replay_dir} a `distillwatch replay` output?)"
        )
    try:
        rows = [
            {
                "replay": str(path.resolve()),
                "ts": d["ts"][:40],
                "account_id": d["account_id"],
                "request_id": d.get("request_id"),
                "action": d["action"],
                "reasons": dumps(d["reasons"]),
            }
            for _, d in iter_jsonl(path, _DECISION_FIELDS)
        ]
    except ScanFileError as exc:
        raise ConsoleError(str(exc)) from exc
    with store.begin() as conn:
        _insert(conn, store.t.decisions, rows)
        audit.record(
            conn, store.t, actor, "replay.import", f"replay:{path}", None, decisions=len(rows)
        )
    return len(rows)


def latest_scan_id(conn: Connection, t: Tables) -> int | None:
    return conn.execute(sa.select(sa.func.max(t.scans.c.id))).scalar()
