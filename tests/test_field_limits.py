"""Over-long traffic log v1 strings: scanned, never hidden, never unbounded in outputs.

Attackers control every byte of their requests and other producers' logs are unbounded, so
a record may carry a megabyte ``user_agent`` or ``model``, a huge prompt, thousands of
messages or tools. ``ingest/limits.py`` cuts identifiers to their limit (with a marker that
keeps equal values equal) and quarantines an over-long ``account_id``; these tests hold
every path to it: the fast decoder (Python and compiled), the per-line path, Parquet input,
the online engine, and ``scan``/``replay``/``share export`` end to end.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from builders import BASE, hydra, write_log
from distillwatch import signals
from distillwatch.cli import app
from distillwatch.ingest import fast
from distillwatch.ingest.batches import JsonlChunk, ParquetChunk, process_chunk
from distillwatch.ingest.limits import (
    ACCOUNT_ID_MAX,
    CUT_LIMITS,
    LIMITS,
    TEXT_MAX,
    TEXT_TAIL,
    cut,
    cut_text,
)
from distillwatch.ingest.normalize import check_record, flatten
from distillwatch.online.engine import enrich_record
from distillwatch.online.replay import run_replay
from distillwatch.schema import REQUEST_COLUMNS, traffic_log_json_schema
from distillwatch.share.export import build_bundle
from distillwatch.share.keyed import GroupKey
from distillwatch.share.policy import load_policy
from test_ingest_fast import _chunk_both_ways

#: The filler of every oversized value: a run of it in an output is a value that got through.
FILL = "Z"
RUN = FILL * (max(LIMITS.values()) + 1)
#: Where each limited field sits in a record, and its column in the requests table.
PLACES: dict[str, tuple[tuple[str, ...], str]] = {
    "request_id": (("request_id",), "request_id"),
    "key_id": (("key_id",), "key_id"),
    "org_id": (("org_id",), "org_id"),
    "ip": (("ip",), "ip"),
    "user_agent": (("user_agent",), "user_agent"),
    "payment_fingerprint": (("payment_fingerprint",), "payment_fingerprint"),
    "email_domain": (("email_domain",), "email_domain"),
    "model": (("model",), "model"),
    "params.reasoning_effort": (("params", "reasoning_effort"), "reasoning_effort"),
    "response.finish_reason": (("response", "finish_reason"), "finish_reason"),
}


def with_value(record: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(record))
    node = out
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return out


def base_record(i: int = 0, **fields: Any) -> dict[str, Any]:
    record = {
        "ts": "2026-11-02T00:00:00Z",
        "account_id": "acct-1",
        "request_id": f"r{i}",
        "messages": [{"role": "user", "content": "hello"}],
        "params": {"reasoning_effort": "low"},
        "response": {"text": "hi", "finish_reason": "stop"},
    }
    record.update(fields)
    return record


def test_cut_is_bounded_keeps_equal_values_equal_and_prefix_twins_apart() -> None:
    long = "a" * 5000
    assert cut("short", 10) == "short" and cut("a" * 10, 10) == "a" * 10
    once, again = cut(long, 256), cut("a" * 5000, 256)
    assert len(once) == 256 and once == again
    assert once.startswith("aaa") and "5000 chars, sha256:" in once
    assert cut(long + "b", 256) != once  # same head, different value: never merged
    assert len(cut("é" * 3000, 64)) == 64


@pytest.mark.parametrize("field", list(PLACES))
def test_the_per_line_and_fast_paths_cut_each_field_to_its_limit(field: str) -> None:
    path, column = PLACES[field]
    limit = CUT_LIMITS[field]
    record = with_value(base_record(), path, FILL * (limit * 40))
    line = orjson.dumps(record)
    with pytest.raises(msgspec.ValidationError):  # left to the per-line path
        fast.decode(line)
    row = dict(zip(REQUEST_COLUMNS, flatten(record), strict=False))
    assert len(row[column]) == limit and RUN not in row[column]
    assert f"{limit * 40} chars" in row[column]
    fitting = with_value(base_record(), path, FILL * limit)  # at the limit: kept whole
    assert dict(zip(REQUEST_COLUMNS, flatten(fitting), strict=False))[column] == FILL * limit
    assert fast.decode(orjson.dumps(fitting)) == flatten(fitting)


def test_an_over_long_account_id_is_quarantined_naming_field_length_and_line() -> None:
    good = [orjson.dumps(base_record(i)) for i in range(3)]
    bad = orjson.dumps(base_record(9, account_id="a" * (ACCOUNT_ID_MAX + 1)))
    padded = orjson.dumps(base_record(8, user_agent=FILL * 100_000))
    data = b"\n".join([good[0], bad, good[1], padded, good[2]]) + b"\n"
    result = process_chunk(JsonlChunk("log.jsonl", 1, data))
    assert result.batch.num_rows == 4  # the padded record is scanned, not dropped
    (problem,) = result.problems
    assert (problem.line, problem.reason, problem.field) == (2, "too_long", "account_id")
    assert f"{ACCOUNT_ID_MAX + 1} characters" in problem.detail
    assert len(problem.raw) <= 4096
    agents = result.batch.column("user_agent").to_pylist()
    assert max(len(a or "") for a in agents) == CUT_LIMITS["user_agent"]
    at_limit = base_record(account_id="a" * ACCOUNT_ID_MAX)
    assert check_record(at_limit) is None
    assert fast.decode(orjson.dumps(at_limit)) == flatten(at_limit)


def test_the_fast_path_and_the_per_line_path_give_the_same_batch() -> None:
    records = [
        with_value(base_record(i), p, FILL * 3000) for i, (p, _) in enumerate(PLACES.values())
    ]
    records.append(base_record(99, account_id="b" * 1000))
    data = b"\n".join(orjson.dumps(r) for r in records) + b"\n"
    fast_result, slow_result = _chunk_both_ways(data)
    assert fast_result.batch.equals(slow_result.batch)
    assert fast_result.problems == slow_result.problems
    assert fast_result.batch.num_rows == len(PLACES)


def test_parquet_input_is_cut_and_quarantined_alike(tmp_path: Path) -> None:
    rows = [base_record(0, user_agent=FILL * 20_000), base_record(1, account_id="c" * 300)]
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, tmp_path / "log.parquet")
    batch = pq.read_table(tmp_path / "log.parquet").to_batches()[0]
    result = process_chunk(ParquetChunk("log.parquet", 1, batch))
    assert result.batch.column("user_agent")[0].as_py().endswith("]")
    assert len(result.batch.column("user_agent")[0].as_py()) == CUT_LIMITS["user_agent"]
    (problem,) = result.problems
    assert (problem.line, problem.field, problem.reason) == (2, "account_id", "too_long")


def test_prompts_are_read_whole_by_the_signals_then_stored_cut() -> None:
    prompt = "Explain step by step " + FILL * 1_000_000 + " and the end."
    system = "You are terse. " + FILL * 300_000
    lines = [
        orjson.dumps(base_record(0, messages=[{"role": "user", "content": prompt}], system=system)),
        orjson.dumps(base_record(1)),
    ]
    chunk = JsonlChunk("log.jsonl", 1, b"\n".join(lines) + b"\n")
    result = process_chunk(chunk, derive=signals.compute)
    row, plain = result.batch.to_pylist()
    assert row["prompt_chars"] == len(prompt)  # the signals saw all of it
    assert row["cot_elicit"]
    assert len(row["last_user"]) == TEXT_MAX and len(row["system_prompt"]) == TEXT_MAX
    assert row["last_user"].startswith("Explain step by step ZZZ")
    assert row["last_user"].endswith(prompt[-TEXT_TAIL:])
    assert f"{len(prompt)} chars, sha256:" in row["last_user"]
    assert cut_text(prompt) == row["last_user"] and cut_text(prompt + "!") != row["last_user"]
    assert plain["last_user"] == "hello"  # short texts are untouched
    assert process_chunk(chunk).batch.column("last_user")[0].as_py() == row["last_user"]


def test_the_online_engine_cuts_and_refuses_alike() -> None:
    prompt = [{"role": "user", "content": "Explain step by step " + FILL * 100_000}]
    row = enrich_record(base_record(model=FILL * 50_000, user_agent=FILL * 50_000, messages=prompt))
    assert row["prompt_chars"] == 100_021 and len(row["last_user"]) == TEXT_MAX
    assert len(row["model"]) == CUT_LIMITS["model"]
    assert len(row["user_agent"]) == CUT_LIMITS["user_agent"]
    with pytest.raises(ValueError, match=r"too_long.*account_id"):
        enrich_record(base_record(account_id="d" * 10_000))


# -- end to end ------------------------------------------------------------------------------

IDS = 100_000  # characters of each oversized identifier
PROMPT = 1_000_000  # characters of the oversized prompt


def hostile_records() -> list[dict[str, Any]]:
    """A hydra of 30 accounts, and one more account per oversized field cloned from its first
    member (same cards and proxy pool: it links to the hydra), every request padded."""
    records = hydra("hy", 30, 12)
    template = [r for r in records if r["account_id"] == "hy0"][:6]
    for field, (path, _) in PLACES.items():
        for i, r in enumerate(template):
            padded = with_value(r, path, f"{field}-{FILL * IDS}")
            records.append(with_value(padded, ("account_id",), f"big-{field}"))
            if field != "request_id":
                records[-1]["request_id"] = f"big-{field}-{i}"
    extras = {
        "prompt": [{"role": "user", "content": f"Explain step by step {FILL * PROMPT}"}],
        "messages": [
            {"role": ("user", "assistant")[k % 2], "content": "go"} for k in range(20_000)
        ],
    }
    for i, r in enumerate(template):
        records.append(
            {**r, "account_id": "big-prompt", "request_id": f"bp{i}", "messages": extras["prompt"]}
        )
        records.append(
            {
                **r,
                "account_id": "big-messages",
                "request_id": f"bm{i}",
                "messages": extras["messages"],
            }
        )
        records.append(
            {
                **r,
                "account_id": "big-tools",
                "request_id": f"bt{i}",
                "tools": [{"type": "function"}] * 10_000,
            }
        )
        records.append(
            {**r, "account_id": "big-system", "request_id": f"bs{i}", "system": FILL * PROMPT}
        )
    records.append(
        {**template[0], "account_id": "acct-" + FILL * IDS, "request_id": "huge-account"}
    )
    return records  # fmt: skip


def longest(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return max((max(len(k), longest(v)) for k, v in value.items()), default=0)
    if isinstance(value, list):
        return max((longest(v) for v in value), default=0)
    return 0


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def hostile_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    records = hostile_records()
    return write_log(tmp_path_factory.mktemp("hostile") / "log.jsonl", records)


HOSTILE_ACCOUNTS = [f"big-{f}" for f in PLACES] + [
    f"big-{f}" for f in ("prompt", "messages", "tools", "system")
]


def test_scan_sees_every_padded_account_and_no_output_carries_an_unbounded_value(
    hostile_log: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scan"
    result = CliRunner().invoke(app, ["scan", str(hostile_log), "--out", str(out)])
    assert result.exit_code == 0, result.output
    accounts = {a["account_id"]: a for a in read_jsonl(out / "accounts.jsonl")}
    assert set(HOSTILE_ACCOUNTS) <= set(accounts)  # padding hides no one
    assert [a for a in accounts if a.startswith("acct-")] == []
    (problem,) = read_jsonl(out / "quarantine.jsonl")
    assert (problem["field"], problem["reason"]) == ("account_id", "too_long")
    assert problem["line"] == len(hostile_records())  # the last line of the log
    assert f"{IDS + 5:,} characters" in problem["detail"]
    campaigns = read_jsonl(out / "campaigns.jsonl")
    hydra_campaign = next(c for c in campaigns if "hy0" in c["accounts"])
    assert "big-user_agent" in hydra_campaign["accounts"]  # its client became an indicator
    assert any("sha256:" in a for a in hydra_campaign["indicators"]["user_agents"])
    assert longest(list(accounts.values())) <= max(LIMITS.values())
    assert longest(campaigns) <= max(LIMITS.values())
    for name in ("accounts.jsonl", "campaigns.jsonl", "report.html", "link_graph.jsonl"):
        assert RUN not in (out / name).read_text(), name
    samples = (out / "samples.jsonl").read_text()
    assert FILL * 1000 not in samples  # prompt samples are short heads
    now = BASE + dt.timedelta(days=1)
    shared = build_bundle(out, load_policy(None), GroupKey(b"test-group-key-0123456789"), now=now)
    assert shared.objects and RUN not in json.dumps(shared.objects)


def test_replay_decides_on_padded_accounts_and_writes_bounded_lines(
    hostile_log: Path, tmp_path: Path
) -> None:
    out = tmp_path / "replay"
    run_replay([hostile_log], out)
    tallies = {r["account_id"]: r for r in read_jsonl(out / "replay-accounts.jsonl")}
    assert set(HOSTILE_ACCOUNTS) <= set(tallies)
    decisions = read_jsonl(out / "decisions.jsonl")
    assert longest(decisions) <= max(LIMITS.values())
    assert longest(list(tallies.values())) <= max(LIMITS.values())
    assert RUN not in (out / "decisions.jsonl").read_text()


def test_the_published_schema_and_readme_state_the_same_limits() -> None:
    schema = traffic_log_json_schema()
    assert schema["properties"]["account_id"]["maxLength"] == ACCOUNT_ID_MAX
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Over-long fields in traffic logs")[1].split("\n## ")[0]
    rows = {line.split("|")[1]: line.split("|")[2] for line in section.splitlines() if "|" in line}
    for field, limit in LIMITS.items():
        (cell,) = [row for row in rows if f"`{field}`" in row]
        assert rows[cell].strip() == str(limit), field
    assert any(f"{TEXT_MAX:,}" in limit for limit in rows.values())


def test_the_signals_of_a_cut_prompt_are_those_of_the_whole_prompt_but_its_length() -> None:
    """Signals read a head and a tail within what the cut keeps, so a consumer that computes
    them on stored (cut) texts (``share`` on traffic logs) finds the same values."""
    words = ["Translate", "the", "clause", "into", "German", "and", "explain", "each", "choice"]
    texts = [
        " ".join(words[i % len(words)] for i in range(n)) + ending
        for n, ending in [
            (5_000, " Let's think step by step."),
            (40_000, " Rate answer A and answer B from 1 to 10."),
            (3_000, " def merge(a, b): return sorted(a + b)"),
        ]
    ] + ["短い質問です。" * 4000, "short"]
    whole = pa.RecordBatch.from_pydict({"last_user": texts})
    stored = pa.RecordBatch.from_pydict({"last_user": [cut_text(t) for t in texts]})
    assert max(len(t) for t in stored.column(0).to_pylist()) == TEXT_MAX
    a, b = signals.compute(whole), signals.compute(stored)
    for name in a.schema.names:
        if name != "prompt_chars":
            assert a.column(name).equals(b.column(name)), name
