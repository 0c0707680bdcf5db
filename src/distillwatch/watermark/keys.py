"""Watermark keys: a keyring with rotation, and one derived key per account.

The keyring holds master secrets. The key that marks an answer is derived from the active
master secret and the account it was served to, with HMAC-SHA256:

    material = HMAC(secret, "distillwatch/watermark/v1" 0x00 "account" 0x00 account_id)

so a provider never stores per-account keys, yet a mark found later in a suspect model's
output can be tested against every account's key and points at the accounts whose answers
were harvested. ``account=None`` derives the provider-wide key. Rotation adds a new master
secret and retires the old one: retired keys no longer mark new answers but stay in the
ring, because text marked before the rotation must still be detectable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from distillwatch.watermark.scheme import Scheme, SchemeError

FORMAT = "distillwatch-keyring/1"
_DOMAIN = b"distillwatch/watermark/v1\x00"


class KeyringError(ValueError):
    """A keyring file that cannot be read or used."""


@dataclass(frozen=True)
class WatermarkKey:
    """The key that marks (or is tested against) text: 128 bits of PRF key plus its scheme."""

    key_id: str
    account: str | None
    scheme: Scheme
    material: tuple[int, int] = field(repr=False)

    @property
    def label(self) -> str:
        return self.key_id if self.account is None else f"{self.key_id}/{self.account}"


@dataclass(frozen=True)
class MasterKey:
    """One master secret of the ring, with the scheme its derived keys apply."""

    key_id: str
    secret: bytes = field(repr=False)
    scheme: Scheme
    created: str
    retired: str | None = None

    def derive(self, account: str | None = None) -> WatermarkKey:
        """The key for ``account`` (or the provider-wide key when ``None``)."""
        label = b"provider" if account is None else b"account\x00" + account.encode("utf-8")
        digest = hmac.new(self.secret, _DOMAIN + label, hashlib.sha256).digest()
        material = (int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:16], "big"))
        return WatermarkKey(self.key_id, account, self.scheme, material)


@dataclass(frozen=True)
class Keyring:
    """Master keys, oldest first; the last one not retired marks new answers."""

    keys: tuple[MasterKey, ...]

    @property
    def active(self) -> MasterKey:
        live = [k for k in self.keys if k.retired is None]
        if not live:
            raise KeyringError("the keyring has no active key; rotate to add one")
        return live[-1]

    def get(self, key_id: str) -> MasterKey:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        raise KeyringError(f"no key {key_id!r} in the keyring")

    def candidates(
        self, accounts: Sequence[str] | None = None, include_retired: bool = True
    ) -> list[WatermarkKey]:
        """Every key a detector should try: per account when accounts are given."""
        masters = [k for k in self.keys if include_retired or k.retired is None]
        if not accounts:
            return [m.derive() for m in masters]
        return [m.derive(a) for m in masters for a in accounts]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_master(
    scheme: Scheme, created: str | None = None, secret: bytes | None = None
) -> MasterKey:
    """A fresh 256-bit master secret (or a given one, for reproducible experiments)."""
    created = created or _now()
    key_id = f"wm-{created[:10].replace('-', '')}-{secrets.token_hex(3)}"
    return MasterKey(key_id, secret or secrets.token_bytes(32), scheme, created)


def new_keyring(scheme: Scheme, created: str | None = None) -> Keyring:
    return Keyring((new_master(scheme, created),))


def rotate(ring: Keyring, scheme: Scheme | None = None, now: str | None = None) -> Keyring:
    """Retire the active key and add a new one (same scheme unless another is given)."""
    now = now or _now()
    old = ring.active
    fresh = new_master(scheme or old.scheme, now)
    keys = tuple(replace(k, retired=now) if k is old else k for k in ring.keys)
    return Keyring((*keys, fresh))


def keyring_to_dict(ring: Keyring) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "keys": [
            {
                "id": k.key_id,
                "secret": k.secret.hex(),
                "scheme": k.scheme.to_dict(),
                "created": k.created,
                "retired": k.retired,
            }
            for k in ring.keys
        ],
    }


def keyring_from_dict(data: Any, where: str = "keyring") -> Keyring:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise KeyringError(f"{where}: not a distillwatch keyring (expected format {FORMAT!r})")
    keys = []
    for i, entry in enumerate(data.get("keys") or []):
        try:
            keys.append(
                MasterKey(
                    key_id=str(entry["id"]),
                    secret=bytes.fromhex(entry["secret"]),
                    scheme=Scheme.from_dict(entry["scheme"]),
                    created=str(entry["created"]),
                    retired=entry.get("retired"),
                )
            )
        except (KeyError, TypeError, ValueError, SchemeError) as exc:
            raise KeyringError(f"{where}: key #{i + 1} is malformed ({exc})") from exc
    if not keys:
        raise KeyringError(f"{where}: the keyring holds no keys")
    if any(len(k.secret) < 16 for k in keys):
        raise KeyringError(f"{where}: a secret is shorter than 128 bits")
    return Keyring(tuple(keys))


def load_keyring(path: Path) -> Keyring:
    if not path.is_file():
        raise KeyringError(f"keyring not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeyringError(f"{path}: cannot read keyring ({exc})") from exc
    return keyring_from_dict(data, str(path))


def save_keyring(ring: Keyring, path: Path) -> None:
    """Write the ring readable by its owner only (it holds secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(keyring_to_dict(ring), fh, indent=2)
        fh.write("\n")
    tmp.replace(path)
