"""Proxy rotation: one account's requests arrive from many networks.

Many networks alone is ordinary: phones hop between carriers and Wi-Fi, VPN users pick exit
countries, an enterprise app leaves through a cloud egress pool of many /24 prefixes in many
regions. One account that appears from *many networks in many countries through exits that do not
come back* is what a residential proxy service looks like, handing out a fresh exit per
session -- and also what a phone behind a VPN that picks a new server each time, Tor, or a
relay service looks like: people use those for privacy. Nothing in the log tells them apart
(no ASN kind), so for one account it is shared evidence (:class:`RotatingExits`): it raises
a score, never flags. It counts as evasion (:class:`ResidentialProxyRotation`) only for a
group of linked accounts whose typical member hops like that too
(:func:`distillwatch.detect.score.pooled_findings`): one person's privacy tool does not make
a group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.checks.base import Account, AccountCheck, num
from distillwatch.detect.evidence import Basis, Finding, Severity


@dataclass(frozen=True)
class ProxyRotation(Finding):
    description: ClassVar[str] = "Requests come from many unrelated networks"
    severity: ClassVar[Severity] = Severity.LOW
    tactic: ClassVar[str | None] = "proxy_rotation"
    asns: int
    prefixes: int

    def __str__(self) -> str:
        return f"requests from {self.prefixes} /24 prefixes in {self.asns} networks (ASNs)"


@dataclass(frozen=True)
class RotatingExits(ProxyRotation):
    """Many networks in many countries through exits that do not come back: a proxy pool's
    shape, and a privacy tool's (a rotating VPN, Tor, a relay service)."""

    description: ClassVar[str] = "Requests rotate through fresh exits in many networks"
    severity: ClassVar[Severity] = Severity.MEDIUM
    countries: int = 0

    def __str__(self) -> str:
        return (
            f"requests rotate through {self.asns} networks (ASNs) in {self.countries} "
            f"countries ({self.prefixes} /24 prefixes) through exits that do not come back: "
            "a proxy pool or a privacy tool"
        )


@dataclass(frozen=True)
class ResidentialProxyRotation(RotatingExits):
    """A group's members each rotating through fresh exits: a residential proxy pool."""

    description: ClassVar[str] = "Linked accounts rotate through networks in many countries"
    severity: ClassVar[Severity] = Severity.HIGH
    basis: ClassVar[Basis] = Basis.EVASION

    def __str__(self) -> str:
        return (
            f"linked accounts, each hopping networks, rotate through {self.asns} networks "
            f"(ASNs) in {self.countries} countries ({self.prefixes} /24 prefixes): "
            "a residential proxy pool"
        )


class ProxyRotationCheck(AccountCheck):
    """People move between home, office and phone: a few networks, not dozens."""

    min_requests = 10
    asns = 6
    prefixes = 12
    #: a phone plus a VPN reaches a few ASNs (at most 7 in the train and tune draws); proxy
    #: pools many more ...
    proxy_asns = 8
    #: ... and hand out fresh exits: a cloud egress pool in many regions reuses its prefixes
    #: all week (on heldout draws 6-11, 14 of 167 cloud-egress accounts looked like a pool).
    #: With this, the number of countries adds nothing on the train and tune draws (it was 4:
    #: pools that stay in one to three countries were missed), so any count will do.
    proxy_recurrence = 0.3
    proxy_countries = 1

    def score_one(self, account: Account) -> list[Finding]:
        asns = int(num(account, "asns"))
        prefixes = int(num(account, "ip24s"))
        if asns < self.asns and prefixes < self.prefixes:
            return []
        countries = int(num(account, "countries"))
        # unknown (no prefix has had a day to come back) is not evidence of fresh exits
        fresh_exits = num(account, "prefix_recurrence", 1.0) < self.proxy_recurrence
        if asns >= self.proxy_asns and countries >= self.proxy_countries and fresh_exits:
            return [RotatingExits(asns, prefixes, countries)]
        return [ProxyRotation(asns=asns, prefixes=prefixes)]
