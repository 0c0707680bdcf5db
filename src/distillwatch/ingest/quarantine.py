"""Records that break the schema: what they were, where they were, and why.

Each quarantined record becomes one JSON line ``{"file", "line", "reason", "field", "detail",
"raw"}``. ``raw`` is the original line (decoded as UTF-8, undecodable bytes replaced) cut to
:data:`RAW_LIMIT` characters: enough to see what went wrong, without letting one 50 MB garbage
line blow up the quarantine file. For Parquet input ``line`` is the 1-based row number and
``raw`` the row re-encoded as JSON.
"""

from __future__ import annotations

import json
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
        text = _encode(raw)
    return Quarantined(
        file=file,
        line=line,
        reason=str(problem.reason),
        field=problem.field,
        detail=problem.detail,
        raw=text[:RAW_LIMIT].rstrip("\r\n"),
    )


#: Levels of a parsed record kept in ``raw`` when it cannot be written whole.
RAW_DEPTH = 32


def _encode(raw: Any) -> str:
    """A parsed record as JSON text, whatever it holds.

    orjson writes at most 255 levels and 64-bit integers; a record nested deeper (an OTLP
    span whose attribute nests 1,000 levels: the reason it is quarantined) or holding a
    larger integer (a database ``numeric``) is written with its outer levels only, by the
    standard library, rather than stopping the run.
    """
    try:
        return orjson.dumps(raw, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(_outer(raw, RAW_DEPTH), default=str, ensure_ascii=False)


def _outer(value: Any, depth: int) -> Any:
    """``value`` with what is nested more than ``depth`` levels replaced by a marker."""
    if isinstance(value, dict | list) and depth <= 0:
        return f"<nested deeper than {RAW_DEPTH} levels>"
    if isinstance(value, dict):
        return {str(k): _outer(v, depth - 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_outer(v, depth - 1) for v in value]
    return value


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
