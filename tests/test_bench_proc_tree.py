"""The benches' process-tree sampler (``benchmarks/proc_tree.py``) on real processes: a
child that burns CPU in a grandchild which exits, and holds memory while it is sampled."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from proc_tree import TreeSampler, tree

#: The child: a grandchild burns about 0.6 CPU s and exits (reaped by the child, which
#: waits for it), then the child holds 200 MB of touched memory for a while.
CHILD = """
import subprocess, sys, time
burn = "import time\\nend = time.process_time() + 0.6\\nwhile time.process_time() < end: pass"
subprocess.run([sys.executable, "-c", burn], check=True)
held = bytearray(200 * 1024 * 1024)
for i in range(0, len(held), 4096):
    held[i] = 1
time.sleep(1.0)
"""


def _sampled(remember: bool) -> TreeSampler:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], start_new_session=True)
    with TreeSampler(proc.pid, interval=0.02, remember=remember) as sampler:
        proc.wait()
    return sampler


def test_reaped_children_count_and_memory_peaks() -> None:
    sampler = _sampled(remember=False)
    assert sampler.cpu_seconds >= 0.6  # the grandchild's CPU, through the child's cutime
    assert sampler.peak_rss >= 200e6
    start, end = sampler.samples[0][0], sampler.samples[-1][0]
    cpu, peak = sampler.between(start, end)
    assert peak == sampler.peak_rss
    assert 0 <= cpu <= sampler.cpu_seconds


def test_remembered_cpu_of_exited_processes() -> None:
    sampler = _sampled(remember=True)
    assert sampler.cpu_seconds >= 0.5  # the grandchild's own CPU, less at most one interval
    assert sampler.peak_rss >= 200e6


def test_cap_stops_the_tree() -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], start_new_session=True)
    started = time.perf_counter()
    with TreeSampler(proc.pid, interval=0.02, cap=100_000_000) as sampler:
        proc.wait()
    assert sampler.stopped and proc.returncode == -9
    assert time.perf_counter() - started < 10


def test_tree_of_this_process() -> None:
    cpu, rss = tree(os.getpid())
    assert cpu > 0 and rss > 10e6
