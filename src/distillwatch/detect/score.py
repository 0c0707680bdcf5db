"""From features and links to verdicts: account scores, campaigns, reasons.

The steps, all pure:

1. every account check reads each account's features and returns findings;
2. each linked component is judged twice -- by the same account checks applied to the
   component's pooled features (so a hydra's light accounts add up to one heavy actor), and by
   the cluster checks (size, freshness, shared infrastructure);
3. an account's score is the calibrated probability of :mod:`.calibrated` over its findings
   (with its component's, when the component is judged as a whole) and its behaviour, never
   less than the noisy-OR of its distinctive findings; it is
   flagged when the score reaches ``threshold`` and some evidence is distinctive -- of a kind
   honest customers rarely produce (:class:`.evidence.Basis`);
4. flagged accounts are grouped into campaigns by component.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from distillwatch.detect.calibrated import calibrated_scores
from distillwatch.detect.checks import CHECKS, AccountCheck
from distillwatch.detect.checks.automation import FRESH_DAYS
from distillwatch.detect.checks.base import num
from distillwatch.detect.checks.proxy_rotation import (
    ProxyRotation,
    ResidentialProxyRotation,
    RotatingExits,
)
from distillwatch.detect.cluster import CLUSTER_CHECKS, harvest_kit, members_hop
from distillwatch.detect.evidence import Finding, any_distinctive, noisy_or, strongest_first
from distillwatch.detect.identity import with_identity
from distillwatch.detect.link import Links
from distillwatch.detect.membership import bystander
from distillwatch.detect.voters import voting_members

#: Default operating point, chosen for a low false-positive rate (see benchmarks/).
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Verdict:
    account_id: str
    score: float
    flagged: bool
    component: int
    findings: tuple[Finding, ...]
    #: Some evidence is of a kind honest customers rarely produce (a flag needs it).
    distinctive: bool = False

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
    """Per component of two or more accounts: size, volume, freshness, organisations -- of
    the members it is judged on (:mod:`.voters`: not its old, settled ones)."""
    domain = pl.col("email_domain").str.to_lowercase()
    frame = (
        with_identity(accounts)
        .select(
            "account_id",
            "requests",
            # accounts of one declared organisation are one owner; others are their own
            pl.coalesce("org_id", "account_id").alias("owner"),
            (pl.col("account_age_days").fill_null(1e9) < FRESH_DAYS).alias("fresh"),
            domain.alias("domain"),
            # how many accounts of the whole log use the domain: an institution's own domain is
            # used by its members only; free mail by everybody
            pl.len().over(domain).alias("domain_accounts"),
            "disposable_email",
            pl.col("asns").cast(pl.Float64).alias("asns"),
        )
        .join(voting_members(accounts, links), on="account_id")
    )
    return (
        frame.group_by("component")
        .agg(
            pl.len().alias("accounts"),
            pl.col("requests").sum().alias("requests"),
            pl.col("requests").median().alias("median_requests"),
            pl.col("fresh").mean().alias("fresh_share"),
            pl.col("owner").n_unique().alias("organisations"),
            pl.col("disposable_email").mean().alias("disposable_share"),
            pl.col("asns").median().alias("member_asns"),
        )
        .filter(pl.col("accounts") >= 2)
        .join(_domain_facts(frame), on="component", how="left")
    )


def _domain_facts(frame: pl.DataFrame) -> pl.DataFrame:
    """Per component: the share of its accounts on its commonest mail domain, and how many
    accounts of the whole log use that domain."""
    counts = (
        frame.drop_nulls("domain")
        .group_by("component", "domain")
        .agg(
            pl.len().alias("n"),
            pl.col("domain_accounts").first(),
            pl.col("disposable_email").first(),
        )
        .sort("n", "domain", descending=[True, False])
        .group_by("component", maintain_order=True)
        .first()
    )
    sizes = frame.group_by("component").agg(pl.len().alias("size"))
    return counts.join(sizes, on="component").select(
        "component",
        (pl.col("n") / pl.col("size")).alias("top_domain_share"),
        pl.col("domain_accounts").alias("top_domain_accounts"),
        pl.col("disposable_email").alias("top_domain_disposable"),
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

    The score is the calibrated model's probability (:mod:`.calibrated`); ``learned=False``
    -- or no shipped model -- scores with the rules alone (noisy-OR of the findings, not a
    probability). Either way an account is flagged only when its score reaches
    ``threshold`` *and* some of its evidence is distinctive (:class:`.evidence.Basis`).

    ``accounts``: one row per account (features); ``pooled``: the same features per
    component, with a ``component`` column, for components of two accounts or more.
    """
    accounts = with_component_size(with_identity(accounts), links)
    checks = [cls() for cls in CHECKS]
    own = run_checks(accounts.iter_rows(named=True), checks)
    component_findings = _component_findings(accounts, links, pooled, checks)

    comp_of = dict(zip(links.accounts, links.component.tolist(), strict=True))
    comps = [int(comp_of[a]) for a in accounts["account_id"]]
    merged = []
    rules = []
    #: per account, the distinctive findings that are its own to flag on (a bystander's
    #: group evidence is not: :mod:`.membership`)
    its_own: list[list[Finding]] = []
    for i, (found, comp) in enumerate(zip(own, comps, strict=True)):
        shared = component_findings.get(comp, [])
        judged = _judged(shared)
        # only members of groups judged on distinctive evidence are read again
        group = judged and any_distinctive(shared)
        outsider = bystander(accounts.row(i, named=True)) if group else None
        extra: list[Finding] = [outsider] if outsider is not None else []
        merged.append(extra + strongest_first(_merge(found, shared if judged else [])))
        rules.append(max(noisy_or(found), noisy_or(shared) if judged else 0.0))
        kept = found if outsider is not None else merged[-1]
        its_own.append([f for f in kept if f.distinctive])
    model = calibrated_scores(accounts, merged) if learned else None
    values = model[0] if model is not None else np.asarray(rules, dtype=np.float64)
    # never below what the distinctive evidence alone says: a model fitted to simulated worlds
    # may misread one it never saw, and must not argue such evidence away
    floor = np.array([noisy_or(m) for m in its_own])
    values = np.maximum(values, floor) if len(floor) else values
    verdicts = []
    for i, (account_id, comp) in enumerate(zip(accounts["account_id"], comps, strict=True)):
        findings = merged[i] + (list(model[1][i]) if model is not None else [])
        value = round(float(values[i]), 4)
        distinctive = bool(its_own[i]) or any_distinctive(model[1][i] if model else [])
        flagged = value >= threshold and distinctive
        verdicts.append(Verdict(account_id, value, flagged, comp, tuple(findings), distinctive))
    return verdicts, _campaigns(verdicts, component_findings, links)


def _component_findings(
    accounts: pl.DataFrame, links: Links, pooled: pl.DataFrame, checks: list[AccountCheck]
) -> dict[int, list[Finding]]:
    """Each linked component judged as a whole: the cluster checks on its facts, and the
    account checks on its pooled features (unless it is one declared organisation)."""
    facts = {
        row["component"]: row for row in component_facts(accounts, links).iter_rows(named=True)
    }
    pooled_rows = {row["component"]: row for row in pooled.iter_rows(named=True)}
    out: dict[int, list[Finding]] = {}
    for comp, fact in facts.items():
        pooled_row = pooled_rows.get(comp, {})
        fact = {
            **fact,
            "links": links.kinds.get(comp, {}),
            "asns": pooled_row.get("asns"),
            "prefix_recurrence": pooled_row.get("prefix_recurrence"),
        }
        content = run_checks([pooled_row], checks)[0] if comp in pooled_rows else []
        fact["kit"] = harvest_kit(content)
        found = [f for check in CLUSTER_CHECKS for f in check.score_one(fact)]
        if comp in pooled_rows and int(fact["organisations"]) != 1:
            found += pooled_findings(content, fact)
        out[comp] = strongest_first(found)
    return out


#: Accounts a linked group needs before its pooled rotation can be a proxy pool's. On heldout
#: draw 78 (looked at after its measurement) two phone users paired online on three shared
#: prompt frames and a mail domain were throttled as one: each on a VPN that hops.
POOL_MIN_ACCOUNTS = 3


def pooled_findings(findings: list[Finding], facts: Mapping[str, Any]) -> list[Finding]:
    """A component's pooled findings, with rotation judged as a group's.

    Pooled, the networks of ten new users of a phone shortcut in seven countries are 21
    networks through exits that seldom come back -- a residential proxy pool's signature
    that none of them shows alone (each is on a carrier, home Wi-Fi, perhaps a VPN). So the
    pooled rotation is evasion (:class:`ResidentialProxyRotation`) only when the group's
    typical member hops between more networks on its own than a phone does
    (:func:`.cluster.evasive` asks the same); otherwise it is the shared many-networks
    finding it is. One account's rotation is never more than shared (a privacy tool), and
    neither is two accounts' (:data:`POOL_MIN_ACCOUNTS`): a couple on one card, or two phone
    users who share a few prompt frames and a mail provider, each on a VPN that hops, is not
    a pool."""
    hop = members_hop(facts) and num(facts, "accounts") >= POOL_MIN_ACCOUNTS
    return [
        (
            ResidentialProxyRotation(f.asns, f.prefixes, f.countries)
            if hop
            else ProxyRotation(asns=f.asns, prefixes=f.prefixes)
        )
        if isinstance(f, RotatingExits)
        else f
        for f in findings
    ]


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
        value = max(v.score for v in members)
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
