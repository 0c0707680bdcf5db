"""Read a scan output v1 directory (``docs/scan-output.md``) back, checking every line.

The report and the evaluator are the readers of what ``scan`` writes. Both fail with the file
and line of the first broken record rather than a stack trace from deep inside Polars, because
a scan directory may come from another build, another machine or a hand edit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pyarrow as pa

ACCOUNTS_FILE = "accounts.jsonl"
CAMPAIGNS_FILE = "campaigns.jsonl"
SAMPLES_FILE = "samples.jsonl"
SUMMARY_FILE = "summary.json"
TIMELINE_FILE = "timeline.parquet"


class ScanFileError(ValueError):
    """A scan or labels file that cannot be read; says which file and line, and why."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Field:
    """What one JSON field must look like; ``required`` fields must be present (null or not)."""

    what: str
    check: Callable[[Any], bool]
    required: bool = True


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


STRING = Field("a non-empty string", lambda v: isinstance(v, str) and v != "")
OPT_STRING = Field("a string or null", lambda v: v is None or isinstance(v, str))
SCORE = Field("a number in 0..1", lambda v: _is_num(v) and 0.0 <= v <= 1.0)
BOOL = Field("true or false", lambda v: isinstance(v, bool))
STR_LIST = Field("a list of strings", _is_str_list)
INT = Field("an integer >= 0", lambda v: _is_int(v) and v >= 0)


def optional(field: Field) -> Field:
    """The same check, for a field that may be absent."""
    return Field(field.what, field.check, required=False)


def iter_jsonl(path: Path, fields: Mapping[str, Field]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line, after checking ``fields``."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise ScanFileError(path, None, f"cannot open: {exc.strerror or exc}") from exc
    with fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise ScanFileError(path, number, f"not valid JSON ({exc})") from exc
            if not isinstance(obj, dict):
                raise ScanFileError(path, number, "expected a JSON object")
            for name, field in fields.items():
                if name not in obj:
                    if field.required:
                        raise ScanFileError(path, number, f"missing field {name!r}")
                    continue
                if not field.check(obj[name]):
                    raise ScanFileError(
                        path, number, f"field {name!r} must be {field.what}, got {obj[name]!r:.60}"
                    )
            yield number, obj


def unique_ids(path: Path, rows: Iterator[tuple[int, dict[str, Any]]], key: str) -> list[dict]:
    """The rows, refusing a second row for the same ``key`` (which would double-count)."""
    seen: dict[str, int] = {}
    out = []
    for number, obj in rows:
        ident = obj[key]
        if ident in seen:
            raise ScanFileError(
                path, number, f"duplicate {key} {ident!r} (first on line {seen[ident]})"
            )
        seen[ident] = number
        out.append(obj)
    return out


ACCOUNT_FIELDS: dict[str, Field] = {
    "account_id": STRING,
    "score": SCORE,
    "flagged": BOOL,
    "campaign_id": OPT_STRING,
    "reasons": STR_LIST,
    "requests": optional(
        Field("a non-negative integer or null", lambda v: v is None or (_is_int(v) and v >= 0))
    ),
    "first_seen": optional(OPT_STRING),
    "last_seen": optional(OPT_STRING),
}

ACCOUNT_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "score": pl.Float64(),
    "flagged": pl.Boolean(),
    "campaign_id": pl.String(),
    "reasons": pl.List(pl.String()),
    "requests": pl.Int64(),
    "first_seen": pl.String(),
    "last_seen": pl.String(),
}


def load_accounts(scan_dir: Path) -> pl.DataFrame:
    """``accounts.jsonl`` as a frame with :data:`ACCOUNT_SCHEMA` (``findings`` left out).

    ``requests``, ``first_seen`` and ``last_seen`` are distillwatch's own additions to the
    contract; a scanner that leaves them out gives nulls.
    """
    path = scan_dir / ACCOUNTS_FILE
    rows = unique_ids(path, iter_jsonl(path, ACCOUNT_FIELDS), "account_id")
    # through Arrow: Polars builds a list column from Python lists one Series per row
    columns = {name: pa.array([r.get(name) for r in rows], type=t) for name, t in _ACCOUNT_ARROW}
    frame = pl.from_arrow(pa.table(columns))
    assert isinstance(frame, pl.DataFrame)
    return frame.cast(ACCOUNT_SCHEMA)  # type: ignore[arg-type]


_ACCOUNT_ARROW = [
    ("account_id", pa.string()),
    ("score", pa.float64()),
    ("flagged", pa.bool_()),
    ("campaign_id", pa.string()),
    ("reasons", pa.list_(pa.string())),
    ("requests", pa.int64()),
    ("first_seen", pa.string()),
    ("last_seen", pa.string()),
]


CAMPAIGN_FIELDS: dict[str, Field] = {
    "campaign_id": STRING,
    "accounts": STR_LIST,
    "score": SCORE,
    "first_seen": optional(OPT_STRING),
    "last_seen": optional(OPT_STRING),
    "requests": optional(Field("an integer", _is_int)),
    "tactics": optional(STR_LIST),
    "capabilities": optional(
        Field(
            "an object of shares", lambda v: isinstance(v, dict) and all(map(_is_num, v.values()))
        )
    ),
    "indicators": optional(Field("an object", lambda v: isinstance(v, dict))),
    "links": optional(Field("an object", lambda v: isinstance(v, dict))),
    "reasons": optional(STR_LIST),
}

_CAMPAIGN_DEFAULTS: dict[str, Any] = {
    "first_seen": None,
    "last_seen": None,
    "requests": 0,
    "tactics": [],
    "capabilities": {},
    "indicators": {},
    "links": {},
    "reasons": [],
}


def load_campaigns(scan_dir: Path) -> list[dict[str, Any]]:
    """``campaigns.jsonl`` rows, highest score first; absent optional fields get empty values.

    A scan that found no campaign may leave the file out, which reads as no campaigns.
    """
    path = scan_dir / CAMPAIGNS_FILE
    if not path.exists():
        return []
    rows = unique_ids(path, iter_jsonl(path, CAMPAIGN_FIELDS), "campaign_id")
    full = [{**_CAMPAIGN_DEFAULTS, **r} for r in rows]
    return sorted(full, key=lambda r: (-r["score"], -r["requests"], r["campaign_id"]))


SAMPLE_FIELDS: dict[str, Field] = {
    "campaign_id": OPT_STRING,
    "account_id": STRING,
    "prompt": OPT_STRING,
}


def load_samples(scan_dir: Path) -> list[dict[str, Any]]:
    """``samples.jsonl`` rows (empty when the file is absent)."""
    path = scan_dir / SAMPLES_FILE
    if not path.exists():
        return []
    return [obj for _, obj in iter_jsonl(path, SAMPLE_FIELDS)]


def load_summary(scan_dir: Path) -> dict[str, Any]:
    """``summary.json`` (empty when absent: the totals then come from the other files)."""
    path = scan_dir / SUMMARY_FILE
    if not path.exists():
        return {}
    try:
        obj = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ScanFileError(path, None, f"not valid JSON ({exc})") from exc
    if not isinstance(obj, dict):
        raise ScanFileError(path, None, "expected a JSON object")
    return obj


TIMELINE_SCHEMA: dict[str, pl.DataType] = {
    "hour": pl.Datetime("us", "UTC"),
    "campaign_id": pl.String(),
    "flagged": pl.Boolean(),
    "requests": pl.Int64(),
}


def load_timeline(scan_dir: Path) -> pl.DataFrame:
    """``timeline.parquet`` with :data:`TIMELINE_SCHEMA` (empty when absent)."""
    path = scan_dir / TIMELINE_FILE
    if not path.exists():
        return pl.DataFrame(schema=TIMELINE_SCHEMA)
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises several kinds for a broken file
        raise ScanFileError(path, None, f"cannot read Parquet ({exc})") from exc
    missing = [c for c in TIMELINE_SCHEMA if c not in frame.columns]
    if missing:
        raise ScanFileError(path, None, f"missing columns {missing}")
    dtype = frame.schema["hour"]
    if not isinstance(dtype, pl.Datetime):
        raise ScanFileError(path, None, f"column 'hour' must be a timestamp, not {dtype}")
    hour = pl.col("hour").cast(pl.Datetime("us", dtype.time_zone))
    hour_utc = (
        hour.dt.convert_time_zone("UTC") if dtype.time_zone else hour.dt.replace_time_zone("UTC")
    )
    return frame.select(
        hour_utc.alias("hour"),
        pl.col("campaign_id").cast(pl.String),
        pl.col("flagged").cast(pl.Boolean),
        pl.col("requests").cast(pl.Int64),
    )
