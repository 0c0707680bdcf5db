"""Imported intelligence in the console: what other members shared, and which of our
accounts it matched.

The block list is the file ``distillwatch share pull`` keeps (every imported indicator with
the member that published it, its campaign, confidence and expiry); the hits are the
``retrohunt.jsonl`` of ``distillwatch share hunt``. Each import replaces the previous one:
both files are already the whole current picture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from distillwatch.review import audit
from distillwatch.review.store import ConsoleError, Store, dumps, loads
from distillwatch.review.tables import Tables

_ACTIONS = ("block", "review")


def _hits(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ConsoleError(f"{path}:{number}: not valid JSON ({exc})") from exc
        ok = (
            isinstance(row, dict)
            and isinstance(row.get("account_id"), str)
            and row.get("action") in _ACTIONS
            and isinstance(row.get("reasons"), list)
        )
        if not ok:
            raise ConsoleError(
                f"{path}:{number}: needs 'account_id', 'action' (block or review), 'reasons'"
            )
        rows.append(
            {
                "account_id": row["account_id"][:300],
                "action": row["action"],
                "reasons": dumps([str(r) for r in row["reasons"]]),
            }
        )
    return rows


def import_intel(store: Store, blocklist: Path | None, hits: Path | None, actor: str) -> str:
    """Replace the stored block list and/or retro-hunt hits; returns what was imported."""
    from distillwatch.share.blocklist import BlocklistError, read_blocklist

    t = store.t
    said = []
    entries = []
    if blocklist is not None:
        try:
            found, _, _ = read_blocklist(blocklist)
        except BlocklistError as exc:
            raise ConsoleError(str(exc)) from exc
        entries = [
            {
                "source": e.source[:200],
                "campaign": e.campaign[:200],
                "kind": e.kind[:40],
                "encoding": e.encoding[:20],
                "value": e.value,
                "confidence": int(e.confidence),
                "valid_until": e.valid_until,
                "shared_by": int(e.shared_by),
            }
            for e in found
        ]
    if hits is not None and not hits.is_file():
        raise ConsoleError(f"{hits}: no such file")
    rows = _hits(hits) if hits is not None else []
    with store.begin() as conn:
        if blocklist is not None:
            conn.execute(sa.delete(t.intel))
            if entries:
                conn.execute(sa.insert(t.intel), entries)
            said.append(f"{len(entries)} indicators")
        if hits is not None:
            conn.execute(sa.delete(t.intel_hits))
            if rows:
                conn.execute(sa.insert(t.intel_hits), rows)
            said.append(f"{len(rows)} matched accounts")
        audit.record(conn, t, actor, "intel.import", "intel", None, imported=", ".join(said))
    return ", ".join(said)


def view(conn: Connection, t: Tables) -> dict[str, Any]:
    """Imported campaigns (by member) with their indicators, and our accounts they matched."""
    i = t.intel
    campaigns = conn.execute(
        sa.select(
            i.c.source,
            i.c.campaign,
            sa.func.count().label("indicators"),
            sa.func.max(i.c.confidence).label("confidence"),
            sa.func.max(i.c.valid_until).label("valid_until"),
        )
        .group_by(i.c.source, i.c.campaign)
        .order_by(i.c.source, i.c.campaign)
        .limit(500)
    ).all()
    entries = conn.execute(
        sa.select(i).order_by(i.c.source, i.c.campaign, i.c.kind, i.c.id).limit(1000)
    ).all()
    hits = conn.execute(
        sa.select(t.intel_hits)
        .order_by(t.intel_hits.c.action, t.intel_hits.c.account_id)
        .limit(1000)
    ).all()
    return {
        "campaigns": campaigns,
        "entries": entries,
        "hits": [(h, loads(h.reasons, [])) for h in hits],
    }
