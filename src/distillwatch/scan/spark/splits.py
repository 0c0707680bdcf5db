"""Cut the inputs into splits: the units of work of the Spark ingest, one task each.

A split is a whole input (read by ingest's own reader, :func:`ingest.readers.read_chunks`,
so every format, compression and dialect the DuckDB engine reads is read the same way) or,
for a large uncompressed JSON Lines file in v1, a byte range of it cut at line ends: a
provider's logs may come as a few very large files, and a file is not a unit of parallel
work. Compressed streams cannot be entered in the middle; they stay whole (a provider's logs
are usually many files: one per hour and gateway node).

Cutting at line ends needs only a few bytes read at each cut (here, on the driver). Line
numbers are another matter: the number of a split's first line is the count of lines before
it, which only reading everything before tells. So each split numbers its lines from its own
start (:attr:`Split.first_line`) and reports how many lines it read; the driver adds the
lines of the splits before (:func:`line_offsets`) to every request and quarantined record,
so ``source_line`` and ``quarantine.jsonl`` carry the file's real line numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from distillwatch.ingest.sources import Source, open_raw

#: Bytes of uncompressed JSON Lines per split (a task); larger files are cut.
SPLIT_BYTES = 64 << 20
#: How much is read at once while looking for the end of the line a cut falls in.
_PROBE_BYTES = 64 << 10


@dataclass(frozen=True)
class Split:
    """One task's input: ``source`` whole (``end`` None), or its bytes ``[start, end)``.

    ``first_line`` is the number its first line gets while parsing: 1 for a file's first
    split (where a byte-order mark is allowed), 2 for the others (so none is read as the
    file's beginning); :func:`line_offsets` turns these into the file's own numbers.
    """

    index: int
    source: Source
    start: int = 0
    end: int | None = None
    first_line: int = 1


def _cuttable(source: Source, split_bytes: int) -> bool:
    return (
        source.format == "jsonl"
        and source.compression is None
        and source.dialect.native
        and source.size > split_bytes
    )


def _line_end(source: Source, offset: int) -> int:
    """The offset just past the first newline at or after ``offset`` (or the file's end)."""
    with open_raw(source) as handle:
        handle.seek(offset)
        position = offset
        while block := handle.read(_PROBE_BYTES):
            newline = block.find(b"\n")
            if newline >= 0:
                return position + newline + 1
            position += len(block)
    return source.size


def _cuts(source: Source, split_bytes: int) -> list[int]:
    """Offsets where splits of ``source`` start, each just after a newline."""
    starts = [0]
    nominal = split_bytes
    while nominal < source.size:
        cut = _line_end(source, nominal - 1)
        if cut >= source.size:
            break
        if cut > starts[-1]:
            starts.append(cut)
        nominal = max(nominal + split_bytes, cut + 1)
    return starts


def plan_splits(sources: Iterable[Source], split_bytes: int = SPLIT_BYTES) -> list[Split]:
    """Every source as one split or several, in input order (files, then bytes)."""
    splits: list[Split] = []
    for source in sources:
        if not _cuttable(source, split_bytes):
            splits.append(Split(len(splits), source))
            continue
        starts = _cuts(source, split_bytes)
        for k, start in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else source.size
            splits.append(Split(len(splits), source, start, end, 1 if k == 0 else 2))
    return splits


def line_offsets(splits: list[Split], lines: dict[int, int]) -> dict[int, int]:
    """Per split, what to add to the line numbers it gave to get the file's own.

    ``lines`` is how many lines each split read (its parse reported them)."""
    offsets: dict[int, int] = {}
    seen = 0
    for split in splits:
        if split.start == 0:  # a source's first split (the same file may be given twice)
            seen = 0
        offsets[split.index] = seen + 1 - split.first_line
        seen += lines.get(split.index, 0)
    return offsets


__all__ = ["SPLIT_BYTES", "Split", "line_offsets", "plan_splits"]
