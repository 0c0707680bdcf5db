"""Cases: one per flagged campaign (or flagged account outside any campaign) of a scan.

An analyst assigns, confirms, dismisses (with a reason) or escalates a case. Confirming or
dismissing writes a verdict for each account the case covers, with the evidence judged (the
account's finding kinds): verdicts are the labels ``calibrate --verdicts`` reads, and a later
scan that flags a dismissed account on no new evidence marks it instead of opening a case.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from distillwatch.review import audit
from distillwatch.review.store import ConsoleError, dumps, new_id
from distillwatch.review.tables import Tables

OPEN, ESCALATED, CONFIRMED, DISMISSED = "open", "escalated", "confirmed", "dismissed"
ACTIVE = (OPEN, ESCALATED)
_MAX_REASON = 2000
_VERB = {CONFIRMED: "case.confirm", DISMISSED: "case.dismiss"}


@dataclass(frozen=True)
class Case:
    id: int
    kind: str
    subject: str
    scan_id: int | None
    status: str
    assignee: str | None
    opened_by: str
    opened_at: float
    updated_at: float
    reason: str | None


def _case(row: Any) -> Case:
    return Case(
        row.id,
        row.kind,
        row.subject,
        row.scan_id,
        row.status,
        row.assignee,
        row.opened_by,
        row.opened_at,
        row.updated_at,
        row.reason,
    )


def get(conn: Connection, t: Tables, case_id: int) -> Case:
    row = conn.execute(sa.select(t.cases).where(t.cases.c.id == case_id)).first()
    if row is None:
        raise ConsoleError(f"no case {case_id}")
    return _case(row)


def for_subject(conn: Connection, t: Tables, kind: str, subject: str) -> list[Case]:
    q = (
        sa.select(t.cases)
        .where(t.cases.c.kind == kind, t.cases.c.subject == subject)
        .order_by(t.cases.c.id.desc())
    )
    return [_case(r) for r in conn.execute(q)]


def listing(conn: Connection, t: Tables, status: str | None, limit: int = 200) -> list[Case]:
    q = sa.select(t.cases).order_by(t.cases.c.updated_at.desc(), t.cases.c.id.desc()).limit(limit)
    if status:
        q = q.where(t.cases.c.status == status)
    return [_case(r) for r in conn.execute(q)]


def counts(conn: Connection, t: Tables) -> dict[str, int]:
    q = sa.select(t.cases.c.status, sa.func.count()).group_by(t.cases.c.status)
    return {status: n for status, n in conn.execute(q)}


def latest_verdicts(conn: Connection, t: Tables) -> dict[str, Any]:
    """Each account's latest verdict row (verdicts are few: one per judged account)."""
    latest: dict[str, Any] = {}
    for row in conn.execute(sa.select(t.verdicts).order_by(t.verdicts.c.id)):
        latest[row.account_id] = row
    return latest


def same_evidence(kinds: str, judged: str) -> bool:
    """No finding kind beyond those an analyst already judged."""
    return set(filter(None, kinds.split(","))) <= set(filter(None, judged.split(",")))


def open_for_scan(conn: Connection, t: Tables, scan_id: int, actor: str) -> tuple[int, int]:
    """Open cases for what a new scan flags; returns (cases opened, accounts dismissed before)."""
    a = t.accounts
    flagged = conn.execute(
        sa.select(a.c.account_id, a.c.campaign_id, a.c.kinds).where(
            a.c.scan_id == scan_id, a.c.flagged == sa.true()
        )
    ).all()
    verdicts = latest_verdicts(conn, t)
    marked: dict[str, int] = {}
    live_campaigns: set[str] = set()
    loose: list[str] = []
    for account_id, campaign_id, kinds in flagged:
        v = verdicts.get(account_id)
        if v is not None and v.verdict == DISMISSED and same_evidence(kinds, v.kinds):
            marked[account_id] = v.case_id
        elif campaign_id is not None:
            live_campaigns.add(campaign_id)
        else:
            loose.append(account_id)
    for account_id, case_id in marked.items():
        conn.execute(
            sa.update(a)
            .where(a.c.scan_id == scan_id, a.c.account_id == account_id)
            .values(dismissed_case=case_id)
        )
    now = time.time()
    opened = 0
    for kind, subjects in (("campaign", sorted(live_campaigns)), ("account", loose)):
        active = _active_subjects(conn, t, kind)
        new = [s for s in subjects if s not in active]
        if new:
            conn.execute(
                sa.insert(t.cases),
                [
                    {
                        "kind": kind,
                        "subject": s,
                        "scan_id": scan_id,
                        "status": OPEN,
                        "assignee": None,
                        "opened_by": actor,
                        "opened_at": now,
                        "updated_at": now,
                        "reason": None,
                    }
                    for s in new
                ],
            )
            opened += len(new)
        renewed = [s for s in subjects if s in active]
        for s in renewed:  # an open case follows its subject to the newest scan
            conn.execute(
                sa.update(t.cases).where(t.cases.c.id == active[s]).values(scan_id=scan_id)
            )
    return opened, len(marked)


def _active_subjects(conn: Connection, t: Tables, kind: str) -> dict[str, int]:
    q = sa.select(t.cases.c.subject, t.cases.c.id).where(
        t.cases.c.kind == kind, t.cases.c.status.in_(ACTIVE)
    )
    return {s: i for s, i in conn.execute(q)}


def open_case(
    conn: Connection,
    t: Tables,
    actor: str,
    kind: str,
    subject: str,
    scan_id: int | None,
    reason: str | None,
) -> int:
    """An analyst opens a case by hand (e.g. on an account detection did not flag)."""
    if kind not in ("campaign", "account"):
        raise ConsoleError(f"case kind must be campaign or account, not {kind!r}")
    existing = [c for c in for_subject(conn, t, kind, subject) if c.status in ACTIVE]
    if existing:
        return existing[0].id
    now = time.time()
    result = conn.execute(
        sa.insert(t.cases).values(
            kind=kind,
            subject=subject,
            scan_id=scan_id,
            status=OPEN,
            assignee=None,
            opened_by=actor,
            opened_at=now,
            updated_at=now,
            reason=reason,
        )
    )
    case_id = new_id(result)
    audit.record(conn, t, actor, "case.open", f"case:{case_id}", reason, kind=kind, about=subject)
    return int(case_id)


def _reason(reason: str | None, required: bool, what: str) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise ConsoleError(f"{what} needs a reason")
    if len(text) > _MAX_REASON:
        raise ConsoleError(f"reason is longer than {_MAX_REASON} characters")
    return text or None


def assign(conn: Connection, t: Tables, actor: str, case_id: int, assignee: str) -> None:
    case = get(conn, t, case_id)
    role = conn.execute(sa.select(t.users.c.role).where(t.users.c.name == assignee)).scalar()
    if role not in ("analyst", "admin"):
        raise ConsoleError(f"{assignee!r} is not an analyst or admin")
    _set(conn, t, case, assignee=assignee)
    audit.record(conn, t, actor, "case.assign", f"case:{case_id}", None, assignee=assignee)


def escalate(conn: Connection, t: Tables, actor: str, case_id: int, reason: str | None) -> None:
    case = get(conn, t, case_id)
    if case.status != OPEN:
        raise ConsoleError(f"case {case_id} is {case.status}; only an open case is escalated")
    why = _reason(reason, False, "escalate")
    _set(conn, t, case, status=ESCALATED, reason=why)
    audit.record(conn, t, actor, "case.escalate", f"case:{case_id}", why)


def decide(
    conn: Connection, t: Tables, actor: str, case_id: int, verdict: str, reason: str | None
) -> list[str]:
    """Confirm or dismiss; one verdict per covered account. Returns those accounts."""
    if verdict not in (CONFIRMED, DISMISSED):
        raise ConsoleError(f"verdict must be confirmed or dismissed, not {verdict!r}")
    case = get(conn, t, case_id)
    if case.status == verdict:
        raise ConsoleError(f"case {case_id} is already {verdict}")
    why = _reason(reason, verdict == DISMISSED, "dismissing a case")
    covered = covered_accounts(conn, t, case)
    now = time.time()
    if covered:
        conn.execute(
            sa.insert(t.verdicts),
            [
                {
                    "account_id": acc,
                    "verdict": verdict,
                    "kinds": kinds,
                    "case_id": case_id,
                    "actor": actor,
                    "ts": now,
                    "reason": why,
                }
                for acc, kinds in covered
            ],
        )
    _set(conn, t, case, status=verdict, reason=why)
    audit.record(
        conn,
        t,
        actor,
        _VERB[verdict],
        f"case:{case_id}",
        why,
        about=f"{case.kind}:{case.subject}",
        accounts=len(covered),
    )
    return [acc for acc, _ in covered]


def covered_accounts(conn: Connection, t: Tables, case: Case) -> list[tuple[str, str]]:
    """``(account_id, finding kinds)`` of the accounts a case decides about."""
    a = t.accounts
    if case.kind == "campaign":
        q = sa.select(a.c.account_id, a.c.kinds).where(
            a.c.scan_id == case.scan_id, a.c.campaign_id == case.subject
        )
    else:
        q = (
            sa.select(a.c.account_id, a.c.kinds)
            .where(a.c.account_id == case.subject)
            .order_by(a.c.scan_id.desc())
            .limit(1)
        )
    rows = [(r[0], r[1]) for r in conn.execute(q.order_by(a.c.account_id))]
    if not rows and case.kind == "account":
        rows = [(case.subject, "")]
    return rows


def _set(conn: Connection, t: Tables, case: Case, **values: Any) -> None:
    conn.execute(
        sa.update(t.cases).where(t.cases.c.id == case.id).values(updated_at=time.time(), **values)
    )


def verdict_lines(conn: Connection, t: Tables) -> list[bytes]:
    """The feedback file ``calibrate --verdicts`` reads: each account's latest verdict."""
    return [
        (
            dumps(
                {
                    "account_id": v.account_id,
                    "verdict": v.verdict,
                    "case_id": v.case_id,
                    "evidence": v.kinds.split(",") if v.kinds else [],
                    "by": v.actor,
                    "ts": v.ts,
                    "reason": v.reason,
                }
            )
            + "\n"
        ).encode()
        for v in sorted(latest_verdicts(conn, t).values(), key=lambda v: v.account_id)
    ]
