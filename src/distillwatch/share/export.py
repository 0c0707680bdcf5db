"""Scan results -> one STIX 2.1 bundle of sanitised campaign intelligence.

For every campaign the policy lets out: a ``campaign``, the proxy ``infrastructure`` it ran
on, ``indicator``\\ s (IP prefixes aggregated to covering CIDRs, ASNs, user agents) with a
confidence and a ``valid_until`` that decays per kind (proxy exits churn in days, cards live
for months), ``attack-pattern``\\ s for its tactics, ``sighting``\\ s with counts and first /
last seen, the ``relationship``\\ s between them, and a distillwatch fingerprint
(:mod:`.extension`) with template sketches, capability and timing profiles and keyed hashes.

What is built from: structured fields of the scan only. Free text of the scan (reasons,
samples, prompts) is never read, so it cannot leak; account ids are only counted. Every
object carries the TLP 2.0 marking of the policy field it comes from, and objects above the
recipients' clearance are left out (with the relationships that point at them).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from distillwatch.report.scandir import load_campaigns
from distillwatch.share import tlp
from distillwatch.share.atlas import TACTICS
from distillwatch.share.extension import FINGERPRINT_TYPE, extension_marker
from distillwatch.share.indicators import Shareable, pattern, pattern_parts, shareables
from distillwatch.share.keyed import GroupKey
from distillwatch.share.policy import Policy
from distillwatch.share.profiles import load_features, seen_outside, timing_profile
from distillwatch.share.stixbase import base, member_identity, parse_stamp, sid
from distillwatch.share.stixbase import stamp as fmt
from distillwatch.share.traffic import values_outside
from distillwatch.share.vocabulary import (
    clear,
    extension_definition,
    project_identity,
    tactic_pattern,
)

MAX_COUNT = 999_999_999  # STIX sighting count limit


@dataclass
class CampaignExport:
    """What one campaign contributed to the bundle (for preview and the audit log)."""

    campaign_id: str
    stix_id: str
    fields: dict[str, tuple[str, int]] = field(default_factory=dict)  # field -> (encoding, n)
    withheld: dict[str, int] = field(default_factory=dict)  # field -> values kept home
    expired: list[str] = field(default_factory=list)  # fields past valid_days since last seen
    objects: int = 0


@dataclass
class ExportResult:
    bundle: dict[str, Any]
    recipients: list[str]
    clearance: str
    campaigns: list[CampaignExport]
    skipped: list[tuple[str, str]]  # (campaign_id, why)
    dropped_by_tlp: int = 0

    @property
    def objects(self) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = self.bundle["objects"]
        return objects


class _Builder:
    """Collects objects with their TLP level; the bundle keeps those the audience may read."""

    def __init__(self, policy: Policy, now: datetime) -> None:
        self.policy = policy
        self.now = fmt(now)
        self.me = member_identity(policy.producer)
        self.objects: dict[str, dict[str, Any]] = {}
        self.level: dict[str, str] = {}

    def add(self, obj: dict[str, Any], level: str) -> str:
        if level != "clear" or obj["type"] not in ("identity", "marking-definition"):
            obj["object_marking_refs"] = [tlp.marking_id(level)]
        self.objects[obj["id"]] = obj
        self.level[obj["id"]] = level
        return str(obj["id"])

    def mine(self, stix_type: str, ident: str, level: str, **props: Any) -> str:
        """Add an object authored by this member."""
        return self.add(
            base(stix_type, ident, self.now, created_by_ref=self.me["id"], **props), level
        )

    def relate(self, source: str, kind: str, target: str) -> None:
        level = max(self.level[source], self.level[target], key=tlp.rank)
        ident = sid("relationship", self.policy.producer, source, kind, target)
        self.mine(
            "relationship",
            ident,
            level,
            relationship_type=kind,
            source_ref=source,
            target_ref=target,
        )

    def sight(self, target: str, count: int, first: str, last: str, rule_level: str) -> None:
        level = max(self.level[target], rule_level, key=tlp.rank)
        ident = sid("sighting", self.policy.producer, target)
        self.mine(
            "sighting",
            ident,
            level,
            sighting_of_ref=target,
            count=min(count, MAX_COUNT),
            first_seen=first,
            last_seen=last,
            where_sighted_refs=[self.me["id"]],
        )

    def keep(self, clearance: str) -> tuple[list[dict[str, Any]], int]:
        """Objects the audience may read; references to dropped objects drop the referrer."""
        limit = tlp.rank(clearance)
        kept = {i: o for i, o in self.objects.items() if tlp.rank(self.level[i]) <= limit}
        refs = ("source_ref", "target_ref", "sighting_of_ref", "campaign_ref")
        kept = {i: o for i, o in kept.items() if all(o.get(r, i) in kept for r in refs)}
        # identities and the vocabulary are TLP:CLEAR: members of every clearance must be
        # able to resolve who made what (a hub treats unmarked objects as AMBER)
        head = [project_identity(), extension_definition(), clear(self.me)]
        used = {m for o in [*head, *kept.values()] for m in o.get("object_marking_refs", [])}
        head += [tlp.marking_definition(lvl) for lvl in tlp.LEVELS if tlp.marking_id(lvl) in used]
        return head + list(kept.values()), len(self.objects) - len(kept)


def _span(c: dict[str, Any], now: datetime) -> tuple[str, str]:
    first = parse_stamp(c["first_seen"]) if c.get("first_seen") else now
    last = parse_stamp(c["last_seen"]) if c.get("last_seen") else now
    return fmt(min(first, last)), fmt(max(first, last))


def _capabilities(shares: dict[str, Any]) -> dict[str, float]:
    """The coverage profile over the known capability areas only (keys are data too)."""
    from distillwatch.signals.capability import CAPABILITIES

    return {
        area: round(float(v), 4)
        for area, v in shares.items()
        if area in CAPABILITIES and isinstance(v, int | float) and 0 <= v <= 1
    }


def _describe(c: dict[str, Any]) -> str:
    named = [TACTICS[t][0].lower() for t in c["tactics"] if t in TACTICS]
    tactics = ", ".join(named) or "no named tactic"
    return (
        f"Adversarial-distillation campaign seen by distillwatch: {len(c['accounts'])} linked "
        f"accounts, {int(c['requests'])} requests; tactics: {tactics}."
    )


def _indicator(
    b: _Builder, cid: str, item: Shareable, first: str, last: str, part: int = 0
) -> str | None:
    """One indicator of ``item``; ``part`` > 0 numbers the further parts of a field whose
    values do not fit one pattern (the first part keeps the field's id of earlier exports)."""
    rule = b.policy.rule(item.field)
    expr = pattern(item)
    until = parse_stamp(last) + timedelta(days=rule.valid_days)
    if expr is None:
        return None
    label = item.field.replace("_", " ")
    suffix = (f"part-{part}",) if part else ()
    return b.mine(
        "indicator",
        sid("indicator", b.policy.producer, cid, item.field, *suffix),
        rule.tlp,
        name=f"{label} of distillation campaign {cid[:8]}"
        + (f" (part {part + 1})" if part else ""),
        description=(
            f"{len(item.values)} {label} used by an adversarial-distillation campaign; "
            f"decays after {rule.valid_days:g} days without a sighting."
        ),
        indicator_types=["malicious-activity", "anonymization"]
        if item.field == "ip_prefixes"
        else ["malicious-activity"],
        pattern=expr,
        pattern_type="stix",
        valid_from=first,
        valid_until=fmt(until),
        confidence=rule.confidence,
    )


def _fingerprints(
    b: _Builder, c: dict[str, Any], camp: str, items: list[Shareable], timing: dict, key: GroupKey
) -> list[str]:
    """One fingerprint object per TLP level, holding the fields marked at that level."""
    _, last = _span(c, parse_stamp(b.now))
    by_level: dict[str, dict[str, Any]] = {}
    for item in items:
        if item.encoding == "plain" and item.kind in ("ip_prefix", "asn", "user_agent"):
            continue  # a standard indicator carries these
        rule = b.policy.rule(item.field)
        until = parse_stamp(last) + timedelta(days=rule.valid_days)
        entry = {
            "kind": item.kind,
            "encoding": item.encoding,
            "values": list(item.values),
            "confidence": rule.confidence,
            "valid_until": fmt(until),
        }
        by_level.setdefault(rule.tlp, {}).setdefault("identifiers", []).append(entry)
    for name, value in (("capabilities", _capabilities(c["capabilities"])), ("timing", timing)):
        rule = b.policy.rule(name)
        if rule.leaves and value:
            prop = "capability_profile" if name == "capabilities" else "timing_profile"
            by_level.setdefault(rule.tlp, {})[prop] = value
    ids = []
    for level, props in sorted(by_level.items(), key=lambda kv: tlp.rank(kv[0])):
        if any(i["encoding"] != "plain" for i in props.get("identifiers", [])):
            props["key_id"] = key.key_id
        ids.append(
            b.mine(
                FINGERPRINT_TYPE,
                sid(FINGERPRINT_TYPE, b.policy.producer, c["campaign_id"], level),
                level,
                name=f"behavioural fingerprint of campaign {camp[10:18]} (TLP:{level.upper()})",
                campaign_ref=camp,
                extensions=extension_marker(),
                **props,
            )
        )
    return ids


def _campaign(
    b: _Builder, c: dict[str, Any], key: GroupKey, withhold: dict[str, set[str]], timing: dict
) -> CampaignExport:
    policy = b.policy
    now = parse_stamp(b.now)
    first, last = _span(c, now)
    camp = b.mine(
        "campaign",
        sid("campaign", policy.producer, c["campaign_id"]),
        policy.default_tlp,
        name=f"distillation campaign {sid('campaign', policy.producer, c['campaign_id'])[10:18]}",
        description=_describe(c),
        objective="Harvest model outputs to train a copy of the model (adversarial distillation).",
        first_seen=first,
        last_seen=last,
        confidence=max(0, min(100, round(float(c["score"]) * 100))),
    )
    report = CampaignExport(c["campaign_id"], camp)
    items = []
    found, report.withheld = shareables(c["indicators"] or {}, policy, key, withhold)
    for item in found:
        if parse_stamp(last) + timedelta(days=policy.rule(item.field).valid_days) <= now:
            report.expired.append(item.field)  # decayed: proxies churn, cards get cancelled
        else:
            items.append(item)
    for item in items:
        report.fields[item.field] = (item.encoding, len(item.values))
    infra = None
    if any(i.kind == "ip_prefix" and i.encoding == "plain" for i in items):
        infra = b.mine(
            "infrastructure",
            sid("infrastructure", policy.producer, c["campaign_id"]),
            policy.rule("ip_prefixes").tlp,
            name=f"proxy network of campaign {camp[10:18]}",
            description="Proxy exits (residential, mobile or cloud) the campaign's accounts used.",
            infrastructure_types=["anonymization"],
            first_seen=first,
            last_seen=last,
        )
        b.relate(camp, "uses", infra)
    sightings = policy.rule("sightings")
    for item in items:
        for part, piece in enumerate(pattern_parts(item)):
            ind = _indicator(b, c["campaign_id"], piece, first, last, part)
            if ind is None:
                continue
            b.relate(ind, "indicates", camp)
            if infra and item.kind == "ip_prefix":
                b.relate(ind, "indicates", infra)
            if sightings.leaves:
                b.sight(ind, int(c["requests"]), first, last, sightings.tlp)
    if sightings.leaves:
        b.sight(camp, int(c["requests"]), first, last, sightings.tlp)
    if policy.rule("tactics").leaves:
        for tactic in [t for t in c["tactics"] if t in TACTICS]:  # vocabulary only, never text
            ap = b.add(tactic_pattern(tactic), "clear")
            b.relate(camp, "uses", ap)
    for fp in _fingerprints(b, c, camp, items, timing, key):
        b.relate(fp, "related-to", camp)
    return report


def build_bundle(
    scan_dir: Path,
    policy: Policy,
    key: GroupKey,
    recipients: list[str] | None = None,
    now: datetime | None = None,
    traffic: pl.DataFrame | None = None,
) -> ExportResult:
    """The bundle ``scan_dir`` would produce under ``policy`` for ``recipients``.

    ``traffic`` (:func:`distillwatch.share.traffic.distinct_requests` of the scanned logs)
    lets every indicator value that also occurs outside the campaigns be withheld; without
    it only cards and e-mail domains are checked (from ``features.parquet``).
    """
    now = now or datetime.now(UTC)
    recipients = recipients or list(policy.recipients)
    clearance = policy.clearance(recipients)
    campaigns = load_campaigns(scan_dir)
    features = load_features(scan_dir)
    in_campaigns = {a for c in campaigns for a in c["accounts"]}
    withhold = seen_outside(features, in_campaigns)
    if traffic is not None:
        for f, values in values_outside(traffic, in_campaigns).items():
            withhold[f] = withhold.get(f, set()) | values
    b = _Builder(policy, now)
    reports, skipped = [], []
    for c in campaigns:
        if c["score"] < policy.min_campaign_score:
            skipped.append((c["campaign_id"], f"score {c['score']:.2f} below policy minimum"))
        elif len(c["accounts"]) < policy.min_campaign_accounts:
            skipped.append((c["campaign_id"], f"{len(c['accounts'])} account(s), below minimum"))
        else:
            timing = timing_profile(features, c["accounts"])
            reports.append(_campaign(b, c, key, withhold, timing))
    objects, dropped = b.keep(clearance)
    for r in reports:
        r.objects = sum(1 for o in objects if r.stix_id in _refs(o))
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    return ExportResult(bundle, recipients, clearance, reports, skipped, dropped)


def _refs(obj: dict[str, Any]) -> set[str]:
    return {
        obj["id"],
        obj.get("source_ref", ""),
        obj.get("target_ref", ""),
        obj.get("sighting_of_ref", ""),
    }
