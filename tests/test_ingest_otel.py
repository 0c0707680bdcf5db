"""OpenTelemetry GenAI spans (OTLP JSON, the Collector file exporter's format) → traffic log v1.

The fixture was written by the real opentelemetry-sdk (scripts/make_otel_fixture.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillwatch.ingest.formats import Mapped, PassedOver, Unmapped, detect
from distillwatch.ingest.formats.otel import map_export
from ingest_helpers import FIXTURES, assert_nothing_lost, ingest_cli, json_values, scan_accounts

FIXTURE = FIXTURES / "otel-genai.jsonl"


def count_spans(path: Path) -> int:
    """Spans in an OTLP/JSON file, counted without the reader under test."""
    total = 0
    for line in path.read_text().splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                total += len(ss["spans"])
    return total


def test_sdk_fixture_is_detected_ingested_and_counted(tmp_path: Path) -> None:
    summary, rows, quarantine = ingest_cli(str(FIXTURE), "--out", str(tmp_path / "out"))
    assert_nothing_lost(summary, count_spans(FIXTURE))
    assert summary["records"] == 13  # 12 chat spans + 1 embeddings span
    assert summary["passed_over"] == {
        "not a GenAI span": 12,
        "GenAI span that is not a model call (execute_tool)": 1,
    }
    [bad] = quarantine
    assert bad["field"].endswith("spans[0].attributes.gen_ai.usage.input_tokens")
    assert bad["line"] == 27 and bad["reason"] == "wrong_type"
    assert "lots" in bad["raw"]  # the span itself, to look at
    by_style = {row["source_line"]: row for row in rows}
    # three content styles: gen_ai.input.messages, per-message events, gen_ai.prompt.N.*
    for line in (1, 3, 5):
        row = by_style[line]
        assert row["last_user"] and row["response_chars"] == 31 and row["finish_reason"] == "stop"
        assert row["model"] == "gpt-4o-mini" and row["endpoint"] == "chat" and row["status"] == 200
        assert row["ip"].startswith("203.0.113.") and row["latency_ms"] == 949.0
    assert by_style[1]["system_prompt"] == "You are a careful tutor."
    assert by_style[3]["n_messages"] == 2  # system + user events
    assert {row["account_id"] for row in rows} == {"acct_0", "acct_1", "acct_2", "acct_3"}
    assert str(rows[0]["ts"]) == "2026-09-21 14:13:20.001000+00:00"


def test_scan_reads_otlp_end_to_end(tmp_path: Path) -> None:
    accounts = scan_accounts(str(FIXTURE), tmp_path / "scan")
    assert set(accounts) == {"acct_0", "acct_1", "acct_2", "acct_3"}
    assert all(0.0 <= row["score"] <= 1.0 for row in accounts.values())


def span(**attributes: Any) -> dict[str, Any]:
    values = []
    for key, value in attributes.items():
        kind = "intValue" if isinstance(value, int) else "stringValue"
        values.append({"key": key.replace("__", "."), "value": {kind: value}})
    return {"traceId": "ab", "spanId": "cd", "startTimeUnixNano": "1790000000000000000",
            "attributes": values}  # fmt: skip


def export(*spans: Any) -> dict[str, Any]:
    return {"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]}


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"resourceSpans": "x"}, "resourceSpans"),
        (export({**span(gen_ai__system="x", user__id="a"), "startTimeUnixNano": "soon"}),
         "spans[0].startTimeUnixNano"),
        (export(span(gen_ai__operation__name="chat")), "spans[0].attributes.user.id"),
        (export({**span(gen_ai__system="x", user__id="a"), "attributes": [{"key": 5}]}),
         "spans[0].attributes[0].key"),
        (export(span(gen_ai__system="x", user__id="a", gen_ai__request__temperature="hot")),
         "spans[0].attributes.gen_ai.request.temperature"),
        ({"resourceSpans": [{"scopeSpans": [{"spans": [7]}]}]}, "spans[0].span"),
    ],
)  # fmt: skip
def test_hostile_spans_are_quarantined_naming_the_field(
    tmp_path: Path, line: dict[str, Any], field: str
) -> None:
    good = export(span(gen_ai__operation__name="chat", user__id="a1"))
    log = tmp_path / "hostile.jsonl"
    log.write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(line) + b"\n")
    _, rows, quarantine = ingest_cli(str(log), "--from", "otel", "--out", str(tmp_path / "o"))
    assert [row["account_id"] for row in rows] == ["a1"]
    [bad] = quarantine
    assert bad["line"] == 2 and bad["field"].endswith(field), bad


def test_logs_and_metrics_exports_are_passed_over_not_lost(tmp_path: Path) -> None:
    log = tmp_path / "mixed.jsonl"
    lines = [export(span(gen_ai__operation__name="chat", user__id="a1")), {"resourceLogs": []}]
    log.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    summary, rows, _ = ingest_cli(str(log), "--out", str(tmp_path / "o"))
    assert len(rows) == 1 and summary["passed_over"] == {"OTLP logs or metrics, not spans": 1}
    assert_nothing_lost(summary, 2)


def test_detection_only_claims_otlp_exports() -> None:
    assert detect(export()) == "otel"
    assert detect({"spans": []}) is None


otlp_like = st.fixed_dictionaries(
    {"resourceSpans": st.lists(st.fixed_dictionaries(
        {"scopeSpans": st.lists(st.fixed_dictionaries(
            {"spans": st.lists(st.dictionaries(st.sampled_from(
                ["spanId", "traceId", "startTimeUnixNano", "attributes", "events", "status"]),
                json_values(), max_size=6), max_size=3)}), max_size=2)}), max_size=2)}
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(otlp_like | json_values())
def test_any_json_maps_to_items_without_raising(raw: Any) -> None:
    for item in map_export(raw):
        assert isinstance(item, Mapped | Unmapped | PassedOver)


def test_deep_nesting_is_refused_naming_the_attribute() -> None:
    value: dict[str, Any] = {"stringValue": "x"}
    for _ in range(40):
        value = {"arrayValue": {"values": [value]}}
    raw = export({**span(gen_ai__system="s", user__id="a"),
                  "attributes": [{"key": "deep", "value": value}]})  # fmt: skip
    [item] = list(map_export(raw))
    assert isinstance(item, Unmapped) and "nests deeper" in item.problem.detail
    assert item.problem.field is not None and item.problem.field.startswith("attributes.deep")


def test_strict_stops_at_the_unmappable_span_not_at_passed_over_ones(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from distillwatch.cli import app

    result = CliRunner().invoke(
        app, ["ingest", str(FIXTURE), "--strict", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code != 0
    text = "".join(result.output.split())
    assert "otel-genai.jsonl:27:wrong_type" in text and "gen_ai.usage.input_tokens" in text


def test_replay_reads_otlp_and_a_trace_without_model_calls_is_reported(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from distillwatch.cli import app
    from distillwatch.ingest import ingest

    result = CliRunner().invoke(app, ["replay", str(FIXTURE), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "decisions.jsonl").exists()
    only_http = tmp_path / "http.jsonl"
    only_http.write_text(FIXTURE.read_text().splitlines()[1] + "\n")  # line 2: an HTTP span
    summary = ingest([only_http], tmp_path / "o")
    assert summary.records == 0 and summary.passed_over == {"not a GenAI span": 1}
    assert summary.warnings == [f"{only_http}: no requests in it (all passed over)"]
