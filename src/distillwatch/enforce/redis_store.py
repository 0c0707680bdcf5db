"""Enforcement state in Redis, shared by several gateway replicas.

One Lua script per request reads the override, the sticky actions and the last action and
takes a token from the cluster's bucket, atomically and in one round trip, so two replicas
never both spend the cluster's last token. Every key carries a TTL (sticky actions and
overrides expire with the action, buckets after ``idle_ttl``, last actions after a day), so
Redis holds only live state.

When Redis cannot be reached, calls raise :class:`StoreUnavailable` quickly (short socket
timeouts, no client retries) and the store stops trying for ``retry_interval`` seconds, so a
dead Redis costs the request path almost nothing; the first call after that interval tries
again, which is how the gateway recovers by itself when Redis returns.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from distillwatch.enforce.decision import (
    Action,
    ActiveAction,
    BucketResult,
    Decision,
    EnforcementState,
)
from distillwatch.enforce.policy import ClusterLimit
from distillwatch.enforce.store import StoreUnavailable, sticky_action
from distillwatch.ingest.sources import redact

log = logging.getLogger("distillwatch.enforce")

# KEYS: override, account action, cluster action, last action, bucket
# ARGV: now (s), rate, burst, cost, idle ttl (ms), use bucket (0/1)
# Mirrors distillwatch.enforce.bucket.take; numbers go back as strings because Redis turns
# Lua numbers into integers.
_LOAD = """
local got = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
local allowed, level, retry = -1, 0, 0
if ARGV[6] == '1' then
  local now, rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
    tonumber(ARGV[4])
  local b = redis.call('HMGET', KEYS[5], 't', 'u')
  if b[1] then
    level = math.min(burst, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) * rate)
  else
    level = burst
  end
  if level >= cost then
    level = level - cost
    allowed = 1
  else
    allowed = 0
    retry = (cost - level) / rate
  end
  redis.call('HSET', KEYS[5], 't', tostring(level), 'u', ARGV[1])
  redis.call('PEXPIRE', KEYS[5], ARGV[5])
end
return {got[1] or '', got[2] or '', got[3] or '', got[4] or '', allowed, tostring(level),
  tostring(retry)}
"""

#: How long the last action of an account is remembered (to record only changes).
LAST_ACTION_TTL_MS = 86_400_000
AUDIT_MAXLEN = 100_000


class RedisStore:
    """:class:`~distillwatch.enforce.store.EnforcementStore` on Redis (``redis://...``)."""

    def __init__(
        self,
        url: str,
        prefix: str = "distillwatch:",
        timeout: float = 0.5,
        retry_interval: float = 1.0,
        max_connections: int = 32,
    ) -> None:
        #: the URL as it may be shown (logs, errors): a password in it is masked
        self.url = redact(url)
        self.prefix = prefix
        self.retry_interval = retry_interval
        # A bounded pool: a burst of requests waits for a connection instead of opening
        # hundreds at once (which would time out on a busy host and look like an outage).
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout * 4,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self.client: aioredis.Redis = aioredis.Redis(connection_pool=pool)
        self._script = self.client.register_script(_LOAD)
        self._down_until = 0.0
        #: False while Redis is unreachable; read by the gateway's metrics.
        self.available = True
        self.errors = 0

    def key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    async def load(
        self,
        account_id: str,
        cluster_id: str | None,
        now: float,
        limit: ClusterLimit | None = None,
        cost: float = 1.0,
    ) -> EnforcementState:
        use_bucket = limit is not None and cluster_id is not None
        keys = [
            self.key("override", account_id),
            self.key("action:a", account_id),
            self.key("action:c", cluster_id) if cluster_id else self.key("none", ""),
            self.key("last", account_id),
            self.key("bucket", cluster_id or ""),
        ]
        args: list[Any] = [repr(now), 0, 0, cost, 0, "0"]
        if use_bucket and limit is not None:
            args = [repr(now), limit.rate, limit.burst, cost, int(limit.idle_ttl * 1000), "1"]
        raw = await self._call(self._script(keys=keys, args=args))
        override, account, cluster, last, allowed, level, retry = raw
        bucket = None
        if int(allowed) >= 0:
            bucket = BucketResult(bool(int(allowed)), float(level), float(retry))
        return EnforcementState(
            override=_active(override),
            account_action=_active(account),
            cluster_action=_active(cluster) if cluster_id else None,
            cluster_bucket=bucket,
            last_action=Action(last.decode()) if last else None,
        )

    async def save(self, decision: Decision, now: float, audit: dict[str, Any] | None) -> None:
        pipe = self.client.pipeline(transaction=True)
        sticky = sticky_action(decision, now)
        if sticky is not None:
            ttl_ms = max(1, int((sticky.until - now) * 1000))
            value = orjson.dumps(sticky.to_dict())
            pipe.set(self.key("action:a", decision.account_id), value, px=ttl_ms)
            if decision.sticky_cluster and decision.cluster_id:
                pipe.set(self.key("action:c", decision.cluster_id), value, px=ttl_ms)
        last = self.key("last", decision.account_id)
        if decision.action is Action.ALLOW:
            pipe.delete(last)
        else:
            pipe.set(last, decision.action.value, px=LAST_ACTION_TTL_MS)
        if audit is not None:
            pipe.xadd(
                self.key("audit", "decisions"),
                {"json": orjson.dumps(audit)},
                maxlen=AUDIT_MAXLEN,
                approximate=True,
            )
        await self._call(pipe.execute())

    async def set_override(self, account_id: str, override: ActiveAction) -> None:
        ttl_ms = max(1, int((override.until - time.time()) * 1000))
        value = orjson.dumps(override.to_dict())
        await self._call(self.client.set(self.key("override", account_id), value, px=ttl_ms))

    async def clear_override(self, account_id: str) -> bool:
        return bool(await self._call(self.client.delete(self.key("override", account_id))))

    async def overrides(self, now: float) -> dict[str, ActiveAction]:
        found: dict[str, ActiveAction] = {}
        pattern = self.key("override", "*")
        start = len(self.key("override", ""))

        async def scan() -> None:
            async for key in self.client.scan_iter(match=pattern, count=500):
                active = _active(await self.client.get(key))
                if active is not None and active.active(now):
                    found[key.decode()[start:]] = active

        await self._call(scan())
        return found

    async def audit(self, count: int = 100) -> list[dict[str, Any]]:
        """The latest recorded changes of action, newest first."""
        rows = await self._call(self.client.xrevrange(self.key("audit", "decisions"), count=count))
        return [orjson.loads(fields[b"json"]) for _, fields in rows]

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, awaitable: Any) -> Any:
        """Await a Redis call; turn connection trouble into :class:`StoreUnavailable`."""
        if time.monotonic() < self._down_until:
            if hasattr(awaitable, "close"):
                awaitable.close()  # a coroutine we will not run
            raise StoreUnavailable(f"Redis at {self.url} is unavailable (retrying shortly)")
        try:
            result = await awaitable
        except (RedisError, OSError) as exc:
            self.errors += 1
            self._down_until = time.monotonic() + self.retry_interval
            if self.available:
                log.warning("Redis at %s unreachable: %s", self.url, exc)
            self.available = False
            raise StoreUnavailable(f"Redis at {self.url} is unavailable: {exc}") from exc
        if not self.available:
            log.warning("Redis at %s reachable again", self.url)
        self.available = True
        return result


def _active(raw: bytes | str | None) -> ActiveAction | None:
    if not raw:
        return None
    return ActiveAction.from_dict(orjson.loads(raw))
