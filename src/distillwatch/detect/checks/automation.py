"""Scripted harvesting at volume: heavy, round-the-clock, single-shot, fresh account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distillwatch.detect.checks.base import Account, AccountCheck, num
from distillwatch.detect.evidence import Basis, Finding, Severity


@dataclass(frozen=True)
class HeavySingleShot(Finding):
    description: ClassVar[str] = "Heavy single-shot traffic around the clock"
    severity: ClassVar[Severity] = Severity.LOW
    tactic: ClassVar[str | None] = "bulk_harvesting"
    per_day: float
    hours_of_day: int

    def __str__(self) -> str:
        return (
            f"{self.per_day:,.0f} single-shot requests a day, active in "
            f"{self.hours_of_day} of 24 hours of the day"
        )


@dataclass(frozen=True)
class FreshAccount(Finding):
    description: ClassVar[str] = "Account was days old at its first request"
    severity: ClassVar[Severity] = Severity.LOW
    age_days: float

    def __str__(self) -> str:
        return f"account was {self.age_days:.1f} days old at its first request"


@dataclass(frozen=True)
class DisposableSignup(FreshAccount):
    """A new account on a temporary-mail domain: nobody can reach its owner, which is what
    a throw-away account is for. Some privacy-minded people do it too, so it lets a high
    score flag but adds little to the score itself."""

    description: ClassVar[str] = "New account signed up with a disposable mail domain"
    basis: ClassVar[Basis] = Basis.FRAUD

    def __str__(self) -> str:
        return (
            f"account was {self.age_days:.1f} days old at its first request and signed up "
            "with a disposable mail domain"
        )


#: An account younger than this at its first request counts as new.
FRESH_DAYS = 14.0


class AutomationCheck(AccountCheck):
    """Weak alone (batch jobs are heavy too); it adds to content evidence."""

    min_requests = 20
    per_day = 500.0
    hours_of_day = 20
    fresh_days = 3.0

    def score_one(self, account: Account) -> list[Finding]:
        findings: list[Finding] = []
        days = max(num(account, "span_hours") / 24.0, 1.0)
        per_day = num(account, "requests") / days
        hours = int(num(account, "active_hours_of_day"))
        single = num(account, "multi_turn_share") < 0.1
        if per_day >= self.per_day and hours >= self.hours_of_day and single:
            findings.append(HeavySingleShot(per_day=per_day, hours_of_day=hours))
        age = num(account, "account_age_days", default=1e9)
        if account.get("disposable_email") and age < FRESH_DAYS:
            findings.append(DisposableSignup(age_days=max(age, 0.0)))
        elif age < self.fresh_days:
            findings.append(FreshAccount(age_days=max(age, 0.0)))
        return findings
