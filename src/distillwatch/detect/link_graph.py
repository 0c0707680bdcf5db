"""The pairs that joined each linked cluster, so an analyst can see why accounts are one.

Linking (:mod:`.link`) joins accounts through a sparse graph: a value of a strong kind (a card,
an organisation) as a mesh over the accounts that share it, weak kinds as the pairs whose
combined confidence reaches the threshold (a bounded number per account). :func:`record` keeps
the edges of *that* graph that fall inside a cluster -- never all pairs of a group, only what
linking built anyway -- with every kind the two accounts share and the pair's confidence, in
four flat arrays. :meth:`LinkGraph.among` then picks, per
campaign, at most ``limit`` of them to show: a spanning forest of the strongest links first (so
every account that can be connected is), then the strongest of the rest, and counts what it
left out. Pure NumPy/igraph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from distillwatch.optional_imports import without

with without("matplotlib"):  # igraph's plotting: never used here, 0.45 CPU s to import
    import igraph as ig

if TYPE_CHECKING:
    from distillwatch.detect.link import LinkConfig

#: Links shown per campaign unless the caller says otherwise: enough to see the structure
#: of a cluster, few enough for a page and a line of JSON.
MAX_EDGES = 300


@dataclass(frozen=True)
class Edge:
    """One joining pair: ``kinds`` are every key kind the two share, strongest first."""

    a: str
    b: str
    kinds: tuple[str, ...]
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "kinds": list(self.kinds), "confidence": self.confidence}


@dataclass(frozen=True)
class Shown:
    """The links shown for one set of accounts and how many joining pairs were left out."""

    edges: tuple[Edge, ...]
    dropped: int


@dataclass(frozen=True)
class LinkGraph:
    """Joining pairs inside clusters: pair code ``lo * n + hi`` (sorted), the kinds shared
    as a bit mask over ``kind_names``, and the pair's confidence."""

    accounts: list[str]
    codes: np.ndarray
    kinds: np.ndarray
    confidence: np.ndarray
    kind_names: tuple[str, ...]
    kind_confidence: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.codes)

    def among(
        self, groups: Mapping[str, Sequence[str]], limit: int = MAX_EDGES
    ) -> dict[str, Shown]:
        """Per named group of accounts (disjoint, e.g. campaigns), the links between its
        members: a spanning forest of the strongest links first, then the strongest others,
        at most ``limit``; when the forest alone is larger, a connected part of it around its
        best-linked account."""
        n = len(self.accounts)
        index = {a: i for i, a in enumerate(self.accounts)}
        group = np.full(n, -1, dtype=np.int64)
        names = list(groups)
        for g, name in enumerate(names):
            ids = [index[a] for a in groups[name] if a in index]
            group[np.asarray(ids, dtype=np.int64)] = g
        lo, hi = self.codes // max(n, 1), self.codes % max(n, 1)
        inside = (group[lo] >= 0) & (group[lo] == group[hi])
        sel = np.flatnonzero(inside)
        g_of = group[lo[sel]]
        tree = np.zeros(len(sel), dtype=bool)
        if len(sel):
            forest = ig.Graph(n=n, edges=np.stack([lo[sel], hi[sel]], axis=1).tolist())
            tree[
                forest.spanning_tree(
                    weights=(1.0 - self.confidence[sel]).tolist(), return_tree=False
                )
            ] = True
        totals = np.bincount(g_of, minlength=len(names))
        trees = np.bincount(g_of[tree], minlength=len(names))
        order = np.lexsort((self.codes[sel], -self.confidence[sel], ~tree, g_of))
        ranked = g_of[order]
        rank = np.arange(len(order)) - np.searchsorted(ranked, ranked, side="left")
        keep = order[(rank < limit) & (trees[ranked] <= limit)]
        out = {}
        for g, name in enumerate(names):
            chosen = (
                keep[g_of[keep] == g]
                if trees[g] <= limit
                else self._subtree(sel, g_of == g, tree, limit)
            )
            edges = tuple(self._edge(int(sel[i])) for i in chosen)
            out[name] = Shown(edges, int(totals[g]) - len(edges))
        return out

    def _subtree(
        self, sel: np.ndarray, mine: np.ndarray, tree: np.ndarray, limit: int
    ) -> np.ndarray:
        """``limit`` forest edges of one group, as connected as they can be: breadth first
        from its best-linked account, then from the best-linked of each remaining tree."""
        n = len(self.accounts)
        rows = np.flatnonzero(mine & tree)
        lo, hi = self.codes[sel[rows]] // n, self.codes[sel[rows]] % n
        local, pairs = np.unique(np.concatenate([lo, hi]), return_inverse=True)
        edges = pairs.reshape(2, -1).T.tolist()
        g = ig.Graph(n=len(local), edges=edges)
        where = {(min(a, b), max(a, b)): k for k, (a, b) in enumerate(edges)}
        degree = np.asarray(g.degree())
        seen = np.zeros(len(local), dtype=bool)
        out: list[int] = []
        for root in np.argsort(-degree, kind="stable").tolist():
            if len(out) >= limit:
                break
            if seen[root]:
                continue
            vids, _, parents = g.bfs(root)
            seen[vids] = True
            for v in vids[1 : 1 + limit - len(out)]:
                out.append(int(rows[where[(min(v, parents[v]), max(v, parents[v]))]]))
        return np.asarray(out, dtype=np.int64)

    def _edge(self, i: int) -> Edge:
        n = len(self.accounts)
        mask = int(self.kinds[i])
        kinds = sorted(
            (k for k in range(len(self.kind_names)) if mask >> k & 1),
            key=lambda k: (-self.kind_confidence[k], self.kind_names[k]),
        )
        code = int(self.codes[i])
        return Edge(
            self.accounts[code // n],
            self.accounts[code % n],
            tuple(self.kind_names[k] for k in kinds),
            round(float(self.confidence[i]), 3),
        )


def record(
    accounts: list[str], codes: np.ndarray, masks: np.ndarray, config: LinkConfig
) -> LinkGraph:
    """The joined pairs inside clusters (``codes``: ``lo * n + hi``, sorted) with the kinds
    each pair shares (``masks``: bits over the sorted kind names of ``config``) and the
    pair's confidence: the noisy-OR over families of the strongest kind shared in each (a
    mesh of a strong group joins only some of its pairs, but every pair of it shares the
    value; kinds of one family count once, as in linking)."""
    names = tuple(sorted(config.confidence))
    if len(names) > 32:
        raise ValueError(f"link graph: {len(names)} link kinds, at most 32 fit its bit mask")
    best: dict[str, np.ndarray] = {}
    for bit, kind in enumerate(names):
        value = np.where(masks >> np.uint32(bit) & np.uint32(1), config.confidence[kind], 0.0)
        family = best.setdefault(config.families.get(kind, kind), np.zeros(len(codes)))
        np.maximum(family, value, out=family)
    miss_all = np.ones(len(codes))
    for family in best.values():
        miss_all *= 1.0 - family
    weights = tuple(float(config.confidence[k]) for k in names)
    return LinkGraph(accounts, codes, masks.astype(np.uint32), 1.0 - miss_all, names, weights)
