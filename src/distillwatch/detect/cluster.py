"""Evidence that only a group of linked accounts shows.

A hydra cluster keeps every account light, so no account check fires; together the accounts
are one heavy, fresh, infrastructure-sharing actor. These checks look at a linked component
as a whole: its size, how light and how new its members are, and what links them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from distillwatch.detect.checks.automation import HeavySingleShot
from distillwatch.detect.checks.base import num
from distillwatch.detect.checks.capability_sweep import ComparedSweep
from distillwatch.detect.checks.cot_harvest import CotElicitation
from distillwatch.detect.checks.grading_harvest import GradingRequests
from distillwatch.detect.checks.harvest_structure import HarvestStructure
from distillwatch.detect.checks.instruction_frames import WrappedSweep
from distillwatch.detect.checks.logprob_harvest import LogprobHarvesting
from distillwatch.detect.checks.multilingual_sweep import MultilingualSweep
from distillwatch.detect.checks.proxy_rotation import ProxyRotationCheck
from distillwatch.detect.checks.sensitive_rewrite import SensitiveRewrites
from distillwatch.detect.checks.tool_trace import ToolTraceHarvesting
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
class CohortCluster(Finding):
    """A family, an office team, a class or a hackathon: new accounts that arrive together and
    share a card, a network or a mail domain -- through a few networks, on reachable mail.
    Honest groups look exactly like this, so it is listed, and never flags alone."""

    description: ClassVar[str] = "Many new accounts arrived together through a few networks"
    severity: ClassVar[Severity] = Severity.LOW
    accounts: int
    networks: int

    def __str__(self) -> str:
        return (
            f"one of {self.accounts} linked accounts that arrived together through "
            f"{self.networks} network(s) (a household, office or class looks like this)"
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
    "newcomer_agent": "a rare client among new accounts",
    "email_domain": "email domains",
    "template": "prompt templates",
    "template_set": "three or more prompt templates",
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
    institution's own (free mail is used by everybody, and disposable mail is no institution)."""
    share = num(component, "top_domain_share")
    users = num(component, "top_domain_accounts", 1e9)
    accounts = num(component, "accounts")
    return (
        share >= 0.7 and not component.get("top_domain_disposable") and users <= 1.5 * accounts + 2
    )


#: Networks (ASNs) the typical member of a group reaches on its own, at least, before the
#: group's many networks count as evasion: more than a phone's carrier, home Wi-Fi and a VPN.
#: On the train and tune draws, new phone-app users reach a median of 2 (11% reach 4 or
#: more), new hydra accounts a median of 8 (82% reach 4). It was 5 for heldout draws 48-50,
#: where it held back 77 of the 89 hydra accounts the group check would otherwise flag.
MEMBER_NETWORKS = 4.0


def members_hop(component: Component, member_networks: float = MEMBER_NETWORKS) -> bool:
    """Whether a group's typical member reaches more networks on its own than a phone does,
    and the group's prompts go through a harvest's kit: only then do the group's pooled
    networks say "proxy pool" rather than "many people".

    People hop too: the users of one phone app in a region the provider does not serve reach
    it through a proxy service's residential exits, a new one every few hours -- new accounts
    on one client, each through many networks by exits that never come back
    (``simulate/lookalikes_byok.py``, ``proxied_app``). They chat, or ask an "ask anything"
    shortcut single questions on any topic; a harvest pushes its sweep through a kit
    (``kit``: :func:`harvest_kit`). Whether the prompts carry a conversation is not asked:
    a client writes its history itself, and a fake earlier turn on every request would
    switch the evidence off. A pool that sends plain questions is not told from the app's
    users, and says so by not flagging on its networks (throw-away mail still counts).
    Unknown (no ``kit`` in the facts) counts as a kit."""
    return num(component, "member_asns") >= member_networks and bool(component.get("kit", True))


#: What a harvest pushes its sweep through and an app's users do not: instruction frames,
#: step-by-step asks, rubrics, tool traces, logprobs, many languages, a benchmark's own
#: items, rewrites of refusals, round-the-clock volume. Breadth of single questions alone
#: (``CapabilitySweep``) is an "ask anything" shortcut's too.
KIT: tuple[type[Finding], ...] = (
    WrappedSweep,  # and ManyWrappedSweep
    ComparedSweep,
    CotElicitation,
    GradingRequests,
    HarvestStructure,
    LogprobHarvesting,  # and its broad and scoring kinds
    MultilingualSweep,
    ToolTraceHarvesting,  # and the varied kind
    HeavySingleShot,
    SensitiveRewrites,
)


def harvest_kit(findings: Sequence[Finding]) -> bool:
    """Whether a group's pooled findings show its prompts pushed through a harvest's kit
    (:data:`KIT`): the ``kit`` fact :func:`members_hop` reads."""
    return any(isinstance(f, KIT) for f in findings)


def evasive(
    component: Component,
    networks: int = 6,
    disposable: float = 0.3,
    recurrence: float = ProxyRotationCheck.proxy_recurrence,
    member_networks: float = MEMBER_NETWORKS,
) -> bool:
    """What a proxy-service cluster has and an honest group has not: it signs up with
    throw-away mail, or it reaches us through many networks by exits that do not come back
    (residential proxies) -- and it is not one institution on its own mail domain.

    Many networks alone is an online course's or a tutorial's readers: each at home in their
    own country, on free mail, with the notebook's pinned client. Their home prefixes come
    back day after day; a proxy pool's exits do not. Unknown (no prefix has had a day to come
    back) is not evidence of fresh exits.

    Many fresh exits alone is a new phone app's users: each on their carriers' CGNAT, home
    Wi-Fi and sometimes a VPN, in their own countries -- new, light, on one client, through
    many networks by exits that seldom come back (``simulate/lookalikes_byok.py``). What
    they do not do is hop between more networks each than a phone reaches, so the typical
    member must (``member_networks``); a pool that keeps its accounts in few networks each
    is then not told from them, and says so by not flagging."""
    if num(component, "disposable_share") >= disposable:
        return True
    fresh_exits = num(component, "prefix_recurrence", 1.0) < recurrence
    return (
        num(component, "asns") >= networks
        and fresh_exits
        and members_hop(component, member_networks)
        and not institution(component)
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
        if not evasive(component):
            return [CohortCluster(accounts, int(num(component, "asns")))]
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
