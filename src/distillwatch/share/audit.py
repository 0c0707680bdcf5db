"""The append-only audit log: every export and publish, what left, to whom, when, under which
policy.

One JSON line per event. Each line carries the SHA-256 of the line before it (``prev``), so
editing or deleting an earlier entry breaks the chain and :func:`verify` says where. The
file is only ever opened for appending. The log records *what kind* of data left (fields,
encodings, counts, object ids, the bundle's hash) -- never the values themselves, so the
log is not a second copy of the shared data.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from distillwatch.share.export import ExportResult
from distillwatch.share.keyed import GroupKey
from distillwatch.share.policy import Policy
from distillwatch.share.stixbase import stamp

GENESIS = "0" * 64


class AuditError(ValueError):
    """The audit log is unreadable or its chain is broken."""


def _last_hash(path: Path) -> str:
    if not path.exists() or path.stat().st_size == 0:
        return GENESIS
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 65536))
        lines = [ln for ln in fh.read().splitlines() if ln.strip()]
    return hashlib.sha256(lines[-1]).hexdigest() if lines else GENESIS


def append(path: Path, event: dict[str, Any]) -> dict[str, Any]:
    """Append ``event`` (with ``ts`` and ``prev`` added) to the log at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"ts": stamp(datetime.now(UTC)), "prev": _last_hash(path), **event}
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, orjson.dumps(entry) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def export_event(
    result: ExportResult, policy: Policy, key: GroupKey, bundle_bytes: bytes, out: str
) -> dict[str, Any]:
    """The audit record of one export (what kind of data, never the values)."""
    return {
        "action": "export",
        "bundle_id": result.bundle["id"],
        "bundle_sha256": hashlib.sha256(bundle_bytes).hexdigest(),
        "out": out,
        "policy": {"name": policy.name, "source": policy.source},
        "producer": policy.producer,
        "recipients": result.recipients,
        "clearance": result.clearance,
        "key_id": key.key_id,
        "objects": dict(Counter(o["type"] for o in result.objects)),
        "campaigns": [
            {
                "campaign_id": c.campaign_id,
                "stix_id": c.stix_id,
                "fields": {f: {"encoding": e, "values": n} for f, (e, n) in c.fields.items()},
                "withheld": c.withheld,
            }
            for c in result.campaigns
        ],
        "skipped": [{"campaign_id": cid, "why": why} for cid, why in result.skipped],
        "dropped_above_clearance": result.dropped_by_tlp,
    }


def read(path: Path) -> list[dict[str, Any]]:
    """Every entry, after checking the hash chain."""
    entries = []
    prev = GENESIS
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise AuditError(f"{path}:{number}: not valid JSON ({exc})") from exc
            if entry.get("prev") != prev:
                raise AuditError(
                    f"{path}:{number}: chain broken (an earlier entry was changed or removed)"
                )
            prev = hashlib.sha256(line.rstrip(b"\n")).hexdigest()
            entries.append(entry)
    return entries
