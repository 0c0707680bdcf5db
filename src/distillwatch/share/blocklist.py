"""Imported indicators as a block list: the file the online engine loads.

Built from the member's import store (:mod:`.client` pulls into it): every indicator
pattern distillwatch can evaluate on a single request and every identifier of a
distillwatch fingerprint becomes one entry with its source member, campaign, confidence and
``valid_until``. Revoked objects and patterns that need more than one field of one request
(``AND``, ``FOLLOWEDBY``...) are left out. The format is documented in ``docs/sharing.md``;
the file is replaced atomically, so a reader never sees half of it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from distillwatch.share.extension import FINGERPRINT_TYPE
from distillwatch.share.stixbase import stamp

FORMAT = "distillwatch-blocklist"
VERSION = 1
#: Combined confidence (0..1) of one campaign's matches at which a request is blocked.
DEFAULT_BLOCK_AT = 0.9

_COMPARISON = re.compile(
    r"\[\s*(?P<path>[a-z0-9-]+:[^\s\]]+)\s+(?P<op>=|IN|ISSUBSET)\s+"
    r"(?P<val>\((?:[^()'\\]|'(?:[^'\\]|\\.)*')*\)|'(?:[^'\\]|\\.)*'|\d+)\s*\]"
)
_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'")
_UA = "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'"
_PATH_KIND = {
    "ipv4-addr:value": "ip_prefix",
    "ipv6-addr:value": "ip_prefix",
    "autonomous-system:number": "asn",
    _UA: "user_agent",
}


class BlocklistError(ValueError):
    """A block list file that cannot be used."""


@dataclass(frozen=True)
class Entry:
    kind: str  # ip_prefix | asn | user_agent | payment_fingerprint | email_domain | template_id
    encoding: str  # plain | hmac-sha256
    value: str
    confidence: int  # 0..100: what one match of this value says
    valid_until: str | None
    source: str  # the member that published it
    campaign: str  # the STIX campaign id it indicates ("" when unknown)
    object_id: str
    key_id: str | None = None  # group key a hashed value was made under (None: plain)
    shared_by: int = 1  # members that shared this value (corroboration raised confidence)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def pattern_values(pattern: str) -> list[tuple[str, str]]:
    """``(kind, value)`` for each single-field comparison of an OR-only STIX pattern."""
    if re.search(r"\b(AND|FOLLOWEDBY|WITHIN|REPEATS|START|NOT|LIKE|MATCHES)\b", pattern):
        return []
    out: list[tuple[str, str]] = []
    for m in _COMPARISON.finditer(pattern):
        kind = _PATH_KIND.get(m.group("path"))
        if kind is None:
            continue
        raw = m.group("val")
        if raw.startswith("("):
            strings = _STRING.findall(raw)
            values = [_unescape(s) for s in strings] if strings else re.findall(r"\d+", raw)
        elif raw.startswith("'"):
            values = [_unescape(raw[1:-1])]
        else:
            values = [raw]
        out += [(kind, v) for v in values]
    return out


def entries_from(objects: Iterable[tuple[str, dict[str, Any]]]) -> list[Entry]:
    """Block-list entries of ``(producer, object)`` pairs (indicators and fingerprints)."""
    # only the indicator's own producer says which campaign it indicates: another member's
    # relationship must not move it (splitting a member's evidence across campaigns would
    # keep each below the blocking confidence)
    campaign_of: dict[tuple[str, str], str] = {}
    objs = list(objects)
    for producer, o in objs:
        target = str(o.get("target_ref", ""))
        if o.get("relationship_type") == "indicates" and target.startswith("campaign--"):
            campaign_of[(producer, str(o["source_ref"]))] = target
    out: list[Entry] = []
    for producer, o in objs:
        if o.get("revoked"):
            continue
        if o.get("type") == "indicator" and o.get("pattern_type") == "stix":
            conf = int(o.get("confidence", 50))
            for kind, value in pattern_values(str(o.get("pattern", ""))):
                out.append(
                    Entry(
                        kind,
                        "plain",
                        value,
                        conf,
                        o.get("valid_until"),
                        producer,
                        campaign_of.get((producer, o["id"]), ""),
                        o["id"],
                    )
                )
        elif o.get("type") == FINGERPRINT_TYPE:
            for ident in o.get("identifiers", []):
                for value in ident.get("values", []):
                    out.append(
                        Entry(
                            str(ident["kind"]),
                            str(ident["encoding"]),
                            str(value),
                            int(ident.get("confidence", 50)),
                            ident.get("valid_until"),
                            producer,
                            str(o.get("campaign_ref", "")),
                            o["id"],
                            o.get("key_id") if ident["encoding"] != "plain" else None,
                        )
                    )
    return out


def write_blocklist(
    path: Path, entries: list[Entry], key_id: str | None, block_at: float = DEFAULT_BLOCK_AT
) -> None:
    """Write the block list atomically (temporary file, then rename)."""
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "generated": stamp(),
        "key_id": key_id,
        "block_at": block_at,
        "entries": [asdict(e) for e in entries],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(orjson.dumps(doc))
    os.replace(tmp, path)


def read_blocklist(path: Path) -> tuple[list[Entry], str | None, float]:
    """``(entries, key_id, block_at)`` of a block list file."""
    try:
        doc = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise BlocklistError(f"cannot read the block list {path}: {exc.strerror}") from exc
    except orjson.JSONDecodeError as exc:
        raise BlocklistError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise BlocklistError(f"{path}: not a {FORMAT} version {VERSION} file")
    try:
        entries = [Entry(**e) for e in doc["entries"]]
    except (TypeError, KeyError) as exc:
        raise BlocklistError(f"{path}: malformed entry ({exc})") from exc
    return entries, doc.get("key_id"), float(doc.get("block_at", DEFAULT_BLOCK_AT))
