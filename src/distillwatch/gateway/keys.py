"""API keys → accounts: who sent a request, without ever keeping the key itself.

The keys file (TOML) maps each key — by its SHA-256, or in plain text for development — to an
account, a key id (what logs show instead of the key), and optionally an org and a known
cluster of linked accounts::

    [[key]]
    id = "key_alice_1"
    account = "acct_alice"
    sha256 = "9f86d081884c7d65..."   # or: key = "sk-dev-alice"
    org = "org_acme"                  # optional
    email_domain = "acme.example"     # optional sign-up facts, logged for detection
    created = "2026-01-05T00:00:00Z"  # optional: when the account was created
    cluster = "C-1a2b3c4d"            # optional

Without a keys file every distinct key is its own pseudonymous account (``key-`` + a hash
prefix), which is enough to put the gateway in front of a server in one command.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Identity:
    account_id: str
    key_id: str
    org_id: str | None = None
    cluster_id: str | None = None
    #: Sign-up facts the provider knows; detection reads them (a new account on disposable
    #: mail is a fraud marker), so they go into every logged record.
    email_domain: str | None = None
    account_created: str | None = None


class KeysFileError(ValueError):
    """A keys file that cannot be used; the message names the file and the entry."""


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key(headers: Mapping[str, str]) -> str | None:
    """The API key of a request: ``Authorization: Bearer``, ``api-key`` or ``x-api-key``."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return headers.get("api-key") or headers.get("x-api-key") or None


class KeyRing:
    """Looks up the identity behind a key; ``None`` from :meth:`identify` means unknown."""

    def __init__(self, entries: Mapping[str, Identity] | None = None) -> None:
        self._by_hash = dict(entries) if entries is not None else None

    @property
    def open(self) -> bool:
        """No keys file: any key is accepted as its own account."""
        return self._by_hash is None

    def identify(self, key: str | None) -> Identity | None:
        if not key:
            return None
        digest = key_hash(key)
        if self._by_hash is None:
            return Identity(account_id=f"key-{digest[:16]}", key_id=digest[:12])
        return self._by_hash.get(digest)

    def clusters(self) -> dict[str, str]:
        """Account → cluster for the accounts the keys file places in a cluster."""
        return {i.account_id: i.cluster_id for i in (self._by_hash or {}).values() if i.cluster_id}


def load_keys(path: Path | None) -> KeyRing:
    if path is None:
        return KeyRing()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeysFileError(f"cannot read keys file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise KeysFileError(f"{path}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"key"})
    if unknown:
        raise KeysFileError(f"{path}: unknown key(s) {unknown}; keys are [[key]] tables")
    entries: dict[str, Identity] = {}
    for n, raw in enumerate(data.get("key", []), 1):
        where = f"{path}: [[key]] #{n}"
        known = {"id", "account", "sha256", "key", "org", "cluster", "email_domain", "created"}
        bad = sorted(set(raw) - known)
        if bad:
            raise KeysFileError(f"{where}: unknown field(s) {bad}")
        if not raw.get("account") or not raw.get("id"):
            raise KeysFileError(f"{where}: needs 'id' and 'account'")
        if ("sha256" in raw) == ("key" in raw):
            raise KeysFileError(f"{where}: give exactly one of 'sha256' and 'key'")
        digest = str(raw["sha256"]).lower() if "sha256" in raw else key_hash(str(raw["key"]))
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise KeysFileError(f"{where}: 'sha256' must be 64 hex digits")
        if digest in entries:
            raise KeysFileError(f"{where}: the same key appears twice")
        entries[digest] = Identity(
            account_id=str(raw["account"]),
            key_id=str(raw["id"]),
            org_id=raw.get("org"),
            cluster_id=raw.get("cluster"),
            email_domain=raw.get("email_domain"),
            account_created=raw.get("created"),
        )
    return KeyRing(entries)
