"""Evidence that only a group of linked accounts shows.

A hydra cluster keeps every account light, so no account check fires; together the accounts
are one heavy, fresh, infrastructure-sharing actor. These checks look at a linked component
as a whole: its size, how light and how new its members are, and what links them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from distillwatch.detect.checks.base import num
from distillwatch.detect.evidence import Finding, Severity

#: Per-component facts the checks read (built by :func:`distillwatch.detect.score.score`).
Component = Mapping[str, Any]


@dataclass(frozen=True)
class HydraCluster(Finding):
    description: ClassVar[str] = "Many light, new accounts run as one"
    severity: ClassVar[Severity] = Severity.HIGH
    tactic: ClassVar[str | None] = "hydra_cluster"
    accounts: int
    requests: int
    median_requests: float
    fresh_share: float

    def __str__(self) -> str:
        return (
            f"one of {self.accounts} linked accounts ({self.fresh_share:.0%} new) that each "
            f"send about {self.median_requests:,.0f} requests but {self.requests:,} together"
        )


_KIND_NAMES = {
    "payment_fingerprint": "payment fingerprints",
    "ip_prefix": "network prefixes",
    "user_agent": "user agents",
    "email_domain": "email domains",
    "template": "prompt templates",
    "sketch": "near-duplicate prompts",
}


@dataclass(frozen=True)
class SharedInfrastructure(Finding):
    description: ClassVar[str] = "Shares payment or infrastructure with other accounts"
    severity: ClassVar[Severity] = Severity.LOW
    accounts: int
    kinds: tuple[str, ...]

    def __str__(self) -> str:
        shared = ", ".join(_KIND_NAMES.get(k, k) for k in self.kinds)
        return f"shares {shared} with {self.accounts - 1} other accounts"


class HydraCheck:
    """Several unrelated accounts (not one organisation), light each, mostly new."""

    min_accounts = 8
    fresh_share = 0.5
    light_median = 2000.0

    def score_one(self, component: Component) -> list[Finding]:
        accounts = int(num(component, "accounts"))
        orgs = int(num(component, "organisations"))
        if accounts < self.min_accounts or orgs == 1:
            return []
        median = num(component, "median_requests")
        fresh = num(component, "fresh_share")
        if median > self.light_median or fresh < self.fresh_share:
            return []
        return [
            HydraCluster(
                accounts=accounts,
                requests=int(num(component, "requests")),
                median_requests=median,
                fresh_share=fresh,
            )
        ]


class SharedInfrastructureCheck:
    """Always true of a component; weak, but it names what links the accounts."""

    def score_one(self, component: Component) -> list[Finding]:
        kinds = tuple(sorted(k for k in component.get("links", {}) if k != "organisation"))
        accounts = int(num(component, "accounts"))
        if accounts < 2 or not kinds or int(num(component, "organisations")) == 1:
            return []
        return [SharedInfrastructure(accounts=accounts, kinds=kinds)]


CLUSTER_CHECKS = (HydraCheck(), SharedInfrastructureCheck())
