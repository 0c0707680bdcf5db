"""Proxy rotation: one account's requests arrive from many networks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.checks.base import Account, AccountCheck, num
from distillwatch.detect.evidence import Finding, Severity


@dataclass(frozen=True)
class ProxyRotation(Finding):
    description: ClassVar[str] = "Requests come from many unrelated networks"
    severity: ClassVar[Severity] = Severity.MEDIUM
    tactic: ClassVar[str | None] = "proxy_rotation"
    asns: int
    prefixes: int

    def __str__(self) -> str:
        return f"requests from {self.prefixes} /24 prefixes in {self.asns} networks (ASNs)"


class ProxyRotationCheck(AccountCheck):
    """People move between home, office and phone: a few networks, not dozens."""

    min_requests = 10
    asns = 6
    prefixes = 12

    def score_one(self, account: Account) -> list[Finding]:
        asns = int(num(account, "asns"))
        prefixes = int(num(account, "ip24s"))
        if asns < self.asns and prefixes < self.prefixes:
            return []
        return [ProxyRotation(asns=asns, prefixes=prefixes)]
