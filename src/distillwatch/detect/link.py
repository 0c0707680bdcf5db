"""Linking accounts into campaigns through what they share.

Two accounts are linked when the evidence that one actor runs both is strong enough: a shared
payment fingerprint alone is enough; weaker keys (a /24 prefix, an uncommon user agent, an
email domain, a prompt template, a near-duplicate prompt sketch) must add up. Each kind of key
has a confidence; the confidence of a pair is the noisy-OR of the kinds it shares, and pairs at
or above ``LinkConfig.threshold`` are joined. The joined pairs form a weighted graph (strong
links weigh 1, weak ones their confidence), and campaigns are its Leiden communities: one
chance edge between two clusters (a proxy /24 both happened to use, a disposable mail
domain both like) does not merge them, where connected components would.

Accounts in the same declared organisation (``org_id``) are one customer, not a campaign, and
are always joined (their link kind is ``organisation``), so that an enterprise's many keys are
judged together rather than looking like a hydra.

The input is a table of ``(account_id, kind, value)`` keys, so the keys can be produced by any
engine; this module is pure NumPy/Polars.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import igraph as ig
import numpy as np
import polars as pl

from distillwatch.detect.link_graph import LinkGraph, record

#: Confidence that two accounts sharing one value of this kind are run by the same actor.
DEFAULT_CONFIDENCE: dict[str, float] = {
    "payment_fingerprint": 0.9,
    "organisation": 1.0,
    "ip_prefix": 0.3,
    "user_agent": 0.2,
    "email_domain": 0.25,
    "template": 0.4,
    "sketch": 0.3,
}


@dataclass(frozen=True)
class LinkConfig:
    confidence: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CONFIDENCE))
    #: Pairs whose combined confidence reaches this are joined.
    threshold: float = 0.6
    #: A weak value shared by more accounts than this is too common to say anything
    #: (a popular SDK's user agent, a public benchmark prompt, a big ISP's prefix, a
    #: follow-up like "Why is that?"): the cap is ``max_share`` of all accounts, but never
    #: below ``min_group`` nor above ``max_group`` -- which also bounds the pairs a value can
    #: make (all pairs of 200 accounts: 19,900), the memory of linking at tens of thousands
    #: of accounts. Larger clusters are joined by strong keys and by chains of smaller groups.
    max_group: int = 200
    min_group: int = 50
    max_share: float = 0.01
    #: Kinds strong enough to join every account that shares a value, however many.
    strong: frozenset[str] = frozenset({"payment_fingerprint", "organisation"})
    #: Kinds that are two views of one fact count once (the stronger): a shared template id
    #: and a shared near-duplicate sketch both say "they sent the same prompt". Shared
    #: content alone never links -- every harvester draws from the same public datasets --
    #: it has to meet shared infrastructure.
    families: dict[str, str] = field(default_factory=lambda: {"sketch": "template"})
    #: Leiden modularity resolution: higher splits campaigns finer.
    resolution: float = 0.3
    #: An account stays in its community only with this much link weight into it (a strong
    #: link weighs 1, a weak pair its confidence): one chance pair is not membership.
    min_attachment: float = 1.0


@dataclass(frozen=True)
class Links:
    """The result of linking: a component label per account and the evidence per component."""

    accounts: list[str]
    component: np.ndarray  # int label per account, aligned with ``accounts``
    #: per component label: kind -> number of joining edges of that kind
    kinds: dict[int, dict[str, int]]
    #: the joining pairs inside components with the kinds they share and their confidence
    #: (what a campaign's link graph shows; :meth:`.link_graph.LinkGraph.among`)
    graph: LinkGraph | None = None

    def members(self) -> dict[int, list[str]]:
        groups: dict[int, list[str]] = {}
        for account, label in zip(self.accounts, self.component.tolist(), strict=True):
            groups.setdefault(int(label), []).append(account)
        return groups


def _pairs(groups: list[np.ndarray]) -> np.ndarray:
    """All unordered pairs within each group, as an (n, 2) array of account indices."""
    out = [np.empty((0, 2), dtype=np.int64)]
    for members in groups:
        i, j = np.triu_indices(len(members), k=1)
        out.append(np.stack([members[i], members[j]], axis=1))
    return np.concatenate(out)


def _mesh(groups: list[np.ndarray], degree: int = 8) -> np.ndarray:
    """Join each member of a group to ``degree`` others at random (seeded): a sparse expander.

    Dense enough that community detection sees the group as one -- a random graph has no
    parts to split, where a ring or a star would -- and linear in its size (a payment
    fingerprint shared by 20,000 accounts gives 80,000 edges, not 200 million).
    """
    rng = np.random.default_rng(0)
    out = [np.empty((0, 2), dtype=np.int64)]
    for g in groups:
        if len(g) <= degree + 1:
            i, j = np.triu_indices(len(g), k=1)
            out.append(np.stack([g[i], g[j]], axis=1))
            continue
        for _ in range(degree // 2):
            other = rng.permutation(g)
            keep = other != g
            out.append(np.stack([g[keep], other[keep]], axis=1))
    return np.concatenate(out)


def _groups(keys: pl.DataFrame, kind: str, min_size: int, max_size: int) -> list[np.ndarray]:
    sizes = (
        keys.filter(pl.col("kind") == kind)
        .group_by("value")
        .agg(pl.col("idx").unique().sort())
        .filter(pl.col("idx").list.len().is_between(min_size, max_size))
    )
    return [np.asarray(g, dtype=np.int64) for g in sizes["idx"].to_list()]


def link_accounts(
    accounts: list[str], keys: pl.DataFrame, config: LinkConfig | None = None
) -> Links:
    """Connected components of the account graph.

    ``keys`` has columns ``account_id``, ``kind``, ``value`` (strings); kinds not in the
    configuration are ignored.
    """
    config = config or LinkConfig()
    n = len(accounts)
    index = pl.DataFrame(
        {"account_id": accounts, "idx": np.arange(n, dtype=np.int64)},
        schema={"account_id": pl.String, "idx": pl.Int64},
    )
    keys = keys.join(index, on="account_id", how="inner").unique(["idx", "kind", "value"])

    kind_names = sorted(config.confidence)
    cap = int(min(config.max_group, max(config.min_group, config.max_share * n)))
    strong: list[np.ndarray] = []  # edges that join on their own
    edges: list[np.ndarray] = []  # every edge, for the evidence counts
    edge_kinds: list[str] = []
    weak: list[pl.DataFrame] = []
    for kind in kind_names:
        if kind in config.strong:
            pairs = _mesh(_groups(keys, kind, 2, n))
            strong.append(pairs)
        else:
            pairs = _pairs(_groups(keys, kind, 2, cap))
            # one vote per kind and pair: sharing ten common templates is still one kind of
            # evidence, and must be confirmed by another kind
            codes = np.unique(pairs[:, 0] * n + pairs[:, 1])
            weak.append(
                pl.DataFrame(
                    {
                        "code": codes,
                        "family": config.families.get(kind, kind),
                        "miss": np.log1p(-config.confidence[kind]),
                    },
                    schema={"code": pl.Int64, "family": pl.String, "miss": pl.Float64},
                )
            )
        edges.append(pairs)
        edge_kinds.append(kind)

    weights = [np.ones(sum(len(e) for e in strong))]
    if weak:
        joined, confidence = _weak_joins(pl.concat(weak), config.threshold)
        strong.append(np.stack([joined // n, joined % n], axis=1))
        weights.append(confidence)
    graph = np.concatenate(strong) if strong else np.empty((0, 2), dtype=np.int64)
    weight = np.concatenate(weights)
    labels = communities(n, graph, weight, config.resolution)
    labels = _detach_loose(labels, graph, weight, config.min_attachment)
    weak_kinds = [k for k in kind_names if k not in config.strong]
    return Links(
        accounts,
        labels,
        _kind_counts(edges, edge_kinds, labels),
        record(accounts, graph, dict(zip(weak_kinds, weak, strict=True)), keys, labels, config),
    )


def communities(n: int, edges: np.ndarray, weights: np.ndarray, resolution: float) -> np.ndarray:
    """Leiden communities (modularity) of the weighted account graph; a label per account.

    Deterministic: the search is seeded and the edges are put in a canonical order first (the
    search depends on it, and the order of the joins that produced them is not fixed), so the
    same logs give the same campaigns.
    """
    if len(edges):
        edges = np.sort(edges, axis=1)
        order = np.lexsort((weights, edges[:, 1], edges[:, 0]))
        edges, weights = edges[order], weights[order]
    graph = ig.Graph(n=n, edges=edges.tolist())
    graph.es["weight"] = weights.tolist()
    graph.simplify(combine_edges="max")
    previous = random.getstate()
    random.seed(0)  # igraph draws from Python's ``random``
    try:
        parts = graph.community_leiden(
            objective_function="modularity",
            weights="weight",
            resolution=resolution,
            n_iterations=-1,
        )
    finally:
        random.setstate(previous)
    return np.asarray(parts.membership, dtype=np.int64)


def _detach_loose(
    labels: np.ndarray, edges: np.ndarray, weights: np.ndarray, min_attachment: float
) -> np.ndarray:
    """Give accounts held to their community by too little evidence a community of their own.

    Modularity places every account somewhere; a busy user who shares one proxy /24 and a
    common prompt with one member of a cluster is not part of it.
    """
    if not len(edges):
        return labels
    inside = labels[edges[:, 0]] == labels[edges[:, 1]]
    held = np.bincount(edges[inside, 0], weights[inside], minlength=len(labels))
    held += np.bincount(edges[inside, 1], weights[inside], minlength=len(labels))
    loose = np.flatnonzero(held < min_attachment)
    out = labels.copy()
    out[loose] = labels.max() + 1 + np.arange(len(loose))
    return out


def _weak_joins(weak: pl.DataFrame, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Pair codes whose noisy-OR over families (max within a family) reaches ``threshold``,
    with that confidence."""
    combined = (
        weak.group_by("code", "family")
        .agg(pl.col("miss").min())
        .group_by("code")
        .agg((1.0 - pl.col("miss").sum().exp()).alias("confidence"))
        .filter(pl.col("confidence") >= threshold)
        .sort("code")
    )
    return combined["code"].to_numpy().astype(np.int64), combined["confidence"].to_numpy()


def _kind_counts(
    edges: list[np.ndarray], edge_kinds: list[str], labels: np.ndarray
) -> dict[int, dict[str, int]]:
    """Per component, how many edges of each kind fall inside it."""
    counts: dict[int, dict[str, int]] = {}
    for pairs, kind in zip(edges, edge_kinds, strict=True):
        if not len(pairs):
            continue
        inside = labels[pairs[:, 0]] == labels[pairs[:, 1]]
        comp, n = np.unique(labels[pairs[inside, 0]], return_counts=True)
        for c, k in zip(comp.tolist(), n.tolist(), strict=True):
            counts.setdefault(int(c), {})[kind] = int(k)
    return counts
