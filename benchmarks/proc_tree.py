"""CPU seconds and resident memory of a process tree, read from ``/proc``: the benches'
sampler (``bench_scan.py``, ``bench_scan_spark.py``, ``bench_scan_incremental.py``).

A benchmark runs its subject in a child process, which may start workers of its own (ingest
processes, DuckDB's, Spark's JVM and Python workers); what the subject costs is the sum over
that whole tree. Two ways of counting CPU seconds, because processes that exit take their
CPU with them unless someone adds it up:

* ``remember=False``: each process's own CPU plus that of its *reaped* children
  (``cutime``/``cstime``), summed over the live tree. Exact when the tree's processes wait
  for their children (``multiprocessing``, ``concurrent.futures``);
* ``remember=True``: each process's own CPU remembered at its last sample, whether or not
  it is still alive (Spark's Python workers are reaped by a daemon that does not add them
  up). At most one interval of a process that exits is lost.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import NamedTuple

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class Proc(NamedTuple):
    parent: int
    started: int  # clock ticks after boot: with the pid, names a process once
    own: float  # CPU seconds, utime + stime
    reaped: float  # CPU seconds of its waited-for children, cutime + cstime
    rss: int  # bytes


def processes() -> dict[int, Proc]:
    """Every process of the machine, by pid."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:  # exited since the listing
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        table[int(entry)] = Proc(
            int(fields[1]),
            int(fields[19]),
            (int(fields[11]) + int(fields[12])) / _TICKS,
            (int(fields[13]) + int(fields[14])) / _TICKS,
            int(fields[21]) * _PAGE,
        )
    return table


def descendants(table: dict[int, Proc], root: int) -> list[int]:
    """``root`` and every process below it that is in ``table``."""
    children: dict[int, list[int]] = {}
    for pid, proc in table.items():
        children.setdefault(proc.parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def tree(root: int) -> tuple[float, int]:
    """(CPU seconds with reaped children's, resident bytes) of ``root`` and its descendants."""
    table = processes()
    pids = descendants(table, root)
    return sum(table[p].own + table[p].reaped for p in pids), sum(table[p].rss for p in pids)


class TreeSampler:
    """Samples a process tree every ``interval`` seconds in a thread: the series of (time,
    CPU seconds, resident bytes), its peaks, and with ``cap`` (bytes) the tree's process
    group killed once it passes that much memory (the machine is shared)."""

    def __init__(
        self, root: int, interval: float = 0.05, cap: int | None = None, remember: bool = False
    ) -> None:
        self.root, self.interval, self.cap, self.remember = root, interval, cap, remember
        self.stopped = False
        self.peak_rss = 0
        self.cpu_seconds = 0.0
        self.samples: list[tuple[float, float, int]] = []  # (time.time(), CPU s, RSS bytes)
        self._seen: dict[tuple[int, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> tuple[float, int]:
        """(CPU seconds, resident bytes) of the tree now."""
        table = processes()
        pids = descendants(table, self.root)
        if self.remember:
            for pid in pids:
                self._seen[(pid, table[pid].started)] = table[pid].own
            cpu = sum(self._seen.values())
        else:
            cpu = sum(table[p].own + table[p].reaped for p in pids)
        return cpu, sum(table[p].rss for p in pids)

    def _run(self) -> None:
        while not self._stop.is_set():
            cpu, rss = self.sample()
            self.cpu_seconds = max(self.cpu_seconds, cpu)
            self.peak_rss = max(self.peak_rss, rss)
            self.samples.append((time.time(), cpu, rss))
            if self.cap is not None and rss > self.cap and not self.stopped:
                self.stopped = True  # the root leads its own session: stop all of it
                os.killpg(self.root, signal.SIGKILL)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_between(self, start: float, end: float) -> int:
        """Peak tree RSS sampled within the wall-clock window ``[start, end]``."""
        return max((rss for t, _, rss in self.samples if start <= t <= end), default=0)

    def cpu_at(self, moment: float) -> float:
        """CPU seconds of the tree at the last sample before ``moment``."""
        return max((cpu for t, cpu, _ in self.samples if t <= moment), default=0.0)

    def between(self, start: float, end: float) -> tuple[float, int]:
        """(CPU seconds, peak RSS) within ``[start, end]``."""
        return self.cpu_at(end) - self.cpu_at(start), self.peak_between(start, end)
