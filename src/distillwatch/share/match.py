"""The online matcher: one request in, the imported indicators it matches out.

Built once from a block list (:mod:`.blocklist`) into plain dicts and sets, then pure and
fast per request: an IP is masked to each prefix length in use and looked up, the ASN, user
agent and template id are dictionary lookups, and the identifiers that travel as keyed hashes
(payment fingerprint, email domain, hashed prefixes) are hashed once per distinct value
(cached) and looked up. No I/O, no shared mutable state: the gateway can call it from any
thread, and swap in a new matcher when the block list file changes.

Evidence adds up per campaign: the confidences of the distinct kinds a request matches for
one (member, campaign) combine as a noisy-OR, and :meth:`Matcher.match` returns matches only
for campaigns whose combined confidence reaches ``block_at`` -- a payment card alone (0.95)
does, a user agent alone (0.15) does not. :meth:`Matcher.evidence` returns every match, for
scoring and retro-hunts.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from distillwatch.share.blocklist import DEFAULT_BLOCK_AT, Entry, read_blocklist
from distillwatch.share.keyed import GroupKey
from distillwatch.share.trust import too_broad


@dataclass(frozen=True)
class Match:
    """A request matched an indicator imported from a sharing-group member.

    ``source``/``kind``/``value`` are the fields of the enforcement stage's
    ``IndicatorMatch``; the rest says how strong and which campaign.
    """

    source: str
    kind: str
    value: str
    confidence: int
    campaign: str
    object_id: str

    def __str__(self) -> str:
        return f"matches {self.kind} {self.value[:24]} shared by {self.source}"


def _epoch(text: str | None) -> float:
    if not text:
        return float("inf")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _at(record: Mapping[str, Any]) -> float:
    ts = record.get("ts")
    if isinstance(ts, int | float):
        return float(ts)
    if isinstance(ts, str):
        try:
            return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return time.time()


def template_hex(value: Any) -> str | None:
    """A template id (uint64 as int, or hex text) in the 16-hex-digit form of scan output."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value & 0xFFFFFFFFFFFFFFFF:016x}"
    if isinstance(value, str) and value:
        return value.lower().zfill(16)
    return None


class Matcher:
    """An immutable index over block-list entries."""

    def __init__(
        self,
        entries: Iterable[Entry],
        key: GroupKey | None = None,
        block_at: float = DEFAULT_BLOCK_AT,
    ) -> None:
        self.key = key
        self.block_at = block_at
        self.exact: dict[tuple[str, str], list[tuple[Entry, float]]] = {}
        self.hashed: dict[tuple[str, str], list[tuple[Entry, float]]] = {}
        self.nets: dict[tuple[int, int], dict[int, list[tuple[Entry, float]]]] = {}
        self.size = 0
        for e in entries:
            item = (e, _epoch(e.valid_until))
            self.size += 1
            if e.encoding != "plain":
                if key is not None and e.key_id in (None, key.key_id):
                    self.hashed.setdefault((e.kind, e.value), []).append(item)
                continue
            if too_broad(e.kind, e.value) is not None:
                continue  # a match-all prefix never reaches the index, whatever the file says
            if e.kind == "ip_prefix":
                try:
                    net = ipaddress.ip_network(e.value, strict=False)
                except ValueError:
                    continue
                shift = net.max_prefixlen - net.prefixlen
                table = self.nets.setdefault((net.version, net.prefixlen), {})
                table.setdefault(int(net.network_address) >> shift, []).append(item)
                continue
            value = template_hex(e.value) if e.kind == "template_id" else e.value
            self.exact.setdefault((e.kind, str(value)), []).append(item)
        self._hashed_kinds = {k for k, _ in self.hashed}

    @classmethod
    def from_file(cls, path: Any, key: GroupKey | None = None) -> Matcher:
        entries, _, block_at = read_blocklist(path)
        return cls(entries, key, block_at)  # hashed entries of another key are skipped

    def _candidates(self, record: Mapping[str, Any]) -> list[tuple[Entry, float]]:
        found: list[tuple[Entry, float]] = []
        exact, hashed, key = self.exact, self.hashed, self.key
        ip = record.get("ip")
        if ip and self.nets:
            try:
                addr = ipaddress.ip_address(ip)
            except ValueError:
                addr = None
            if addr is not None:
                n = int(addr)
                for (version, plen), table in self.nets.items():
                    if version == addr.version:
                        found += table.get(n >> (addr.max_prefixlen - plen), ())
        for kind in ("asn", "user_agent", "template_id"):
            raw = record.get(kind)
            if raw is None:
                continue
            value = template_hex(raw) if kind == "template_id" else str(raw)
            found += exact.get((kind, str(value)), ())
        if key is not None and hashed:
            for kind in ("payment_fingerprint", "email_domain", "user_agent", "template_id"):
                raw = record.get(kind)
                if raw is not None and kind in self._hashed_kinds:
                    value = template_hex(raw) if kind == "template_id" else str(raw)
                    found += hashed.get((kind, key.hash(kind, str(value))), ())
            if ip and ("ip_prefix" in self._hashed_kinds or "ip" in self._hashed_kinds):
                found += hashed.get(("ip", key.hash("ip", str(ip))), ())
                unit = "/24" if ":" not in str(ip) else "/48"
                found += hashed.get(("ip_prefix", key.hash("ip_prefix", f"{ip}{unit}")), ())
        return found

    def evidence(
        self, record: Mapping[str, Any], at: float | None = None, any_time: bool = False
    ) -> list[Match]:
        """Every imported indicator the request matches (valid at ``at``, unless ``any_time``)."""
        found = self._candidates(record)
        if not found:
            return []
        when = _at(record) if at is None else at
        return [
            Match(e.source, e.kind, e.value, e.confidence, e.campaign, e.object_id)
            for e, until in found
            if any_time or until >= when
        ]

    def match(self, record: Mapping[str, Any]) -> list[Match]:
        """The matches of campaigns whose combined evidence reaches the blocking confidence."""
        return blocking(self.evidence(record), self.block_at)


def combined(matches: Iterable[Match]) -> dict[tuple[str, str], float]:
    """Per (source, campaign): noisy-OR of the strongest match of each kind."""
    best: dict[tuple[str, str], dict[str, int]] = {}
    for m in matches:
        kinds = best.setdefault((m.source, m.campaign), {})
        kinds[m.kind] = max(kinds.get(m.kind, 0), m.confidence)
    out = {}
    for group, kinds in best.items():
        miss = 1.0
        for c in kinds.values():
            miss *= 1.0 - c / 100.0
        out[group] = 1.0 - miss
    return out


def blocking(matches: list[Match], block_at: float) -> list[Match]:
    strong = {g for g, c in combined(matches).items() if c >= block_at}
    return [m for m in matches if (m.source, m.campaign) in strong]
