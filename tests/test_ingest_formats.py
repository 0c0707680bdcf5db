"""Every input format and layout ingests to the same rows, with exactly REQUESTS_SCHEMA."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from distillwatch.ingest import IngestError, RequestStream, ingest, iter_batches
from distillwatch.schema import REQUESTS_SCHEMA

Record = dict[str, Any]


def jsonl(records: list[Any]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def rows(out: Path) -> list[dict[str, Any]]:
    table = pq.read_table(out / "requests")
    return sorted(table.to_pylist(), key=lambda r: (r["source_file"], r["source_line"]))


def three(make_record: Callable[..., Record]) -> list[Record]:
    return [make_record(i, account_id=f"acct_{i % 2}") for i in range(3)]


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("log.jsonl", lambda b: b),
        ("log.ndjson", lambda b: b),
        ("log.json", lambda b: b),
        ("log.jsonl.gz", gzip.compress),
        ("log.jsonl.zst", lambda b: zstandard.ZstdCompressor().compress(b)),
        ("log.txt", gzip.compress),  # unknown suffix: format from the first bytes
    ],
)
def test_jsonl_variants_give_identical_rows(
    tmp_path: Path, make_record: Callable[..., Record], name: str, encode: Callable[[bytes], bytes]
) -> None:
    path = tmp_path / name
    path.write_bytes(encode(jsonl(three(make_record))))
    summary = ingest([path], tmp_path / "out")
    got = rows(tmp_path / "out")
    assert summary.records == 3 and summary.quarantined_total == 0 and summary.accounts == 2
    assert [r["request_id"] for r in got] == ["req_0", "req_1", "req_2"]
    assert [r["source_line"] for r in got] == [1, 2, 3]
    assert got[0]["last_user"] == "And 3+3?"
    assert got[0]["system_prompt"] == "You are terse."


def test_zstd_file_of_several_frames_is_read_to_the_end(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    compressor = zstandard.ZstdCompressor()
    frames = [compressor.compress(jsonl([make_record(i)])) for i in range(4)]
    path = tmp_path / "appended.jsonl.zst"
    path.write_bytes(b"".join(frames))
    assert ingest([path], tmp_path / "out").records == 4


def test_output_has_exactly_the_requests_schema_and_duckdb_reads_it(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(jsonl(three(make_record)))
    ingest([path], tmp_path / "out")
    for part in (tmp_path / "out" / "requests").glob("*.parquet"):
        assert pq.read_schema(part).equals(REQUESTS_SCHEMA, check_metadata=True)
        assert pq.ParquetFile(part).metadata.row_group(0).column(0).compression == "ZSTD"
    count = duckdb.execute(
        f"select count(*) from read_parquet('{tmp_path}/out/requests/*.parquet')"
    ).fetchall()
    assert count == [(3,)]


def test_flattening_of_every_column(tmp_path: Path, make_record: Callable[..., Record]) -> None:
    record = make_record(
        country="de",
        system="Top-level system wins",
        messages=[
            {"role": "developer", "content": "dev prompt"},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image"}, "b"]},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]},
            {"role": "tool", "content": "result"},
            {"role": "function", "content": "old-style result"},
        ],
        tools=[{"type": "function"}, {"type": "function"}],
        params={"temperature": 1, "top_p": 0.9, "max_tokens": 512.0, "n": 3, "logprobs": True,
                "top_logprobs": 5, "stream": True, "reasoning_effort": "high", "seed": 1},
        response={"text": "héllo", "finish_reason": "tool_calls", "tool_calls": [{}, {}]},
        usage={"input_tokens": 10, "output_tokens": 20, "reasoning_tokens": 5},
        extra_unknown_field={"kept": "and ignored"},
    )  # fmt: skip
    path = tmp_path / "log.jsonl"
    path.write_bytes(jsonl([record]))
    ingest([path], tmp_path / "out")
    [row] = rows(tmp_path / "out")
    assert row == {
        "ts": datetime(2026, 2, 1, 12, 0, 0, 250000, tzinfo=UTC),
        "account_id": "acct_1",
        "request_id": "req_1",
        "key_id": "key_1",
        "org_id": "org_1",
        "ip": "198.51.100.7",
        "user_agent": "openai-python/1.54.0",
        "country": "DE",
        "asn": 3320,
        "account_created": datetime(2025, 12, 24, 7, 0, tzinfo=UTC),
        "payment_fingerprint": "pf_9",
        "email_domain": "example.org",
        "model": "frontier-large",
        "endpoint": "chat",
        "system_prompt": "Top-level system wins",
        "last_user": "a\nb",
        "n_messages": 5,
        "n_user_turns": 1,
        "n_assistant_turns": 1,
        "n_tool_results": 2,
        "n_tools": 2,
        "temperature": 1.0,
        "top_p": 0.9,
        "max_tokens": 512,
        "n": 3,
        "logprobs": True,
        "top_logprobs": 5,
        "stream": True,
        "reasoning_effort": "high",
        "response_chars": 5,
        "finish_reason": "tool_calls",
        "n_tool_calls": 2,
        "input_tokens": 10,
        "output_tokens": 20,
        "reasoning_tokens": 5,
        "status": 200,
        "latency_ms": 412.5,
        "source_file": str(path),
        "source_line": 1,
    }


def test_minimal_record_leaves_unknowns_null(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(jsonl([{"ts": 0, "account_id": 7, "request_id": "r"}]))
    ingest([path], tmp_path / "out")
    [row] = rows(tmp_path / "out")
    assert row["account_id"] == "7"  # integer ids are stored as text
    assert row["ts"] == datetime(1970, 1, 1, tzinfo=UTC)
    assert row["n_messages"] is None and row["last_user"] is None  # no messages: unknown
    assert row["n_tools"] == 0  # no tools offered
    assert row["n_tool_calls"] is None and row["response_chars"] is None  # no response


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (1769947200, datetime(2026, 2, 1, 12, tzinfo=UTC)),
        (1769947200.123456, datetime(2026, 2, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2026-02-01T12:00:00Z", datetime(2026, 2, 1, 12, tzinfo=UTC)),
        ("2026-02-01T13:30:00.5+01:30", datetime(2026, 2, 1, 12, 0, 0, 500000, tzinfo=UTC)),
        ("2026-02-01 12:00:00.123456789-00:00", datetime(2026, 2, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2026-02-01T12:00:00", datetime(2026, 2, 1, 12, tzinfo=UTC)),  # no offset: UTC
    ],
)
def test_timestamps_normalise_to_utc_microseconds(
    tmp_path: Path, make_record: Callable[..., Record], ts: Any, expected: datetime
) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(jsonl([make_record(ts=ts, account_created=ts)]))
    ingest([path], tmp_path / "out")
    [row] = rows(tmp_path / "out")
    assert row["ts"] == expected and row["account_created"] == expected


def test_parquet_input_with_nested_structs(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    records = [
        make_record(1, ts=datetime(2026, 2, 1, 12, tzinfo=UTC)),
        make_record(2, ts=datetime(2026, 2, 1, 13, tzinfo=UTC), account_id=None),
        make_record(3, ts=datetime(2026, 2, 1, 14, tzinfo=UTC)),
    ]
    path = tmp_path / "log.parquet"
    pq.write_table(pa.Table.from_pylist(records), path)
    summary = ingest([path], tmp_path / "out")
    got = rows(tmp_path / "out")
    assert [r["request_id"] for r in got] == ["req_1", "req_3"]
    assert [r["source_line"] for r in got] == [1, 3]
    assert got[0]["last_user"] == "And 3+3?" and got[0]["n_messages"] == 4
    assert got[1]["ts"] == datetime(2026, 2, 1, 14, tzinfo=UTC)
    assert summary.quarantined == {"missing_field": 1}
    quarantine = [
        orjson.loads(x) for x in (tmp_path / "out/quarantine.jsonl").read_bytes().splitlines()
    ]
    assert [(q["line"], q["field"]) for q in quarantine] == [(2, "account_id")]


def test_parquet_content_as_list_of_parts(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]}
    ]
    path = tmp_path / "log.parquet"
    pq.write_table(pa.Table.from_pylist([make_record(messages=messages)]), path)
    ingest([path], tmp_path / "out")
    assert rows(tmp_path / "out")[0]["last_user"] == "x\ny"


def test_directory_reads_traffic_and_reports_what_it_skipped(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    run = tmp_path / "run"
    (run / "day2").mkdir(parents=True)
    (run / "traffic.jsonl.zst").write_bytes(
        zstandard.ZstdCompressor().compress(jsonl([make_record(1)]))
    )
    (run / "day2" / "more.jsonl").write_bytes(jsonl([make_record(2)]))
    (run / "labels.jsonl").write_bytes(jsonl([{"account_id": "acct_1", "label": "benign"}]))
    (run / "other-labels.jsonl").write_bytes(jsonl([{"account_id": "acct_1", "label": "x"}]))
    (run / "scenario.toml").write_text("seed = 7\n")
    (run / "config.json").write_text('{\n  "pretty": true\n}\n')
    (run / ".hidden.jsonl").write_bytes(jsonl([make_record(9)]))
    out = run / "ingested"
    ingest([run], out)
    # a second run over the same directory must not read the first run's output
    summary = ingest([run], out)
    assert summary.records == 2
    assert sorted(r["request_id"] for r in rows(out)) == ["req_1", "req_2"]
    assert set(summary.files) == {str(run / "day2" / "more.jsonl"), str(run / "traffic.jsonl.zst")}
    assert set(summary.skipped) == {
        str(run / name)
        for name in ("labels.jsonl", "other-labels.jsonl", "scenario.toml", "config.json")
    }


def test_empty_file_is_zero_records_and_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    summary = ingest([path], tmp_path / "out")
    assert summary.records == 0 and summary.quarantined_total == 0
    assert any("empty" in w for w in summary.warnings)
    assert pq.read_table(tmp_path / "out" / "requests").schema.equals(REQUESTS_SCHEMA)
    assert (tmp_path / "out" / "quarantine.jsonl").read_bytes() == b""


def test_missing_path_fails_before_any_work(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl([make_record()]))
    with pytest.raises(IngestError, match=r"nope\.jsonl: no such file"):
        ingest([good, tmp_path / "nope.jsonl"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_damaged_compressed_stream_is_a_clear_error(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl([make_record(i) for i in range(50)]))[:-20])
    with pytest.raises(IngestError, match=r"cut\.jsonl\.gz: cannot read"):
        ingest([path], tmp_path / "out")
    assert not (tmp_path / "out" / "requests").exists()


def test_duplicate_request_ids_are_kept_and_counted(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(jsonl([make_record(1), make_record(2), make_record(1), make_record(1)]))
    summary = ingest([path], tmp_path / "out")
    assert summary.records == 4 and summary.duplicate_request_ids == 2


def test_iter_batches_streams_in_file_order_across_chunks(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + jsonl([make_record(i) for i in range(200)]))
    seen: list[Any] = []
    batches = list(iter_batches([path], quarantine=seen.append))
    assert all(b.schema.equals(REQUESTS_SCHEMA) for b in batches)
    lines = [n for b in batches for n in b.column("source_line").to_pylist()]
    assert lines == list(range(1, 201)) and seen == []


def test_two_worker_processes_give_the_same_rows(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    path = tmp_path / "log.jsonl"
    lines: list[Any] = [make_record(i) for i in range(300)]
    lines[150] = "not an object"
    path.write_bytes(jsonl(lines))
    # small chunks, so that many are in flight and their order across workers matters
    one = pa.Table.from_batches(list(RequestStream([path], workers=1, chunk_bytes=4096)))
    two = pa.Table.from_batches(list(RequestStream([path], workers=2, chunk_bytes=4096)))
    assert one.num_rows == 299 and one.equals(two)
