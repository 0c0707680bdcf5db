"""A JSON Lines line over the byte limit (``limits.LINE_MAX_BYTES``) is read past, not
held, quarantined as ``line_too_long`` and counted; the lines around it are read as usual.

Each case sets a 1 MiB limit through ``max_line_bytes`` and holds a 3 MiB line (a valid
record: over the limit, whatever it holds, it is not read) between ordinary ones, in plain,
gzip and zstd files, through the native block reader and the ``read`` one, one worker and
two (chunks through shared memory), and with blocks smaller than the line (the carry grows
past the limit) as well as larger (the line ends inside its first block).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard

from distillwatch.ingest import RequestStream, readers
from distillwatch.ingest.batches import LongLine, process_chunk
from distillwatch.ingest.limits import LINE_HEAD_BYTES, LINE_MAX_BYTES
from distillwatch.ingest.quarantine import Quarantined
from distillwatch.ingest.sources import discover
from distillwatch.scan.spark.splits import Split
from distillwatch.scan.spark.tasks import split_chunks

LIMIT = 1 << 20
HUGE = 3 << 20


def record(i: int, content: str = "hello") -> dict[str, Any]:
    return {
        "ts": "2026-11-02T00:00:00Z",
        "account_id": f"acct-{i % 3}",
        "request_id": f"r{i}",
        "messages": [{"role": "user", "content": content}],
        "response": {"text": "hi", "finish_reason": "stop"},
    }


def log_bytes(before: int = 40, after: int = 40) -> tuple[bytes, int, int]:
    """The log, the huge line's number and its length in bytes."""
    lines = [orjson.dumps(record(i)) for i in range(before)]
    huge = orjson.dumps(record(before, "x" * HUGE))
    lines.append(huge)
    lines += [orjson.dumps(record(before + 1 + i)) for i in range(after)]
    return b"\n".join(lines) + b"\n", before + 1, len(huge)


def write(path: Path, data: bytes) -> Path:
    if path.suffix == ".gz":
        data = gzip.compress(data)
    elif path.suffix == ".zst":
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def scan(path: Path, **kwargs: Any) -> tuple[list[str], list[Quarantined], Any]:
    problems: list[Quarantined] = []
    stream = RequestStream([path], quarantine=problems.append, max_line_bytes=LIMIT, **kwargs)
    ids = [rid for batch in stream for rid in batch.column("request_id").to_pylist()]
    return ids, problems, stream.summary()


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
@pytest.mark.parametrize("native", ["1", "0"])
@pytest.mark.parametrize("chunk_bytes", [64 << 10, 8 << 20])
def test_a_line_over_the_limit_is_quarantined_and_the_others_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, native: str, chunk_bytes: int
) -> None:
    monkeypatch.setenv("DISTILLWATCH_NATIVE", native)
    data, line, length = log_bytes()
    path = write(tmp_path / f"log{suffix}", data)
    ids, problems, summary = scan(path, chunk_bytes=chunk_bytes, workers=1)
    assert ids == [f"r{i}" for i in range(81) if i != 40]
    [problem] = problems
    assert (problem.reason, problem.line, problem.file) == ("line_too_long", line, str(path))
    assert f"{length:,} bytes long" in problem.detail and f"{LIMIT:,}" in problem.detail
    assert problem.raw.startswith('{"ts":"2026-11-02T00:00:00Z"')
    assert summary.quarantined == {"line_too_long": 1}


def test_two_workers_and_the_last_line_unterminated(tmp_path: Path) -> None:
    data, _, _ = log_bytes(before=5, after=0)
    path = write(tmp_path / "log.jsonl", data.rstrip(b"\n") + b"\n" + data.rstrip(b"\n"))
    ids, problems, summary = scan(path, chunk_bytes=256 << 10, workers=2)
    assert ids == [f"r{i}" for i in range(5)] * 2
    assert [(p.reason, p.line) for p in problems] == [("line_too_long", 6), ("line_too_long", 12)]
    assert summary.quarantined == {"line_too_long": 2}


def test_a_line_at_the_limit_is_read() -> None:
    padding = "y" * (LIMIT - len(orjson.dumps(record(0, ""))))
    line = orjson.dumps(record(0, padding))
    assert len(line) == LIMIT
    data = line + b"\n" + orjson.dumps(record(1)) + b"\n"
    blocks = list(readers._blocks(io.BytesIO(data), 64 << 10, LIMIT))
    assert b"".join(b for b in blocks if isinstance(b, bytes)) == data


def test_the_skipped_line_keeps_only_its_head() -> None:
    data, _, length = log_bytes(before=1, after=1)
    blocks = list(readers._blocks(io.BytesIO(data), 64 << 10, LIMIT))
    [skipped] = [b for b in blocks if isinstance(b, readers._Skipped)]
    assert skipped.length == length and len(skipped.head) == LINE_HEAD_BYTES
    assert LINE_MAX_BYTES == 64 << 20


def test_a_spark_split_skips_the_line_as_ingest_does(tmp_path: Path) -> None:
    data, line, length = log_bytes(before=5, after=5)
    path = write(tmp_path / "log.jsonl", data)
    [source], _ = discover([path])
    start = data.index(b"\n") + 1  # the split after the first line (numbered from 2)
    split = Split(index=1, source=source, start=start, end=len(data), first_line=2)
    chunks = list(split_chunks(split, chunk_bytes=64 << 10, max_line_bytes=LIMIT))
    long = [chunk for chunk in chunks if isinstance(chunk, LongLine)]
    assert [(c.line, c.length) for c in long] == [(line, length)]
    results = [process_chunk(chunk) for chunk in chunks]
    ids = [rid for r in results for rid in r.batch.column("request_id").to_pylist()]
    assert ids == [f"r{i}" for i in range(1, 11) if i != 5]
    assert [p.reason for r in results for p in r.problems] == ["line_too_long"]
