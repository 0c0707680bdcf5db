"""Who holds which link value, as integer arrays: the groups linking works on.

Linking asks two questions of the ``(account_id, kind, value)`` keys, many millions of times at
a provider's scale: *who else holds the values this account holds* (to find candidate pairs)
and *do these two accounts share a value of this kind* (to confirm one). Both are answered
here from compressed sparse rows of small integers -- per kind, the members of each value
group and the groups of each account -- so no string, and no pair of accounts, is ever held
per key: memory is a few bytes per key row, whatever the group sizes.

A value counts (is a *group*) when 2 to ``cap`` accounts hold it; strong kinds have no upper
bound (a card shared by 20,000 accounts is the strongest evidence there is). The strings are
turned into integers by one Polars join (no Python object per key), and the rest is NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from distillwatch.features.keys import KeyIds

#: Rows of (candidate, value) probes or (account, co-holder) pairs handled at once: bounds
#: the working memory of linking (a few int64 arrays of this length) whatever the groups.
BUDGET = 1 << 21


@dataclass(frozen=True)
class Holdings:
    """The groups of one kind: ``members`` of group ``g`` are ``m_acc[m_ptr[g]:m_ptr[g+1]]``
    (sorted), the groups of account ``a`` are ``h_grp[h_ptr[a]:h_ptr[a+1]]`` (sorted); both
    int32, 8 bytes per key row in all."""

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
        by_group = grp.astype(np.int64) * max(n, 1) + acc
        by_group.sort()  # members sorted by account
        return cls(n, m_ptr, (by_group % max(n, 1)).astype(np.int32), h_ptr, grp)

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

    def share(
        self, a: np.ndarray, b: np.ndarray, budget: int = BUDGET, at_least: int = 1
    ) -> np.ndarray:
        """Whether ``a[i]`` and ``b[i]`` hold ``at_least`` groups in common.

        Each of the groups of the account holding fewer is looked up among the other's, a
        sample first: pairs that share much (a cluster's) are settled after a few probes, and
        only pairs sharing little or nothing are probed through."""
        out = np.zeros(len(a), dtype=bool)
        if not len(a) or not len(self.h_grp):
            return out
        na, nb = self.held(a), self.held(b)
        x, y = np.where(na <= nb, a, b), np.where(na <= nb, b, a)
        todo = np.flatnonzero(np.minimum(na, nb) >= at_least)
        done_upto = np.zeros(len(a), dtype=np.int64)
        found = np.zeros(len(a), dtype=np.int64)
        keys = self._keys() if len(todo) else self.h_grp
        width = 8
        while len(todo):
            todo = self._probe(keys, x, y, todo, done_upto, found, width, budget, at_least)
            width *= 8
        return found >= at_least

    def _keys(self) -> np.ndarray:
        """``account * groups + group`` of every holding row, ascending (rows are sorted by
        account, then group): one sorted array in which a single ``searchsorted`` answers
        "does account ``y`` hold group ``g``" for all probes at once. Made per
        :meth:`share` call and dropped after it (8 bytes per row of this one kind)."""
        owner = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.h_ptr))
        owner *= max(self.groups, 1)
        owner += self.h_grp
        return owner

    def _probe(
        self,
        keys: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        todo: np.ndarray,
        done_upto: np.ndarray,
        found: np.ndarray,
        width: int,
        budget: int,
        at_least: int,
    ) -> np.ndarray:
        """Probe up to ``width`` more groups of ``x[i]`` among ``y[i]``'s for each ``i`` in
        ``todo``; count the common ones in ``found``; return the pairs still undecided (short
        of ``at_least`` with groups left to probe). ``keys``: :meth:`_keys`."""
        left = []
        for part in np.array_split(todo, max(1, -(-len(todo) * width // budget))):
            xs = x[part]
            start = self.h_ptr[xs] + done_upto[part]
            count = np.minimum(self.h_ptr[xs + 1] - start, width)
            rows = np.repeat(np.arange(len(part)), count)
            step = np.arange(len(rows), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
            grp = self.h_grp[np.repeat(start, count) + step]
            hit = _contains(keys, y[part][rows] * max(self.groups, 1) + grp)
            found[part] += np.bincount(rows[hit], minlength=len(part))
            done_upto[part] += count
            rest = self.h_ptr[xs] + done_upto[part] < self.h_ptr[xs + 1]
            more = (found[part] < at_least) & rest
            left.append(part[more])
        return np.concatenate(left) if left else np.empty(0, dtype=np.int64)


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (``np.unique`` is many times slower on large int64
    arrays with this NumPy)."""
    ordered = np.sort(values)
    return ordered[run_starts(ordered)]


def run_starts(ordered: np.ndarray) -> np.ndarray:
    """Positions where a new value starts in a sorted array."""
    if not len(ordered):
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))


def _contains(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Whether each of ``wanted`` is in the ascending array ``keys``. (A binary search per
    row over the account's own run of groups, vectorised step by step, cost 0.54 of
    linking's 0.63 CPU s on the demo log; one ``searchsorted`` gives the same answers.)"""
    pos = np.searchsorted(keys, wanted)
    found = pos < len(keys)
    found[found] = keys[pos[found]] == wanted[found]
    return found


def load(
    accounts: list[str], keys: pl.DataFrame | KeyIds, caps: Mapping[str, int | None]
) -> dict[str, Holdings]:
    """The groups of every kind in ``caps`` (kind -> most holders a value may have to count,
    None for no bound) among ``accounts``; key rows of other accounts or kinds are ignored,
    and a row given twice counts once. ``keys``: ``(account_id, kind, value)`` strings, or
    the same numbered by the SQL engine (:class:`KeyIds`, what a large scan passes)."""
    n = len(accounts)
    kinds = sorted(caps)
    if isinstance(keys, KeyIds):
        kid, idx, gid = _numbered_rows(accounts, keys, kinds)
    else:
        rows = _integer_rows(accounts, keys, kinds)
        kid, idx, gid = (rows[c].to_numpy() for c in ("kid", "idx", "gid"))
        del rows
    out = {}
    for k, kind in enumerate(kinds):
        mine = kid == k
        groups = int(gid[mine].max()) + 1 if mine.any() else 0
        code = idx[mine].astype(np.int64) * max(groups, 1) + gid[mine]
        del mine
        out[kind] = _capped(n, code, groups, caps[kind])
    return out


def _numbered_rows(
    accounts: list[str], keys: KeyIds, kinds: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(kid, idx, gid)`` of numbered keys: their kind and account numbers translated to
    positions in ``kinds`` and ``accounts`` (-1, and dropped, where absent there)."""
    index = {a: i for i, a in enumerate(accounts)}
    position = np.fromiter(
        (index.get(a, -1) for a in keys.accounts), dtype=np.int32, count=len(keys.accounts)
    )
    kind_position = np.asarray(
        [kinds.index(k) if k in kinds else -1 for k in keys.kinds], dtype=np.int32
    )
    rows = keys.rows
    kid = kind_position[rows["kind"].to_numpy()] if len(rows) else np.empty(0, np.int32)
    idx = position[rows["account"].to_numpy()] if len(rows) else np.empty(0, np.int32)
    gid = rows["value"].to_numpy() if len(rows) else np.empty(0, np.int32)
    keep = (kid >= 0) & (idx >= 0)
    return kid[keep], idx[keep], gid[keep]


def _integer_rows(accounts: list[str], keys: pl.DataFrame, kinds: list[str]) -> pl.DataFrame:
    """``(kid, idx, gid)``: the kind's position in ``kinds``, the account's in ``accounts``,
    and the value's number among the kind's values in sorted order (so the numbering is the
    same every run, whatever the order of the rows)."""
    kind_ids = pl.DataFrame(
        {"kind": kinds, "kid": np.arange(len(kinds), dtype=np.int32)},
        schema={"kind": pl.String, "kid": pl.Int32},
    )
    index = pl.DataFrame(
        {"account_id": accounts, "idx": np.arange(len(accounts), dtype=np.int32)},
        schema={"account_id": pl.String, "idx": pl.Int32},
    )
    rows = (
        keys.lazy()
        .select("account_id", "kind", "value")
        .filter(pl.col("value").is_not_null())
        .join(kind_ids.lazy(), on="kind")
        .join(index.lazy(), on="account_id")
        .select("kid", "idx", "value")
    )
    values = (
        rows.select("kid", "value")
        .unique()
        .sort("kid", "value")
        .with_columns(gid=pl.int_range(pl.len()).over("kid").cast(pl.Int32))
    )
    return rows.join(values, on=["kid", "value"]).select("kid", "idx", "gid").collect()


def _capped(n: int, code: np.ndarray, groups: int, cap: int | None) -> Holdings:
    """Holdings of the groups of 2 to ``cap`` accounts among rows coded ``account * groups +
    group`` (any order, repeats allowed; the array is sorted in place); groups renumbered in
    their order. Arrays shrink to 32 bits as soon as they can: a scan's keys run to tens of
    millions of rows."""
    width = max(groups, 1)
    code.sort()
    code = code[run_starts(code)]
    acc, grp = (code // width).astype(np.int32), (code % width).astype(np.int32)
    del code
    size = np.bincount(grp, minlength=groups)
    valid = (size >= 2) & (size <= (cap if cap is not None else len(size) + n))
    renumber = (np.cumsum(valid) - 1).astype(np.int32)
    keep = valid[grp]
    return Holdings.from_rows(n, acc[keep], renumber[grp[keep]], int(valid.sum()))
