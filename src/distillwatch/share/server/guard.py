"""Who is asking, and may they? HTTP Basic credentials per member, and a token bucket each.

The bucket is keyed by member once known and by client address before that, so guessing
passwords is throttled like everything else. Verified credentials are remembered (as a hash
of the password, for ``CACHE_SECONDS``) so scrypt runs once per client, not per request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from dataclasses import dataclass, field

from distillwatch.share.server.config import Member, ServerConfig, check_password
from distillwatch.share.server.taxii import TaxiiError

CACHE_SECONDS = 300.0


def take(tokens: float, last: float, now: float, rate: float, burst: int) -> tuple[bool, float]:
    """One token-bucket step: (allowed, tokens left), refilling ``rate`` per second."""
    tokens = min(float(burst), tokens + (now - last) * rate)
    if tokens >= 1.0:
        return True, tokens - 1.0
    return False, tokens


@dataclass
class Guard:
    config: ServerConfig
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _verified: dict[tuple[str, str], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def throttle(self, key: str, spend: bool = True) -> None:
        """Take a token from ``key``'s bucket (or only check one is left), else 429."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.config.burst), now))
            ok, left = take(tokens, last, now, self.config.rate, self.config.burst)
            if spend:
                tokens = left
            self._buckets[key] = (
                tokens
                if spend
                else min(float(self.config.burst), tokens + (now - last) * self.config.rate),
                now,
            )
        if not ok:
            wait = max(1, int((1.0 - tokens) / self.config.rate) + 1)
            raise TaxiiError(
                429,
                "too many requests",
                f"rate limit: retry in {wait} s",
                {"Retry-After": str(wait)},
            )

    def member(self, authorization: str | None, client: str) -> Member:
        """The authenticated member, or a 401; failures count against the client's address."""
        self.throttle(f"addr:{client}", spend=False)
        try:
            found = self._authenticate(authorization)
        except TaxiiError:
            self.throttle(f"addr:{client}")
            raise
        self.throttle(f"member:{found.name}")
        return found

    def _authenticate(self, authorization: str | None) -> Member:
        challenge = {"WWW-Authenticate": 'Basic realm="distillwatch TAXII"'}
        if not authorization or not authorization.lower().startswith("basic "):
            raise TaxiiError(
                401,
                "authentication required",
                "use HTTP Basic with your member credentials",
                challenge,
            )
        try:
            user, _, password = (
                base64.b64decode(authorization[6:].strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise TaxiiError(
                401, "authentication required", "malformed Basic credentials", challenge
            ) from exc
        found = self.config.members.get(user)
        key = (user, hashlib.sha256(password.encode()).hexdigest())
        now = time.monotonic()
        if found is None or not (
            self._verified.get(key, 0.0) > now or check_password(password, found.password_hash)
        ):
            raise TaxiiError(
                401, "authentication failed", "unknown member or wrong password", challenge
            )
        self._verified[key] = now + CACHE_SECONDS
        return found
