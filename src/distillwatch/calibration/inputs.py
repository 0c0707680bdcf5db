"""Reading what ``calibrate`` rests on: labelled account lists, a scan, a replay.

Labelled lists come from whatever the provider already has -- an allow-list export (plain
ids), a CRM extract (CSV), analyst feedback (JSONL) -- so each is accepted as it is, and a bad
line is an error naming the file and the line: a silently skipped row of a known-good list
would shift the threshold without anyone noticing.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from distillwatch.detect.operating_point import Scored

VERDICTS = ("confirmed", "dismissed")


class CalibrationError(ValueError):
    """An input ``calibrate`` cannot use; the message names the file (and line)."""


@dataclass(frozen=True)
class Verdicts:
    """Analyst feedback: confirmed accounts are known bad, dismissed ones known good."""

    confirmed: frozenset[str]
    dismissed: frozenset[str]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CalibrationError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: cannot read: {exc}") from None


def _json_line(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise CalibrationError(f"{path}:{number}: not valid JSON ({exc})") from None
    if not isinstance(row, dict):
        raise CalibrationError(f"{path}:{number}: expected a JSON object, got {line[:60]!r}")
    return row


def _account_id(path: Path, number: int, row: dict[str, Any]) -> str:
    value = row.get("account_id")
    if not isinstance(value, str) or not value.strip():
        raise CalibrationError(f"{path}:{number}: needs a non-empty string 'account_id'")
    return value.strip()


def _jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    text = _text(path)
    return [
        (number, _json_line(path, number, line))
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip()
    ]


def read_ids(path: Path) -> list[str]:
    """Account ids from a text file (one per line, ``#`` comments), a JSONL file or a CSV
    file with an ``account_id`` column. The format is told by the suffix (``.jsonl``,
    ``.json``, ``.csv``), or by the first line starting with ``{`` for JSONL."""
    text = _text(path)
    suffix = path.suffix.lower()
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if suffix in (".jsonl", ".json", ".ndjson") or first.startswith("{"):
        return [_account_id(path, number, row) for number, row in _jsonl(path)]
    if suffix == ".csv":
        return _csv_ids(path, text)
    ids = []
    for number, line in enumerate(text.splitlines(), 1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        if any(ch.isspace() for ch in value) or "," in value:
            raise CalibrationError(
                f"{path}:{number}: expected one account id per line, got {value[:60]!r} "
                "(a CSV needs the .csv suffix and an account_id column)"
            )
        ids.append(value)
    return ids


def _csv_ids(path: Path, text: str) -> list[str]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "account_id" not in reader.fieldnames:
        raise CalibrationError(f"{path}:1: a CSV needs an 'account_id' column in its header")
    ids = []
    for row in reader:
        value = (row.get("account_id") or "").strip()
        if not value:
            raise CalibrationError(f"{path}:{reader.line_num}: empty account_id")
        ids.append(value)
    return ids


def read_verdicts(path: Path) -> Verdicts:
    """Analyst feedback JSONL ``{"account_id": ..., "verdict": "confirmed"|"dismissed"}``;
    a later line for the same account replaces an earlier one (analysts revise)."""
    latest: dict[str, str] = {}
    for number, row in _jsonl(path):
        account = _account_id(path, number, row)
        verdict = row.get("verdict")
        if verdict not in VERDICTS:
            raise CalibrationError(
                f"{path}:{number}: 'verdict' must be 'confirmed' or 'dismissed', got {verdict!r}"
            )
        latest[account] = str(verdict)
    return Verdicts(
        confirmed=frozenset(a for a, v in latest.items() if v == "confirmed"),
        dismissed=frozenset(a for a, v in latest.items() if v == "dismissed"),
    )


def read_scan(scan_dir: Path) -> dict[str, Scored]:
    """Every account's score in a scan, and whether it carries distinctive evidence (a scan
    written before that field existed counts every account as distinctive)."""
    path = scan_dir / "accounts.jsonl"
    if not path.is_file():
        raise CalibrationError(f"{path}: no such file (is {scan_dir} a scan output directory?)")
    out = {}
    for number, row in _jsonl(path):
        score = row.get("score")
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise CalibrationError(f"{path}:{number}: needs a numeric 'score'")
        distinctive = row.get("distinctive", True)
        out[_account_id(path, number, row)] = Scored(float(score), distinctive is not False)
    return out


def read_replay(replay_dir: Path) -> tuple[dict[str, float], set[str]]:
    """Each account's highest online score in a replay, and the accounts it refused."""
    path = replay_dir / "replay-accounts.jsonl"
    if not path.is_file():
        raise CalibrationError(f"{path}: no such file (is {replay_dir} a replay directory?)")
    scores: dict[str, float] = {}
    refused: set[str] = set()
    for number, row in _jsonl(path):
        account = _account_id(path, number, row)
        value = row.get("max_score")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CalibrationError(
                f"{path}:{number}: no 'max_score' (written by an older replay: run it again)"
            )
        scores[account] = float(value)
        if row.get("refused"):
            refused.add(account)
    return scores, refused
