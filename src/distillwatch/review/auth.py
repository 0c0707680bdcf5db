"""Users, passwords and sessions.

Passwords are kept as scrypt hashes (stdlib ``hashlib.scrypt``, salted, parameters stored
with the hash). A session lives in the store; the browser holds only a random token and its
HMAC under the store's key, so a cookie cannot be forged or stretched, and logging out or
expiry ends it on the server. Each session has its own CSRF token, checked on every POST.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from distillwatch.review import audit
from distillwatch.review.store import ConsoleError
from distillwatch.review.tables import Tables

ROLES = ("viewer", "analyst", "admin")
SESSION_SECONDS = 12 * 3600
_N, _R, _P = 2**14, 8, 1
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")
MIN_PASSWORD = 10
#: Failed logins of one name within LOCKOUT_SECONDS after which its logins are refused.
LOCKOUT, LOCKOUT_SECONDS = 10, 15 * 60


@dataclass(frozen=True)
class User:
    name: str
    role: str
    csrf: str

    def can(self, role: str) -> bool:
        """At least ``role``: viewer < analyst < admin."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=32,
            maxmem=64 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


_DUMMY = hash_password(secrets.token_hex(8))


def add_user(conn: Connection, t: Tables, actor: str, name: str, role: str, password: str) -> None:
    """Create or reset a user (the CLI's ``console user add``)."""
    if not _NAME.match(name):
        raise ConsoleError(f"user name {name!r}: use 1-100 letters, digits, '_', '.', '@' or '-'")
    if role not in ROLES:
        raise ConsoleError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if len(password) < MIN_PASSWORD:
        raise ConsoleError(f"password must be at least {MIN_PASSWORD} characters")
    values = {"role": role, "password": hash_password(password), "created_at": time.time()}
    exists = conn.execute(sa.select(t.users.c.name).where(t.users.c.name == name)).first()
    if exists:
        conn.execute(sa.update(t.users).where(t.users.c.name == name).values(**values))
        conn.execute(sa.delete(t.sessions).where(t.sessions.c.user == name))
    else:
        conn.execute(sa.insert(t.users).values(name=name, **values))
    audit.record(conn, t, actor, "user.set", f"user:{name}", None, role=role, existed=bool(exists))


def users(conn: Connection, t: Tables) -> list[tuple[str, str]]:
    q = sa.select(t.users.c.name, t.users.c.role).order_by(t.users.c.name)
    return [(n, r) for n, r in conn.execute(q)]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _sign(key: bytes, token: str) -> str:
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def login(conn: Connection, t: Tables, key: bytes, name: str, password: str) -> str | None:
    """A signed session cookie value, or None (same work whether or not the user exists).

    After LOCKOUT failures of a name in LOCKOUT_SECONDS its logins are refused unchecked
    (guessing is slowed, and the refusals are in the audit log)."""
    if audit.recent(conn, t, "login.failed", f"user:{name[:100]}", LOCKOUT_SECONDS) >= LOCKOUT:
        audit.record(conn, t, name[:100] or "-", "login.refused", f"user:{name[:100]}")
        return None
    row = conn.execute(sa.select(t.users).where(t.users.c.name == name[:100])).first()
    if not check_password(password, row.password if row else _DUMMY) or row is None:
        audit.record(conn, t, name[:100] or "-", "login.failed", f"user:{name[:100]}")
        return None
    token = secrets.token_urlsafe(32)
    now = time.time()
    conn.execute(sa.delete(t.sessions).where(t.sessions.c.expires_at < now))
    conn.execute(
        sa.insert(t.sessions).values(
            token_hash=_token_hash(token),
            user=row.name,
            csrf=secrets.token_urlsafe(32),
            expires_at=now + SESSION_SECONDS,
        )
    )
    audit.record(conn, t, row.name, "login", f"user:{row.name}")
    return f"{token}.{_sign(key, token)}"


def _token(key: bytes, cookie: str | None) -> str | None:
    if not cookie or cookie.count(".") != 1:
        return None
    token, mac = cookie.split(".")
    return token if hmac.compare_digest(mac, _sign(key, token)) else None


def session_user(conn: Connection, t: Tables, key: bytes, cookie: str | None) -> User | None:
    """The user of a valid, unexpired session cookie."""
    token = _token(key, cookie)
    if token is None:
        return None
    s, u = t.sessions, t.users
    row = conn.execute(
        sa.select(u.c.name, u.c.role, s.c.csrf)
        .join(u, u.c.name == s.c.user)
        .where(s.c.token_hash == _token_hash(token), s.c.expires_at > time.time())
    ).first()
    return User(row.name, row.role, row.csrf) if row else None


def logout(conn: Connection, t: Tables, key: bytes, cookie: str | None) -> None:
    token = _token(key, cookie)
    if token is not None:
        conn.execute(sa.delete(t.sessions).where(t.sessions.c.token_hash == _token_hash(token)))
