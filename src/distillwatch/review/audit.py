"""The audit log: who did what, when, to which subject, and why.

Written in the same transaction as the action it records, so an action that happened is
never missing from the log and a failed one never appears in it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from distillwatch.review.store import dumps, loads
from distillwatch.review.tables import Tables


@dataclass(frozen=True)
class Entry:
    id: int
    ts: float
    actor: str
    action: str
    subject: str
    reason: str | None
    detail: dict[str, Any]


def record(
    conn: Connection,
    t: Tables,
    actor: str,
    action: str,
    subject: str,
    reason: str | None = None,
    **detail: Any,
) -> None:
    conn.execute(
        sa.insert(t.audit).values(
            ts=time.time(),
            actor=actor,
            action=action,
            subject=subject[:400],
            reason=reason,
            detail=dumps(detail),
        )
    )


def record_each(
    conn: Connection,
    t: Tables,
    actor: str,
    action: str,
    subjects: list[str],
    reason: str | None = None,
    **detail: Any,
) -> None:
    """One entry per subject (e.g. each account a campaign-wide block reached), in one go."""
    if not subjects:
        return
    now, body = time.time(), dumps(detail)
    conn.execute(
        sa.insert(t.audit),
        [
            {
                "ts": now,
                "actor": actor,
                "action": action,
                "subject": s[:400],
                "reason": reason,
                "detail": body,
            }
            for s in subjects
        ],
    )


def recent(conn: Connection, t: Tables, action: str, subject: str, seconds: float) -> int:
    """How many ``action`` entries ``subject`` had in the last ``seconds``."""
    q = sa.select(sa.func.count()).where(
        t.audit.c.subject == subject[:400],
        t.audit.c.action == action,
        t.audit.c.ts > time.time() - seconds,
    )
    return int(conn.execute(q).scalar() or 0)


def entries(
    conn: Connection,
    t: Tables,
    subject: str | list[str] | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Entry]:
    """Newest first; ``subject`` narrows to some accounts, campaigns or cases."""
    q = sa.select(t.audit).order_by(t.audit.c.id.desc()).limit(limit).offset(offset)
    if isinstance(subject, str):
        q = q.where(t.audit.c.subject == subject)
    elif subject is not None:
        q = q.where(t.audit.c.subject.in_(subject))
    return [
        Entry(r.id, r.ts, r.actor, r.action, r.subject, r.reason, loads(r.detail, {}))
        for r in conn.execute(q)
    ]
