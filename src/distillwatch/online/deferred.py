"""The online engine behind a gateway: decide now, learn the request a moment later.

Signals are computed per batch (milliseconds for one request, microseconds each in a batch of
hundreds), and a gateway must answer in well under a millisecond. So the gateway's assessor
answers from what the engine already knows about the account and its cluster -- every
request *before* this one -- and queues the request; a background thread enriches the queue
in micro-batches and feeds the engine in arrival order. Decisions therefore never use a
record later than the request itself (the replay contract), and lag the request's own
signals by one micro-batch interval.

The request path never waits for the background thread: the queue is a ``deque`` (appends
and pops are atomic) and the assessment is read from the engine without a lock. Under the
GIL every dictionary read is atomic, so the worst a read racing a batch can see is the
account as it was a few requests earlier -- the same staleness the design already accepts.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from distillwatch.enforce.assessment import Assessment
from distillwatch.ingest.orphans import die_with
from distillwatch.online.engine import OnlineEngine, enrich_records

log = logging.getLogger("distillwatch.online")


class DeferredAssessor:
    """An enforcement ``Assessor`` over an :class:`OnlineEngine`, learning in the background."""

    def __init__(
        self,
        engine: OnlineEngine | None = None,
        interval: float = 0.05,
        start: bool = True,
        enricher: Executor | None = None,
    ) -> None:
        self.engine = engine or OnlineEngine()
        self.interval = interval
        #: where signals are computed (``None``: on the learner thread itself)
        self.enricher = enricher
        self.invalid = 0
        self._queue: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()  # one learner at a time (background thread or flush)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if start:
            self._thread = threading.Thread(
                target=self._run, name="distillwatch-engine", daemon=True
            )
            self._thread.start()

    def assess(self, record: Mapping[str, Any]) -> Assessment:
        assessment = self.engine.current(str(record.get("account_id", "")))
        self._queue.append(dict(record))
        return assessment

    def flush(self) -> int:
        """Learn every queued request now; returns how many were learned."""
        with self._lock:
            batch = [self._queue.popleft() for _ in range(len(self._queue))]
            if not batch:
                return 0
            if self.enricher is None:
                rows, problems = enrich_records(batch)
            else:  # the thread waits without holding the interpreter
                rows, problems = self.enricher.submit(enrich_records, batch).result()
            if problems:
                self.invalid += len(problems)
                log.warning("%d requests not learned (invalid): %s", len(problems), problems[0])
            for row in rows:
                self.engine.observe(row)
                # hand the interpreter to the request thread if it waits: a batch of
                # judgements in one go kept it waiting ~2 ms (p99; 0.8 ms with this)
                time.sleep(0)
            return len(rows)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
        if self.enricher is not None:
            self.enricher.shutdown()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # the gateway must keep answering; the error is logged
                log.exception("online engine failed to learn a batch")


def for_gateway(keys: object = None) -> DeferredAssessor:
    """The online engine (rules and learned model) learning in the background, as the gateway
    runs it (``--assessor online``, and half of the default).

    The model and the signal classifiers load here, before the first request: loaded on the
    learner thread's first judgement, the imports would hold the interpreter for seconds
    while requests wait."""
    from distillwatch.detect import calibrated
    from distillwatch.detect.learned import ONLINE_MODEL_FILE, load_model

    load_model(ONLINE_MODEL_FILE)
    calibrated.load()
    return DeferredAssessor(OnlineEngine(), enricher=signal_worker())


def signal_worker() -> ProcessPoolExecutor:
    """A process that computes signals for the learner, warmed up and ready.

    Signals cost ~0.3 ms of CPU per request in micro-batches of ~25 (0.8 ms before
    ``signals.rematch``), in bursts that made requests wait for the interpreter: in their own
    process they cost the gateway only the records' pickling. ``forkserver``:
    forking the gateway itself, with its threads, could copy a held lock into the child.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["distillwatch.online.engine", "distillwatch.signals"])
    worker = ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=die_with, initargs=(os.getpid(),)
    )
    worker.submit(enrich_records, [_WARM_UP]).result()
    return worker


#: One valid record, enriched at start-up so that every signal's resources are loaded.
_WARM_UP: dict[str, Any] = {
    "ts": "2026-01-01T00:00:00Z",
    "account_id": "warm-up",
    "request_id": "warm-up",
    "endpoint": "chat",
    "model": "warm-up",
    "messages": [{"role": "user", "content": "Explain step by step: what is 2 + 2?"}],
}
