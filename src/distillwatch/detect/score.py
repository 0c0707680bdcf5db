"""From features and links to verdicts: account scores, campaigns, reasons.

The steps, all pure:

1. every account check reads each account's features and returns findings;
2. each linked component is judged twice -- by the same account checks applied to the
   component's pooled features (so a hydra's light accounts add up to one heavy actor), and by
   the cluster checks (size, freshness, shared infrastructure);
3. an account's score is the noisy-OR of its own findings, raised to its component's score
   when the component is judged as a whole; the account is flagged at ``threshold``;
4. flagged accounts are grouped into campaigns by component.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from distillwatch.detect.checks import CHECKS, AccountCheck
from distillwatch.detect.cluster import CLUSTER_CHECKS
from distillwatch.detect.evidence import Finding, noisy_or, strongest_first
from distillwatch.detect.learned import learned_findings
from distillwatch.detect.link import Links

#: Default operating point, chosen for a low false-positive rate (see benchmarks/).
DEFAULT_THRESHOLD = 0.5
#: An account younger than this at its first request counts as new.
FRESH_DAYS = 14.0


@dataclass(frozen=True)
class Verdict:
    account_id: str
    score: float
    flagged: bool
    component: int
    findings: tuple[Finding, ...]

    @property
    def reasons(self) -> list[str]:
        return [str(f) for f in self.findings]


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    component: int
    accounts: tuple[str, ...]
    score: float
    findings: tuple[Finding, ...]
    links: dict[str, int] = field(default_factory=dict)

    @property
    def tactics(self) -> list[str]:
        return sorted({f.tactic for f in self.findings if f.tactic})


def run_checks(
    rows: Iterable[Mapping[str, Any]], checks: list[AccountCheck]
) -> list[list[Finding]]:
    """Findings per row, in row order."""
    out = []
    for row in rows:
        found: list[Finding] = []
        for check in checks:
            if check.applies(row):
                found.extend(check.score_one(row))
        out.append(strongest_first(found))
    return out


def component_facts(accounts: pl.DataFrame, links: Links) -> pl.DataFrame:
    """Per component of two or more accounts: size, volume, freshness, organisations."""
    frame = accounts.select(
        "account_id",
        "requests",
        # accounts of one declared organisation are one owner; others are their own
        pl.coalesce("org_id", "account_id").alias("owner"),
        (pl.col("account_age_days").fill_null(1e9) < FRESH_DAYS).alias("fresh"),
    ).join(
        pl.DataFrame(
            {"account_id": links.accounts, "component": links.component},
            schema={"account_id": pl.String, "component": pl.Int64},
        ),
        on="account_id",
    )
    return (
        frame.group_by("component")
        .agg(
            pl.len().alias("accounts"),
            pl.col("requests").sum().alias("requests"),
            pl.col("requests").median().alias("median_requests"),
            pl.col("fresh").mean().alias("fresh_share"),
            pl.col("owner").n_unique().alias("organisations"),
        )
        .filter(pl.col("accounts") >= 2)
    )


def with_component_size(accounts: pl.DataFrame, links: Links) -> pl.DataFrame:
    """``accounts`` plus ``component_accounts``: how many accounts its component holds."""
    sizes = np.bincount(links.component) if len(links.component) else np.zeros(0, np.int64)
    size_of = pl.DataFrame(
        {"account_id": links.accounts, "component_accounts": sizes[links.component]},
        schema={"account_id": pl.String, "component_accounts": pl.Int64},
    )
    return accounts.drop("component_accounts", strict=False).join(
        size_of, on="account_id", how="left"
    )


def campaign_id(members: Iterable[str]) -> str:
    digest = hashlib.sha1("\n".join(sorted(members)).encode()).hexdigest()
    return f"C-{digest[:8]}"


def score(
    accounts: pl.DataFrame,
    links: Links,
    pooled: pl.DataFrame,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    learned: bool = True,
) -> tuple[list[Verdict], list[Campaign]]:
    """Verdicts for every account and the flagged campaigns.

    ``learned=False`` scores with the rules alone (no :mod:`.learned` model finding).

    ``accounts``: one row per account (features); ``pooled``: the same features per
    component, with a ``component`` column, for components of two accounts or more.
    """
    checks = [cls() for cls in CHECKS]
    own = run_checks(accounts.iter_rows(named=True), checks)
    model = (
        learned_findings(with_component_size(accounts, links))
        if learned
        else [[] for _ in range(accounts.height)]
    )
    for found, extra in zip(own, model, strict=True):
        found.extend(extra)
        found.sort(key=lambda f: f.weight, reverse=True)
    facts = {
        row["component"]: row for row in component_facts(accounts, links).iter_rows(named=True)
    }
    pooled_rows = {row["component"]: row for row in pooled.iter_rows(named=True)}

    component_findings: dict[int, list[Finding]] = {}
    for comp, fact in facts.items():
        fact = {**fact, "links": links.kinds.get(comp, {})}
        found = [f for check in CLUSTER_CHECKS for f in check.score_one(fact)]
        if comp in pooled_rows and int(fact["organisations"]) != 1:
            found += run_checks([pooled_rows[comp]], checks)[0]
        component_findings[comp] = strongest_first(found)

    comp_of = dict(zip(links.accounts, links.component.tolist(), strict=True))
    verdicts = []
    for row, found in zip(accounts.iter_rows(named=True), own, strict=True):
        comp = int(comp_of[row["account_id"]])
        shared = component_findings.get(comp, [])
        findings = strongest_first(_merge(found, shared))
        value = max(noisy_or(found), noisy_or(shared) if _judged(shared) else 0.0)
        verdicts.append(
            Verdict(row["account_id"], round(value, 4), value >= threshold, comp, tuple(findings))
        )
    return verdicts, _campaigns(verdicts, component_findings, links)


def _judged(findings: list[Finding]) -> bool:
    """A component counts as a whole only when something beyond shared keys was found."""
    return any(f.kind != "SharedInfrastructure" for f in findings)


def _merge(own: list[Finding], shared: list[Finding]) -> list[Finding]:
    kinds = {f.kind for f in own}
    return own + [f for f in shared if f.kind not in kinds]


def _campaigns(
    verdicts: list[Verdict], component_findings: dict[int, list[Finding]], links: Links
) -> list[Campaign]:
    groups: dict[int, list[Verdict]] = {}
    for v in verdicts:
        if v.flagged:
            groups.setdefault(v.component, []).append(v)
    campaigns = []
    for comp, members in groups.items():
        findings = list(component_findings.get(comp) or [])
        for member in members:
            findings = _merge(findings, list(member.findings))
        findings = strongest_first(findings)
        ids = tuple(sorted(v.account_id for v in members))
        value = max(max(v.score for v in members), noisy_or(findings))
        campaigns.append(
            Campaign(
                campaign_id(ids),
                comp,
                ids,
                round(value, 4),
                tuple(findings),
                links.kinds.get(comp, {}),
            )
        )
    return sorted(campaigns, key=lambda c: (-c.score, -len(c.accounts)))
