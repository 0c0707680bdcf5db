"""Bad records are quarantined one by one, with file, line and reason; the rest is ingested.

``BAD`` is also the list of cases the JSON Schema must reject (``test_ingest_schema.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from distillwatch.ingest import IngestError, ingest

Record = dict[str, Any]
Change = dict[str, Any]

#: name -> (changes to a valid record, or raw line bytes), expected reason, expected field
BAD: dict[str, tuple[Change | bytes, str, str | None]] = {
    "invalid json": (b'{"ts": "2026-02-01T00:00:00Z", "account_id": ', "invalid_json", None),
    "invalid utf-8": (b'{"ts": 1, "account_id": "\xff", "request_id": "r"}', "invalid_json", None),
    "array not object": (b"[1, 2, 3]", "not_an_object", None),
    "missing account_id": ({"account_id": ...}, "missing_field", "account_id"),
    "empty request_id": ({"request_id": ""}, "missing_field", "request_id"),
    "null ts": ({"ts": None}, "missing_field", "ts"),
    "unparseable ts": ({"ts": "yesterday"}, "bad_timestamp", "ts"),
    "impossible date": ({"ts": "2026-02-30T00:00:00Z"}, "bad_timestamp", "ts"),
    "epoch milliseconds": ({"ts": 1769904000000}, "bad_timestamp", "ts"),
    "boolean ts": ({"ts": True}, "bad_timestamp", "ts"),
    "bad account_created": ({"account_created": "2025-13-01"}, "bad_timestamp", "account_created"),
    "asn as string": ({"asn": "AS3320"}, "wrong_type", "asn"),
    "asn as boolean": ({"asn": True}, "wrong_type", "asn"),
    "messages not a list": ({"messages": "hi"}, "wrong_type", "messages"),
    "message not an object": ({"messages": ["hi"]}, "wrong_type", "messages[0]"),
    "message without role": ({"messages": [{"content": "hi"}]}, "wrong_type", "messages[0].role"),
    "content a number": (
        {"messages": [{"role": "user", "content": 5}]},
        "wrong_type",
        "messages[0].content",
    ),
    "part a number": (
        {"messages": [{"role": "assistant", "content": [3]}]},
        "wrong_type",
        "messages[0].content[]",
    ),
    "params.n not int": ({"params": {"n": "2"}}, "wrong_type", "params.n"),
    "params.n fractional": ({"params": {"n": 1.5}}, "wrong_type", "params.n"),
    "params not object": ({"params": [1]}, "wrong_type", "params"),
    "logprobs not bool": ({"params": {"logprobs": 1}}, "wrong_type", "params.logprobs"),
    "status not int": ({"status": "200"}, "wrong_type", "status"),
    "status out of range": ({"status": 42}, "bad_value", "status"),
    "endpoint not in enum": ({"endpoint": "images"}, "bad_value", "endpoint"),
    "country not alpha-2": ({"country": "USA"}, "bad_value", "country"),
    "negative tokens": ({"usage": {"output_tokens": -1}}, "bad_value", "usage.output_tokens"),
    "tools not a list": ({"tools": {"a": 1}}, "wrong_type", "tools"),
    "response not object": ({"response": "ok"}, "wrong_type", "response"),
    "response text not string": ({"response": {"text": 5}}, "wrong_type", "response.text"),
    "ip not string": ({"ip": 1234}, "wrong_type", "ip"),
    "latency negative": ({"latency_ms": -3}, "bad_value", "latency_ms"),
    "account_id too long": ({"account_id": "a" * 257}, "too_long", "account_id"),
}


def bad_line(case: Change | bytes, make_record: Callable[..., Record], i: int) -> bytes:
    return case if isinstance(case, bytes) else orjson.dumps(make_record(i, **case))


def quarantine_of(out: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (out / "quarantine.jsonl").read_bytes().splitlines()]


@pytest.mark.parametrize("name", list(BAD))
def test_each_bad_record_is_quarantined_and_the_rest_kept(
    tmp_path: Path, make_record: Callable[..., Record], name: str
) -> None:
    case, reason, field = BAD[name]
    lines = [orjson.dumps(make_record(i)) for i in range(5)]
    lines[2] = bad_line(case, make_record, 2)
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = ingest([path], tmp_path / "out")
    [entry] = quarantine_of(tmp_path / "out")
    assert (entry["file"], entry["line"], entry["reason"], entry["field"]) == (
        str(path),
        3,
        reason,
        field,
    )
    assert entry["raw"] and entry["detail"]
    assert summary.quarantined == {reason: 1} and summary.records == 4
    kept = pq.read_table(tmp_path / "out" / "requests").column("source_line").to_pylist()
    assert kept == [1, 2, 4, 5]


def test_many_bad_lines_quarantine_exactly_those_lines(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    lines: list[bytes] = []
    bad_numbers: list[int] = []
    for i, (case, _reason, _field) in enumerate(BAD.values()):
        lines.append(orjson.dumps(make_record(1000 + i)))
        lines.append(bad_line(case, make_record, i))
        bad_numbers.append(len(lines))
        lines.append(b"   ")  # blank lines are not records and not errors
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\r\n".join(lines))  # CRLF line ends and no final newline
    summary = ingest([path], tmp_path / "out")
    assert [q["line"] for q in quarantine_of(tmp_path / "out")] == bad_numbers
    assert summary.records == len(BAD) and summary.quarantined_total == len(BAD)
    assert summary.files[str(path)]["quarantined"] == len(BAD)


def test_long_raw_line_is_truncated_in_quarantine(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"junk": "' + b"x" * 100_000 + b"\n")
    ingest([path], tmp_path / "out")
    [entry] = quarantine_of(tmp_path / "out")
    assert entry["reason"] == "invalid_json" and 0 < len(entry["raw"]) <= 4096


def test_strict_stops_at_the_first_bad_record_and_writes_nothing(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    lines = [orjson.dumps(make_record(i)) for i in range(6)]
    lines[3] = orjson.dumps(make_record(3, asn="AS1"))
    lines[5] = b"garbage"
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(IngestError) as caught:
        ingest([path], tmp_path / "out", strict=True)
    error = caught.value
    assert (error.file, error.line, error.reason) == (str(path), 4, "wrong_type")
    assert f"{path}:4: wrong_type" in str(error)
    assert not (tmp_path / "out" / "requests").exists()
    assert not (tmp_path / "out" / "summary.json").exists()


def test_tolerated_oddities_are_kept(tmp_path: Path, make_record: Callable[..., Record]) -> None:
    records = [
        make_record(1, country="fr", unknown={"nested": [1]}),
        make_record(2, country="", account_id=42, key_id=7),
        make_record(3, ts="2026-02-01T12:00:00", params=None, usage=None, response=None),
        make_record(4, messages=[], tools=None, params={"max_tokens": 100.0, "top_p": 1}),
    ]
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records))
    summary = ingest([path], tmp_path / "out")
    assert summary.quarantined_total == 0
    table = pq.read_table(tmp_path / "out" / "requests").to_pylist()
    assert [r["country"] for r in table] == ["FR", None, "DE", "DE"]
    assert table[1]["account_id"] == "42" and table[1]["key_id"] == "7"
    assert table[3]["n_messages"] == 0 and table[3]["max_tokens"] == 100
