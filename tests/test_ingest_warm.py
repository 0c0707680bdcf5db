"""The scan workers' allocator setting (``ingest.warm.keep_freed_memory``): memory a worker
frees is reused for its next chunk instead of coming back as fresh zeroed pages."""

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
