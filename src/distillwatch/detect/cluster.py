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
from distillwatch.detect.evidence import Basis, Finding, Severity

#: Per-component facts the checks read (built by :func:`distillwatch.detect.score.score`).
Component = Mapping[str, Any]


@dataclass(frozen=True)
class HydraCluster(Finding):
    description: ClassVar[str] = "Many light, new accounts run as one"
    severity: ClassVar[Severity] = Severity.HIGH
    tactic: ClassVar[str | None] = "hydra_cluster"
    basis: ClassVar[Basis] = Basis.COORDINATION
    accounts: int
    requests: int
    median_requests: float
    fresh_share: float

    def __str__(self) -> str:
        return (
            f"one of {self.accounts} linked accounts ({self.fresh_share:.0%} new) that each "
            f"send about {self.median_requests:,.0f} requests but {self.requests:,} together"
        )


@dataclass(frozen=True)
class InstitutionCohort(Finding):
    """A class, a hackathon or a company's new team: many new accounts that arrive together
    and share infrastructure, but on the institution's own mail domain. Honest cohorts look
    exactly like this, so it is listed, and never flags alone."""

    description: ClassVar[str] = "Many new accounts of one institution arrived together"
    severity: ClassVar[Severity] = Severity.LOW
    accounts: int
    domain_share: float

    def __str__(self) -> str:
        return (
            f"one of {self.accounts} linked new accounts, {self.domain_share:.0%} on one "
            "institution's own mail domain (a class, hackathon or team looks like this)"
        )


@dataclass(frozen=True)
class DisposableCardRing(Finding):
    """Cards shared across accounts whose owners cannot be reached."""

    description: ClassVar[str] = "Payment shared by accounts on disposable mail domains"
    severity: ClassVar[Severity] = Severity.MEDIUM
    tactic: ClassVar[str | None] = "hydra_cluster"
    basis: ClassVar[Basis] = Basis.FRAUD
    accounts: int
    disposable_share: float

    def __str__(self) -> str:
        return (
            f"pays with the same card as {self.accounts - 1} other accounts, "
            f"{self.disposable_share:.0%} of them signed up with disposable mail"
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


def institution(component: Component) -> bool:
    """Most accounts on one mail domain that hardly anybody else in the log uses -- the
    institution's own (free mail is used by everybody, and disposable mail is no institution)
    -- reaching us through a few networks (a campus, an office). A ring on its own catch-all
    domain behind residential proxies comes from dozens."""
    share = num(component, "top_domain_share")
    users = num(component, "top_domain_accounts", 1e9)
    accounts = num(component, "accounts")
    return (
        share >= 0.7
        and not component.get("top_domain_disposable")
        and users <= 1.5 * accounts + 2
        and num(component, "asns", 1e9) <= 3
    )


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
        if institution(component):
            return [InstitutionCohort(accounts, num(component, "top_domain_share"))]
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


class DisposableCardCheck:
    """Families and companies share cards with reachable people; rings of throw-away
    sign-ups do not."""

    min_accounts = 3
    disposable_share = 0.3

    def score_one(self, component: Component) -> list[Finding]:
        accounts = int(num(component, "accounts"))
        share = num(component, "disposable_share")
        paid = "payment_fingerprint" in component.get("links", {})
        if accounts < self.min_accounts or not paid or share < self.disposable_share:
            return []
        if int(num(component, "organisations")) == 1:
            return []
        return [DisposableCardRing(accounts=accounts, disposable_share=share)]


CLUSTER_CHECKS = (HydraCheck(), DisposableCardCheck(), SharedInfrastructureCheck())
