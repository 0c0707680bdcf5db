"""A campaign's indicators, made shareable: aggregated, checked, hashed or dropped per policy.

Network indicators that are not about a customer (IP prefixes, ASNs, user agents) become
standard STIX patterns that any TAXII consumer can use. Identifiers that are about customers
(payment fingerprints, email domains) and anything the policy wants hidden become keyed
hashes inside the distillwatch fingerprint (:mod:`.extension`), where only group members can
match them. A user agent that itself looks like an identifier (an e-mail address, a URL, a
long hex token) never leaves in the clear, whatever the policy says; nor does one that does
not even start like a user agent (``product/version``): it may be anything a client put there.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from distillwatch.share.keyed import GroupKey
from distillwatch.share.policy import Policy

#: scan indicator field -> kind used in fingerprints, hashes and the matcher.
KIND_OF_FIELD = {
    "ip_prefixes": "ip_prefix",
    "asns": "asn",
    "user_agents": "user_agent",
    "payment_fingerprints": "payment_fingerprint",
    "email_domains": "email_domain",
    "template_ids": "template_id",
}
MAX_VALUES = 1000
#: Most comparisons OR-ed in one indicator's pattern: the STIX pattern grammar recurses once
#: per OR, and the OASIS validator (and any consumer using the same parser) fails near 1,000.
PATTERN_TERMS = 200
_IDENTIFYING = re.compile(r"@|https?://|www\.|[0-9a-f]{12,}", re.IGNORECASE)
#: A user agent leaves in the clear only if it starts with a product/version token.
_PRODUCT = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+/[A-Za-z0-9.]")
_UA_PATH = "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'"
_HEX = re.compile(r"^[0-9a-f]{1,16}\Z")


@dataclass(frozen=True)
class Shareable:
    """One field of one campaign, ready to leave: the values and how they are encoded."""

    field: str
    kind: str
    encoding: str  # "plain" | "hmac-sha256"
    values: tuple[str, ...]


def covering_cidrs(prefixes: Iterable[str]) -> list[str]:
    """The smallest set of CIDRs covering exactly the given networks (bad entries skipped)."""
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for p in prefixes:
        try:
            nets.append(ipaddress.ip_network(str(p).strip(), strict=False))
        except ValueError:
            continue
    v4 = [n for n in nets if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in nets if isinstance(n, ipaddress.IPv6Network)]
    return [str(n) for n in (*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6))]


def per_24(cidrs: Iterable[str]) -> list[str]:
    """Covering CIDRs split back into /24s (IPv6: /48), the unit a matcher can hash.

    A keyed hash cannot be tested for containment, so hashed prefixes are shared at the
    granularity the matcher hashes a request's address to.
    """
    out: list[str] = []
    for c in cidrs:
        net = ipaddress.ip_network(c, strict=False)
        unit = 24 if net.version == 4 else 48
        if net.prefixlen >= unit:
            out.append(str(net.supernet(new_prefix=unit)))
            continue
        out += [str(s) for s in net.subnets(new_prefix=unit)][:MAX_VALUES]
    return list(dict.fromkeys(out))[:MAX_VALUES]


def _clean(field: str, raw: Iterable[object]) -> list[str]:
    """Well-formed values of a field (the scan output is data from elsewhere: trust nothing)."""
    values: list[str] = []
    for v in raw:
        if field == "asns":
            if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32:
                values.append(str(v))
        elif field == "template_ids":
            if isinstance(v, str) and _HEX.match(v.lower()):
                values.append(v.lower().zfill(16))
        elif isinstance(v, str) and v.strip() and len(v) <= 512:
            values.append(v.strip())
    return list(dict.fromkeys(values))[:MAX_VALUES]


def shareables(
    indicators: dict[str, list[object]],
    policy: Policy,
    key: GroupKey,
    withhold: dict[str, set[str]] | None = None,
) -> tuple[list[Shareable], dict[str, int]]:
    """Every indicator field the policy lets out, in the encoding it allows, and how many
    values of each field were withheld.

    ``withhold`` holds values seen outside the campaign in the member's own traffic (a
    free-mail domain, a popular SDK's user agent, a residential /24 shared with customers):
    they would block innocent users elsewhere, so they do not leave at all. IP prefixes are
    compared per /24 and re-aggregated afterwards.
    """
    withhold = withhold or {}
    out: list[Shareable] = []
    held_back: dict[str, int] = {}
    for field, kind in KIND_OF_FIELD.items():
        rule = policy.rule(field)
        if not rule.leaves:
            continue
        values = _clean(field, indicators.get(field) or [])
        if field == "ip_prefixes":
            values = per_24(covering_cidrs(values))
        held = withhold.get(field, set())
        kept = [v for v in values if v not in held]
        if len(kept) < len(values):
            held_back[field] = len(values) - len(kept)
        values = kept
        if field == "ip_prefixes" and rule.share != "hmac":
            values = covering_cidrs(values)
        if not values:
            continue
        if rule.share == "hmac":
            hashed = tuple(key.hash(kind, v) for v in values)
            out.append(Shareable(field, kind, "hmac-sha256", hashed))
            continue
        if field == "user_agents":  # identifying-looking agents leave hashed or not at all
            risky = [v for v in values if _IDENTIFYING.search(v) or not _PRODUCT.match(v)]
            values = [v for v in values if v not in risky]
            if risky:
                hashed = tuple(key.hash(kind, v) for v in risky)
                out.append(Shareable(field, kind, "hmac-sha256", hashed))
            if not values:
                continue
        out.append(Shareable(field, kind, "plain", tuple(values)))
    return out, held_back


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pattern_parts(item: Shareable) -> list[Shareable]:
    """``item`` split into parts whose patterns OR at most :data:`PATTERN_TERMS` comparisons
    (IP prefixes only: ASNs and user agents are one ``IN`` comparison whatever their number).
    """
    if item.encoding != "plain" or item.kind != "ip_prefix" or len(item.values) <= PATTERN_TERMS:
        return [item]
    return [
        Shareable(item.field, item.kind, item.encoding, item.values[i : i + PATTERN_TERMS])
        for i in range(0, len(item.values), PATTERN_TERMS)
    ]


def pattern(item: Shareable) -> str | None:
    """A STIX pattern for a plain network indicator; ``None`` for what only we can match."""
    if item.encoding != "plain":
        return None
    if item.kind == "ip_prefix":
        parts = []
        for cidr in item.values:
            family = "ipv6-addr" if ":" in cidr else "ipv4-addr"
            parts.append(f"[{family}:value ISSUBSET {_literal(cidr)}]")
        return " OR ".join(parts)
    if item.kind == "asn":
        return f"[autonomous-system:number IN ({', '.join(item.values)})]"
    if item.kind == "user_agent":
        values = ", ".join(_literal(v) for v in item.values)
        return f"[{_UA_PATH} IN ({values})]"
    return None
