"""Enforcement state: what the gateway must remember between requests.

Manual overrides, sticky actions of accounts and clusters, the last action of each account
(to record only changes) and the clusters' token buckets. :class:`MemoryStore` keeps them in
the process (one gateway); :class:`distillwatch.enforce.redis_store.RedisStore` shares them
between replicas. Both speak :class:`EnforcementStore`, so the enforcer does not care which.

The in-memory store takes manual overrides from an append-only JSON Lines file (written by
``distillwatch policy override``), re-read when it changes, so an operator can block an
account on a running single-process gateway without Redis.
"""

from __future__ import annotations

import os
import time
from collections import deque
from pathlib import Path
from typing import Any, Protocol

import orjson

from distillwatch.enforce.bucket import take
from distillwatch.enforce.decision import (
    Action,
    ActiveAction,
    Decision,
    EnforcementState,
)
from distillwatch.enforce.policy import ClusterLimit


class StoreUnavailable(RuntimeError):
    """The shared state cannot be reached; the gateway applies its fail-open/closed mode."""


class EnforcementStore(Protocol):
    async def load(
        self,
        account_id: str,
        cluster_id: str | None,
        now: float,
        limit: ClusterLimit | None = None,
        cost: float = 1.0,
    ) -> EnforcementState:
        """The state for one request; takes ``cost`` tokens from the cluster's bucket."""
        ...

    async def save(self, decision: Decision, now: float, audit: dict[str, Any] | None) -> None:
        """Remember what the decision asks (sticky actions, last action) and audit it."""
        ...

    async def set_override(self, account_id: str, override: ActiveAction) -> None: ...

    async def clear_override(self, account_id: str) -> bool: ...

    async def overrides(self, now: float) -> dict[str, ActiveAction]: ...

    async def close(self) -> None: ...


def sticky_action(decision: Decision, now: float) -> ActiveAction | None:
    """The sticky action a decision asks to remember, if any."""
    if decision.sticky_until is None or decision.sticky_until <= now:
        return None
    return ActiveAction(
        action=decision.action,
        until=decision.sticky_until,
        reasons=decision.reasons,
        reference_id=decision.reference_id,
        retry_after=decision.retry_after,
        source=decision.source,
        set_at=now,
    )


class OverrideFile:
    """Manual overrides as an append-only JSON Lines file of ``set``/``clear`` events."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._mtime: float | None = None
        self._cache: dict[str, ActiveAction] = {}

    def append(self, op: str, account_id: str, override: ActiveAction | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        event: dict[str, Any] = {"op": op, "account_id": account_id}
        if override is not None:
            event.update(override.to_dict())
        with self.path.open("ab") as fh:  # one small O_APPEND write per event
            fh.write(orjson.dumps(event) + b"\n")

    def read(self) -> dict[str, ActiveAction]:
        """Current overrides (expired ones included); cached until the file changes."""
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return {}
        if mtime != self._mtime:
            self._cache = self._parse()
            self._mtime = mtime
        return self._cache

    def _parse(self) -> dict[str, ActiveAction]:
        current: dict[str, ActiveAction] = {}
        for n, line in enumerate(self.path.read_bytes().splitlines(), 1):
            if not line.strip():
                continue
            try:
                event = orjson.loads(line)
                account = str(event["account_id"])
                if event["op"] == "set":
                    current[account] = ActiveAction.from_dict(event)
                else:
                    current.pop(account, None)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{self.path}:{n}: not an override event ({exc})") from exc
        return current


class MemoryStore:
    """State in this process: fast (no I/O on the request path) but not shared."""

    #: How often (seconds) the overrides file is checked for changes.
    OVERRIDE_POLL = 1.0
    #: Recent changes of action kept for inspection (the durable record is decisions.jsonl).
    AUDIT_SIZE = 10_000
    #: Expired entries are swept once per this many requests.
    SWEEP_EVERY = 50_000

    def __init__(self, overrides_file: Path | None = None) -> None:
        self._file = OverrideFile(overrides_file) if overrides_file else None
        self._overrides: dict[str, ActiveAction] = {}
        self._file_overrides: dict[str, ActiveAction] = {}
        self._checked = 0.0
        self._sticky: dict[str, ActiveAction] = {}  # "a:<account>" / "c:<cluster>"
        self._last: dict[str, Action] = {}  # only accounts whose last action is not allow
        self._buckets: dict[str, tuple[float, float]] = {}  # cluster -> (tokens, updated)
        self.audit: deque[dict[str, Any]] = deque(maxlen=self.AUDIT_SIZE)
        self._loads = 0

    async def load(
        self,
        account_id: str,
        cluster_id: str | None,
        now: float,
        limit: ClusterLimit | None = None,
        cost: float = 1.0,
    ) -> EnforcementState:
        return self.load_now(account_id, cluster_id, now, limit, cost)

    def load_now(
        self,
        account_id: str,
        cluster_id: str | None,
        now: float,
        limit: ClusterLimit | None = None,
        cost: float = 1.0,
    ) -> EnforcementState:
        """:meth:`load` without the coroutine, for replay and benchmarks."""
        self._loads += 1
        if self._loads % self.SWEEP_EVERY == 0:
            self._sweep(now, limit)
        bucket = None
        if limit is not None and cluster_id is not None:
            tokens, updated = self._buckets.get(cluster_id, (None, now))
            level, bucket = take(tokens, updated, now, limit.rate, limit.burst, cost)
            self._buckets[cluster_id] = (level, now)
        return EnforcementState(
            override=self._override(account_id),
            account_action=self._active(f"a:{account_id}", now),
            cluster_action=self._active(f"c:{cluster_id}", now) if cluster_id else None,
            cluster_bucket=bucket,
            last_action=self._last.get(account_id),
        )

    async def save(self, decision: Decision, now: float, audit: dict[str, Any] | None) -> None:
        self.save_now(decision, now, audit)

    def save_now(self, decision: Decision, now: float, audit: dict[str, Any] | None) -> None:
        sticky = sticky_action(decision, now)
        if sticky is not None:
            self._sticky[f"a:{decision.account_id}"] = sticky
            if decision.sticky_cluster and decision.cluster_id:
                self._sticky[f"c:{decision.cluster_id}"] = sticky
        if decision.action is Action.ALLOW:
            self._last.pop(decision.account_id, None)
        else:
            self._last[decision.account_id] = decision.action
        if audit is not None:
            self.audit.append(audit)

    async def set_override(self, account_id: str, override: ActiveAction) -> None:
        if self._file is not None:
            self._file.append("set", account_id, override)
            self._checked = 0.0
        else:
            self._overrides[account_id] = override

    async def clear_override(self, account_id: str) -> bool:
        had = account_id in await self.overrides(time.time())
        if self._file is not None:
            self._file.append("clear", account_id)
            self._checked = 0.0
        self._overrides.pop(account_id, None)
        return had

    async def overrides(self, now: float) -> dict[str, ActiveAction]:
        self._refresh(force=True)
        merged = {**self._file_overrides, **self._overrides}
        return {k: v for k, v in merged.items() if v.active(now)}

    async def close(self) -> None:
        return None

    def _override(self, account_id: str) -> ActiveAction | None:
        self._refresh()
        return self._overrides.get(account_id) or self._file_overrides.get(account_id)

    def _refresh(self, force: bool = False) -> None:
        if self._file is None:
            return
        clock = time.monotonic()
        if force or clock - self._checked >= self.OVERRIDE_POLL:
            self._checked = clock
            self._file_overrides = self._file.read()

    def _sweep(self, now: float, limit: ClusterLimit | None) -> None:
        """Forget expired sticky actions and idle buckets, as Redis TTLs do: memory then
        follows the accounts and clusters that are active, not all ever seen."""
        for key in [k for k, v in self._sticky.items() if not v.active(now)]:
            del self._sticky[key]
        idle = limit.idle_ttl if limit is not None else 3600.0
        for key in [k for k, (_, updated) in self._buckets.items() if now - updated > idle]:
            del self._buckets[key]

    def _active(self, key: str, now: float) -> ActiveAction | None:
        found = self._sticky.get(key)
        if found is not None and not found.active(now):
            del self._sticky[key]
            return None
        return found
