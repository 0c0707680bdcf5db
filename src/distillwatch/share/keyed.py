"""Keyed hashes: identifiers that members can match but not read.

A payment fingerprint or an email domain tells a competitor who a provider's customers are;
a campaign's card or sign-up domain is still exactly what the other members need to block.
Both hold when the value leaves only as ``HMAC-SHA256(group key, kind ":" normalised value)``:
a member holding the group key computes the same hash from its own traffic and compares;
anyone without the key learns nothing (no dictionary attack on a 256-bit key). The kind is
part of the message, so the same string as an email domain and as a card never collide.

The key is read from a file (or ``DISTILLWATCH_SHARE_KEY``), never from the command line,
and only its *id* (a hash of the key) is ever written anywhere: in bundles, block lists
and the audit log, so a member can tell which key a hash was made under.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

KEY_ENV = "DISTILLWATCH_SHARE_KEY"
MIN_KEY_BYTES = 16

#: kinds whose values are hashed, and how each is normalised before hashing.
KINDS = ("payment_fingerprint", "email_domain", "ip", "ip_prefix", "template_id", "user_agent")


class GroupKeyError(ValueError):
    """The group key is missing or too short."""


def normalise(kind: str, value: str) -> str:
    """The canonical form hashed for ``kind``: the same identifier always gives one hash."""
    value = value.strip()
    if kind == "email_domain":
        return value.lower().rstrip(".").rsplit("@", 1)[-1]
    if kind in ("ip", "ip_prefix"):
        try:
            if kind == "ip":
                return str(ipaddress.ip_address(value))
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            return value.lower()
    if kind == "template_id":
        return value.lower().zfill(16)
    return value


@dataclass(frozen=True)
class GroupKey:
    """The sharing group's HMAC key; ``key_id`` is safe to publish, ``secret`` never is."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_KEY_BYTES:
            raise GroupKeyError(
                f"the group key must be at least {MIN_KEY_BYTES} bytes, got {len(self.secret)}"
            )

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"distillwatch-key-id:" + self.secret).hexdigest()[:16]

    def hash(self, kind: str, value: str) -> str:
        """Hex HMAC-SHA256 of ``kind:value`` (``value`` normalised for its kind)."""
        return _hmac(self.secret, kind, normalise(kind, value))


@lru_cache(maxsize=65536)
def _hmac(secret: bytes, kind: str, value: str) -> str:
    """Cached: the online matcher hashes the same few cards and domains again and again."""
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def load_key(path: Path | None = None) -> GroupKey:
    """The group key from ``path`` (raw bytes; surrounding whitespace ignored) or the env."""
    if path is not None:
        try:
            raw = path.read_bytes().strip()
        except OSError as exc:
            raise GroupKeyError(f"cannot read the group key file {path}: {exc.strerror}") from exc
        return GroupKey(raw)
    env = os.environ.get(KEY_ENV)
    if not env:
        raise GroupKeyError(f"no group key: give --key-file or set {KEY_ENV}")
    return GroupKey(env.strip().encode())
