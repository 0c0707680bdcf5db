"""Ingest throughput of each log format, one process, from records made like the fixtures.

Each format's file holds ``--records`` requests built from its fixture
(tests/fixtures/ingest/) with fresh ids and times, so the cost measured is the reader's
mapping plus the same v1 validation every format goes through; v1 is the baseline. OTLP
lines carry 10 spans each, half of them HTTP spans that are passed over (counted, not
records). PostgreSQL reads the SpendLogs rows back from a table on the local server.

    DISTILLWATCH_NO_PROGRESS=1 .venv/bin/python benchmarks/bench_readers.py --records 100000
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from distillwatch.ingest import Dialect, ingest
from distillwatch.ingest.formats.mapping import load_mapping

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ingest"


def fixture(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines()]


def litellm_rows(n: int) -> list[dict[str, Any]]:
    base = fixture("litellm-spendlogs.jsonl")
    rows = []
    for i in range(n):
        row = dict(base[i % len(base)])
        row["request_id"] = f"req-{i}"
        row["startTime"] = f"2026-09-21T12:{i // 60 % 60:02d}:{i % 60:02d}+00:00"
        row["endTime"] = row["startTime"]  # request_duration_ms still says how long it took
        rows.append(row)
    return rows


def otel_lines(n: int) -> list[dict[str, Any]]:
    lines = fixture("otel-genai.jsonl")
    chat = next(line for line in lines if "gen_ai" in json.dumps(line))
    http = next(line for line in lines if "gen_ai" not in json.dumps(line))
    span = chat["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    http_span = http["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    out = []
    for start in range(0, n, 5):
        spans = []
        for i in range(start, min(start + 5, n)):
            one = copy.deepcopy(span)
            one["spanId"] = f"{i:016x}"
            spans += [one, http_span]
        line = copy.deepcopy(chat)
        line["resourceSpans"][0]["scopeSpans"][0]["spans"] = spans
        out.append(line)
    return out


def openai_lines(n: int) -> list[dict[str, Any]]:
    base = fixture("openai-log.jsonl")
    out = []
    for i in range(n):
        line = dict(base[i % len(base)])
        line["event_id"] = f"evt-{i}"
        out.append(line)
    return out


def v1_records(n: int) -> list[dict[str, Any]]:
    out = []
    for i, row in enumerate(litellm_rows(n)):
        out.append({"ts": row["startTime"], "account_id": row["user"] or row["api_key"],
                    "request_id": row["request_id"], "model": row["model"], "endpoint": "chat",
                    "messages": json.loads(row["proxy_server_request"]).get("messages"),
                    "response": {"text": "x" * 60, "finish_reason": "stop"},
                    "usage": {"input_tokens": 7, "output_tokens": 13}, "status": 200,
                    "ip": f"198.51.100.{i % 250}"})  # fmt: skip
    return out


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def load_postgres(rows: list[dict[str, Any]]) -> str:
    import psycopg

    dsn = "postgresql://postgres@127.0.0.1:5432/test"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("DROP SCHEMA IF EXISTS dw_bench_readers CASCADE")
        connection.execute("CREATE SCHEMA dw_bench_readers")
        connection.execute("SET search_path = dw_bench_readers")
        connection.execute((FIXTURES / "litellm-spendlogs.sql").read_text())
        columns = ["request_id", "call_type", "api_key", "startTime", "endTime", "model", "user",
                   "metadata", "proxy_server_request", "response", "prompt_tokens",
                   "completion_tokens", "requester_ip_address", "status",
                   "request_duration_ms"]  # fmt: skip
        names = ", ".join(f'"{c}"' for c in columns)
        with connection.cursor().copy(f'COPY "LiteLLM_SpendLogs" ({names}) FROM STDIN') as copy_:
            for row in rows:
                copy_.write_row([row.get(c) for c in columns])
    return dsn + "?options=-csearch_path%3Ddw_bench_readers"


def measure(label: str, run: Callable[[Path], Any], n: int, work: Path, size: int) -> str:
    started = time.perf_counter()
    summary = run(work / label)
    seconds = time.perf_counter() - started
    assert summary.records == n, (label, summary.records, summary.quarantined)
    mb = size / 1e6
    rates = f"{n / seconds:,.0f} | {mb / seconds:,.0f}"
    return f"| {label} | {n:,} | {mb:,.0f} | {seconds:.2f} | {rates} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    n = args.records
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        v1 = write_jsonl(work / "v1.jsonl", v1_records(n))
        spend = write_jsonl(work / "spendlogs.jsonl", litellm_rows(n))
        otel = write_jsonl(work / "otel.jsonl", otel_lines(n))
        proxy = write_jsonl(work / "openai.jsonl", openai_lines(n))
        mapping = load_mapping(FIXTURES / "openai-log.mapping.toml")
        runs: list[tuple[str, Callable[[Path], Any]]] = [
            ("v1 JSON Lines (baseline)", lambda out: ingest([v1], out, workers=1)),
            ("LiteLLM SpendLogs JSON Lines", lambda out: ingest([spend], out, workers=1)),
            ("OTLP JSON (10 spans a line, 5 GenAI)", lambda out: ingest([otel], out, workers=1)),
            ("openai-log + mapping file", lambda out: ingest(
                [proxy], out, workers=1, dialect=Dialect("openai-log", mapping))),
        ]  # fmt: skip
        if not args.no_postgres:
            dsn = load_postgres(litellm_rows(n))
            runs.append(
                ("LiteLLM SpendLogs from PostgreSQL", lambda out: ingest([dsn], out, workers=1))
            )
        sizes = [p.stat().st_size for p in (v1, spend, otel, proxy, spend)]
        print("| input | records | MB of JSON | seconds | records/s | MB/s |")
        print("|---|---:|---:|---:|---:|---:|")
        for (label, run), size in zip(runs, sizes, strict=False):
            print(measure(label, run, n, work, size), flush=True)


if __name__ == "__main__":
    main()
