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
engine. Memory stays bounded as accounts grow: the keys become integer groups
(:mod:`.holdings`), strong groups become linear meshes, and the weak pairs are found from the
kinds a joined pair must share, a block of accounts at a time, at most ``LinkConfig.degree``
per account (:mod:`.candidates`) -- no step holds all pairs of a group.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from distillwatch.detect.candidates import Kinds, shares, weak_edges
from distillwatch.detect.holdings import Holdings, distinct, load, run_starts
from distillwatch.detect.link_graph import LinkGraph, record
from distillwatch.features.keys import KeyIds
from distillwatch.optional_imports import without

with without("matplotlib"):  # igraph's plotting: never used here, 0.45 CPU s to import
    import igraph as ig

#: Confidence that two accounts sharing one value of this kind are run by the same actor.
DEFAULT_CONFIDENCE: dict[str, float] = {
    "payment_fingerprint": 0.9,
    "organisation": 1.0,
    "ip_prefix": 0.3,
    "user_agent": 0.2,
    # a rare client shared by new accounts that each rotate through fresh exits
    # (:mod:`.newcomers`): enough alone to judge them together; the cluster checks decide
    "newcomer_agent": 0.6,
    "email_domain": 0.25,
    "template": 0.4,
    # three or more uncommon prompt wrappers in common (``LinkConfig.several``)
    "template_set": 0.5,
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
    #: below ``min_group`` nor above ``max_group`` -- which also bounds the co-holders one
    #: value gives an account when candidate pairs are enumerated (:mod:`.candidates`).
    #: Larger clusters are joined by strong keys and by chains of smaller groups.
    max_group: int = 200
    min_group: int = 50
    max_share: float = 0.01
    #: Kinds strong enough to join every account that shares a value, however many.
    strong: frozenset[str] = frozenset({"payment_fingerprint", "organisation"})
    #: Kinds that are two views of one fact count once (the stronger): a shared template id
    #: and a shared near-duplicate sketch both say "they sent the same prompt". Shared
    #: content alone never links -- every harvester draws from the same public datasets --
    #: it has to meet shared infrastructure.
    families: dict[str, str] = field(
        default_factory=lambda: {
            "sketch": "template",
            "template_set": "template",
            "newcomer_agent": "user_agent",
        }
    )
    #: derived kind -> (kind, least): a pair sharing ``least`` distinct uncommon values of the
    #: kind is surer than one sharing one. Three of a campaign's own prompt wrappers are one
    #: author's; one wrapper may be a popular product's. Still below the threshold alone:
    #: content must meet a client, a network or a mail domain to link.
    several: dict[str, tuple[str, int]] = field(
        default_factory=lambda: {"template_set": ("template", 3)}
    )
    #: Leiden modularity resolution: higher splits campaigns finer.
    resolution: float = 0.3
    #: An account stays in its community only with this much link weight into it (a strong
    #: link weighs 1, a weak pair its confidence): one chance pair is not membership.
    min_attachment: float = 1.0
    #: Weak pairs each account keeps (its most confident; a pair stays when either account
    #: keeps it): bounds linking's graph to ``accounts x degree`` weak edges.
    degree: int = 64

    def cap(self, accounts: int) -> int:
        """The most accounts a weak value may be held by and still link (``max_share`` of
        ``accounts``, within ``min_group`` .. ``max_group``)."""
        return int(min(self.max_group, max(self.min_group, self.max_share * accounts)))


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


def _mesh(holdings: Holdings, degree: int = 8) -> np.ndarray:
    """Join each member of a group to ``degree`` others at random (seeded): a sparse expander.

    Dense enough that community detection sees the group as one -- a random graph has no
    parts to split, where a ring or a star would -- and linear in its size (a payment
    fingerprint shared by 20,000 accounts gives 80,000 edges, not 200 million). Groups are
    taken in the order of their values and members in account order, so the same keys give
    the same mesh.
    """
    rng = np.random.default_rng(0)
    out = [np.empty((0, 2), dtype=np.int64)]
    for g in range(holdings.groups):
        members = holdings.m_acc[holdings.m_ptr[g] : holdings.m_ptr[g + 1]]
        if len(members) <= degree + 1:
            i, j = np.triu_indices(len(members), k=1)
            out.append(np.stack([members[i], members[j]], axis=1))
            continue
        for _ in range(degree // 2):
            other = rng.permutation(members)
            keep = other != members
            out.append(np.stack([members[keep], other[keep]], axis=1))
    return np.concatenate(out)


def link_accounts(
    accounts: list[str], keys: pl.DataFrame | KeyIds, config: LinkConfig | None = None
) -> Links:
    """Campaigns of the account graph: Leiden communities of strong meshes and weak pairs.

    ``keys`` has columns ``account_id``, ``kind``, ``value`` (strings), or is the same
    numbered by the SQL engine (:func:`distillwatch.features.keys.link_key_ids`: a large
    scan's keys never become strings here); kinds not in the configuration are ignored.
    Memory: a few bytes per key row, the meshes (linear in the accounts of strong groups)
    and at most ``config.degree`` weak pairs per account -- never all pairs of a group
    (:mod:`.candidates`).
    """
    config = config or LinkConfig()
    n = len(accounts)
    names = tuple(sorted(config.confidence))
    kinds = Kinds.of(config.confidence, config.families, config.several)
    cap = config.cap(n)
    held = [k for k in names if k not in kinds.derived]
    holdings = load(accounts, keys, {k: None if k in config.strong else cap for k in held})
    strong = {k: _mesh(holdings[k]) for k in held if k in config.strong}
    weak = weak_edges(
        {k: h for k, h in holdings.items() if k not in config.strong},
        kinds,
        config.threshold,
        config.degree,
    )
    graph = np.concatenate(
        [*strong.values(), np.stack([weak.codes // max(n, 1), weak.codes % max(n, 1)], axis=1)]
    )
    weight = np.concatenate([np.ones(len(graph) - len(weak.codes)), weak.confidence])
    labels = communities(n, graph, weight, config.resolution)
    labels = _detach_loose(labels, graph, weight, config.min_attachment)
    counts = _kind_counts(strong, holdings, labels)
    inside = _inside_codes(graph, labels, n)
    return Links(
        accounts,
        labels,
        counts,
        record(accounts, inside, shared_kinds(holdings, kinds, inside, n), config),
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


def _inside_codes(edges: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Codes ``lo * n + hi`` (sorted, distinct) of the edges inside one community."""
    if not len(edges):
        return np.empty(0, dtype=np.int64)
    lo, hi = edges.min(axis=1), edges.max(axis=1)
    keep = (lo != hi) & (labels[lo] == labels[hi])
    return distinct(lo[keep] * n + hi[keep])


def shared_kinds(
    holdings: Mapping[str, Holdings], kinds: Kinds, codes: np.ndarray, n: int
) -> np.ndarray:
    """Per pair (code ``lo * n + hi``), the bit mask of the kinds whose groups both hold."""
    mask = np.zeros(len(codes), dtype=np.uint32)
    a, b = codes // max(n, 1), codes % max(n, 1)
    for kind in [*holdings, *kinds.derived_from(list(holdings))]:
        mask |= shares(holdings, kinds, kind, a, b, mask)
    return mask


def _kind_counts(
    meshes: Mapping[str, np.ndarray], holdings: Mapping[str, Holdings], labels: np.ndarray
) -> dict[int, dict[str, int]]:
    """Per community, per kind, how many pairs it joins inside it: a strong kind's mesh edges,
    a weak kind's pairs of accounts in one group (counted once per group they share), from
    the group sizes per community -- never from the pairs themselves."""
    counts: dict[int, dict[str, int]] = {}
    per_kind: list[tuple[str, np.ndarray, np.ndarray]] = []
    for kind, pairs in meshes.items():
        inside = labels[pairs[:, 0]] == labels[pairs[:, 1]]
        total = np.bincount(labels[pairs[inside, 0]], minlength=1)
        where = np.flatnonzero(total)
        per_kind.append((kind, where, total[where]))
    width = int(labels.max()) + 1 if len(labels) else 1
    for kind, held in holdings.items():
        if kind in meshes or not len(held.m_acc):
            continue
        group = np.repeat(np.arange(held.groups, dtype=np.int64), held.sizes())
        cells = np.sort(group * width + labels[held.m_acc])
        start = run_starts(cells)
        cell, together = cells[start], np.diff(np.append(start, len(cells)))
        pairs = together * (together - 1) // 2
        comp = cell % width
        total = np.bincount(comp, weights=pairs, minlength=width).astype(np.int64)
        where = np.flatnonzero(total)
        per_kind.append((kind, where, total[where]))
    for kind, comp, k in sorted(per_kind, key=lambda x: x[0]):
        for c, v in zip(comp.tolist(), k.tolist(), strict=True):
            counts.setdefault(int(c), {})[kind] = int(v)
    return counts
