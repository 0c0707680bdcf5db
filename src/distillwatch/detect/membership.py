"""Whether a linked account shows its group's distinctive evidence itself.

A group's verdict -- many light new accounts run as one, a card ring on throw-away mail, a
pool of residential exits -- is judged on the group, and linking decides who is in it. Links
err: an aged reseller, a company's old batch key or a family member's account that shares a
few prompt frames, a client or a card with a campaign's accounts is put in its community by
the same weak evidence that holds the campaign together. The group's evidence is then true
of the group and false of them.

So a member carries the group's distinctive findings only when it shows part of what made
the group distinctive on its own: it signed up with throw-away mail, or hops between
networks as a proxy pool's accounts do (:data:`.cluster.MEMBER_NETWORKS` or more), or its
own exits do not come back -- or, while nothing can be known of its exits yet (no prefix has
had a whole later day to come back), it is new (signed up within :data:`FRESH_DAYS` of its
first request). An account on reachable mail, on a network or two whose prefixes come back
day after day is a bystander, however new: a new customer at home, a family member on the
household's card. It keeps the group's reasons (an analyst should see the link) and its
score, a :class:`LinkedBystander` finding says why, and the group's evidence does not flag
it. An account of unknown age is not new: the provider did not say so.

Measured on train draw 3 (before this rule): an aged reseller, two batch jobs, a sampler and
three family accounts were linked into a hydra's community by weak links and flagged with
it; one of the family's accounts was a day old.

What this gives up: a campaign whose operator buys aged accounts and keeps each on one
home network it returns to is not flagged through its group -- nor would its group be
judged evasive in the first place (:func:`.cluster.evasive` asks the same of the group).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from distillwatch.detect.checks.automation import FRESH_DAYS
from distillwatch.detect.checks.base import num
from distillwatch.detect.checks.proxy_rotation import ProxyRotationCheck
from distillwatch.detect.cluster import MEMBER_NETWORKS
from distillwatch.detect.evidence import Finding, Severity


@dataclass(frozen=True)
class LinkedBystander(Finding):
    """Linked to a group judged on distinctive evidence that the account does not show."""

    description: ClassVar[str] = "Linked to a group whose evidence it does not show itself"
    severity: ClassVar[Severity] = Severity.LOW
    age_days: float | None
    networks: int

    def __str__(self) -> str:
        age = "of unknown age" if self.age_days is None else f"{self.age_days:,.0f} days old"
        return (
            f"linked to a suspicious group, but itself {age}, on {self.networks} network(s), "
            "on mail that is not throw-away, through exits that come back (or of an age "
            "that says nothing): the group's evidence is not its own, and does not flag it"
        )


def _known(value: Any) -> float | None:
    return None if value is None or value != value else float(value)  # NaN is unknown


def shows_group_evidence(member: Mapping[str, Any]) -> bool:
    """Whether ``member`` (its own features: ``account_age_days``, ``disposable_email``,
    ``asns``, ``prefix_recurrence``) shows part of a suspicious group's evidence itself."""
    if member.get("disposable_email") or num(member, "asns") >= MEMBER_NETWORKS:
        return True
    recurrence = _known(member.get("prefix_recurrence"))
    if recurrence is not None:  # its exits have had a day to come back: they tell
        return recurrence < ProxyRotationCheck.proxy_recurrence
    age = _known(member.get("account_age_days"))
    return age is not None and age < FRESH_DAYS


def bystander(member: Mapping[str, Any]) -> LinkedBystander | None:
    """The finding for a member that does not show its group's evidence, else None."""
    if shows_group_evidence(member):
        return None
    return LinkedBystander(_known(member.get("account_age_days")), int(num(member, "asns")))
