"""The online engine behind a gateway: decide now, learn the request a moment later.

Signals are computed per batch (milliseconds for one request, microseconds each in a batch of
hundreds), and a gateway must answer in well under a millisecond. So the gateway's assessor
answers from what the engine already knows about the account and its cluster -- every
request *before* this one -- and queues the request; a background thread enriches the queue
in micro-batches and feeds the engine in arrival order. Decisions therefore never use a
record later than the request itself (the replay contract), and lag the request's own
signals by one micro-batch interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from distillwatch.enforce.assessment import Assessment
from distillwatch.online.engine import OnlineEngine, enrich_records

log = logging.getLogger("distillwatch.online")


class DeferredAssessor:
    """An enforcement ``Assessor`` over an :class:`OnlineEngine`, learning in the background."""

    def __init__(
        self, engine: OnlineEngine | None = None, interval: float = 0.05, start: bool = True
    ) -> None:
        self.engine = engine or OnlineEngine()
        self.interval = interval
        self.invalid = 0
        self._queue: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # guards the queue and the engine
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if start:
            self._thread = threading.Thread(
                target=self._run, name="distillwatch-engine", daemon=True
            )
            self._thread.start()

    def assess(self, record: Mapping[str, Any]) -> Assessment:
        with self._lock:
            self._queue.append(dict(record))
            return self.engine.current(str(record.get("account_id", "")))

    def flush(self) -> int:
        """Learn every queued request now; returns how many were learned."""
        with self._lock:
            batch, self._queue = self._queue, []
        if not batch:
            return 0
        rows, problems = enrich_records(batch)
        if problems:
            self.invalid += len(problems)
            log.warning("%d requests not learned (invalid): %s", len(problems), problems[0])
        with self._lock:
            for row in rows:
                self.engine.observe(row)
        return len(rows)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # the gateway must keep answering; the error is logged
                log.exception("online engine failed to learn a batch")


def for_gateway(keys: object = None) -> DeferredAssessor:
    """Factory for ``distillwatch gateway --assessor distillwatch.online.deferred:for_gateway``:
    the online engine (rules and learned model) learning in the background."""
    return DeferredAssessor(OnlineEngine())
