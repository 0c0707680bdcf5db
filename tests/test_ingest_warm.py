"""The allocator settings of ingest (``ingest.heap``): memory a worker frees is reused for its
next chunk instead of coming back as fresh zeroed pages, Arrow's included; the reading
process's chunks go back to the kernel when freed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

#: Ten rounds of what a chunk does to the heap: 64 blocks of 1 MB allocated (written: every
#: page touched), then all freed; prints whether the setting is on and the minor page faults
#: the ten rounds took.
_CHURN = """
import resource
from distillwatch.ingest import warm
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
blocks = [b"x" * (1 << 20) for _ in range(4)]
del blocks  # glibc's own thresholds adapt to 1 MB blocks here
before = faults()
for _ in range(10):
    blocks = [b"x" * (1 << 20) for _ in range(64)]
    del blocks
print(warm.MALLOC_TUNED, faults() - before)
"""


def _churn(setting: str) -> tuple[bool, int]:
    env = {**os.environ, "DISTILLWATCH_MALLOC": setting}
    out = subprocess.run(
        [sys.executable, "-c", _CHURN], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_blocks_are_reused_instead_of_faulted_in_again() -> None:
    tuned, faults_tuned = _churn("1")
    untouched, faults_default = _churn("0")
    assert tuned and not untouched
    round_pages = (64 << 20) // os.sysconf("SC_PAGE_SIZE")
    # by default the freed heap goes back to the kernel: most rounds fault their pages in
    assert faults_default > 5 * round_pages
    # kept: the first round's pages, then the same memory again
    assert faults_tuned < 2 * round_pages


#: Ten chunk-sized blocks (20 MB, each written whole) allocated and freed in turn, with or
#: without the reading process's setting; prints whether it took and the minor page faults.
_READER = """
import resource, sys
from distillwatch.ingest import heap
tuned = heap.map_large_blocks() if sys.argv[1] == "1" else False
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
block = b"x" * (20 << 20)
del block  # glibc's own threshold now follows the block freed
before = faults()
for _ in range(10):
    block = b"x" * (20 << 20)
    del block
print(tuned, faults() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_reading_process_gives_its_chunks_back() -> None:
    def run(setting: str) -> tuple[bool, int]:
        out = subprocess.run(
            [sys.executable, "-c", _READER, setting], capture_output=True, text=True, check=True
        ).stdout.split()
        return out[0] == "True", int(out[1])

    tuned, faults_mapped = run("1")
    untouched, faults_default = run("0")
    assert tuned and not untouched
    block_pages = (20 << 20) // os.sysconf("SC_PAGE_SIZE")
    # glibc's default: from the second block on, the same heap memory (no fault)
    assert faults_default < 2 * block_pages
    # mapped on its own each time: given back when freed, faulted in again (huge pages may
    # take one fault for 512 pages, so only "more than the default" is certain)
    assert faults_mapped > faults_default


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_workers_allocate_arrow_memory_from_the_heap() -> None:
    probe = (
        "import pyarrow as pa; from distillwatch.ingest import warm;"
        "print(warm.MALLOC_TUNED, warm.ARROW_ON_HEAP, pa.default_memory_pool().backend_name)"
    )
    for setting, expected in (("1", ["True", "True", "system"]), ("0", ["False", "False"])):
        env = {**os.environ, "DISTILLWATCH_MALLOC": setting}
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
        ).stdout.split()
        assert out[: len(expected)] == expected
