"""The TAXII server's configuration: members, their credentials and clearance, collections and
who may read or write each, storage, limits. One TOML file, checked with clear errors.

Passwords are stored only as scrypt hashes (``distillwatch share passwd`` makes one); the
server keeps verified credentials in memory for a while so scrypt's deliberate slowness is
paid once per client, not per request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillwatch.share import tlp
from distillwatch.share.stixbase import member_identity
from distillwatch.share.tomlfile import read_toml

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class ConfigError(ValueError):
    """A server configuration that cannot be used; names the file and the key."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$<salt b64>$<hash b64>`` for a server config file."""
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), dklen=32, **_SCRYPT)
        return hmac.compare_digest(got, base64.b64decode(digest))
    except (ValueError, TypeError):
        return False


@dataclass(frozen=True)
class Member:
    name: str
    password_hash: str = field(repr=False)
    clearance: str = "amber"  # most restricted TLP level this member may read
    identity: str = ""  # the member's STIX identity id (default: derived from the name)

    @property
    def identity_id(self) -> str:
        return self.identity or member_identity(self.name)["id"]


@dataclass(frozen=True)
class Collection:
    id: str
    alias: str
    title: str
    description: str = ""
    readers: frozenset[str] = frozenset()  # member names, or "*"
    writers: frozenset[str] = frozenset()

    def can_read(self, member: str) -> bool:
        return member in self.readers or "*" in self.readers

    def can_write(self, member: str) -> bool:
        return member in self.writers or "*" in self.writers


@dataclass(frozen=True)
class ServerConfig:
    title: str = "distillwatch sharing hub"
    description: str = "TAXII 2.1 server for sanitised distillation-campaign intelligence."
    contact: str = ""
    api_root: str = "share"
    database: str = "sqlite:///share-hub.sqlite"
    max_content_length: int = 10 * 1024 * 1024
    page_size: int = 1000  # the most objects one response holds
    rate: float = 50.0  # requests per second per member (token bucket refill)
    burst: int = 200
    unmarked_tlp: str = "amber"  # the TLP assumed for objects without a TLP marking
    strict: bool = True  # reject objects with validator warnings too
    audit_log: str = "share-hub-audit.jsonl"  # refusals, failed and throttled logins
    login_failures: int = 10  # failed logins allowed per client address per window …
    member_login_failures: int = 20  # … and per member name, from all addresses together
    login_window: float = 60.0  # seconds over which those budgets refill
    login_tarpit: float = 0.5  # seconds before answering an address whose budget is spent
    members: dict[str, Member] = field(default_factory=dict)
    collections: dict[str, Collection] = field(default_factory=dict)  # by id

    def collection(self, key: str) -> Collection | None:
        """A collection by id or alias."""
        if key in self.collections:
            return self.collections[key]
        return next((c for c in self.collections.values() if c.alias == key), None)


_SERVER_KEYS: dict[str, type | tuple[type, ...]] = {
    "title": str,
    "description": str,
    "contact": str,
    "api_root": str,
    "database": str,
    "max_content_length": int,
    "page_size": int,
    "rate": (int, float),
    "burst": int,
    "unmarked_tlp": str,
    "strict": bool,
    "audit_log": str,
    "login_failures": int,
    "member_login_failures": int,
    "login_window": (int, float),
    "login_tarpit": (int, float),
}
_MEMBER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")
_IDENTITY = re.compile(r"^identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def _names(source: str, where: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{source}: {where} must be a list of member names (or ["*"])')
    return frozenset(value)


def parse_config(doc: dict[str, Any], source: str = "<config>") -> ServerConfig:
    """A checked :class:`ServerConfig` from a parsed TOML document."""
    unknown = set(doc) - {"server", "members", "collections"}
    if unknown:
        raise ConfigError(f"{source}: unknown table(s) {', '.join(sorted(unknown))}")
    server = dict(doc.get("server", {}))
    for key, value in server.items():
        want = _SERVER_KEYS.get(key)
        if want is None:
            raise ConfigError(
                f"{source}: [server] {key}: unknown key; known: {', '.join(_SERVER_KEYS)}"
            )
        if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
            raise ConfigError(f"{source}: [server] {key}: wrong type {type(value).__name__}")
    if not str(server.get("api_root", "share")).replace("-", "").replace("_", "").isalnum():
        raise ConfigError(
            f"{source}: [server] api_root must be one path segment (letters, digits, - _)"
        )
    try:
        server["unmarked_tlp"] = tlp.normalise(server.get("unmarked_tlp", "amber"))
    except tlp.TlpError as exc:
        raise ConfigError(f"{source}: [server] unmarked_tlp: {exc}") from exc
    for key in ("login_failures", "member_login_failures", "login_window", "page_size"):
        if key in server and not server[key] > 0:
            raise ConfigError(f"{source}: [server] {key} must be positive")
    if not 0 <= server.get("login_tarpit", 0) <= 30:
        raise ConfigError(f"{source}: [server] login_tarpit must be 0 to 30 seconds")
    members = {}
    for name, raw in doc.get("members", {}).items():
        where = f"[members.{name}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("password_hash"), str):
            raise ConfigError(f"{source}: {where} needs password_hash (distillwatch share passwd)")
        if not _MEMBER_NAME.match(name):
            raise ConfigError(
                f"{source}: {where}: a member name is letters, digits, . _ - (at most 100)"
            )
        try:
            clearance = tlp.normalise(raw.get("tlp", "amber"))
        except tlp.TlpError as exc:
            raise ConfigError(f"{source}: {where} tlp: {exc}") from exc
        identity = raw.get("identity", "")
        if identity and not (isinstance(identity, str) and _IDENTITY.match(identity)):
            raise ConfigError(f"{source}: {where} identity must be an identity--<uuid> id")
        members[name] = Member(name, raw["password_hash"], clearance, identity)
    taken: dict[str, str] = {}
    for m in members.values():
        if m.identity_id in taken:
            raise ConfigError(
                f"{source}: members {taken[m.identity_id]} and {m.name} share identity "
                f"{m.identity_id}"
            )
        taken[m.identity_id] = m.name
    collections = {}
    for alias, raw in doc.get("collections", {}).items():
        where = f"[collections.{alias}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: {where} must be a table")
        cid = str(
            raw.get("id") or uuid.uuid5(uuid.NAMESPACE_URL, f"distillwatch-collection:{alias}")
        )
        try:
            uuid.UUID(cid)
        except ValueError as exc:
            raise ConfigError(f"{source}: {where} id must be a UUID, got {cid!r}") from exc
        readers = _names(source, f"{where} read", raw.get("read", []))
        writers = _names(source, f"{where} write", raw.get("write", []))
        strangers = (readers | writers) - set(members) - {"*"}
        if strangers:
            raise ConfigError(
                f"{source}: {where} names unknown member(s) {', '.join(sorted(strangers))}"
            )
        collections[cid] = Collection(
            cid,
            alias,
            str(raw.get("title", alias)),
            str(raw.get("description", "")),
            readers,
            writers,
        )
    return ServerConfig(**server, members=members, collections=collections)


def load_config(path: Path) -> ServerConfig:
    return parse_config(read_toml(path, "server config", ConfigError), str(path))
