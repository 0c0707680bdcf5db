"""Fixed-size summaries, so that an account's online state never grows with its traffic.

A hydra account sends a few hundred requests, a bulk harvester millions: both must cost the
engine the same few kilobytes. Each summary here answers one question the checks ask
(how many distinct values, how values spread) within a bounded memory, and merges with
another of its kind, because linked accounts are pooled into one cluster state.
"""

from __future__ import annotations

import bisect
import math
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
