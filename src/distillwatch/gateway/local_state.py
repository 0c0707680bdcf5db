"""A local copy of the active overrides and sticky actions, for when Redis is down.

Failing open means deciding without the shared state — and before this copy, without the
blocks in it: an account blocked a minute ago was allowed again for as long as Redis was
unreachable. :class:`MirroredStore` wraps the shared store, remembers every active action it
loads or saves (and, every few seconds, the whole override list), and marks the requests whose
load failed; :meth:`MirroredStore.apply` then holds those requests to the actions still in
force in the copy. What the copy cannot know is what other replicas decided while the store
was down, so it narrows the gap of failing open; it does not close it.

Memory follows the active actions only (expired entries are swept; the copy is capped).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import logging
import time
from typing import Any

from distillwatch.enforce.decision import ActiveAction, Decision, EnforcementState
from distillwatch.enforce.policy import ClusterLimit
from distillwatch.enforce.store import EnforcementStore, StoreUnavailable, sticky_action

log = logging.getLogger("distillwatch.gateway")

#: True in a request's context once its state load failed (set by the store, read by apply).
_DEGRADED: contextvars.ContextVar[bool] = contextvars.ContextVar("distillwatch_degraded")
NOTE = "held from the gateway's local copy (enforcement state unavailable)"


class MirroredStore:
    """An :class:`~distillwatch.enforce.store.EnforcementStore` that keeps a local copy."""

    def __init__(self, inner: EnforcementStore, max_entries: int = 200_000) -> None:
        self.inner = inner
        self.max_entries = max_entries
        #: ``o:<account>`` overrides, ``a:<account>`` and ``c:<cluster>`` sticky actions
        self.copy: dict[str, ActiveAction] = {}
        #: requests decided from the copy while the store was down
        self.held = 0
        self._task: asyncio.Task[None] | None = None

    async def load(
        self,
        account_id: str,
        cluster_id: str | None,
        now: float,
        limit: ClusterLimit | None = None,
        cost: float = 1.0,
    ) -> EnforcementState:
        try:
            state = await self.inner.load(account_id, cluster_id, now, limit, cost)
        except StoreUnavailable:
            _DEGRADED.set(True)
            raise
        self._put(f"o:{account_id}", state.override)
        self._put(f"a:{account_id}", state.account_action)
        if cluster_id:
            self._put(f"c:{cluster_id}", state.cluster_action)
        return state

    async def save(self, decision: Decision, now: float, audit: dict[str, Any] | None) -> None:
        sticky = sticky_action(decision, now)
        if sticky is not None:
            self._put(f"a:{decision.account_id}", sticky)
            if decision.sticky_cluster and decision.cluster_id:
                self._put(f"c:{decision.cluster_id}", sticky)
        await self.inner.save(decision, now, audit)

    async def set_override(self, account_id: str, override: ActiveAction) -> None:
        await self.inner.set_override(account_id, override)
        self._put(f"o:{account_id}", override)

    async def clear_override(self, account_id: str) -> bool:
        self.copy.pop(f"o:{account_id}", None)
        return await self.inner.clear_override(account_id)

    async def overrides(self, now: float) -> dict[str, ActiveAction]:
        return await self.inner.overrides(now)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.inner.close()

    def start(self, interval: float = 5.0) -> None:
        """Refresh the copy of every override every ``interval`` seconds (in the event loop)."""
        self._task = asyncio.ensure_future(self._refresh(interval))

    async def _refresh(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(StoreUnavailable):
                current = await self.inner.overrides(time.time())
                for key in [k for k in self.copy if k.startswith("o:")]:
                    if key[2:] not in current:
                        del self.copy[key]
                for account, override in current.items():
                    self._put(f"o:{account}", override)

    def apply(self, decision: Decision, now: float) -> Decision:
        """``decision``, held to the copy's actions if this request's state load failed."""
        if not _DEGRADED.get(False) or decision.source == "unavailable":
            return decision
        _DEGRADED.set(False)
        override = self._active(f"o:{decision.account_id}", now)
        if override is not None:
            return self._held(decision, override, "override")
        best: tuple[ActiveAction, str] | None = None
        for key, source in ((f"a:{decision.account_id}", "account"),
                            (f"c:{decision.cluster_id}", "cluster")):  # fmt: skip
            found = self._active(key, now) if not key.endswith(":None") else None
            if found is not None and (best is None or found.action.rank > best[0].action.rank):
                best = (found, source)
        if best is None or best[0].action.rank <= decision.action.rank:
            return decision
        return self._held(decision, *best)

    def _held(self, decision: Decision, active: ActiveAction, source: str) -> Decision:
        self.held += 1
        return dataclasses.replace(
            decision,
            action=active.action,
            reasons=(NOTE, *active.reasons, *decision.reasons),
            reference_id=active.reference_id,
            retry_after=active.retry_after,
            source=source,
            sticky_until=None,
            changed=False,
        )

    def _active(self, key: str, now: float) -> ActiveAction | None:
        found = self.copy.get(key)
        return found if found is not None and found.active(now) else None

    def _put(self, key: str, active: ActiveAction | None) -> None:
        if active is None:
            self.copy.pop(key, None)
            return
        if len(self.copy) >= self.max_entries and key not in self.copy:
            self._sweep()
        self.copy[key] = active

    def _sweep(self) -> None:
        now = time.time()
        for key in [k for k, v in self.copy.items() if not v.active(now)]:
            del self.copy[key]
        while len(self.copy) >= self.max_entries:  # still full: forget the oldest
            del self.copy[next(iter(self.copy))]
