"""Paths in, ``REQUESTS_SCHEMA`` record batches out — the reading half of ingest.

``scan`` and ``replay`` read logs through this without writing anything; ``ingest`` writes what
it yields to Parquet. Batches come out in input order (files in argument order, directories
sorted, lines in file order); rows are *not* sorted by ``ts`` — a consumer that needs time
order sorts.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

import pyarrow as pa

from distillwatch.ingest import heap, shared
from distillwatch.ingest.batches import Chunk, ChunkResult, Derive, process_chunk
from distillwatch.ingest.errors import IngestError
from distillwatch.ingest.formats import Dialect
from distillwatch.ingest.limits import LINE_MAX_BYTES
from distillwatch.ingest.parallel import default_workers, ordered_map
from distillwatch.ingest.quarantine import Quarantined
from distillwatch.ingest.readers import CHUNK_BYTES, read_chunks
from distillwatch.ingest.sources import Skipped, Source, discover
from distillwatch.ingest.summary import IngestSummary, Tally

#: Below this much input, starting worker processes costs more than it saves.
PARALLEL_MIN_BYTES = 32 << 20

ProgressCallback = Callable[[int, int], None]
QuarantineSink = Callable[[Quarantined], None]


class RequestStream:
    """The sources behind some path arguments, readable once as record batches.

    Construction resolves and checks every path (raising :class:`IngestError` for a missing or
    unreadable one) before any record is read. Iterating yields non-empty batches; each bad
    record goes to ``quarantine`` (if given) or, with ``strict``, raises :class:`IngestError`.
    ``summary()`` reports what was seen so far. ``on_progress(bytes_done, bytes_total)`` is
    called after each chunk, counting bytes on disk (compressed bytes for compressed files).
    ``workers`` defaults to every usable CPU when the input is large enough to repay it;
    ``chunk_bytes`` (JSON Lines bytes per unit of work) trades memory for per-chunk overhead.
    ``derive`` (a module-level function, so that it pickles) runs on every parsed batch in
    the worker, and its columns are appended to the batches yielded. ``dialect`` is the log
    format of every input (``formats.Dialect``), or None to detect it per file; ``query`` is
    the SQL run on ``postgresql://`` inputs. ``warm`` names modules that ready a worker
    (``parallel.ordered_map``). A JSON Lines line over ``max_line_bytes`` is read past and
    quarantined (``line_too_long``, ``limits.LINE_MAX_BYTES``).
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        strict: bool = False,
        quarantine: QuarantineSink | None = None,
        on_progress: ProgressCallback | None = None,
        workers: int | None = None,
        exclude: Iterable[Path] = (),
        chunk_bytes: int = CHUNK_BYTES,
        derive: Derive | None = None,
        dialect: Dialect | None = None,
        query: str | None = None,
        warm: tuple[str, ...] = (),
        max_line_bytes: int = LINE_MAX_BYTES,
    ) -> None:
        self.sources: list[Source]
        self.skipped: list[Skipped]
        self.sources, self.skipped = discover(paths, exclude=exclude, dialect=dialect, query=query)
        self.strict = strict
        self.quarantine = quarantine
        self.on_progress = on_progress
        self.total_bytes = sum(source.size for source in self.sources)
        if workers is None:
            workers = default_workers() if self.total_bytes >= PARALLEL_MIN_BYTES else 1
        self.workers = workers
        self.chunk_bytes = chunk_bytes
        self.max_line_bytes = max_line_bytes
        self.derive = derive
        self.warm = warm
        self.tally = Tally()
        self._offsets: deque[int] = deque()

    def _chunks(self) -> Iterator[Chunk]:
        before = 0
        for source in self.sources:
            self.tally.start_file(source.name)
            for positioned in read_chunks(
                source, chunk_bytes=self.chunk_bytes, max_line_bytes=self.max_line_bytes
            ):
                self._offsets.append(before + positioned.bytes_done)
                yield positioned.chunk
            before += source.size

    def _handle_problems(self, result: ChunkResult) -> None:
        for problem in result.problems:
            if self.strict:
                raise IngestError(
                    f"{problem.file}:{problem.line}: {problem.reason}: {problem.detail}",
                    file=problem.file,
                    line=problem.line,
                    reason=problem.reason,
                )
            if self.quarantine is not None:
                self.quarantine(problem)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        work = process_chunk if self.derive is None else partial(process_chunk, derive=self.derive)
        if self.workers <= 1:
            yield from self._consume(ordered_map(work, self._chunks(), workers=1))
            return
        heap.map_large_blocks()  # this process only reads: its chunks go back when freed
        with shared.directory() as where:
            if where is None:  # no shared memory: chunks and batches through the pipes
                results = ordered_map(work, self._chunks(), workers=self.workers, warm=self.warm)
                yield from self._consume(results)
                return
            tasks = (shared.share(chunk, where) for chunk in self._chunks())
            worker = partial(shared.run_shared, work, str(where))
            in_shm = ordered_map(worker, tasks, workers=self.workers, warm=self.warm)
            try:
                yield from self._consume(shared.received(result) for result in in_shm)
            finally:
                in_shm.close()  # the pool is shut down before the directory goes

    def _consume(self, results: Iterator[ChunkResult]) -> Iterator[pa.RecordBatch]:
        for result in results:
            self._handle_problems(result)
            self.tally.add(
                result.source,
                result.batch,
                result.problems,
                result.lines,
                result.passed_over,
                result.inputs,
            )
            if self.on_progress is not None:
                self.on_progress(self._offsets.popleft(), self.total_bytes)
            if result.batch.num_rows:
                yield result.batch

    def summary(self) -> IngestSummary:
        """Counts so far, the files skipped, and warnings about files that gave no records."""
        summary = self.tally.summary()
        summary.skipped = {str(item.path): item.why for item in self.skipped}
        summary.bytes_read = self.total_bytes
        summary.warn_about_files(bool(self.sources))
        return summary
