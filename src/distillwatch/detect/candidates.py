"""Weak pairs in bounded memory: the accounts whose shared weak keys reach the threshold.

A pair of accounts is joined on weak keys when the noisy-OR of the families of kinds they
share reaches ``LinkConfig.threshold``. Enumerating every pair of every group to find out
(as linking once did) costs the squares of the group sizes: at 50,000 accounts the prompt
templates and sketches alone give hundreds of millions of pairs, mostly between accounts that
share nothing else -- and content alone never links.

So the pairs are found from the cheap side. The threshold decides which kinds a joined pair
*must* share some of: when the families outside a set of kinds cannot reach it together, every
joined pair shares a kind of that set (with the default confidences, two kinds of
infrastructure are needed besides content, so the set is {/24, user agent, mail domain}). The
cheapest such set is enumerated -- account by account, a bounded block at a time -- and every
other kind is then only *checked* for the candidates whose bound still reaches the threshold
(:meth:`.holdings.Holdings.share`). The pairs found are the same as all pairs' would be.

Each account then keeps its ``degree`` most confident partners (ties broken by a hash of the
pair, so a cluster of equals becomes a random graph, which community detection keeps whole,
rather than a ring it would cut); a pair is kept when either account keeps it. The output is
at most ``accounts x degree`` pairs, and no step holds more than a block's worth of rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from distillwatch.detect.holdings import BUDGET, Holdings, run_starts


@dataclass(frozen=True)
class Kinds:
    """The link kinds in bit order (``names``), their families and confidences."""

    names: tuple[str, ...]
    confidence: tuple[float, ...]
    family: tuple[str, ...]
    #: derived kind -> (kind, least): a pair has the derived kind when it shares ``least``
    #: distinct values of ``kind`` (``LinkConfig.several``)
    derived: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        confidence: Mapping[str, float],
        families: Mapping[str, str],
        derived: Mapping[str, tuple[str, int]] | None = None,
    ) -> Kinds:
        """The kinds of a link configuration, in the order of their names."""
        names = tuple(sorted(confidence))
        derived = {k: v for k, v in (derived or {}).items() if k in confidence}
        return cls(
            names,
            tuple(confidence[k] for k in names),
            tuple(families.get(k, k) for k in names),
            derived,
        )

    def derived_from(self, kinds: Sequence[str]) -> list[str]:
        """The derived kinds whose base kind is among ``kinds``."""
        return sorted(d for d, (base, _) in self.derived.items() if base in kinds)

    def bit(self, kind: str) -> int:
        return 1 << self.names.index(kind)

    def bits(self, kinds: Sequence[str]) -> int:
        out = 0
        for kind in kinds:
            out |= self.bit(kind)
        return out

    def table(self) -> np.ndarray:
        """Confidence of every mask of kinds: the noisy-OR over families of the strongest kind
        of each family present (computed as linking always has: one minus the exponential of
        the summed log-misses)."""
        size = 1 << len(self.names)
        out = np.zeros(size)
        for mask in range(size):
            best: dict[str, float] = {}
            for k in range(len(self.names)):
                if mask >> k & 1:
                    with np.errstate(divide="ignore"):  # a kind of confidence 1
                        miss = float(np.log1p(-self.confidence[k]))
                    best[self.family[k]] = min(best.get(self.family[k], 0.0), miss)
            out[mask] = 1.0 - np.exp(sum(sorted(best.values()))) if best else 0.0
        return out


@dataclass(frozen=True)
class WeakEdges:
    """Joined weak pairs: ``codes`` are ``lo * n + hi`` (sorted, unique), ``masks`` the kinds
    each shares (bits of :class:`Kinds`), ``confidence`` their noisy-OR."""

    codes: np.ndarray
    masks: np.ndarray
    confidence: np.ndarray

    @classmethod
    def empty(cls) -> WeakEdges:
        return cls(np.empty(0, np.int64), np.empty(0, np.uint32), np.empty(0))


def enumerated_kinds(
    holdings: Mapping[str, Holdings], kinds: Kinds, table: np.ndarray, threshold: float
) -> list[str]:
    """The cheapest set of kinds every joined pair must share one of: the kinds outside it
    cannot reach ``threshold`` together. Cost: the pairs its groups hold."""
    weak = sorted(holdings)
    cost = {k: float((holdings[k].sizes().astype(np.float64) ** 2).sum()) for k in weak}
    best: tuple[float, list[str]] = (float("inf"), weak)
    for r in range(len(weak) + 1):
        for chosen in combinations(weak, r):
            rest = [k for k in weak if k not in chosen]
            if table[kinds.bits(rest + kinds.derived_from(rest))] >= threshold:
                continue
            total = sum(cost[k] for k in chosen)
            if total < best[0]:
                best = (total, list(chosen))
    return best[1]


def weak_edges(
    holdings: Mapping[str, Holdings],
    kinds: Kinds,
    threshold: float,
    degree: int,
    budget: int = BUDGET,
) -> WeakEdges:
    """The weak pairs reaching ``threshold``, at most ``degree`` kept per account (plus the
    pairs its partners keep). ``holdings``: the weak kinds' groups, capped as linking caps
    them."""
    if not holdings:
        return WeakEdges.empty()
    n = next(iter(holdings.values())).n
    table = kinds.table()
    enumerated = enumerated_kinds(holdings, kinds, table, threshold)
    strength = dict(zip(kinds.names, kinds.confidence, strict=True))
    checked = sorted((k for k in holdings if k not in enumerated), key=lambda k: -strength[k])
    reach = sum((holdings[k].reach_per_account() for k in enumerated), np.zeros(n, dtype=np.int64))
    parts = []
    for lo, hi in _blocks(reach, budget):
        parts.append(
            _block(holdings, kinds, table, threshold, degree, enumerated, checked, lo, hi, budget)
        )
    if not parts:
        return WeakEdges.empty()
    codes = np.concatenate([p.codes for p in parts])
    order = np.argsort(codes, kind="stable")
    first = order[run_starts(codes[order])]  # a pair kept by both accounts: once
    masks = np.concatenate([p.masks for p in parts])[first]
    return WeakEdges(codes[first], masks, table[masks])


def _blocks(reach: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Consecutive account ranges whose co-holder rows stay near ``budget`` (one account may
    exceed it alone); accounts reaching nobody are skipped."""
    out = []
    ends = np.cumsum(reach)
    lo, n = 0, len(reach)
    while lo < n:
        if reach[lo] == 0:
            lo += 1
            continue
        base = ends[lo - 1] if lo else 0
        hi = max(int(np.searchsorted(ends, base + budget, side="right")), lo + 1)
        out.append((lo, min(hi, n)))
        lo = hi
    return out


def _block(
    holdings: Mapping[str, Holdings],
    kinds: Kinds,
    table: np.ndarray,
    threshold: float,
    degree: int,
    enumerated: list[str],
    checked: list[str],
    lo: int,
    hi: int,
    budget: int,
) -> WeakEdges:
    """The kept pairs of accounts ``lo..hi-1``."""
    n = holdings[enumerated[0]].n if enumerated else 0
    codes, bits = [], []
    for kind in enumerated:
        a, b = holdings[kind].co_holders(lo, hi)
        codes.append((a - lo) * n + b)
        bits.append(np.full(len(a), kinds.bit(kind), dtype=np.uint32))
    if not codes:
        return WeakEdges.empty()
    code, mask = _or_by_code(np.concatenate(codes), np.concatenate(bits), len(kinds.names))
    del codes, bits
    derived = kinds.derived_from(list(holdings))
    open_bits = kinds.bits(checked) | kinds.bits(derived)
    alive = table[mask | open_bits] >= threshold
    code, mask = code[alive], mask[alive]
    for kind in checked + derived:
        a, b = code // n + lo, code % n
        mask |= shares(holdings, kinds, kind, a, b, mask, budget)
        open_bits &= ~kinds.bit(kind)
        alive = table[mask | open_bits] >= threshold
        code, mask = code[alive], mask[alive]
    a, b = code // n + lo, code % n
    conf = table[mask]
    order = np.lexsort((_pair_hash(a, b, n), -conf, a))
    a, b, mask = a[order], b[order], mask[order]
    rank = np.arange(len(a)) - np.searchsorted(a, a, side="left")
    keep = rank < degree
    a, b, mask = a[keep], b[keep], mask[keep]
    return WeakEdges(np.minimum(a, b) * n + np.maximum(a, b), mask, conf[order][keep])


def shares(
    holdings: Mapping[str, Holdings],
    kinds: Kinds,
    kind: str,
    a: np.ndarray,
    b: np.ndarray,
    mask: np.ndarray,
    budget: int = BUDGET,
) -> np.ndarray:
    """``kind``'s bit for the pairs ``a``, ``b`` that have it, else 0. A derived kind is
    looked for only among the pairs that share its base kind (their ``mask`` says so)."""
    bit = np.uint32(kinds.bit(kind))
    out = np.zeros(len(a), dtype=np.uint32)
    if kind not in kinds.derived:
        out[holdings[kind].share(a, b, budget)] = bit
        return out
    base, least = kinds.derived[kind]
    some = np.flatnonzero(mask & np.uint32(kinds.bit(base)))
    out[some[holdings[base].share(a[some], b[some], budget, least)]] = bit
    return out


def _or_by_code(code: np.ndarray, bits: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct codes (sorted) with the OR of their bits (``width`` bits at most): one sort
    of the code and bits packed together."""
    packed = np.sort((code << width) | bits.astype(np.int64))
    code = packed >> width
    start = run_starts(code)
    ored = np.bitwise_or.reduceat(packed & ((1 << width) - 1), start) if len(start) else packed
    return code[start], ored.astype(np.uint32)


def _pair_hash(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """A fixed pseudo-random number per unordered pair (splitmix64 of its code)."""
    z = (np.minimum(a, b) * n + np.maximum(a, b)).astype(np.uint64)
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))
