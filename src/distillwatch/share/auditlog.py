"""Append-only, hash-chained JSON-lines logs (the export audit log and the hub's).

Each line carries the SHA-256 of the line before it (``prev``), so editing or deleting an
earlier entry breaks the chain and :func:`read` says where. Files are only ever opened for
appending. Kept apart from the export code so the TAXII hub can log without importing it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from distillwatch.share.stixbase import stamp

GENESIS = "0" * 64


class AuditError(ValueError):
    """The audit log is unreadable or its chain is broken."""


def last_hash(path: Path) -> str:
    if not path.exists() or path.stat().st_size == 0:
        return GENESIS
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 65536))
        lines = [ln for ln in fh.read().splitlines() if ln.strip()]
    return hashlib.sha256(lines[-1]).hexdigest() if lines else GENESIS


def _write(path: Path, line: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def append(path: Path, event: dict[str, Any]) -> dict[str, Any]:
    """Append ``event`` (with ``ts`` and ``prev`` added) to the log at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"ts": stamp(datetime.now(UTC)), "prev": last_hash(path), **event}
    _write(path, orjson.dumps(entry))
    return entry


class ChainedLog:
    """One writer's handle on a log: the previous hash is kept in memory and writes are
    serialised, so a busy server does not re-read the file's tail on every line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._prev = last_hash(path)
        self._lock = threading.Lock()

    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry = {"ts": stamp(datetime.now(UTC)), "prev": self._prev, **event}
            line = orjson.dumps(entry)
            _write(self.path, line)
            self._prev = hashlib.sha256(line).hexdigest()
        return entry


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
