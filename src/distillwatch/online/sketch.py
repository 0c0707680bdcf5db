"""Fixed-size summaries, so that an account's online state never grows with its traffic.

A hydra account sends a few hundred requests, a bulk harvester millions: both must cost the
engine the same few kilobytes. Each summary here answers one question the checks ask
(how many distinct values, how values spread) within a bounded memory, and merges with
another of its kind, because linked accounts are pooled into one cluster state.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections import Counter
from dataclasses import dataclass, field

_SCALE = float(1 << 64)


def unit(value: int) -> float:
    """A 64-bit hash as a point in [0, 1)."""
    return (value & 0xFFFFFFFFFFFFFFFF) / _SCALE


@dataclass
class Distinct:
    """How many distinct values: exact up to ``k``, a K-minimum-values estimate above.

    Keeps the ``k`` smallest hashes seen; with values hashed uniformly, the ``k``-th smallest
    of ``D`` distinct values sits near ``k / D``. Relative error is about ``1 / sqrt(k)``.
    """

    k: int = 256
    mins: list[float] = field(default_factory=list)

    def add(self, hashed: int) -> None:
        x = unit(hashed)
        mins = self.mins
        if len(mins) >= self.k and x >= mins[-1]:
            return
        i = bisect.bisect_left(mins, x)
        if i < len(mins) and mins[i] == x:
            return
        mins.insert(i, x)
        if len(mins) > self.k:
            mins.pop()

    def count(self) -> float:
        if len(self.mins) < self.k:
            return float(len(self.mins))
        return (self.k - 1) / self.mins[-1]

    def merge(self, other: Distinct) -> None:
        self.mins = sorted(set(self.mins) | set(other.mins))[: self.k]


@dataclass
class Moments:
    """Count, mean and variance of a stream (Welford), mergeable (Chan et al.)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    def std(self) -> float:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0

    def merge(self, other: Moments) -> None:
        n = self.n + other.n
        if n == 0:
            return
        delta = other.mean - self.mean
        self.m2 += other.m2 + delta * delta * self.n * other.n / n
        self.mean += delta * other.n / n
        self.n = n


@dataclass
class Frequency:
    """How often each of many keys was seen, approximately, in fixed memory.

    A count-min sketch (two rows, conservative update) whose counters are halved every
    ``10 * width`` additions, so it follows recent traffic (TinyLFU's ageing). It guards a
    capped table: once the table is full, a newcomer takes the place of the table's rarest
    entry only when it has been seen more often -- so a flood of one-off keys (a reseller's
    end users' first words) cannot flush out keys that recur slowly but steadily (the
    harvest's few wrapper frames, a few times a day each).
    """

    width: int = 512
    cells: array[int] = field(default_factory=lambda: array("I", bytes(4 * 2 * 512)))
    added: int = 0
    #: how many times the counters were halved (estimates read before then are stale)
    ageings: int = 0

    def _slots(self, hashed: int) -> tuple[int, int]:
        return hashed % self.width, self.width + (hashed >> 16) % self.width

    def add(self, hashed: int, count: int = 1) -> int:
        """Count ``count`` sightings; returns the key's estimated count."""
        i, j = self._slots(hashed)
        cells = self.cells
        seen = min(cells[i], cells[j]) + count
        cells[i], cells[j] = max(cells[i], seen), max(cells[j], seen)  # conservative update
        self.added += count
        if self.added >= 10 * self.width:
            self.cells = array("I", (c >> 1 for c in cells))
            self.added //= 2
            self.ageings += 1
        return seen

    def estimate(self, hashed: int) -> int:
        i, j = self._slots(hashed)
        return min(self.cells[i], self.cells[j])

    def merge(self, other: Frequency) -> None:
        self.cells = array("I", (a + b for a, b in zip(self.cells, other.cells, strict=True)))
        self.added += other.added


def entropy_bits(counts: Counter[str] | dict[str, int]) -> tuple[float, float]:
    """Shannon entropy (bits) and top share of a count table."""
    total = sum(counts.values())
    if total == 0:
        return 0.0, 0.0
    h = -sum(c / total * math.log2(c / total) for c in counts.values() if c)
    return h, max(counts.values()) / total


def bounded_add(table: Counter[str], key: str, limit: int) -> None:
    """Count ``key``; past ``limit`` keys, new keys are dropped (the first ones matter most:
    the areas, languages or frames an account works in show up early and keep recurring)."""
    if key in table or len(table) < limit:
        table[key] += 1
