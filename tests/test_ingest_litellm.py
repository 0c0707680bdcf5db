"""LiteLLM SpendLogs → traffic log v1: from its PostgreSQL table (a real local server, the
table created by LiteLLM's own migrations) and from its JSON exports.

The rows were made by LiteLLM's own spend-tracking code over real calls to the stub upstream
(scripts/make_litellm_fixture.py); the table's DDL is every statement on LiteLLM_SpendLogs in
LiteLLM's Prisma migrations (tests/fixtures/ingest/litellm-spendlogs.sql)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillwatch.ingest.formats import Mapped, Unmapped, detect
from distillwatch.ingest.formats.litellm import map_row
from ingest_helpers import (
    FIXTURES,
    assert_nothing_lost,
    ingest_cli,
    json_values,
    postgres_schema,
    read_jsonl,
    scan_accounts,
)

ROWS = FIXTURES / "litellm-spendlogs.jsonl"
DDL = FIXTURES / "litellm-spendlogs.sql"
ACCOUNTS = {"user_alpha", "user_beta", "user_delta"}  # + the hashed key of the user-less key
JSON_COLUMNS = ("metadata", "messages", "response", "proxy_server_request", "request_tags")


def load_table(dsn: str, rows: list[dict[str, Any]]) -> None:
    """Create LiteLLM_SpendLogs with LiteLLM's DDL and insert rows as the proxy stores them."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(DDL.read_text())
        for row in rows:
            columns = [name for name in row if row[name] is not None]
            values = [
                orjson.loads(row[name]) if name in JSON_COLUMNS and isinstance(row[name], str)
                else row[name]
                for name in columns
            ]  # fmt: skip
            marks = ", ".join(
                "%s::jsonb" if name in JSON_COLUMNS else "%s::timestamptz AT TIME ZONE 'UTC'"
                if name in ("startTime", "endTime", "completionStartTime") else "%s"
                for name in columns
            )  # fmt: skip
            names = ", ".join(f'"{name}"' for name in columns)
            data = [orjson.dumps(v).decode() if n in JSON_COLUMNS else v
                    for n, v in zip(columns, values, strict=True)]  # fmt: skip
            connection.execute(
                f'INSERT INTO "LiteLLM_SpendLogs" ({names}) VALUES ({marks})',
                data,
            )


def hostile_rows(base: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows a database can hold but a v1 record cannot: each names its culprit."""
    no_account = {**base, "request_id": "bad-1", "user": "", "api_key": "", "end_user": ""}
    bad_messages = {
        **base,
        "request_id": "bad-2",
        "proxy_server_request": orjson.dumps({"messages": 5}).decode(),
    }
    negative = {**base, "request_id": "bad-3", "prompt_tokens": -4}
    return [no_account, bad_messages, negative]


KEYS = [*read_jsonl(ROWS)[0], "startTime", "proxy_server_request", "response", "metadata"]
KEYS += ["id", "model_parameters", "response_cost", "response_time", "stream"]  # payloads
EXPECTED_BAD = {"user", "proxy_server_request.messages", "prompt_tokens"}


def test_spendlogs_table_in_postgres(tmp_path: Path) -> None:
    rows = read_jsonl(ROWS)
    dsn = postgres_schema("dw_ingest_litellm")
    load_table(dsn, rows + hostile_rows(rows[0]))
    summary, out, quarantine = ingest_cli(dsn, "--out", str(tmp_path / "out"))
    assert_nothing_lost(summary, len(rows) + 3)
    assert summary["records"] == len(rows) == 17
    assert {q["field"] for q in quarantine} == EXPECTED_BAD
    assert all(q["file"].startswith("postgresql://postgres@127.0.0.1") for q in quarantine)
    lines = {q["field"]: q["line"] for q in quarantine}
    assert sorted(lines.values()) == sorted(set(lines.values())) and min(lines.values()) >= 1
    accounts = {row["account_id"] for row in out}
    assert accounts > ACCOUNTS and len(accounts) == 4
    first = next(row for row in out if row["request_id"] == rows[0]["request_id"])
    assert first["ip"] == "198.51.100.20" and first["user_agent"] == "openai-python/1.54.0"
    assert first["org_id"] == "org_1" and first["endpoint"] == "chat" and first["status"] == 200
    assert first["last_user"].startswith("Explain, step by step")
    assert first["system_prompt"] == "Be precise." and first["response_chars"] > 0
    assert first["input_tokens"] == rows[0]["prompt_tokens"]
    assert str(first["ts"]) == "2026-09-21 12:00:00+00:00"
    assert {row["endpoint"] for row in out} == {"chat", "completion"}


def test_a_query_selects_a_window_and_the_format_is_told_from_its_columns(tmp_path: Path) -> None:
    rows = read_jsonl(ROWS)
    dsn = postgres_schema("dw_ingest_litellm_query")
    load_table(dsn, rows)
    query = """SELECT * FROM "LiteLLM_SpendLogs" WHERE "startTime" < '2026-09-21 12:30'"""
    summary, out, _ = ingest_cli(dsn, "--query", query, "--out", str(tmp_path / "o"))
    assert summary["records"] == 5 == len(out)  # rows start every 7 minutes from 12:00


def test_a_query_cannot_write(tmp_path: Path) -> None:
    """The query runs in a READ ONLY transaction: a function that deletes cannot."""
    import psycopg
    from typer.testing import CliRunner

    from distillwatch.cli import app

    dsn = postgres_schema("dw_ingest_litellm_ro")
    load_table(dsn, read_jsonl(ROWS)[:1])
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "CREATE FUNCTION wipe() RETURNS int LANGUAGE sql AS "
            '$$ DELETE FROM "LiteLLM_SpendLogs"; SELECT 1 $$'
        )
    outputs = []
    for evil in (
        'SELECT *, wipe() AS w FROM "LiteLLM_SpendLogs"',
        'WITH gone AS (DELETE FROM "LiteLLM_SpendLogs" RETURNING *) SELECT * FROM gone',
    ):
        args = ["ingest", dsn, "--from", "litellm", "--query", evil, "--out", str(tmp_path / "o")]
        result = CliRunner().invoke(app, args)
        assert result.exit_code != 0 and "query failed" in result.output
        outputs.append(" ".join(result.output.split()))
    assert "read-only transaction" in outputs[0]  # the function ran, and was refused
    with psycopg.connect(dsn) as connection:
        assert connection.execute('SELECT count(*) FROM "LiteLLM_SpendLogs"').fetchone() == (1,)


def test_password_in_dsn_never_printed(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from distillwatch.cli import app

    dsn = "postgresql://postgres:hunter2@127.0.0.1:1/test"
    result = CliRunner().invoke(app, ["ingest", dsn, "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and "cannot connect" in result.output
    assert "hunter2" not in result.output


def test_spend_logs_json_export_and_scan_end_to_end(tmp_path: Path) -> None:
    """The /spend/logs API answers a JSON array (JSON columns as text): detected, read, scanned."""
    rows = read_jsonl(ROWS)
    export = tmp_path / "spend-logs.json"
    export.write_bytes(orjson.dumps([*rows, {"request_id": "x", "startTime": 5, "call_type": 1}]))
    summary, _, quarantine = ingest_cli(str(export), "--out", str(tmp_path / "out"))
    assert_nothing_lost(summary, len(rows) + 1)
    assert summary["records"] == 17 and [q["line"] for q in quarantine] == [18]
    accounts = scan_accounts(str(export), tmp_path / "scan")
    assert set(accounts) > ACCOUNTS and len(accounts) == 4


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"startTime": "yesterday"}, "startTime"),
        ({"metadata": "{not json"}, "metadata"),
        ({"response": orjson.dumps({"choices": "many"}).decode()}, "response.choices"),
        ({"proxy_server_request": orjson.dumps({"temperature": "hot"}).decode()},
         "proxy_server_request.temperature"),
        ({"requester_ip_address": 12}, "requester_ip_address"),
        ({"request_duration_ms": -1}, "request_duration_ms"),
    ],
)  # fmt: skip
def test_hostile_columns_name_the_column(change: dict[str, Any], field: str) -> None:
    row = {**read_jsonl(ROWS)[0], **change}
    [item] = list(map_row(row))
    if isinstance(item, Mapped):  # mapped: v1 validation names the LiteLLM column
        from distillwatch.ingest.formats.base import translate
        from distillwatch.ingest.normalize import check_record

        problem = check_record(item.record)
        assert problem is not None
        item = Unmapped(translate(problem, item.origin))
    assert isinstance(item, Unmapped) and item.problem.field == field, item


def test_detection() -> None:
    assert detect(read_jsonl(ROWS)[0]) == "litellm"
    assert detect({"request_id": "r", "ts": 1}) == "v1"


@settings(max_examples=300, deadline=None)
@given(json_values() | st.dictionaries(st.sampled_from(KEYS), json_values(), max_size=8))
def test_any_json_maps_to_items_without_raising(raw: Any) -> None:
    for item in map_row(raw):
        assert isinstance(item, Mapped | Unmapped), item


PAYLOADS = FIXTURES / "litellm-standard-logging.jsonl"


def test_standard_logging_payloads_as_bucket_loggers_write_them(tmp_path: Path) -> None:
    """LiteLLM's s3/gcs/azure loggers write one StandardLoggingPayload per call (object files
    under a prefix, or JSON Lines); the fixture holds the payloads of the same calls."""
    payloads = read_jsonl(PAYLOADS)
    calls = tmp_path / "bucket"
    calls.mkdir()
    for i, payload in enumerate(payloads):  # one object per call, as the s3 logger writes
        (calls / f"call-{i:02d}.json").write_bytes(orjson.dumps(payload))
    (calls / "call-99.json").write_bytes(orjson.dumps({**payloads[0], "id": "x", "metadata": 7}))
    summary, out, quarantine = ingest_cli(str(calls), "--out", str(tmp_path / "out"))
    assert_nothing_lost(summary, 18)
    assert summary["records"] == 17 and [q["field"] for q in quarantine] == ["metadata"]
    spend_rows = {row["litellm_call_id"]: row for row in read_jsonl(ROWS)}
    by_call = {p["litellm_call_id"]: p for p in payloads}
    for row in out:
        payload = next(p for p in payloads if p["id"] == row["request_id"])
        spend = spend_rows[payload["litellm_call_id"]]  # the SpendLogs row of the same call
        assert row["account_id"] == (spend["user"] or spend["api_key"])
        assert row["ip"] == spend["requester_ip_address"] and row["key_id"] == spend["api_key"]
        assert row["input_tokens"] == spend["prompt_tokens"]
    assert len(by_call) == 17
    first = next(row for row in out if row["request_id"] == payloads[0]["id"])
    assert first["last_user"].startswith("Explain, step by step") and first["max_tokens"] == 300
    assert first["system_prompt"] == "Be precise." and first["status"] == 200
    assert str(first["ts"]) == "2026-09-21 12:00:00+00:00"


def test_rows_from_a_real_litellm_proxy_process(tmp_path: Path) -> None:
    """Rows built inside a running ``litellm --config`` proxy (master key only: no database
    here for virtual keys), loaded into the SpendLogs table and read back."""
    rows = read_jsonl(FIXTURES / "litellm-proxy-spendlogs.jsonl")
    dsn = postgres_schema("dw_ingest_litellm_proxy")
    load_table(dsn, rows)
    summary, out, quarantine = ingest_cli(dsn, "--out", str(tmp_path / "out"))
    assert summary["records"] == 4 and not quarantine
    assert {row["account_id"] for row in out} == {"default_user_id"}  # the master key's user
    assert {row["key_id"] for row in out} == {"litellm_proxy_master_key"}  # never the key
    assert sorted(row["user_agent"] for row in out) == [f"client/{i}" for i in range(4)]
    assert {row["ip"] for row in out} == {"127.0.0.1"} and {row["model"] for row in out} == {
        "gpt-4o-mini"
    }
    assert {row["last_user"] for row in out} == set(PROMPTS_SENT)
    assert all(row["temperature"] == 0.2 and row["system_prompt"] == "Be precise." for row in out)
    by_end_user = ingest_cli(
        dsn, "--from", "litellm", "--mapping", str(END_USER), "--out", str(tmp_path / "e")
    )[1]
    assert {row["account_id"] for row in by_end_user} == {f"end_{i}" for i in range(4)}


PROMPTS_SENT = [
    "Explain, step by step, how you would prove that sqrt(2) is irrational.",
    "Translate into Spanish: 'The meeting moved to Thursday.'",
    "Write a SQL query listing customers with more than three orders.",
    "Grade the following answer from 1 to 10: 'The capital of Australia is Sydney.'",
]
END_USER = FIXTURES / "litellm-end-user.mapping.toml"


def test_a_padded_end_user_is_cut_not_quarantined(tmp_path: Path) -> None:
    """Without key identities an account is the request's ``end_user``, which the client
    chooses: padding it past the account id limit must not take its traffic out of the scan.
    Cut ids of the same padded value stay one account; a provider's own id that long is
    still quarantined."""
    padded = "attacker-" + "x" * 5_000
    rows = [
        {**row, "user": "", "api_key": "", "end_user": padded if i % 2 else "end_ok"}
        for i, row in enumerate(read_jsonl(ROWS))
    ]
    rows.append({**rows[0], "request_id": "own-long", "user": "u" * 300})
    export = tmp_path / "spend-logs.json"
    export.write_bytes(orjson.dumps(rows))
    summary, out, quarantine = ingest_cli(str(export), "--out", str(tmp_path / "out"))
    assert_nothing_lost(summary, len(rows))
    assert [(q["reason"], q["field"]) for q in quarantine] == [("too_long", "user")]
    accounts = {row["account_id"] for row in out}
    cut_ids = accounts - {"end_ok"}
    assert len(accounts) == 2 and len(cut_ids) == 1
    (cut_id,) = cut_ids
    assert cut_id.startswith("attacker-x") and len(cut_id) <= 256
    assert "[5009 chars, sha256:" in cut_id
    assert summary["records"] == len(rows) - 1

    payloads = read_jsonl(PAYLOADS)
    calls = tmp_path / "bucket"
    calls.mkdir()
    for i, payload in enumerate(payloads):
        meta = {**payload["metadata"], "user_api_key_user_id": None, "user_api_key_hash": None}
        (calls / f"call-{i:02d}.json").write_bytes(
            orjson.dumps({**payload, "metadata": meta, "end_user": padded})
        )
    summary, out, quarantine = ingest_cli(str(calls), "--out", str(tmp_path / "out2"))
    assert not quarantine and {row["account_id"] for row in out} == cut_ids
