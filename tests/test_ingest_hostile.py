"""Hostile records in every foreign format: each one quarantined or counted, never a crash.

Nesting deeper than orjson writes (255 levels: a span, a row, an array element quarantined
whole used to stop the run while its ``raw`` was written), JSON deeper than orjson reads,
duplicate and missing span ids, bytes that are not UTF-8, wrong types and integers beyond
64 bits. The counts are checked against the inputs counted here, not by the reader.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import orjson

from ingest_helpers import FIXTURES, assert_nothing_lost, ingest_cli, postgres_schema, read_jsonl
from test_ingest_litellm import load_table
from test_ingest_otel import export, span

DEPTH = 300  # within what orjson reads (1,024), beyond what it writes (255)


def nested(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"k": value}
    return value


def dumps(value: Any) -> bytes:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    return json.dumps(value).encode()


def test_otlp_lines_of_every_kind_of_trouble(tmp_path: Path) -> None:
    chat = span(gen_ai__operation__name="chat", user__id="a1")
    deep: dict[str, Any] = {"key": "deep", "value": {"kvlistValue": {"values": []}}}
    node = deep["value"]["kvlistValue"]["values"]
    for _ in range(DEPTH // 3):  # kvlistValue -> values -> pair: three levels a step
        inner: dict[str, Any] = {"key": "k", "value": {"kvlistValue": {"values": []}}}
        node.append(inner)
        node = inner["value"]["kvlistValue"]["values"]
    no_ids = {k: v for k, v in chat.items() if k not in ("spanId", "traceId")}
    lines = [
        dumps(export(chat, chat)),  # 2 spans, one id: both kept, the duplicate counted
        dumps(export({**chat, "spanId": "00000000000000ff", "attributes": [deep]})),
        dumps(export(no_ids)),
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "caf\xe9"}]}]}]}',
        b"[" * 2000 + b"]" * 2000,  # deeper than any JSON reader here goes
        dumps(export({**chat, "spanId": "00000000000000aa", "startTimeUnixNano": 10**30})),
    ]
    log = tmp_path / "hostile-otel.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    summary, rows, quarantine = ingest_cli(str(log), "--from", "otel", "--out", str(tmp_path / "o"))
    assert_nothing_lost(summary, 2 + 1 + 1 + 1 + 1 + 1)
    assert len(rows) == 2 and summary["duplicate_request_ids"] == 1
    by_line = {q["line"]: q for q in quarantine}
    assert sorted(by_line) == [2, 3, 4, 5, 6]
    assert "nests deeper" in by_line[2]["detail"] and "nested deeper than" in by_line[2]["raw"]
    assert by_line[3]["field"].endswith("spans[0].spanId")
    assert by_line[4]["reason"] == by_line[5]["reason"] == "invalid_json"
    assert by_line[6]["field"].endswith("startTimeUnixNano")


def litellm_rows() -> list[dict[str, Any]]:
    base = read_jsonl(FIXTURES / "litellm-spendlogs.jsonl")[0]
    deep_metadata = {"deep": nested(DEPTH)}
    return [
        {**base, "request_id": "ok-1"},
        {**base, "request_id": "deep-1", "prompt_tokens": "many", "metadata": deep_metadata},
        {**base, "request_id": None},
        {**base, "request_id": "big-1", "completion_tokens": 10**30},
        {**base, "request_id": "ts-1", "startTime": "yesterday"},
    ]


def check_litellm(summary: dict, rows: list[dict], quarantine: list[dict]) -> None:
    assert_nothing_lost(summary, 5)
    assert [row["request_id"] for row in rows] == ["ok-1"]
    fields = {q["field"] for q in quarantine}
    assert fields == {"prompt_tokens", "request_id", "completion_tokens", "startTime"}
    deep = next(q for q in quarantine if q["field"] == "prompt_tokens")
    assert "deep-1" in deep["raw"]


def test_a_litellm_export_with_a_row_nested_too_deep_to_write(tmp_path: Path) -> None:
    """A JSON array export is parsed whole, so ``raw`` is the parsed row (it crashed)."""
    export_file = tmp_path / "spend-logs.json"
    export_file.write_bytes(dumps(litellm_rows()))
    out = str(tmp_path / "o")
    check_litellm(*ingest_cli(str(export_file), "--from", "litellm", "--out", out))


def test_a_spendlogs_table_with_a_deep_jsonb_column(tmp_path: Path) -> None:
    dsn = postgres_schema("dw_ingest_hostile")
    rows = litellm_rows()
    rows[2]["request_id"] = ""  # the table's primary key cannot be null: empty instead
    rows[3]["completion_tokens"] = 2**31 - 1  # an integer column: the largest it holds
    rows[4]["startTime"] = "0001-01-01T00:00:00Z"  # a timestamp column: the earliest
    rows[1]["prompt_tokens"] = -4  # an integer column: "many" cannot be stored
    metadata = rows[1]["metadata"]
    rows[1]["metadata"] = orjson.dumps({"deep": "placeholder"}).decode()
    load_table(dsn, rows)
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:  # nest it in SQL, not in Python
        connection.execute(
            'UPDATE "LiteLLM_SpendLogs" SET metadata = %s::jsonb WHERE request_id = %s',
            [dumps(metadata).decode(), "deep-1"],
        )
    summary, out, quarantine = ingest_cli(dsn, "--out", str(tmp_path / "o"))
    assert_nothing_lost(summary, 5)
    assert {row["request_id"] for row in out} == {"ok-1", "big-1", "ts-1"}
    assert {q["field"] for q in quarantine} == {"prompt_tokens", "request_id"}


def test_openai_log_lines(tmp_path: Path) -> None:
    base = read_jsonl(FIXTURES / "openai-log.jsonl")[0]
    deep = {**base, "event_id": "e-deep"}
    deep["request"] = {"model": "m", "messages": [{"role": "user", "content": nested(DEPTH)}]}
    lines = [
        dumps({**base, "event_id": "e-ok"}),
        dumps(deep),
        dumps({**base, "event_id": "e-list", "request": [1, 2]}),
        dumps({**base, "event_id": None}),
        b'{"event_id": "e-bytes", "request": {"messages": [{"role": "user", "content": "\xff"}]}}',
        b"{" * 2000,
    ]
    log = tmp_path / "proxy.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    mapping = str(FIXTURES / "openai-log.mapping.toml")
    summary, rows, quarantine = ingest_cli(
        str(log), "--from", "openai-log", "--mapping", mapping, "--out", str(tmp_path / "o")
    )
    assert_nothing_lost(summary, 6)
    assert [row["request_id"] for row in rows] == ["e-ok"]
    fields = [q["field"] for q in sorted(quarantine, key=lambda q: q["line"])]
    assert fields == ["request.messages[0].content", "request", "event_id", None, None]
