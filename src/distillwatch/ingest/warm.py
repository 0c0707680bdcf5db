"""Imported by the forkserver of a scan's ingest workers, never by the scan itself.

(Here rather than in ``scan``, whose package imports DuckDB and the detectors: a worker
needs none of them.)

Importing this module readies a process to parse chunks and compute their signals: it
imports ingest and the signals, then runs both on two made-up requests, which compiles what
every worker would otherwise compile for itself on its first chunk (the Hyperscan pattern
set and number screen, lookup tables read from RE2, the capability model). The forkserver
imports it once (``ordered_map(warm=...)``), and each worker it forks starts with all of it
in memory; on the demo log this saved about 2.5 CPU s per worker (``benchmarks/results/
scan.md``). No memo is filled: workers start with an empty one, as before.

It also tells glibc's allocator to keep the memory a worker frees for its next chunk
(:func:`keep_freed_memory`): each chunk allocates and frees the same few hundred MB (the
chunk's bytes, decoded columns, the signals' arrays), and by default the freed blocks go
back to the kernel, so every chunk pays again for fresh zeroed pages (page faults were about
a sixth of a worker's CPU on the demo log); and Arrow allocates from that heap too
(:func:`~distillwatch.ingest.heap.arrow_on_the_heap`). See :mod:`distillwatch.ingest.heap`.

Nothing here may raise: an exception during the forkserver's preload would stop it, and with
it the pool. A failure only means the workers warm up by themselves.
"""

from __future__ import annotations

import gc

from distillwatch.ingest.heap import arrow_on_the_heap, keep_freed_memory

#: Two requests that touch the decoder's fast path and every signal.
_LINES = (
    b'{"ts":"2026-01-01T00:00:00Z","account_id":"a","request_id":"r1","country":"de",'
    b'"messages":[{"role":"system","content":"You are a grader."},{"role":"user","content":'
    b'"Think step by step: what is 12 + 30? Answer in JSON, e.g. {\\"x\\": 1}."}],'
    b'"response":{"text":"42"},"usage":{"input_tokens":9,"output_tokens":1}}\n'
    b'{"ts":"2026-01-01T00:00:01.5+01:00","account_id":"b","request_id":"r2",'
    b'"messages":[{"role":"user","content":"\\u00dcbersetze ins Deutsche: hello world"}]}\n'
)


def warm_up() -> bool:
    """Parse :data:`_LINES` and compute their signals; whether it went through."""
    try:
        from distillwatch import signals
        from distillwatch.ingest.batches import JsonlChunk, process_chunk

        result = process_chunk(JsonlChunk("warm-up", 1, _LINES))
        signals.compute(result.batch)
    except Exception:  # the workers warm up by themselves then
        return False
    return True


WARMED = warm_up()
MALLOC_TUNED = keep_freed_memory()
ARROW_ON_HEAP = MALLOC_TUNED and arrow_on_the_heap()
# What the forkserver holds is never garbage: keep the collector of every forked worker off
# it (fewer pages copied on write, shorter collections).
gc.freeze()
