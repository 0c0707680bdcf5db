"""The typed fast path of ingest (``ingest/fast.py``) never disagrees with the per-line path.

The per-line path (``orjson`` + ``normalize.flatten``) is the definition: for every line the
fast path accepts, the per-line path must accept it too and give the same row; every line
the fast path refuses goes to the per-line path anyway. Held on generated hostile records
(hypothesis), on raw lines that only a byte-level view can express, on the simulator's log,
and on whole chunks (quarantine included) with the fast path on and off.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillwatch.ingest import fast
from distillwatch.ingest.batches import JsonlChunk, process_chunk
from distillwatch.ingest.normalize import flatten
from distillwatch.ingest.validate import InvalidRecord
from ingest_helpers import json_values

Record = dict[str, Any]


def slow_row(line: bytes) -> tuple[Any, ...] | None:
    """The per-line path's row, or None when it quarantines the line."""
    try:
        return flatten(orjson.loads(line))
    except (orjson.JSONDecodeError, InvalidRecord):
        return None


def fast_row(line: bytes) -> tuple[Any, ...] | None:
    """The fast path's row, or None when it leaves the line to the per-line path (the
    chunk screen names it, or the typed decoding refuses it)."""
    if fast.suspect_lines(line) != set():
        return None
    try:
        return fast.decode(line)
    except Exception:  # any refusal is "not mine"
        return None


def assert_agree(line: bytes) -> None:
    got = fast_row(line)
    if got is not None:
        assert got == slow_row(line), line[:300]


# Values a hostile log may put where the schema expects something else.
odd_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(["", "DE", "de", "XK", "Ü1", "chat", "images", "2026-02-01T00:00:00Z"]),
    st.sampled_from(["2026-02-30T00:00:00Z", "2026-02-01 00:00:00.1234567+05:30", "1e3"]),
)
timestamps = st.one_of(
    odd_scalars,
    st.integers(min_value=0, max_value=10**12),
    st.floats(min_value=0, max_value=2e11, allow_nan=False),
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat(sep=" ") + "Z"),
)
parts = st.lists(
    st.one_of(
        st.text(max_size=5),
        st.fixed_dictionaries({}, optional={"text": odd_scalars, "type": st.just("text")}),
        odd_scalars,
    ),
    max_size=3,
)
contents = st.one_of(odd_scalars, st.text(max_size=8), parts)
roles = st.one_of(
    st.sampled_from(["user", "assistant", "system", "developer", "tool", "function", "other"]),
    odd_scalars,
)
messages = st.lists(
    st.one_of(
        st.fixed_dictionaries({}, optional={"role": roles, "content": contents, "name": st.text()}),
        odd_scalars,
    ),
    max_size=4,
)
numbers = st.one_of(
    odd_scalars,
    st.integers(min_value=-3, max_value=2**64),
    st.floats(min_value=-1, max_value=1e20, allow_nan=False),
    st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 99, 100, 599]),
)
fields: dict[str, st.SearchStrategy[Any]] = {
    "ts": timestamps,
    "account_id": st.one_of(odd_scalars, st.just("acct_1")),
    "request_id": st.one_of(odd_scalars, st.just("req_1"), st.integers(), st.floats()),
    "key_id": st.one_of(odd_scalars, st.integers(), st.just(7.0)),
    "org_id": odd_scalars,
    "ip": odd_scalars,
    "user_agent": odd_scalars,
    "country": odd_scalars,
    "asn": numbers,
    "account_created": timestamps,
    "payment_fingerprint": odd_scalars,
    "email_domain": odd_scalars,
    "model": odd_scalars,
    "endpoint": odd_scalars,
    "system": contents,
    "messages": st.one_of(messages, odd_scalars),
    "tools": st.one_of(st.lists(json_values(), max_size=3), odd_scalars),
    "params": st.one_of(
        odd_scalars,
        st.fixed_dictionaries(
            {},
            optional={
                k: numbers for k in ("temperature", "top_p", "max_tokens", "n", "top_logprobs")
            }
            | {"logprobs": odd_scalars, "stream": odd_scalars, "reasoning_effort": odd_scalars},
        ),
    ),
    "response": st.one_of(
        odd_scalars,
        st.fixed_dictionaries(
            {},
            optional={
                "text": odd_scalars,
                "finish_reason": odd_scalars,
                "tool_calls": st.one_of(st.lists(json_values(), max_size=2), odd_scalars),
            },
        ),
    ),
    "usage": st.one_of(
        odd_scalars,
        st.fixed_dictionaries(
            {},
            optional={k: numbers for k in ("input_tokens", "output_tokens", "reasoning_tokens")},
        ),
    ),
    "status": numbers,
    "latency_ms": numbers,
    "extra": json_values(),
}


#: Plausible values of every field (what real logs hold, in their variety).
valid_fields: dict[str, st.SearchStrategy[Any]] = {
    "ts": st.one_of(
        st.datetimes().map(lambda d: d.isoformat() + "Z"),
        st.integers(min_value=0, max_value=10**11 - 1),
        st.floats(min_value=0, max_value=1e11, exclude_max=True),
    ),
    "key_id": st.one_of(st.text(max_size=6), st.integers(min_value=0)),
    "country": st.sampled_from(["DE", "us", "", None, "XK"]),
    "asn": st.integers(min_value=0, max_value=2**32 - 1),
    "account_created": st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    "endpoint": st.sampled_from(["chat", "completion", "responses", "embedding", None]),
    "system": st.one_of(st.text(max_size=6), st.lists(st.text(max_size=3), max_size=2)),
    "messages": st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["user", "assistant", "system", "developer", "tool"])},
            optional={"content": st.one_of(st.none(), st.text(max_size=6), parts)},
        ),
        max_size=4,
    ),
    "tools": st.lists(json_values(), max_size=2),
    "params": st.fixed_dictionaries(
        {},
        optional={
            "temperature": st.floats(min_value=0, max_value=2),
            "top_p": st.integers(min_value=0, max_value=1),
            "max_tokens": st.integers(min_value=0, max_value=2**63 - 1),
            "n": st.integers(min_value=1, max_value=2**31 - 1),
            "logprobs": st.booleans(),
            "top_logprobs": st.integers(min_value=0, max_value=20),
            "stream": st.booleans(),
            "reasoning_effort": st.sampled_from(["low", "high"]),
        },
    ),
    "response": st.fixed_dictionaries(
        {},
        optional={
            "text": st.text(max_size=8),
            "finish_reason": st.just("stop"),
            "tool_calls": st.lists(json_values(), max_size=2),
        },
    ),
    "usage": st.fixed_dictionaries(
        {}, optional={"input_tokens": st.integers(min_value=0, max_value=10**6)}
    ),
    "status": st.integers(min_value=100, max_value=599),
    "latency_ms": st.floats(min_value=0, max_value=1e6),
    "extra": json_values(),
}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    valid=st.fixed_dictionaries({}, optional=valid_fields),
    odd=st.lists(st.sampled_from(sorted(fields)), max_size=2, unique=True),
    drop=st.sets(st.sampled_from(["ts", "account_id", "request_id", "messages"]), max_size=1),
    data=st.data(),
)
def test_fast_rows_equal_the_per_line_rows_on_hostile_records(
    valid: Record, odd: list[str], drop: set[str], data: st.DataObject
) -> None:
    record = copy.deepcopy(BASE) | valid
    for key in odd:  # a few fields made hostile
        record[key] = data.draw(fields[key], label=key)
    for key in drop:
        record.pop(key, None)
    try:
        line = orjson.dumps(record)
    except TypeError:  # integers beyond 64 bits, which orjson does not write
        line = json.dumps(record).encode()
    assert_agree(line)


BASE: Record = {
    "ts": "2026-02-01T12:00:00.250Z",
    "account_id": "acct_1",
    "request_id": "req_1",
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": [{"type": "text", "text": "What is"}, "2+2?"]},
        {"role": "assistant", "content": "4"},
    ],
}


def test_the_valid_record_of_the_other_tests_takes_the_fast_path(
    make_record: Callable[..., Record],
) -> None:
    line = orjson.dumps(make_record(3))
    assert fast_row(line) is not None
    assert fast_row(line) == slow_row(line)


#: Lines msgspec would read but orjson refuses (or reads differently): the chunk screen
#: (``fast.suspect_lines``) or the struct types must send each to the per-line path.
RAW_LINES: list[bytes] = [
    b'{"ts":1,"account_id":"a","request_id":"r","zz":1e999}',
    b'{"ts":1,"account_id":"a","request_id":"r","zz":-1E+400}',
    b'{"ts":1,"account_id":"a","request_id":"r","zz":' + b"1" * 400 + b"}",
    b'{"ts":1,"account_id":"a","request_id":"r","tools":[1e999]}',
    # a long mantissa with a short exponent overflows too: 250 digits x 1e99 = 1e348
    b'{"ts":1,"account_id":"a","request_id":"r","zz":' + b"1" * 250 + b"e99}",
    b'{"ts":1,"account_id":"a","request_id":"r","zz":-' + b"9" * 210 + b".5E+99}",
    b'{"ts":1,"account_id":"a","request_id":"r","latency_ms":' + b"1" * 250 + b"e99}",
    b'{"ts":1,"account_id":"a","request_id":"r","zz":"\xc0\xaf"}',
    b'{"ts":1,"account_id":"a","request_id":"r","zz":"\xed\xa0\x80"}',
    b'{"ts":1,"account_id":"a","request_id":"r","zz":"\\ud800"}',
    b'{"ts":1,"account_id":"a","request_id":"r","zz":' + b"[" * 1100 + b"]" * 1100 + b"}",
    b'{"ts":1,"account_id":"a","request_id":"r","asn":18446744073709551616}',
    b'{"ts":1,"account_id":"a","request_id":"r","key_id":123456789012345678901234}',
    b'{"ts":1,"account_id":"a","request_id":"r","params":{"max_tokens":256.0}}',
    b'{"ts":1.5,"account_id":"a","request_id":"r","account_created":99999999999.0}',
    b'{"ts":1,"account_id":"a","request_id":"r","account_created":99999999999}',
    b'{"ts":1,"account_id":"a","request_id":"r","ts":"2026-02-01T00:00:00Z"}',
    b'{"ts":1,"account_id":"a","request_id":"r","response":{"tool_calls":[{"a":1},2]}}',
    b'{"ts":"2026-02-01T00:00:00z","account_id":"a","request_id":"r"}',
    b'{"ts":"2026-02-01t00:00:00Z","account_id":"a","request_id":"r"}',
    b'\x0c{"ts":1,"account_id":"a","request_id":"r"}',
    b'{"ts":1,"account_id":"a","request_id":"r"}\x0b',
    b'{"ts":1,"account_id":"a","request_id":"r"} {}',
    b'{"ts":1,"account_id":"a","request_id":"r","country":"\xc3\xbc1"}',
    b'{"ts":1,"account_id":"a","request_id":"r","temperature":-0.0,"latency_ms":-0.0}',
]


@pytest.mark.parametrize("line", RAW_LINES)
def test_raw_hostile_lines_agree(line: bytes) -> None:
    assert_agree(line)


def _chunk_both_ways(data: bytes) -> tuple[Any, Any]:
    chunk = JsonlChunk("log.jsonl", 1, data)
    fast_result = process_chunk(chunk)
    real = fast.usable
    try:
        fast.usable = lambda: False  # type: ignore[assignment]
        slow_result = process_chunk(chunk)
    finally:
        fast.usable = real  # type: ignore[assignment]
    return fast_result, slow_result


def test_a_chunk_of_hostile_lines_gives_the_same_batch_and_quarantine() -> None:
    good = b'{"ts":"2026-02-01T00:00:00Z","account_id":"a","request_id":"r%d"}'
    lines = [good % i for i in range(3)] + RAW_LINES + [b"", b"  ", good % 9]
    fast_result, slow_result = _chunk_both_ways(b"\n".join(lines) + b"\n")
    assert fast_result.batch.equals(slow_result.batch)
    assert fast_result.problems == slow_result.problems
    assert fast_result.lines == slow_result.lines
    assert fast_result.problems  # the hostile lines are really quarantined by both


def test_an_invalid_utf8_chunk_takes_the_per_line_path_for_every_line() -> None:
    data = b'{"ts":1,"account_id":"a","request_id":"r","x":"\xff"}\n{"ts":1,"account_id":"b"}\n'
    assert fast.suspect_lines(data) is None
    fast_result, slow_result = _chunk_both_ways(data)
    assert fast_result.batch.equals(slow_result.batch)
    assert fast_result.problems == slow_result.problems


def test_suspect_lines_names_exactly_the_lines_with_huge_numbers() -> None:
    data = b"\n".join(
        [b'{"a":1}', b'{"a":1e999}', b'{"x":"9e123-"}', b'{"a":2}', b'{"b":[1E+400]}', b"1" * 300]
    )
    assert fast.suspect_lines(data) == {1, 4, 5}


def test_suspect_lines_names_long_mantissas_whatever_their_exponent() -> None:
    """A double overflows past 1.8e308: 210 integer digits reach it with an exponent of
    two digits, so every run of 200 digits is a suspect (and 199 digits with e99 is not)."""
    data = b"\n".join([b'{"a":' + b"7" * 199 + b"e99}", b'{"a":' + b"7" * 200 + b"e9}"])
    assert fast.suspect_lines(data) == {1}
    assert orjson.loads(b"7" * 199 + b"e99") < float("inf")


def test_a_raised_recursion_limit_turns_the_fast_path_off() -> None:
    code = "import sys; from distillwatch.ingest import fast; sys.setrecursionlimit(5000); "
    code += "print(fast.usable())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert fast.usable()


@pytest.fixture(scope="module")
def simulated_log(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("sim")
    command = [sys.executable, "-m", "distillwatch.cli", "simulate", "--out", str(out)]
    command += ["--accounts", "150", "--days", "2", "--seed", "5"]
    subprocess.run(command, check=True, capture_output=True)
    (log,) = out.glob("traffic.*")
    raw = log.read_bytes()
    return (
        zstandard.ZstdDecompressor().decompressobj().decompress(raw)
        if log.suffix == ".zst"
        else raw
    )


def test_the_simulated_log_decodes_identically_and_all_of_it_fast(simulated_log: bytes) -> None:
    fast_result, slow_result = _chunk_both_ways(simulated_log)
    assert fast_result.batch.num_rows > 1000
    assert fast_result.batch.equals(slow_result.batch)
    assert not fast_result.problems and not slow_result.problems
    lines = [line for line in simulated_log.split(b"\n") if line.strip()]
    assert all(fast_row(line) is not None for line in lines[:2000])
