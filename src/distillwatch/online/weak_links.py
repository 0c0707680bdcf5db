"""Weak links, online: shared prefixes, user agents, mail domains and prompts, as they arrive.

A hydra cluster with one card per account shares no strong key; ``scan`` joins it afterwards
through the noisy-OR of weak ones (a /24 prefix, an uncommon user agent, a throw-away mail
domain, a prompt template -- :mod:`distillwatch.detect.link`). Online, each new account of
such a cluster used to be judged alone until its own traffic gave it away, leaking most of
what it asked. This module scores the same pairs with the same :class:`LinkConfig`
(confidences, families, the cap on common values), one request at a time, so an account can
join a known cluster at its first request -- and the cluster's judgement, and a
cluster-scoped block, reach it there.

Scan protects its campaigns from chance pairs with Leiden and a minimum attachment; online
the same role is played by :attr:`WeakLinks.min_attachment`: an account joins a cluster of two
or more only when its qualifying pairs into that cluster weigh at least that much together
(one busy user who shares a proxy /24 and a common prompt with one member is not a member).

Bounded: per value, at most ``cap`` holders are remembered (a value more common than that says
nothing, as in scan); per account and kind, at most ``per_account`` values; per account, at
most ``max_partners`` qualifying pairs. Pairs below the threshold are not kept: whether two
accounts share a kind is read from their value sets when a new value makes it matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from distillwatch.detect.link import LinkConfig
from distillwatch.detect.newcomers import KIND as NEWCOMER
from distillwatch.online.account import ip_prefix

#: record field -> link kind (the weak kinds of :data:`distillwatch.features.keys`)
WEAK_FIELDS = {
    "ip": "ip_prefix",
    "user_agent": "user_agent",
    "email_domain": "email_domain",
    "template_id": "template",
    "lsh_0": "sketch",
}


#: A newcomer's client is as common as the client: a popular SDK links no newcomers either.
_COUNTED_AS = {NEWCOMER: "user_agent"}


def weak_keys(row: Mapping[str, Any]) -> dict[str, str]:
    """The weak link keys of one enriched row, valued as ``scan``'s link keys are."""
    out: dict[str, str] = {}
    for fld, kind in WEAK_FIELDS.items():
        value = row.get(fld)
        if value is None or value == "":
            continue
        text = str(value)
        if kind == "ip_prefix":
            text = ip_prefix(text)
        elif kind == "email_domain":
            text = text.lower()  # domains ignore case; a client's spelling must not unlink it
        out[kind] = text
    return out


@dataclass(frozen=True)
class Shown:
    """What one request showed: its qualifying pairs, and the other holders of each value it
    showed for the first time (``(family, holders)``; values too common are left out)."""

    joins: list[Join]
    holders: list[tuple[str, list[str]]]


@dataclass(frozen=True)
class Join:
    """A pair that reached the threshold: ``account`` should be joined to ``other``."""

    account: str
    other: str
    confidence: float
    kinds: tuple[str, ...]


@dataclass
class WeakLinks:
    """Incremental weak-key pairs with scan's confidences and caps."""

    config: LinkConfig = field(default_factory=LinkConfig)
    per_account: int = 64
    #: summed confidence of qualifying pairs an account needs into a cluster of two or more
    min_attachment: float = 1.0
    _holders: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    _values: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    _accounts: int = 0
    #: qualifying pairs found so far: account -> partner -> confidence (both directions)
    _partners: dict[str, dict[str, float]] = field(default_factory=dict)
    max_partners: int = 256

    @cached_property
    def _least(self) -> dict[str, int]:
        """Per base kind, how many common values are worth counting: as many as its most
        demanding derived kind needs (``LinkConfig.several``)."""
        out: dict[str, int] = {}
        for base, n in self.config.several.values():
            out[base] = max(n, out.get(base, n))
        return out

    def cap(self) -> int:
        """Holders beyond which a value is too common to link (scan's rule, on accounts so far)."""
        c = self.config
        return int(min(c.max_group, max(c.min_group, c.max_share * self._accounts)))

    def observe(self, account: str, keys: Mapping[str, str]) -> Shown:
        """Record ``account``'s keys; return its qualifying pairs with the holders of the values
        it has just shown (a pair found before may come again: the caller skips pairs that are
        already in one cluster)."""
        mine = self._values.get(account)
        if mine is None:
            mine = self._values[account] = {}
            self._accounts += 1
        fresh: list[tuple[str, str]] = []
        for kind, value in keys.items():
            if kind not in self.config.confidence or kind in self.config.strong:
                continue
            held = mine.setdefault(kind, set())
            if value in held or len(held) >= self.per_account:
                continue
            held.add(value)
            fresh.append((kind, value))
        cap = self.cap()
        candidates: set[str] = set()
        shown: list[tuple[str, list[str]]] = []
        for kind, value in fresh:
            holders = self._holders.setdefault((kind, value), [])
            if len(holders) <= cap:
                holders.append(account)
            if 2 <= len(holders) <= cap:
                others = [h for h in holders if h != account]
                candidates.update(others)
                shown.append((self.config.families.get(kind, kind), others))
        joins = []
        for other in sorted(candidates):
            kinds = self._shared_kinds(account, other, cap)
            conf = self._confidence(kinds)
            if conf >= self.config.threshold:
                joins.append(Join(account, other, conf, tuple(sorted(kinds))))
                self._remember(account, other, conf)
                self._remember(other, account, conf)
        return Shown(joins, shown)

    def partners(self, account: str) -> dict[str, float]:
        """Every qualifying pair of ``account`` found so far (partner -> confidence)."""
        return self._partners.get(account, {})

    def _remember(self, a: str, b: str, conf: float) -> None:
        mine = self._partners.setdefault(a, {})
        if b in mine or len(mine) < self.max_partners:
            mine[b] = max(conf, mine.get(b, 0.0))

    def _shared_kinds(self, a: str, b: str, cap: int) -> set[str]:
        """Kinds of which ``a`` and ``b`` hold a common value held by at most ``cap`` accounts,
        and the derived kinds (``LinkConfig.several``) of which they hold enough such values."""
        va, vb = self._values.get(a, {}), self._values.get(b, {})
        least = self._least
        out = set()
        for kind, mine in va.items():
            theirs = vb.get(kind)
            if not theirs:
                continue
            counted = (_COUNTED_AS.get(kind, kind), kind)
            enough = least.get(kind, 1)
            common = 0
            for value in mine & theirs:
                if all(len(self._holders.get((k, value), ())) <= cap for k in counted):
                    common += 1
                    if common >= enough:
                        break
            if common:
                out.add(kind)
            out.update(
                derived
                for derived, (base, n) in self.config.several.items()
                if base == kind and common >= n
            )
        return out

    def _confidence(self, kinds: set[str]) -> float:
        """Noisy-OR over families (the strongest kind within a family), as in scan."""
        best: dict[str, float] = {}
        for kind in kinds:
            family = self.config.families.get(kind, kind)
            best[family] = max(best.get(family, 0.0), self.config.confidence[kind])
        miss = 1.0
        for p in best.values():
            miss *= 1.0 - p
        return 1.0 - miss
