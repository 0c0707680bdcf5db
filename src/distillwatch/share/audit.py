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
from collections import Counter
from typing import Any

from distillwatch.share.auditlog import GENESIS, AuditError, append, read
from distillwatch.share.export import ExportResult
from distillwatch.share.keyed import GroupKey
from distillwatch.share.policy import Policy

__all__ = ["GENESIS", "AuditError", "append", "export_event", "read"]


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
