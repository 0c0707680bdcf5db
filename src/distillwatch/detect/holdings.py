"""Who holds which link value, as integer arrays: the groups linking works on.

Linking asks two questions of the ``(account_id, kind, value)`` keys, many millions of times at
a provider's scale: *who else holds the values this account holds* (to find candidate pairs)
and *do these two accounts share a value of this kind* (to confirm one). Both are answered
here from compressed sparse rows of small integers -- per kind, the members of each value
group and the groups of each account -- so no string, and no pair of accounts, is ever held
per key: memory is a few bytes per key row, whatever the group sizes.

A value counts (is a *group*) when 2 to ``cap`` accounts hold it; strong kinds have no upper
bound (a card shared by 20,000 accounts is the strongest evidence there is). The strings are
turned into integers by DuckDB within its memory limit, so the keys of a large scan never
become Python objects.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

#: Rows of (candidate, value) probes or (account, co-holder) pairs handled at once: bounds
#: the working memory of linking (a few int64 arrays of this length) whatever the groups.
BUDGET = 1 << 21


@dataclass(frozen=True)
class Holdings:
    """The groups of one kind: ``members`` of group ``g`` are ``m_acc[m_ptr[g]:m_ptr[g+1]]``
    (sorted), the groups of account ``a`` are ``h_grp[h_ptr[a]:h_ptr[a+1]]`` (sorted)."""

    n: int
    m_ptr: np.ndarray
    m_acc: np.ndarray
    h_ptr: np.ndarray
    h_grp: np.ndarray

    @classmethod
    def from_rows(cls, n: int, acc: np.ndarray, grp: np.ndarray, groups: int) -> Holdings:
        """From ``(account, group)`` rows sorted by account then group."""
        h_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(acc, minlength=n), out=h_ptr[1:])
        m_ptr = np.zeros(groups + 1, dtype=np.int64)
        np.cumsum(np.bincount(grp, minlength=groups), out=m_ptr[1:])
        order = np.argsort(grp, kind="stable")  # stable: members stay sorted by account
        return cls(n, m_ptr, acc[order], h_ptr, grp)

    @property
    def groups(self) -> int:
        return len(self.m_ptr) - 1

    def held(self, accounts: np.ndarray) -> np.ndarray:
        """How many groups each of ``accounts`` holds."""
        return self.h_ptr[accounts + 1] - self.h_ptr[accounts]

    def sizes(self) -> np.ndarray:
        return np.diff(self.m_ptr)

    def reach(self, lo: int, hi: int) -> int:
        """Rows :meth:`co_holders` gives for accounts ``lo..hi-1`` (co-holders counted with
        repeats, the account itself included)."""
        grp = self.h_grp[self.h_ptr[lo] : self.h_ptr[hi]]
        return int((self.m_ptr[grp + 1] - self.m_ptr[grp]).sum())

    def reach_per_account(self) -> np.ndarray:
        """:meth:`reach` of every single account."""
        owner = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.h_ptr))
        per_row = self.m_ptr[self.h_grp + 1] - self.m_ptr[self.h_grp]
        return np.bincount(owner, weights=per_row, minlength=self.n).astype(np.int64)

    def co_holders(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """``(a, b)``: every account ``b != a`` sharing a group with ``a``, for ``a`` in
        ``lo..hi-1`` -- once per group they share."""
        start, end = self.h_ptr[lo], self.h_ptr[hi]
        grp = self.h_grp[start:end]
        owner = np.repeat(np.arange(lo, hi, dtype=np.int64), np.diff(self.h_ptr[lo : hi + 1]))
        first, size = self.m_ptr[grp], self.m_ptr[grp + 1] - self.m_ptr[grp]
        total = int(size.sum())
        a = np.repeat(owner, size)
        step = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(size) - size, size)
        b = self.m_acc[np.repeat(first, size) + step]
        keep = a != b
        return a[keep], b[keep]

    def share(self, a: np.ndarray, b: np.ndarray, budget: int = BUDGET) -> np.ndarray:
        """Whether ``a[i]`` and ``b[i]`` hold a group in common.

        Each of the groups of the account holding fewer is looked up among the other's, a
        sample first: pairs that share much (a cluster's) are settled after a few probes, and
        only pairs sharing little or nothing are probed through."""
        out = np.zeros(len(a), dtype=bool)
        if not len(a) or not len(self.h_grp):
            return out
        na, nb = self.held(a), self.held(b)
        x, y = np.where(na <= nb, a, b), np.where(na <= nb, b, a)
        todo = np.flatnonzero(np.minimum(na, nb) > 0)
        done_upto = np.zeros(len(a), dtype=np.int64)
        width = 8
        while len(todo):
            todo = self._probe(x, y, todo, done_upto, width, out, budget)
            width *= 8
        return out

    def _probe(
        self,
        x: np.ndarray,
        y: np.ndarray,
        todo: np.ndarray,
        done_upto: np.ndarray,
        width: int,
        out: np.ndarray,
        budget: int,
    ) -> np.ndarray:
        """Probe up to ``width`` more groups of ``x[i]`` among ``y[i]``'s for each ``i`` in
        ``todo``; set ``out``; return the pairs still undecided."""
        left = []
        for part in np.array_split(todo, max(1, -(-len(todo) * width // budget))):
            xs = x[part]
            start = self.h_ptr[xs] + done_upto[part]
            count = np.minimum(self.h_ptr[xs + 1] - start, width)
            rows = np.repeat(np.arange(len(part)), count)
            step = np.arange(len(rows), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
            grp = self.h_grp[np.repeat(start, count) + step]
            ys = y[part][rows]
            lo, hi = self.h_ptr[ys], self.h_ptr[ys + 1]
            hit = _contains(self.h_grp, lo, hi, grp)
            found = np.zeros(len(part), dtype=bool)
            found[rows[hit]] = True
            out[part[found]] = True
            done_upto[part] += count
            more = ~found & (self.h_ptr[xs] + done_upto[part] < self.h_ptr[xs + 1])
            left.append(part[more])
        return np.concatenate(left) if left else np.empty(0, dtype=np.int64)


def _contains(
    sorted_runs: np.ndarray, lo: np.ndarray, hi: np.ndarray, value: np.ndarray
) -> np.ndarray:
    """Whether ``value[i]`` is in ``sorted_runs[lo[i]:hi[i]]`` (each run sorted): a binary
    search per row, vectorised."""
    left, right = lo.copy(), hi.copy()
    while True:
        active = left < right
        if not active.any():
            break
        mid = (left + right) // 2
        probe = np.where(active, sorted_runs[np.minimum(mid, len(sorted_runs) - 1)], 0)
        less = active & (probe < value)
        left = np.where(less, mid + 1, left)
        right = np.where(active & ~less, mid, right)
    found = left < hi
    found[found] = sorted_runs[left[found]] == value[found]
    return found


def load(
    accounts: list[str],
    keys: pl.DataFrame,
    caps: Mapping[str, int | None],
    memory_limit: str = "1GB",
) -> dict[str, Holdings]:
    """The groups of every kind in ``caps`` (kind -> most holders a value may have to count,
    None for no bound) among ``accounts``; key rows of other accounts or kinds are ignored."""
    n = len(accounts)
    kinds = sorted(caps)
    empty = {k: Holdings.from_rows(n, *_no_rows(), 0) for k in kinds}
    if not n or not len(keys) or not kinds:
        return empty
    with tempfile.TemporaryDirectory(prefix="distillwatch-link-") as spill:
        con = duckdb.connect()
        try:
            con.execute(f"SET memory_limit = '{memory_limit}'")
            con.execute(f"SET temp_directory = '{spill}'")
            con.execute("SET threads = 1")
            con.register("keys_in", keys.select("account_id", "kind", "value").to_arrow())
            con.register(
                "account_index",
                pa.table(
                    {"account_id": pa.array(accounts, pa.string()),
                     "idx": pa.array(np.arange(n, dtype=np.int32))}
                ),
            )  # fmt: skip
            con.register(
                "kind_caps",
                pa.table(
                    {"kind": pa.array(kinds, pa.string()),
                     "kid": pa.array(np.arange(len(kinds), dtype=np.int32)),
                     "cap": pa.array([caps[k] for k in kinds], pa.int64())}
                ),
            )  # fmt: skip
            table = con.sql(_GROUPS_SQL).to_arrow_table()
        finally:
            con.close()
    kid = table["kid"].to_numpy()
    acc = table["idx"].to_numpy().astype(np.int64)
    grp = table["gid"].to_numpy().astype(np.int64)
    del table
    out = {}
    bounds = np.searchsorted(kid, np.arange(len(kinds) + 1))
    for k, kind in enumerate(kinds):
        lo, hi = bounds[k], bounds[k + 1]
        groups = int(grp[lo:hi].max()) + 1 if hi > lo else 0
        out[kind] = Holdings.from_rows(n, acc[lo:hi], grp[lo:hi], groups)
    return out


def _no_rows() -> tuple[np.ndarray, np.ndarray]:
    return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)


#: (kind, account, group) of every value held by 2 to ``cap`` accounts, sorted; groups are
#: numbered per kind in the order of their values, so the numbering is the same every run.
_GROUPS_SQL = """
WITH k AS (
    SELECT DISTINCT c.kid, a.idx, k.value
    FROM keys_in k
    JOIN account_index a ON a.account_id = k.account_id
    JOIN kind_caps c ON c.kind = k.kind
    WHERE k.value IS NOT NULL
),
g AS (
    SELECT k.kid, k.value,
           (row_number() OVER (PARTITION BY k.kid ORDER BY k.value) - 1)::INTEGER AS gid
    FROM k JOIN kind_caps c ON c.kid = k.kid
    GROUP BY k.kid, k.value, c.cap
    HAVING count(*) >= 2 AND (c.cap IS NULL OR count(*) <= c.cap)
)
SELECT k.kid, k.idx, g.gid FROM k JOIN g ON g.kid = k.kid AND g.value = k.value
ORDER BY k.kid, k.idx, g.gid
"""
