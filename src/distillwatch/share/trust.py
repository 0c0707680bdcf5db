"""How much an imported indicator may do: caps on what one indicator covers, per-member trust,
and corroboration.

A member is a competitor, and its account at the hub may be compromised: one indicator from
it must not be able to block everyone (``[ipv4-addr:value ISSUBSET '0.0.0.0/0']``), nor a
whole cloud provider's ASN, on its own word. So, before anything reaches the block list:

- **caps** -- an IP prefix wider than ``max_ipv4_prefix`` / ``max_ipv6_prefix`` (IPv4-mapped
  IPv6 ranges count as IPv4), an empty value, an ASN outside 1..2^32-1 are dropped; one
  member's prefixes together cover at most ``member_ipv4_cover`` / ``member_ipv6_cover``
  (narrowest kept first); broad kinds (ASN, user agent) have a confidence ceiling so that
  they never block alone;
- **trust** -- each member's confidences are multiplied by its weight (0..1; ``default`` for
  members not listed, ``unattested`` for claims from a server that does not attest uploaders);
- **corroboration** -- when several members share the same value, each entry's confidence
  becomes the noisy-OR of the members' (weighted) confidences: independent reports add up.

The matcher applies the hard floor (:data:`FLOOR_V4`, :data:`FLOOR_V6`) again, whatever the
block list file says.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from distillwatch.share.blocklist import Entry
from distillwatch.share.tomlfile import read_toml

#: The widest prefixes any configuration may allow (the matcher enforces these too).
FLOOR_V4 = 8
FLOOR_V6 = 16
UNATTESTED = " (unattested)"
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


class TrustError(ValueError):
    """A trust file that cannot be used; names the file and the key."""


@dataclass(frozen=True)
class TrustPolicy:
    default: float = 1.0
    unattested: float = 0.5
    members: Mapping[str, float] = field(default_factory=dict)
    max_ipv4_prefix: int = 16  # no IPv4 prefix shorter (wider) than /16
    max_ipv6_prefix: int = 32
    member_ipv4_cover: int = 10  # one member's IPv4 prefixes together: at most a /10's worth
    member_ipv6_cover: int = 26  # and its IPv6 prefixes at most a /26's worth (64 /32s)
    ceilings: Mapping[str, int] = field(
        default_factory=lambda: {"asn": 50, "user_agent": 50}
    )  # the most one entry of a broad kind may say on one member's word
    corroboration: bool = True

    def weight(self, source: str) -> float:
        if source.endswith(UNATTESTED):
            return min(self.unattested, self.members.get(source, self.unattested))
        return self.members.get(source, self.default)


def too_broad(kind: str, value: str, max_v4: int = FLOOR_V4, max_v6: int = FLOOR_V6) -> str | None:
    """Why a plain value covers too much to block on (None when it does not)."""
    if not value.strip():
        return "empty value"
    if kind == "asn":
        if not value.isdigit() or not 0 < int(value) < 2**32:
            return f"not an AS number: {value[:40]!r}"
        return None
    if kind != "ip_prefix":
        return None
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return f"not an IP prefix: {value[:60]!r}"
    if isinstance(net, ipaddress.IPv6Network) and net.subnet_of(_MAPPED):
        if net.prefixlen - 96 < max_v4:
            return f"{value} covers more than a /{max_v4} of IPv4"
    elif net.version == 4 and net.prefixlen < max_v4:
        return f"{value} is wider than /{max_v4}"
    elif net.version == 6 and net.prefixlen < max_v6:
        return f"{value} is wider than /{max_v6}"
    return None


def _who(source: str) -> str:
    return source.removesuffix(UNATTESTED)


def apply(
    entries: Iterable[Entry], policy: TrustPolicy
) -> tuple[list[Entry], list[tuple[Entry, str]]]:
    """Entries within the caps, weighted by trust and raised by corroboration; and the
    entries dropped, with why."""
    kept: list[Entry] = []
    dropped: list[tuple[Entry, str]] = []
    for e in entries:
        why = None
        if e.encoding == "plain":
            why = too_broad(e.kind, e.value, policy.max_ipv4_prefix, policy.max_ipv6_prefix)
        w = policy.weight(e.source)
        if why is None and w <= 0:
            why = f"{e.source} is not trusted"
        if why is not None:
            dropped.append((e, why))
            continue
        conf = min(max(0, min(e.confidence, 100)), policy.ceilings.get(e.kind, 100))
        kept.append(replace(e, confidence=round(conf * w)))
    kept, over = within_cover(kept, policy)
    dropped += over
    if policy.corroboration:
        kept = corroborate(kept)
    return kept, dropped


def _addresses(e: Entry) -> tuple[int, int] | None:
    """(IP version, addresses covered) of an address entry; None for other kinds.

    A keyed hash cannot be opened: a hashed prefix counts as the /24 it was shared as (see
    :func:`distillwatch.share.indicators.per_24`), a hashed address as one address."""
    if e.kind == "ip":
        return 4, 1
    if e.kind != "ip_prefix":
        return None
    if e.encoding != "plain":
        return 4, 256
    net = ipaddress.ip_network(e.value, strict=False)  # checked by too_broad
    if isinstance(net, ipaddress.IPv6Network) and net.subnet_of(_MAPPED):
        return 4, net.num_addresses
    return net.version, net.num_addresses


def within_cover(
    entries: list[Entry], policy: TrustPolicy
) -> tuple[list[Entry], list[tuple[Entry, str]]]:
    """Entries within each member's address budget, narrowest prefixes first; and the rest.

    The per-prefix cap alone bounds one value, not one member: 65,536 indicators of one /16
    each (or one pattern OR-ing them) would cover every IPv4 address. So the distinct
    prefixes of one member together may cover at most a ``/member_ipv4_cover``'s worth of
    IPv4 (``/member_ipv6_cover`` of IPv6); beyond that its widest ones are dropped.
    """
    caps = {4: 2 ** (32 - policy.member_ipv4_cover), 6: 2 ** (128 - policy.member_ipv6_cover)}
    values: dict[tuple[str, int], dict[tuple[str, str], tuple[int, int]]] = {}
    for e in entries:
        size = _addresses(e)
        if size is not None:
            by = values.setdefault((_who(e.source), size[0]), {})
            key = (e.encoding, e.value)
            by[key] = (size[1], min(by.get(key, (0, 100))[1], -e.confidence))
    over: set[tuple[str, str, str]] = set()
    for (who, version), by in values.items():
        spent = 0
        for key, (addresses, _) in sorted(by.items(), key=lambda kv: (kv[1], kv[0])):
            spent += addresses
            if spent > caps[version]:
                over.add((who, *key))
    if not over:
        return entries, []
    kept, dropped = [], []
    for e in entries:
        if (_who(e.source), e.encoding, e.value) in over:
            v4 = (_addresses(e) or (4, 0))[0] == 4
            cover = policy.member_ipv4_cover if v4 else policy.member_ipv6_cover
            why = f"{_who(e.source)}'s prefixes together cover more than a /{cover}"
            dropped.append((e, why))
        else:
            kept.append(e)
    return kept, dropped


def corroborate(entries: list[Entry]) -> list[Entry]:
    """Each entry's confidence raised to the noisy-OR over the members sharing its value."""
    best: dict[tuple[str, str, str, str | None], dict[str, int]] = {}
    for e in entries:
        by = best.setdefault((e.kind, e.encoding, e.value, e.key_id), {})
        by[_who(e.source)] = max(by.get(_who(e.source), 0), e.confidence)
    out = []
    for e in entries:
        by = best[(e.kind, e.encoding, e.value, e.key_id)]
        if len(by) < 2:
            out.append(e)
            continue
        miss = 1.0
        for c in by.values():
            miss *= 1.0 - c / 100.0
        together = min(99, round(100 * (1.0 - miss)))
        out.append(replace(e, confidence=max(e.confidence, together), shared_by=len(by)))
    return out


def _number(source: str, where: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise TrustError(f"{source}: {where} must be a number from {low} to {high}")
    return float(value)


def parse_trust(doc: dict[str, Any], source: str = "<trust>") -> TrustPolicy:
    """A checked :class:`TrustPolicy` from a parsed TOML document."""
    known = {
        "default",
        "unattested",
        "members",
        "max_ipv4_prefix",
        "max_ipv6_prefix",
        "member_ipv4_cover",
        "member_ipv6_cover",
        "ceilings",
        "corroboration",
    }
    unknown = set(doc) - known
    if unknown:
        raise TrustError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
    members = doc.get("members", {})
    ceilings = doc.get("ceilings", {"asn": 50, "user_agent": 50})
    if not isinstance(members, dict) or not isinstance(ceilings, dict):
        raise TrustError(f"{source}: [members] and [ceilings] must be tables")
    corroboration = doc.get("corroboration", True)
    if not isinstance(corroboration, bool):
        raise TrustError(f"{source}: corroboration must be true or false")
    return TrustPolicy(
        default=_number(source, "default", doc.get("default", 1.0), 0, 1),
        unattested=_number(source, "unattested", doc.get("unattested", 0.5), 0, 1),
        members={k: _number(source, f"[members] {k}", v, 0, 1) for k, v in members.items()},
        max_ipv4_prefix=int(
            _number(source, "max_ipv4_prefix", doc.get("max_ipv4_prefix", 16), FLOOR_V4, 32)
        ),
        max_ipv6_prefix=int(
            _number(source, "max_ipv6_prefix", doc.get("max_ipv6_prefix", 32), FLOOR_V6, 128)
        ),
        member_ipv4_cover=int(
            _number(source, "member_ipv4_cover", doc.get("member_ipv4_cover", 10), FLOOR_V4, 32)
        ),
        member_ipv6_cover=int(
            _number(source, "member_ipv6_cover", doc.get("member_ipv6_cover", 26), FLOOR_V6, 128)
        ),
        ceilings={
            k: int(_number(source, f"[ceilings] {k}", v, 0, 100)) for k, v in ceilings.items()
        },
        corroboration=corroboration,
    )


def load_trust(path: Path | None) -> TrustPolicy:
    """The trust file at ``path``, or the defaults."""
    if path is None:
        return TrustPolicy()
    return parse_trust(read_toml(path, "trust file", TrustError), str(path))
