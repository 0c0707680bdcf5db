"""Chunks and batches through /dev/shm (``ingest/shared.py``) and warm workers
(``ingest/warm.py``): the same rows and quarantine as the pipes and as one process, with
hostile lines among the good ones, and nothing left in shared memory afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest

from distillwatch import signals
from distillwatch.ingest import IngestError, RequestStream, shared
from distillwatch.ingest.quarantine import Quarantined

pytestmark = pytest.mark.skipif(shared.usable_root() is None, reason="no writable /dev/shm")

#: One of each kind of line the per-line path must judge: wrong types, a huge string, bad
#: UTF-8, missing and extra fields, numbers that overflow, a lone surrogate, not JSON.
HOSTILE = [
    b'{"ts":"2026-02-01T00:00:00Z","account_id":5,"request_id":"r"}',
    b'{"ts":"2026-02-01T00:00:00Z","account_id":"a","request_id":"r","asn":"x"}',
    b'{"ts":"2026-02-01T00:00:00Z","account_id":"a","request_id":"r","messages":"hi"}',
    b'{"ts":"2026-02-01T00:00:00Z","account_id":"a","request_id":"r","messages":[{"role":"user",'
    b'"content":"' + b"x" * 300_000 + b'"}]}',
    b'{"ts":"2026-02-01T00:00:00Z","account_id":"a","request_id":"r","zz":"\xc0\xaf"}',
    b'{"ts":"2026-02-01T00:00:00Z","account_id":"a","request_id":"r","messages":[{"role":"user",'
    b'"content":"caf\xe9"}]}',
    b'{"ts":"2026-02-01T00:00:00Z","request_id":"r"}',
    b'{"account_id":"a","request_id":"r"}',
    b'{"ts":"2026-02-01T00:00:00Z","account_id":"a","request_id":"r","extra":{"deep":[1,2]},'
    b'"more":null}',
    b'{"ts":"2026-02-01T00:00:00Z","account_id":"a","request_id":"r","zz":1e999}',
    b'{"ts":"2026-02-01T00:00:00Z","account_id":"a","request_id":"r","zz":"\\ud800"}',
    b'{"ts":"2026-02-01T00:00:00Z","account_id":"a","request_id":"r","status":99}',
    b"not json at all",
    b"",
]


def _good(i: int) -> bytes:
    return orjson.dumps(
        {
            "ts": f"2026-02-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "account_id": f"acct_{i % 7}",
            "request_id": f"req_{i}",
            "country": "de",
            "messages": [
                {"role": "system", "content": "You grade answers."},
                {"role": "user", "content": f"Think step by step: what is {i} + {i % 13}?"},
            ],
            "usage": {"input_tokens": i, "output_tokens": 3},
        }
    )


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 good lines with every hostile line twice among them (several 16 kB chunks)."""
    lines = [_good(i) for i in range(600)]
    for n, line in enumerate(HOSTILE * 2):
        lines.insert(17 + n * 37, line)
    path = tmp_path_factory.mktemp("shared") / "log.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _ours() -> list[str]:
    prefix = f"distillwatch-ingest-{os.getpid()}-"
    return [entry.name for entry in shared.SHM.iterdir() if entry.name.startswith(prefix)]


def _read(
    path: Path, workers: int, monkeypatch: pytest.MonkeyPatch, *, shm: bool, **kwargs: Any
) -> tuple[pa.Table, list[Quarantined], dict[str, Any]]:
    monkeypatch.setenv("DISTILLWATCH_SHM", "1" if shm else "0")
    problems: list[Quarantined] = []
    stream = RequestStream(
        [path], workers=workers, chunk_bytes=16_384, quarantine=problems.append, **kwargs
    )
    table = pa.Table.from_batches(list(stream))
    summary = stream.summary()
    return table, problems, {"records": summary.records, "quarantined": summary.quarantined_total}


def test_shared_memory_gives_the_rows_and_quarantine_of_the_pipes_and_of_one_process(
    log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _read(log, 1, monkeypatch, shm=True)
    pipes = _read(log, 2, monkeypatch, shm=False)
    shm = _read(log, 2, monkeypatch, shm=True)
    assert one[0].num_rows == 600 + 2 * 3  # the rules accept an integer id, a long prompt
    # and extra fields
    for other in (pipes, shm):
        assert other[0].equals(one[0])
        assert other[1] == one[1]
        assert other[2] == one[2]
    lines = sorted(problem.line for problem in one[1])
    assert len(lines) == 2 * (len(HOSTILE) - 4)  # the blank line is skipped
    assert lines[0] == 55  # line numbers of the file, not of a chunk
    assert _ours() == []


def test_signals_in_warm_workers_equal_signals_in_one_process(
    log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    derive = signals.compute_remembering
    one = _read(log, 1, monkeypatch, shm=True, derive=derive)
    warm = ("distillwatch.ingest.warm",)
    shm = _read(log, 2, monkeypatch, shm=True, derive=derive, warm=warm)
    assert shm[0].equals(one[0])
    assert shm[1] == one[1]
    assert "capability" in shm[0].column_names
    assert _ours() == []


def test_the_directory_goes_when_strict_mode_stops_the_stream(
    log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISTILLWATCH_SHM", "1")
    with pytest.raises(IngestError, match=":55: "):
        list(RequestStream([log], workers=2, chunk_bytes=16_384, strict=True))
    assert _ours() == []


def test_a_killed_streams_directory_is_removed_by_the_next(
    log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    left = shared.SHM / f"distillwatch-ingest-{int(dead.stdout)}-test"
    left.mkdir()
    (left / "chunk.jsonl").write_bytes(b"{}\n" * 1000)
    _read(log, 2, monkeypatch, shm=True)
    assert not left.exists()


def _run(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    """``script`` as the main module of a fresh interpreter (its own forkserver)."""
    (tmp_path / "main.py").write_text(script)
    return subprocess.run(
        [sys.executable, str(tmp_path / "main.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=180,  # a pool broken under its owner may hang instead of raising
    )


def test_workers_inherit_the_warm_up_and_the_forkserver_stops_after(tmp_path: Path) -> None:
    """In a fresh interpreter (this one's forkserver may already run): the workers find
    the warm-up module imported and done, and no forkserver is left holding it."""
    script = textwrap.dedent(
        """
        import sys
        from multiprocessing import forkserver
        from distillwatch.ingest.parallel import ordered_map

        def seen(_):
            module = sys.modules.get("distillwatch.ingest.warm")
            return module is not None and module.WARMED

        if __name__ == "__main__":
            warm = ("distillwatch.ingest.warm",)
            print(list(ordered_map(seen, range(4), workers=2, warm=warm)))
            print(forkserver._forkserver._forkserver_pid)
            print(list(ordered_map(seen, range(2), workers=2)))
        """
    )
    out = _run(tmp_path, script)
    assert out.stdout.split("\n")[:3] == ["[True, True, True, True]", "None", "[False, False]"]
    assert "leaked" not in out.stderr, out.stderr


def test_a_pool_started_meanwhile_from_the_warm_server_keeps_working(tmp_path: Path) -> None:
    """Another pool of the process (the online signal worker, the share checker) whose
    workers were forked by the warm server meanwhile: the server is not stopped under it,
    and the preload list that pool's owner set is given back."""
    script = textwrap.dedent(
        """
        import multiprocessing, os
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import forkserver
        from distillwatch.ingest.parallel import ordered_map

        if __name__ == "__main__":
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["os"])
            mapped = ordered_map(abs, range(-6, 0), workers=2,
                                 warm=("distillwatch.ingest.warm",))
            first = next(mapped)
            other = ProcessPoolExecutor(max_workers=1, mp_context=context)
            print(other.submit(abs, -1).result())
            print([first, *mapped])
            print(forkserver._forkserver._forkserver_pid is not None)
            print(other.submit(abs, -2).result())
            print(forkserver._forkserver._preload_modules)
            other.shutdown()
        """
    )
    out = _run(tmp_path, script)
    assert out.stdout.split("\n")[:5] == ["1", "[6, 5, 4, 3, 2, 1]", "True", "2", "['os']"]


def test_a_chunk_or_batch_that_cannot_be_written_goes_by_the_pipe(
    log: Path, tmp_path: Path
) -> None:
    """A full (or vanished) /dev/shm: the chunk and the result travel as objects, same rows."""
    from distillwatch.ingest.batches import JsonlChunk, process_chunk

    gone = tmp_path / "gone"  # writing into it fails with an OSError, as a full disk does
    chunk = JsonlChunk(str(log), 1, log.read_bytes())
    assert shared.share(chunk, gone) is chunk
    answer = shared.run_shared(process_chunk, str(gone), chunk)
    assert not isinstance(answer, shared.SharedResult)
    expected = process_chunk(chunk)
    assert shared.received(answer).batch.equals(expected.batch)
    assert shared.received(answer).problems == expected.problems
    where = tmp_path / "here"
    where.mkdir()
    task = shared.share(chunk, where)
    assert isinstance(task, shared.SharedChunk)
    stored = shared.run_shared(process_chunk, str(where), task)
    assert isinstance(stored, shared.SharedResult)
    assert shared.received(stored).batch.equals(expected.batch)
    assert list(where.iterdir()) == []  # both files unlinked once read


def test_a_link_named_like_a_dead_streams_directory_is_not_followed(
    log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/dev/shm is shared by every user: a link there named as a killed stream's directory
    must not take what it points to with it."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    target = tmp_path / "precious"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    link = shared.SHM / f"distillwatch-ingest-{int(dead.stdout)}-link"
    link.symlink_to(target)
    try:
        _read(log, 2, monkeypatch, shm=True)
        assert (target / "keep.txt").read_text() == "keep"
    finally:
        link.unlink()
