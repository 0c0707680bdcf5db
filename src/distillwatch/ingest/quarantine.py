"""Records that break the schema: what they were, where they were, and why.

Each quarantined record becomes one JSON line ``{"file", "line", "reason", "field", "detail",
"raw"}``. ``raw`` is the original line (decoded as UTF-8, undecodable bytes replaced) cut to
:data:`RAW_LIMIT` characters: enough to see what went wrong, without letting one 50 MB garbage
line blow up the quarantine file. For Parquet input ``line`` is the 1-based row number and
``raw`` the row re-encoded as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from distillwatch.ingest.validate import InvalidRecord

RAW_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Quarantined:
    """One rejected record."""

    file: str
    line: int
    reason: str
    field: str | None
    detail: str
    raw: str

    def to_json(self) -> bytes:
        """One line of ``quarantine.jsonl`` (newline included)."""
        return orjson.dumps(
            {
                "file": self.file,
                "line": self.line,
                "reason": self.reason,
                "field": self.field,
                "detail": self.detail,
                "raw": self.raw,
            },
            option=orjson.OPT_APPEND_NEWLINE,
        )


def quarantined(file: str, line: int, raw: bytes | Any, problem: InvalidRecord) -> Quarantined:
    """Wrap a problem with its place; ``raw`` is the line's bytes or an already-parsed row."""
    if isinstance(raw, bytes | bytearray | memoryview):
        text = bytes(raw[: RAW_LIMIT * 4]).decode("utf-8", errors="replace")
    else:
        text = orjson.dumps(raw, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    return Quarantined(
        file=file,
        line=line,
        reason=str(problem.reason),
        field=problem.field,
        detail=problem.detail,
        raw=text[:RAW_LIMIT].rstrip("\r\n"),
    )


class QuarantineFile:
    """Appends quarantined records to a JSON Lines file, created even when nothing is wrong.

    Always creating it lets a caller tell "nothing was quarantined" (empty file) from "ingest
    never ran" (no file).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: IO[bytes] = path.open("wb")

    def write(self, record: Quarantined) -> None:
        """Add one record."""
        self._handle.write(record.to_json())

    def close(self) -> None:
        """Flush and close; safe to call twice."""
        if not self._handle.closed:
            self._handle.close()
