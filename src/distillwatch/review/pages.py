"""What each page shows, read from the store with bounded queries (pages stay fast with
100k accounts: every list is limited and sorted on an index)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from distillwatch.review import audit, cases, graph
from distillwatch.review.charts import stacked
from distillwatch.review.store import ConsoleError, loads
from distillwatch.review.tables import Tables

PAGE = 100


def _scan(conn: Connection, t: Tables, scan_id: int | None) -> Any:
    q = sa.select(t.scans).order_by(t.scans.c.id.desc()).limit(1)
    if scan_id is not None:
        q = sa.select(t.scans).where(t.scans.c.id == scan_id)
    return conn.execute(q).first()


def _account_view(row: Any) -> dict[str, Any]:
    return {**row._asdict(), "reasons": loads(row.reasons, []), "findings": loads(row.findings, [])}


def overview(conn: Connection, t: Tables, scan_id: int | None, page: int) -> dict[str, Any]:
    scan = _scan(conn, t, scan_id)
    scans = conn.execute(sa.select(t.scans).order_by(t.scans.c.id.desc()).limit(20)).all()
    view: dict[str, Any] = {"scan": scan, "scans": scans, "cases": cases.counts(conn, t)}
    if scan is None:
        return view
    a, c = t.accounts, t.campaigns
    view["chart"] = stacked(
        [(h, f, o) for h, f, o in loads(scan.timeline, [])], ("flagged", "other requests")
    )
    view["campaigns"] = conn.execute(
        sa.select(*(col for col in c.c if col.name != "body"))
        .where(c.c.scan_id == scan.id)
        .order_by(c.c.score.desc())
        .limit(PAGE)
    ).all()
    view["flagged"] = [
        _account_view(r)
        for r in conn.execute(
            sa.select(a)
            .where(a.c.scan_id == scan.id, a.c.flagged == sa.true())
            .order_by(a.c.score.desc(), a.c.account_id)
            .limit(PAGE)
            .offset(page * PAGE)
        )
    ]
    view["page"] = page
    return view


def campaign(conn: Connection, t: Tables, scan_id: int, campaign_id: str) -> dict[str, Any]:
    c, a = t.campaigns, t.accounts
    row = conn.execute(
        sa.select(c).where(c.c.scan_id == scan_id, c.c.campaign_id == campaign_id)
    ).first()
    if row is None:
        raise ConsoleError(f"no campaign {campaign_id} in scan {scan_id}")
    members = [
        _account_view(r)
        for r in conn.execute(
            sa.select(a)
            .where(a.c.scan_id == scan_id, a.c.campaign_id == campaign_id)
            .order_by(a.c.score.desc(), a.c.account_id)
            .limit(500)
        )
    ]
    hours = conn.execute(
        sa.select(t.timeline.c.hour, t.timeline.c.requests)
        .where(t.timeline.c.scan_id == scan_id, t.timeline.c.campaign_id == campaign_id)
        .order_by(t.timeline.c.hour)
    ).all()
    samples = conn.execute(
        sa.select(t.samples)
        .where(t.samples.c.scan_id == scan_id, t.samples.c.campaign_id == campaign_id)
        .order_by(t.samples.c.ts)
        .limit(50)
    ).all()
    body = loads(row.body, {})
    laid = conn.execute(
        sa.select(t.graphs.c.graph).where(
            t.graphs.c.scan_id == scan_id, t.graphs.c.campaign_id == campaign_id
        )
    ).scalar()
    found = cases.for_subject(conn, t, "campaign", campaign_id)
    subjects = [f"campaign:{campaign_id}", *(f"case:{c.id}" for c in found)]
    return {
        "c": row,
        "body": body,
        "tactics": loads(row.tactics, []),
        "members": members,
        "chart": stacked([(h, n, 0) for h, n in hours], ("requests", "")),
        "graph": graph.view(loads(laid)),
        "samples": samples,
        "cases": found,
        "audit": audit.entries(conn, t, subjects, limit=50),
    }


def account(conn: Connection, t: Tables, account_id: str) -> dict[str, Any]:
    a = t.accounts
    rows = [
        _account_view(r)
        for r in conn.execute(
            sa.select(a).where(a.c.account_id == account_id).order_by(a.c.scan_id.desc()).limit(20)
        )
    ]
    decisions = conn.execute(
        sa.select(t.decisions)
        .where(t.decisions.c.account_id == account_id)
        .order_by(t.decisions.c.ts)
        .limit(200)
    ).all()
    if not rows and not decisions:
        raise ConsoleError(f"no account {account_id} in any imported scan or replay")
    samples = conn.execute(
        sa.select(t.samples)
        .where(t.samples.c.account_id == account_id)
        .order_by(t.samples.c.scan_id.desc(), t.samples.c.ts)
        .limit(30)
    ).all()
    verdicts = conn.execute(
        sa.select(t.verdicts)
        .where(t.verdicts.c.account_id == account_id)
        .order_by(t.verdicts.c.id.desc())
        .limit(20)
    ).all()
    found = cases.for_subject(conn, t, "account", account_id)
    subjects = [f"account:{account_id}", *(f"case:{c.id}" for c in found)]
    return {
        "account_id": account_id,
        "rows": rows,
        "latest": rows[0] if rows else None,
        "decisions": [(d, loads(d.reasons, [])) for d in decisions],
        "samples": samples,
        "verdicts": verdicts,
        "cases": found,
        "audit": audit.entries(conn, t, subjects, limit=50),
    }


def campaign_members(conn: Connection, t: Tables, scan_id: int, campaign_id: str) -> list[str]:
    a = t.accounts
    q = sa.select(a.c.account_id).where(a.c.scan_id == scan_id, a.c.campaign_id == campaign_id)
    return [r[0] for r in conn.execute(q)]


def scan_path(conn: Connection, t: Tables, scan_id: int) -> str:
    path = conn.execute(sa.select(t.scans.c.path).where(t.scans.c.id == scan_id)).scalar()
    if path is None:
        raise ConsoleError(f"no scan {scan_id}")
    return str(path)
