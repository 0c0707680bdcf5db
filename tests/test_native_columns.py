"""The compiled row writer (``_native/columns.pyx``) gives the Python path's batches exactly.

The Python path (``fast.to_row`` tuples, or the per-line ``flatten``, then ``pa.array`` per
column) is the definition. Every test decodes the same bytes both ways in one process and
requires equal batches, equal quarantine and equal line counts: on hostile generated records,
on raw lines only bytes can express, on non-ASCII, blank, empty and huge lines, and on the
simulator's log. The compiled module must be built (``pip install -e .``): these tests fail,
not skip, without it, so CI always checks the code scan really runs.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillwatch.ingest import fast
from distillwatch.ingest.batches import ChunkResult, JsonlChunk, process_chunk
from distillwatch.ingest.validate import InvalidRecord, timestamp_us
from test_ingest_fast import (
    BASE,
    RAW_LINES,
    fields,
    simulated_log,  # noqa: F401 - the fixture, for this module too
    valid_fields,
)

NATIVE = fast.native_columns()


def both_ways(data: bytes, first_line: int = 1) -> tuple[ChunkResult, ChunkResult]:
    """``process_chunk`` of ``data`` with the compiled writer, then with the Python path."""
    assert NATIVE is not None, "distillwatch._native.columns is not built (pip install -e .)"
    chunk = JsonlChunk("log.jsonl", first_line, data)
    native = process_chunk(chunk)
    try:
        fast._NATIVE = None
        python = process_chunk(chunk)
    finally:
        fast._NATIVE = NATIVE
    return native, python


def assert_same(data: bytes, first_line: int = 1) -> ChunkResult:
    native, python = both_ways(data, first_line)
    native.batch.validate(full=True)
    assert native.batch.schema == python.batch.schema
    assert native.batch.equals(python.batch), data[:300]
    assert native.problems == python.problems
    assert native.lines == python.lines
    return native


def test_the_compiled_writer_is_built_and_used() -> None:
    assert NATIVE is not None
    assert fast.native_columns() is NATIVE


def test_hostile_lines_blank_lines_and_no_final_newline() -> None:
    good = b'{"ts":"2026-02-01T00:00:00Z","account_id":"a","request_id":"r%d"}'
    lines = [good % i for i in range(3)] + RAW_LINES + [b"", b"  ", b"\t\r", good % 9]
    result = assert_same(b"\n".join(lines) + b"\n", first_line=41)
    assert result.problems and result.batch.num_rows >= 4
    assert_same(b"\n".join(lines))  # no newline after the last line
    assert_same(b"\xef\xbb\xbf" + b"\n".join(lines))  # a byte order mark, first chunk only
    for data in (b"", b"\n", b"\n\n  \n", good % 1, b"{}", b"[]"):
        assert_same(data)


def test_a_refused_record_leaves_nothing_behind() -> None:
    """Rows refused late (country, created) or by the per-line path are rolled back whole."""
    lines = [
        b'{"ts":"2026-02-01T00:00:00Z","account_id":"a","request_id":"r","ip":"1.2.3.4",'
        b'"messages":[{"role":"user","content":"hi"}],"country":"D1"}',
        b'{"ts":"2026-02-01T00:00:00Z","account_id":"b","request_id":"r","country":"de"}',
        b'{"ts":"2026-02-01T00:00:00Z","account_id":"c","request_id":"r",'
        b'"account_created":"2026-02-30T00:00:00Z","system":["x",{"text":null},""]}',
        b'{"ts":"2026-02-01T00:00:00Z","account_id":"d","request_id":7,"country":""}',
        b'{"ts":"2026-02-01 00:00:00.5+05:30","account_id":"e","request_id":"r"}',
    ]
    result = assert_same(b"\n".join(lines))
    assert result.batch.column("account_id").to_pylist() == ["b", "d", "e"]


def test_only_the_bound_structs_are_read_by_offset() -> None:
    """Fields are read at the slot offsets of ``fast``'s structs: a record, message, part or
    params of any other type is refused whole (it takes the per-line path), never read."""
    assert NATIVE is not None
    from distillwatch.ingest.batches import _ROW_TYPES
    from distillwatch.ingest.validate import country_code

    line = (
        b'{"ts":"2026-02-01T00:00:00Z","account_id":"a","request_id":"r","params":{"n":2},'
        b'"messages":[{"role":"user","content":["x",{"text":"y"}]}]}'
    )
    record = fast.DECODER.decode(line)

    class Lookalike(fast.Record):  # same fields, another type
        pass

    rows = NATIVE.Rows(_ROW_TYPES, timestamp_us, country_code)
    rows.add_record(record, 1)
    wrong_message = copy.copy(record)
    wrong_message.messages = [fast.Params()]  # type: ignore[list-item]
    wrong_part = copy.copy(record)
    wrong_part.messages = [fast.Message("user", [fast.Params()])]  # type: ignore[list-item]
    wrong_params = copy.copy(record)
    wrong_params.params = fast.Usage()  # type: ignore[assignment]
    for refused in (
        Lookalike(**{f: getattr(record, f) for f in record.__struct_fields__}),
        wrong_message,
        wrong_part,
        wrong_params,
        {"ts": 1, "account_id": "a", "request_id": "r"},
        None,
    ):
        with pytest.raises(TypeError):
            rows.add_record(refused, 2)
    assert rows.num_rows == 1
    (row,) = zip(*[column.to_pylist() for column in rows.columns()], strict=True)
    assert row[1:3] == ("a", "r") and row[15] == "x\ny" and row[24] == 2 and row[-1] == 1
    with pytest.raises(TypeError):
        NATIVE.bind(
            record=dict, message=fast.Message, part=fast.Part, params=fast.Params,
            response=fast.Response, usage=fast.Usage,
        )  # fmt: skip


def test_the_arrays_own_their_memory_once_handed_over() -> None:
    """``Rows.columns`` hands the column buffers to Arrow without copying: the arrays stay
    valid after the rows are gone, and the rows start empty again."""
    assert NATIVE is not None
    import gc

    from distillwatch.ingest.batches import _ROW_TYPES
    from distillwatch.ingest.validate import country_code

    lines = [
        b'{"ts":"2026-02-01T00:00:00Z","account_id":"a%d","request_id":"r","country":"de",'
        b'"messages":[{"role":"user","content":"%s"}],"params":{"logprobs":true}}'
        % (i, b"\\u00e9" * i)
        for i in range(3000)
    ]
    expected = process_chunk(JsonlChunk("log.jsonl", 1, b"\n".join(lines))).batch
    rows = NATIVE.Rows(_ROW_TYPES, timestamp_us, country_code)
    for number, line in enumerate(lines, start=1):
        rows.add_record(fast.DECODER.decode(line), number)
    arrays = rows.columns()
    assert rows.num_rows == 0
    again = rows.columns()
    assert all(len(array) == 0 for array in again)
    del rows, again
    gc.collect()
    for array, column in zip(arrays[:-1], expected.columns, strict=False):
        array.validate(full=True)
        assert array.equals(column)
    assert arrays[-1].to_pylist() == list(range(1, 3001))


def test_non_ascii_and_huge_lines() -> None:
    texts = [
        "héllo wörld",
        "日本語のテキスト",
        "emoji \U0001f600 and \u200b",
        "\\u00e9 escaped",
        "",
    ]
    lines = []
    for i, text in enumerate(texts):
        record = copy.deepcopy(BASE) | {"request_id": f"r{i}", "country": "ü" if i == 3 else "fr"}
        record["messages"] = [{"role": "user", "content": [text, {"text": text}]}]
        record["response"] = {"text": text * 3, "finish_reason": "stöp"}
        lines.append(orjson.dumps(record))
    lines.append(b'{"ts":1,"account_id":"\\u00e9","request_id":"\\ud83d\\ude00"}')
    huge = copy.deepcopy(BASE) | {"system": "ß" * 3_000_000}
    huge["messages"][1]["content"] = "x " * 2_000_000
    lines.append(orjson.dumps(huge))
    result = assert_same(b"\n".join(lines) + b"\n")
    assert result.batch.num_rows == len(lines) - 1  # only the country "ü" is refused


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(
        st.tuples(
            st.fixed_dictionaries({}, optional=valid_fields),
            st.lists(st.sampled_from(sorted(fields)), max_size=2, unique=True),
            st.sets(st.sampled_from(["ts", "account_id", "request_id"]), max_size=1),
        ),
        min_size=1,
        max_size=6,
    ),
    data=st.data(),
)
def test_chunks_of_generated_hostile_records(
    records: list[tuple[dict[str, Any], list[str], set[str]]], data: st.DataObject
) -> None:
    lines = []
    for valid, odd, drop in records:
        record = copy.deepcopy(BASE) | valid
        for key in odd:
            record[key] = data.draw(fields[key], label=key)
        for key in drop:
            record.pop(key, None)
        try:
            lines.append(orjson.dumps(record))
        except TypeError:  # integers beyond 64 bits, which orjson does not write
            lines.append(json.dumps(record).encode())
    assert_same(b"\n".join(lines) + b"\n")


def test_the_simulated_log(simulated_log: bytes) -> None:  # noqa: F811
    result = assert_same(simulated_log)
    assert result.batch.num_rows > 1000 and not result.problems


def _python_us(text: str) -> int | None:
    try:
        return timestamp_us(text, "ts")
    except InvalidRecord:
        return None


offsets = st.one_of(
    st.none(),
    st.just(UTC),
    st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m))),
)


@settings(max_examples=1500, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    zone=offsets,
    sep=st.sampled_from(["T", " "]),
    spec=st.sampled_from(["seconds", "milliseconds", "microseconds", "auto"]),
    zulu=st.booleans(),
)
def test_c_timestamps_equal_the_python_rule(
    moment: datetime, zone: Any, sep: str, spec: str, zulu: bool
) -> None:
    assert NATIVE is not None
    text = moment.replace(tzinfo=zone).isoformat(sep=sep, timespec=spec)
    if zulu and text.endswith("+00:00"):
        text = text[:-6] + "Z"
    got = NATIVE.rfc3339_or_none(text)
    if got is not None:
        assert got == _python_us(text), text
    elif 2 <= moment.year <= 9998:
        raise AssertionError(f"the common shape {text!r} left to Python")


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
        "2026-01-32T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z",
        "2026-01-01T23:59:60Z", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+23:60",
        "2026-01-01T00:00:00.1234567Z", "2026-01-01T00:00:00.12Z", "2026-01-01T00:00:00.Z",
        "2026-01-01T00:00:00z", "2026-01-01t00:00:00", "2026-01-01T00:00:00Z\n",
        "2026-01-01T00:00:00+0100", "2026-01-01T00:00:00 ", "２０２６-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
        "1969-12-31T23:59:59.999999Z", "1970-01-01T00:00:00.001-00:00", "2026-1-01T00:00:00Z",
    ],
)  # fmt: skip
def test_c_timestamps_on_edge_shapes(text: str) -> None:
    assert NATIVE is not None
    got = NATIVE.rfc3339_or_none(text)
    if got is not None:
        assert got == _python_us(text), text
    assert_same(orjson.dumps({"ts": text, "account_id": "a", "request_id": "r"}))
