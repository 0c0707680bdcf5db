"""Who is asking, and may they? HTTP Basic credentials per member, token buckets, and login
throttling that makes password guessing slow and cheap to refuse.

- **Requests** are rate-limited per member (``rate``/``burst``).
- **Failed logins** spend from two budgets: one per client address (``login_failures`` per
  ``login_window``) and one per member name, from all addresses together
  (``member_login_failures``), so neither one source nor a botnet aimed at one member can
  guess quickly. A budget is *reserved* before scrypt runs and refunded on success, so
  concurrent guesses cannot overrun it, and once it is spent the answer is a ``429`` without
  running scrypt at all: guessing stops costing the server CPU.
- **Verified credentials are remembered** (a hash of the password, for ``CACHE_SECONDS``):
  scrypt runs once per client, and a member already logged in keeps working while someone
  exhausts the budget of its name (only the right password can hit the cache).
- **Unknown member names cost the same as known ones**: their password is checked against a
  dummy scrypt hash, so timing does not tell which names exist.

Throttling and failed logins are written to the hub's audit log (never the password; the
name only when it is a member's), the exhaustion of a budget once per episode.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from distillwatch.share.server.config import Member, ServerConfig, check_password, hash_password
from distillwatch.share.server.taxii import TaxiiError, error_response

CACHE_SECONDS = 300.0
MAX_KEYS = 10_000  # most buckets or cached credentials kept before pruning
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="distillwatch TAXII"'}


def take(tokens: float, last: float, now: float, rate: float, burst: int) -> tuple[bool, float]:
    """One token-bucket step: (allowed, tokens left), refilling ``rate`` per second."""
    tokens = min(float(burst), tokens + (now - last) * rate)
    if tokens >= 1.0:
        return True, tokens - 1.0
    return False, tokens


@dataclass
class Buckets:
    """Token buckets by key with bounded memory (the keys seen first are forgotten first)."""

    rate: float
    burst: int
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)

    def level(self, key: str, now: float) -> float:
        tokens, last = self._state.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - last) * self.rate)

    def set(self, key: str, tokens: float, now: float) -> None:
        if len(self._state) >= MAX_KEYS and key not in self._state:
            self._prune()
        self._state[key] = (tokens, now)

    def wait(self, key: str, now: float) -> int:
        """Whole seconds until ``key`` has a token again."""
        return max(1, int((1.0 - self.level(key, now)) / self.rate) + 1)

    def _prune(self) -> None:
        """Forget the tenth of the keys seen first (amortised O(1) per new key); a forgotten
        bucket starts full again, which costs whoever had drained it a fresh budget at most."""
        for k in list(self._state)[: max(1, MAX_KEYS // 10)]:
            del self._state[k]


def _name_key(user: str | None) -> str:
    return "name:" + hashlib.sha256(str(user).encode()).hexdigest()[:32]


def _too_many(wait: int, what: str) -> TaxiiError:
    return TaxiiError(
        429, "too many requests", f"{what}: retry in {wait} s", {"Retry-After": str(wait)}
    )


@dataclass
class Guard:
    config: ServerConfig
    audit: Callable[[dict[str, Any]], Any] | None = None
    _requests: Buckets = field(init=False)
    _by_addr: Buckets = field(init=False)
    _by_name: Buckets = field(init=False)
    _verified: dict[tuple[str, str], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _dummy: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        c = self.config
        self._requests = Buckets(c.rate, c.burst)
        self._by_addr = Buckets(c.login_failures / c.login_window, c.login_failures)
        self._by_name = Buckets(c.member_login_failures / c.login_window, c.member_login_failures)
        self._dummy = hash_password(base64.b64encode(os.urandom(18)).decode())

    def throttle(self, key: str) -> None:
        """Take a request token from ``key``'s bucket, else 429."""
        now = time.monotonic()
        with self._lock:
            ok, left = take(
                self._requests.level(key, now), now, now, self._requests.rate, self._requests.burst
            )
            self._requests.set(key, left, now)
            wait = 0 if ok else self._requests.wait(key, now)
        if not ok:
            raise _too_many(wait, "rate limit")

    def spent(self, authorization: str | None, client: str) -> int | None:
        """Seconds to wait when ``client`` has no failed-login budget left and these are not
        credentials already verified (the request would be a 429); None to go ahead.

        Cheap (no scrypt, no parsing beyond Basic), for the gate in front of the app."""
        now = time.monotonic()
        key = f"addr:{client}"
        with self._lock:
            if self._by_addr.level(key, now) >= 1.0:
                return None
            wait = self._by_addr.wait(key, now)
        try:
            user, _, password = (
                base64.b64decode((authorization or "")[6:].strip(), validate=True)
                .decode()
                .partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return wait
        digest = hashlib.sha256(password.encode()).hexdigest()
        return None if self._verified.get((user, digest), 0.0) > now else wait

    def member(self, authorization: str | None, client: str) -> Member:
        """The authenticated member, or 401 (a failed login) or 429 (login budget spent)."""
        user, password = self._credentials(authorization, client)
        digest = hashlib.sha256(password.encode()).hexdigest()
        now = time.monotonic()
        found = self.config.members.get(user)
        if found is not None and self._verified.get((user, digest), 0.0) > now:
            self.throttle(f"member:{user}")
            return found
        self._reserve(client, user, found)
        ok = check_password(password, found.password_hash if found else self._dummy)
        if not (ok and found is not None):
            self._log("login-failed", client, found)
            raise TaxiiError(
                401, "authentication failed", "unknown member or wrong password", _CHALLENGE
            )
        self._refund(client, user)
        with self._lock:
            if len(self._verified) >= MAX_KEYS:
                self._verified = {k: v for k, v in self._verified.items() if v > now}
            self._verified[(user, digest)] = now + CACHE_SECONDS
        self.throttle(f"member:{user}")
        return found

    def _credentials(self, authorization: str | None, client: str) -> tuple[str, str]:
        if not authorization or not authorization.lower().startswith("basic "):
            raise TaxiiError(
                401,
                "authentication required",
                "use HTTP Basic with your member credentials",
                _CHALLENGE,
            )
        try:
            user, _, password = (
                base64.b64decode(authorization[6:].strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError) as exc:
            self._reserve(client, None, None)  # garbage counts against the address too
            raise TaxiiError(
                401, "authentication required", "malformed Basic credentials", _CHALLENGE
            ) from exc
        return user, password

    def _reserve(self, client: str, user: str | None, found: Member | None) -> None:
        """Spend one failed-login token of the address and of the name before checking."""
        now = time.monotonic()
        # names come from the client: kept as a fixed-size hash, whatever their length
        addr, name = f"addr:{client}", _name_key(user)
        with self._lock:
            a = self._by_addr.level(addr, now)
            n = self._by_name.level(name, now) if user is not None else float("inf")
            if a < 1.0 or n < 1.0:
                scope, bucket, key = (
                    ("address", self._by_addr, addr) if a < 1.0 else ("member", self._by_name, name)
                )
                wait = bucket.wait(key, now)
            else:
                self._by_addr.set(addr, a - 1.0, now)
                if user is not None:
                    self._by_name.set(name, n - 1.0, now)
                scope = ""
                drained = a < 2.0 or n < 2.0
        if scope:
            raise _too_many(wait, f"too many failed logins from this {scope}")
        if drained:
            self._log("login-throttled", client, found)

    def _refund(self, client: str, user: str) -> None:
        now = time.monotonic()
        with self._lock:
            for bucket, key in (
                (self._by_addr, f"addr:{client}"),
                (self._by_name, _name_key(user)),
            ):
                bucket.set(key, min(float(bucket.burst), bucket.level(key, now) + 1.0), now)

    def _log(self, action: str, client: str, found: Member | None) -> None:
        if self.audit is not None:
            event: dict[str, Any] = {"action": action, "source": client}
            event["member" if found else "unknown_member"] = found.name if found else True
            self.audit(event)


class LoginGate:
    """ASGI middleware: an address that spent its failed-login budget is answered 429 before
    routing, after ``config.login_tarpit`` seconds (an idle wait, no CPU).

    Password guessing then costs the hub almost nothing per guess and, on each connection,
    comes at most one guess per tarpit: a member already logged in (verified credentials)
    passes straight through, even from that address.
    """

    def __init__(self, app: Any, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or ())
            auth = headers.get(b"authorization", b"").decode("latin-1")
            client = scope["client"][0] if scope.get("client") else "-"
            wait = self.guard.spent(auth, client)
            if wait is not None:
                await asyncio.sleep(self.guard.config.login_tarpit)
                response = error_response(
                    _too_many(wait, "too many failed logins from this address")
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
