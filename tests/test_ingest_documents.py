"""Inputs that are one JSON document (an array export, a pretty-printed object) rather than
JSON Lines: read whole, one record per element; a broken one falls back to line by line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest_helpers import FIXTURES, assert_nothing_lost, ingest_cli


def test_a_v1_array_is_read_element_by_element(
    tmp_path: Path, make_record: Callable[..., dict[str, Any]]
) -> None:
    doc = tmp_path / "export.json"
    doc.write_text(json.dumps([make_record(1), 7, make_record(2, country="Deutschland")], indent=2))
    summary, rows, quarantine = ingest_cli(str(doc), "--out", str(tmp_path / "o"))
    assert [row["request_id"] for row in rows] == ["req_1"] and rows[0]["source_line"] == 1
    assert [(q["line"], q["reason"], q["field"]) for q in quarantine] == [
        (2, "not_an_object", None),
        (3, "bad_value", "country"),
    ]
    assert_nothing_lost(summary, 3)


def test_a_broken_array_is_read_line_by_line_and_nothing_is_lost(
    tmp_path: Path, make_record: Callable[..., dict[str, Any]]
) -> None:
    doc = tmp_path / "cut.json"
    doc.write_text("[\n" + json.dumps(make_record(1)) + ",\n" + json.dumps(make_record(2))[:40])
    summary, rows, quarantine = ingest_cli(str(doc), "--out", str(tmp_path / "o"))
    assert not rows and [q["line"] for q in quarantine] == [1, 2, 3]
    assert {q["reason"] for q in quarantine} == {"invalid_json"}
    assert summary["quarantined_total"] == 3 and summary["files"][str(doc)]["lines"] == 3


def test_a_pretty_printed_otlp_export(tmp_path: Path) -> None:
    first = json.loads((FIXTURES / "otel-genai.jsonl").read_text().splitlines()[0])
    doc = tmp_path / "trace.json"
    doc.write_text(json.dumps(first, indent=2))
    summary, rows, _ = ingest_cli(str(doc), "--out", str(tmp_path / "o"))
    assert summary["records"] == 1 and rows[0]["account_id"] == "acct_0"
    assert summary["files"][str(doc)]["inputs"] == 1
