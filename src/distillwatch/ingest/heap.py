"""Where the memory of ingest's chunks comes from: glibc's allocator settings, per process.

A chunk of JSON Lines is tens of MB, allocated and freed once per chunk by the process that
reads the logs and by the worker that parses it, and so are the worker's arrays. Whether a
freed block goes back to the kernel (and comes back as fresh zeroed pages, page faults
included) or stays in the heap for the next chunk is the allocator's choice; the two kinds
of process want opposite ones:

* a **worker** (:func:`keep_freed_memory`, set by ``ingest.warm`` in the forkserver, inherited
  by every worker) does the same work chunk after chunk and ends with the stream: it keeps
  what it frees, and Arrow allocates from the same heap (:func:`arrow_on_the_heap`);
* the **reading process** (:func:`map_large_blocks`, set by ``RequestStream`` before it hands
  chunks to workers) goes on, in a scan, to the detection stages, which want the memory: each
  chunk is mapped on its own and given back when freed. Left to glibc, its mmap threshold
  follows the largest block freed (up to 32 MB), so from the second chunk on every chunk came
  from the heap, whose holes it kept: 274 -> 546 MB resident after enrich on make demo's log.

Only where glibc is the C library, and not with ``DISTILLWATCH_MALLOC=0``. Nothing here
changes a value computed, only where memory comes from; nothing here raises.
"""

from __future__ import annotations

import ctypes
import os
import sys
from functools import cache
from typing import Any

#: ``mallopt`` parameters (glibc's ``malloc.h``).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Workers: blocks from 32 MB (glibc's largest mmap threshold) get their own mapping, given
#: back on free; below that, freed memory stays in the heap up to 1 GB.
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 1 << 30
#: The reading process: blocks from 16 MB (every chunk of a scan: ``scan.enrich.CHUNK_BYTES``)
#: are mapped on their own.
READER_MMAP_THRESHOLD = 16 << 20


@cache
def _mallopt() -> Any:
    """glibc's ``mallopt``, or None (another C library, or turned off)."""
    if os.environ.get("DISTILLWATCH_MALLOC", "1") == "0" or not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        if not libc.gnu_get_libc_version:  # glibc only: another libc's mallopt may differ
            return None
        return libc.mallopt
    except (OSError, AttributeError):
        return None


def keep_freed_memory() -> bool:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD` and keep up to
    :data:`TRIM_THRESHOLD` of freed heap (by default both move with what was freed last, and
    a freed block at the top of the heap goes back to the kernel); whether it was set."""
    mallopt = _mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


def arrow_on_the_heap() -> bool:
    """Have Arrow allocate from glibc's heap (its system pool) instead of its default pool
    (mimalloc here), whose freed pages go back to the kernel within milliseconds and come
    back as fresh zeroed huge pages with the next chunk's arrays (0.3-0.5 CPU s of system
    time in the workers on make demo's log). For workers, after :func:`keep_freed_memory`;
    whether it was done."""
    try:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())
    except Exception:  # never raise: the forkserver's preload would stop
        return False
    return True


def map_large_blocks() -> bool:
    """Fix glibc's mmap threshold at :data:`READER_MMAP_THRESHOLD` in this process, so that
    each chunk it reads is mapped and given back when freed (glibc's default, before its
    threshold grows); whether it was set."""
    mallopt = _mallopt()
    return mallopt is not None and bool(mallopt(_M_MMAP_THRESHOLD, READER_MMAP_THRESHOLD))


__all__ = [
    "MMAP_THRESHOLD",
    "READER_MMAP_THRESHOLD",
    "TRIM_THRESHOLD",
    "arrow_on_the_heap",
    "keep_freed_memory",
    "map_large_blocks",
]
