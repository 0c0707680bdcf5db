"""OpenAI-compatible request/response JSON Lines → traffic log v1, with a mapping file.

The fixture is what an httpx hook around the official ``openai`` client logged while it called
the stub upstream (scripts/make_openai_log_fixture.py): chat (plain and streamed),
completions and the Responses API, with the wrapper's own metadata names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from distillwatch.cli import app
from distillwatch.ingest.formats import Mapped, Unmapped, detect
from distillwatch.ingest.formats.mapping import FieldMapping
from distillwatch.ingest.formats.openai_log import map_line
from ingest_helpers import (
    FIXTURES,
    assert_nothing_lost,
    ingest_cli,
    json_values,
    read_jsonl,
    scan_accounts,
)

LOG = FIXTURES / "openai-log.jsonl"
MAPPING = FIXTURES / "openai-log.mapping.toml"
KEYS = ["request", "response", "id", "ts", "user_id", "timestamp", "path", "headers", "status"]
WITH_MAPPING = ("--from", "openai-log", "--mapping", str(MAPPING))


def test_fixture_with_its_mapping(tmp_path: Path) -> None:
    summary, rows, quarantine = ingest_cli(str(LOG), *WITH_MAPPING, "--out", str(tmp_path / "o"))
    assert_nothing_lost(summary, len(read_jsonl(LOG)))
    assert summary["records"] == 11 and not quarantine and summary["duplicate_request_ids"] == 0
    assert {row["account_id"] for row in rows} == {"cus_101", "cus_102", "cus_103"}
    assert str(rows[0]["ts"]) == "2026-09-21 17:00:00+00:00"  # epoch milliseconds, per mapping
    assert [row["endpoint"] for row in rows] == ["chat"] * 9 + ["completion", "responses"]
    chat, streamed, completion, responses = rows[0], rows[2], rows[9], rows[10]
    assert chat["last_user"] == "Summarise chapter 0 step by step." and chat["ip"] == "192.0.2.20"
    assert chat["temperature"] == 0.3 and chat["max_tokens"] == 200 and chat["stream"] is False
    assert chat["response_chars"] == len("echo: Summarise chapter 0 step by step.")
    assert chat["input_tokens"] == 7 and chat["status"] == 200 and chat["latency_ms"] > 0
    assert streamed["stream"] is True and streamed["response_chars"] == chat["response_chars"]
    assert completion["last_user"] == "Once upon a time" and completion["max_tokens"] == 20
    assert responses["system_prompt"] == "Be brief."
    assert responses["last_user"] == "Explain recursion."
    assert responses["reasoning_tokens"] == 1 and responses["response_chars"] == 24


def test_without_the_mapping_each_line_is_quarantined_naming_what_is_missing(
    tmp_path: Path,
) -> None:
    summary, rows, quarantine = ingest_cli(str(LOG), "--out", str(tmp_path / "o"))  # detected
    assert not rows and len(quarantine) == 11
    assert_nothing_lost(summary, 11)
    assert {q["field"] for q in quarantine} == {"account_id"}
    assert "--mapping" in quarantine[0]["detail"] and quarantine[0]["line"] == 1


def test_scan_end_to_end_with_the_mapping(tmp_path: Path) -> None:
    accounts = scan_accounts(str(LOG), tmp_path / "scan", *WITH_MAPPING)
    assert set(accounts) == {"cus_101", "cus_102", "cus_103"}


def line(**changes: Any) -> dict[str, Any]:
    base = read_jsonl(LOG)[0]
    return {**base, **changes}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (line(request="hello"), "request"),
        (line(request={"messages": "hi"}), "request.messages"),
        (line(request={"messages": [{"role": 3, "content": "x"}]}), "request.messages[0].role"),
        (line(response={"choices": {"0": {}}}), "response.choices"),
        (line(response={"choices": [{"message": "hi"}]}), "response.choices[0].message"),
        (line(response={"usage": {"prompt_tokens": -1}}), "response.usage.prompt_tokens"),
        (line(logged_at="2026-13-45"), "logged_at"),
        (line(customer={"id": {"nested": 1}}), "customer.id"),
        (line(status=99), "status"),
        ([1, 2], None),
    ],
)  # fmt: skip
def test_hostile_lines_are_quarantined_naming_the_field(
    tmp_path: Path, raw: Any, field: str | None
) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(orjson.dumps(line()) + b"\n" + orjson.dumps(raw) + b"\n")
    summary, rows, quarantine = ingest_cli(str(log), *WITH_MAPPING, "--out", str(tmp_path / "o"))
    assert len(rows) == 1 and summary["quarantined_total"] == 1
    assert quarantine[0]["line"] == 2 and quarantine[0]["field"] == field, quarantine[0]


def test_a_bad_mapping_file_is_refused_naming_the_key(tmp_path: Path) -> None:
    for text, expected in (
        ('[fields]\naccount = "x"', "fields.account: not a traffic log v1 field"),
        ("[fields]\naccount_id = 3", "fields.account_id: the path must be a non-empty string"),
        ('ts_unit = "days"', "ts_unit must be one of"),
        ("[fields", "not a TOML mapping file"),
    ):
        mapping = tmp_path / "m.toml"
        mapping.write_text(text)
        args = ["ingest", str(LOG), "--from", "openai-log", "--mapping", str(mapping)]
        result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "o")])
        assert result.exit_code != 0 and expected in " ".join(result.output.split()), result.output


def test_a_mapping_applies_to_v1_records_too() -> None:
    """Mapping paths may hold dots inside keys (OpenTelemetry style) and list indices."""
    from distillwatch.ingest.formats.base import lookup

    assert lookup({"a": {"b.c": [{"d": 1}]}}, "a.b.c.0.d") == 1
    assert lookup({"a": [1]}, "a.5") is None and lookup({"a": "x"}, "a.b") is None
    mapping = FieldMapping((("account_id", "who"),))
    [item] = list(map_line({"who": "w", "id": "r", "ts": 1, "request": {}}, mapping))
    assert item.record["account_id"] == "w"  # type: ignore[union-attr]


def test_detection_needs_a_request_body() -> None:
    assert detect(line()) == "openai-log"
    assert detect({"request": "x", "response": {}}) is None


@settings(max_examples=300, deadline=None)
@given(json_values() | st.dictionaries(st.sampled_from(KEYS), json_values(), max_size=8))
def test_any_json_maps_to_items_without_raising(raw: Any) -> None:
    for item in map_line(raw):
        assert isinstance(item, Mapped | Unmapped), item


def test_worker_processes_map_the_same_rows(tmp_path: Path) -> None:
    """Chunks of a foreign format (and its mapping) travel to worker processes intact."""
    from distillwatch.ingest import Dialect, ingest
    from distillwatch.ingest.formats.mapping import load_mapping

    log = tmp_path / "big.jsonl"
    log.write_bytes(LOG.read_bytes() * 40)
    dialect = Dialect("openai-log", load_mapping(MAPPING))
    one = ingest([log], tmp_path / "one", workers=1, dialect=dialect)
    two = ingest([log], tmp_path / "two", workers=2, dialect=dialect)
    assert one.records == two.records == 440 and two.duplicate_request_ids == 440 - 11
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "one" / "requests").equals(
        pq.read_table(tmp_path / "two" / "requests")
    )


def test_a_padded_request_user_is_cut_not_quarantined() -> None:
    """A pair with no account field falls back to the request body's ``user``, which the
    client chooses: padded, it is cut (same value, same cut id), never quarantined; a log's
    own account field that long is still refused."""
    padded = "attacker-" + "y" * 3_000
    line = {"id": "r1", "ts": 1, "request": {"user": padded, "model": "m"}, "response": {}}
    ids = set()
    for i in range(2):
        [item] = list(map_line({**line, "id": f"r{i}"}))
        assert isinstance(item, Mapped)
        ids.add(item.record["account_id"])
    (cut_id,) = ids
    assert cut_id.startswith("attacker-y") and len(cut_id) <= 256 and "[3009 chars" in cut_id
    [own] = list(map_line({**line, "user_id": "u" * 300}))
    assert isinstance(own, Mapped) and len(own.record["account_id"]) == 300  # refused later
