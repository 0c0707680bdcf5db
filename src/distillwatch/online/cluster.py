"""Linked accounts, online: a union-find over the keys one operator cannot help sharing.

``scan`` links accounts with Leiden over every kind of shared evidence, after the fact. The
online engine must decide at each request: it links at once on what is conclusive by itself
-- a shared payment fingerprint, a declared organisation -- and on weak keys that add up
(:mod:`.weak_links`, with scan's confidences), which is how hydra clusters come together
while they run. Each
cluster keeps a pooled :class:`~distillwatch.online.account.ProfileState` (bounded), so the
same checks judge the cluster as one actor, and the policy's cluster budget applies to all
its members.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from distillwatch.online.account import ProfileState

#: record field -> link kind; a value shared by two accounts joins them
STRONG_KEYS = {"payment_fingerprint": "payment_fingerprint", "org_id": "organisation"}


@dataclass
class Cluster:
    root: str
    members: set[str] = field(default_factory=set)
    owners: set[str] = field(default_factory=set)
    state: ProfileState = field(default_factory=ProfileState)
    links: dict[str, int] = field(default_factory=dict)


class Clusters:
    """Union-find of accounts with a pooled state per cluster of two or more."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}
        self._key_owner: dict[tuple[str, str], str] = {}
        self.clusters: dict[str, Cluster] = {}
        self._owner: dict[str, str] = {}

    def find(self, account: str) -> str:
        parent = self._parent
        root = parent.setdefault(account, account)
        while root != parent[root]:
            root = parent[root]
        while account != root:  # path compression
            parent[account], account = root, parent[account]
        return root

    def link(
        self,
        account: str,
        keys: dict[str, str],
        state_of: Callable[[str], ProfileState],
        owner: str,
    ) -> Cluster | None:
        """Join ``account`` to every account that shares one of its strong ``keys``.

        ``state_of`` gives an account's own state, pooled when a new cluster is formed.
        Returns the account's cluster (None while it is alone).
        """
        self._owner.setdefault(account, owner)
        for kind, value in keys.items():
            first = self._key_owner.setdefault((kind, value), account)
            if first != account and self.find(first) != self.find(account):
                self._union(first, account, (kind,), state_of)
        return self.clusters.get(self.find(account))

    def join(
        self,
        account: str,
        other: str,
        kinds: tuple[str, ...],
        state_of: Callable[[str], ProfileState],
    ) -> Cluster | None:
        """Join ``account`` to ``other``'s cluster on weak evidence (``kinds``, one count each)."""
        if self.find(account) != self.find(other):
            self._union(other, account, kinds, state_of)
        return self.clusters.get(self.find(account))

    def size(self, account: str) -> int:
        """Members of ``account``'s cluster (1 while it is alone)."""
        cluster = self.clusters.get(self.find(account))
        return len(cluster.members) if cluster is not None else 1

    def _union(
        self, a: str, b: str, kinds: tuple[str, ...], state_of: Callable[[str], ProfileState]
    ) -> None:
        ra, rb = self.find(a), self.find(b)
        ca = self.clusters.pop(ra, None) or self._singleton(ra, state_of)
        cb = self.clusters.pop(rb, None) or self._singleton(rb, state_of)
        if len(ca.members) < len(cb.members):
            ca, cb = cb, ca
        self._parent[cb.root] = ca.root
        ca.members |= cb.members
        ca.owners |= cb.owners
        ca.state.merge(cb.state)
        for k, n in cb.links.items():
            ca.links[k] = ca.links.get(k, 0) + n
        for kind in kinds:
            ca.links[kind] = ca.links.get(kind, 0) + 1
        self.clusters[ca.root] = ca

    def _singleton(self, account: str, state_of: Callable[[str], ProfileState]) -> Cluster:
        pooled = ProfileState()
        pooled.merge(state_of(account))
        owner = self._owner.get(account, account)
        return Cluster(root=account, members={account}, owners={owner}, state=pooled)
