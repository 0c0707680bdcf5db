"""Chunks to the ingest workers and their batches back through files in shared memory.

Sent through the pool's pipes, a 32 MB chunk of JSON Lines is copied four times (pickled,
written to a 64 kB pipe buffer in thousands of system calls, read back, unpickled) and its
result batch, prompts included, as often again. On the demo log of ``make demo`` (592,446
requests, 816 MB of JSON) that transport cost about a third of what parsing it costs
(``benchmarks/results/scan.md``). Here the parent writes a chunk's bytes once to a file in
``/dev/shm`` (a RAM file system) and the worker reads them once; the worker writes its batch
once as an Arrow IPC file and the parent maps it without copying. Only names and the few
quarantined lines go through the pipes.

Files live only while in flight: a worker unlinks its chunk as soon as it has read it, the
parent unlinks a batch's file as soon as it has mapped it (the mapping keeps its pages until
the batch is freed), and the directory goes when the stream ends or fails. A directory left
by a process killed with SIGKILL (its name holds the pid) is removed by the next stream
that finds its owner gone, as RAM held by ``/dev/shm`` is otherwise held until reboot.

Where ``/dev/shm`` cannot be written, or with ``DISTILLWATCH_SHM=0``, chunks and batches go
through the pipes as before (:func:`directory` returns None), and so does any one chunk or
batch whose file cannot be written (a container's ``/dev/shm`` is often 64 MB: when full,
the pipes carry what does not fit); every way gives the same batches
(``tests/test_ingest_shared.py``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from distillwatch.ingest.batches import Chunk, ChunkResult, JsonlChunk
from distillwatch.ingest.quarantine import Quarantined

#: The RAM file system the files go to (Linux); elsewhere the pipes are used.
SHM = Path("/dev/shm")
_PREFIX = "distillwatch-ingest-"
_OWNED = re.compile(re.escape(_PREFIX) + r"(\d+)-")


@dataclass(frozen=True, slots=True)
class SharedChunk:
    """A :class:`JsonlChunk` whose bytes wait in the file ``path`` (the worker unlinks it)."""

    path: str
    source: str
    first_line: int

    def load(self) -> JsonlChunk:
        with open(self.path, "rb") as handle:
            data = handle.read()
        os.unlink(self.path)
        return JsonlChunk(self.source, self.first_line, data)


@dataclass(frozen=True, slots=True)
class SharedResult:
    """A :class:`ChunkResult` whose batch waits in the Arrow IPC file ``path``."""

    path: str
    source: str
    problems: list[Quarantined]
    lines: int
    passed_over: tuple[tuple[str, int], ...]
    inputs: int | None

    def load(self) -> ChunkResult:
        """The result, its batch mapped from the file (no copy), the file unlinked."""
        batch = pa.ipc.open_file(pa.memory_map(self.path)).get_batch(0)
        os.unlink(self.path)
        return ChunkResult(
            self.source, batch, self.problems, self.lines, self.passed_over, self.inputs
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_orphans(root: Path) -> None:
    """Remove the transport directories of this user's processes that no longer run (a
    link is never followed: ``/dev/shm`` is shared by every user)."""
    try:
        entries = list(root.iterdir())
    except OSError:
        return
    for entry in entries:
        owner = _OWNED.match(entry.name)
        if owner is None or _alive(int(owner[1])):
            continue
        with contextlib.suppress(OSError):
            info = entry.lstat()
            if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
                shutil.rmtree(entry, ignore_errors=True)


def usable_root() -> Path | None:
    """``/dev/shm`` when it can take the files (and ``DISTILLWATCH_SHM`` is not ``0``)."""
    if os.environ.get("DISTILLWATCH_SHM", "1") == "0":
        return None
    if SHM.is_dir() and os.access(SHM, os.W_OK | os.X_OK):
        return SHM
    return None


@contextlib.contextmanager
def directory() -> Iterator[Path | None]:
    """A private directory for one stream's files, removed at the end; None where the
    pipes must be used."""
    root = usable_root()
    if root is None:
        yield None
        return
    _remove_orphans(root)
    try:
        path = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=root))
    except OSError:
        yield None
        return
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def share(chunk: Chunk, where: Path) -> Chunk | SharedChunk:
    """``chunk`` for a worker: JSON Lines bytes written to a file in ``where``; other
    chunks (Parquet batches, foreign dialects) as they are."""
    if not isinstance(chunk, JsonlChunk):
        return chunk
    path = ""
    try:
        fd, path = tempfile.mkstemp(dir=where, suffix=".jsonl")
        with open(fd, "wb") as handle:
            handle.write(chunk.data)
    except OSError:  # full (a container's 64 MB /dev/shm) or gone: this one by the pipe
        with contextlib.suppress(OSError):
            if path:
                os.unlink(path)
        return chunk
    return SharedChunk(path, chunk.source, chunk.first_line)


#: The stream's directory while a worker runs a task of it (:func:`task_directory`).
_TASK_DIRECTORY: Path | None = None


def task_directory() -> Path | None:
    """In an ingest worker, while it works on a chunk: the directory of the stream the chunk
    belongs to, shared by every worker of that stream (``signals.memoshare`` passes
    per-prompt values through it); None anywhere else."""
    return _TASK_DIRECTORY


def run_shared(
    work: Callable[[Chunk], ChunkResult], where: str, task: Chunk | SharedChunk
) -> SharedResult | ChunkResult:
    """In the worker: ``work`` on the chunk, its batch written to an IPC file in ``where``
    (or, where that fails, the result as it is: it goes back through the pipe)."""
    global _TASK_DIRECTORY
    chunk = task.load() if isinstance(task, SharedChunk) else task
    _TASK_DIRECTORY = Path(where)
    try:
        result = work(chunk)
    finally:
        _TASK_DIRECTORY = None
    del chunk
    path = ""
    try:
        fd, path = tempfile.mkstemp(dir=where, suffix=".arrow")
        os.close(fd)
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, result.batch.schema) as out:
            out.write_batch(result.batch)
    except OSError:  # no room (or no directory): the result goes back by the pipe
        with contextlib.suppress(OSError):
            if path:
                os.unlink(path)
        return result
    return SharedResult(
        path, result.source, result.problems, result.lines, result.passed_over, result.inputs
    )


def received(result: ChunkResult | SharedResult) -> ChunkResult:
    """A worker's answer as a :class:`ChunkResult`, whichever way it came back."""
    return result.load() if isinstance(result, SharedResult) else result


__all__ = [
    "SharedChunk",
    "SharedResult",
    "directory",
    "received",
    "run_shared",
    "share",
    "task_directory",
    "usable_root",
]
