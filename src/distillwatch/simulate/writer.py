"""Output files: the traffic log stream (jsonl, .gz or .zst), labels and the resolved scenario.

Compression streams are configured for reproducible bytes (gzip without a timestamp,
single-threaded zstd), because "same seed, same bytes" is a promise of the simulator.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson
import zstandard

LOG_NAMES = {
    "jsonl": "traffic.jsonl",
    "jsonl.gz": "traffic.jsonl.gz",
    "jsonl.zst": "traffic.jsonl.zst",
}


@contextmanager
def open_log(out_dir: Path, fmt: str) -> Iterator[tuple[Path, IO[bytes]]]:
    """A binary stream for ``traffic.<fmt>`` in ``out_dir``; closed (and flushed) on exit."""
    path = out_dir / LOG_NAMES[fmt]
    with path.open("wb") as raw:
        if fmt == "jsonl":
            yield path, raw
        elif fmt == "jsonl.gz":
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=5, mtime=0) as gz:
                yield path, gz  # type: ignore[misc]
        else:
            cctx = zstandard.ZstdCompressor(level=3, threads=0)
            with cctx.stream_writer(raw, closefd=False) as zst:
                yield path, zst


def write_labels(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """``labels.jsonl``: one line per account, sorted by account id."""
    ordered = sorted(rows, key=lambda r: r["account_id"])
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in ordered))
