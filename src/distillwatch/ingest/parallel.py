"""An order-keeping, memory-bounded map over worker processes.

``multiprocessing.Pool.imap`` would do, except that it drains its input eagerly: given a 200 MB
log it reads every chunk into the task queue before the first result is back. Here at most
``window`` chunks are in flight, and results come back in input order, so output is
deterministic and "the first bad record" in strict mode is the first in file order.

Workers are started with ``forkserver`` (never ``fork``): the parent has Arrow's thread pools
running, and forking a threaded process can deadlock. Workers end with the process that
started them (:mod:`.orphans`), so a killed scan leaves nothing running.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import forkserver
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import TypeVar

from distillwatch.ingest.orphans import die_with

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Worker processes worth starting: the CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def ordered_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    window: int | None = None,
    start: str = "forkserver",
    warm: tuple[str, ...] = (),
) -> Generator[R, None, None]:
    """``map(fn, items)`` on ``workers`` processes, in order, with ``window`` items in flight.

    With ``workers <= 1`` it is plain ``map`` in this process (no start-up cost, easy to
    profile). ``fn`` must be a module-level function and items and results must pickle.
    ``start="fork"`` is for a caller whose workers must inherit its memory and that runs no
    threads. A worker that dies (killed, out of memory) raises ``BrokenProcessPool`` here
    instead of leaving the caller waiting. ``warm`` names modules whose import readies a
    worker (imports, compiled pattern sets): see :func:`_warm_server`.
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    limit = window or workers * 2
    context = multiprocessing.get_context(start)
    stop_server = _warm_server(context, warm) if start == "forkserver" and warm else None
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=die_with, initargs=(os.getpid(),)
    )
    pending: deque[Future[R]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if stop_server is not None:
            stop_server()


def _warm_server(context: BaseContext, warm: tuple[str, ...]) -> Callable[[], None] | None:
    """Have the forkserver import ``warm`` before it forks the workers, so that they start
    ready instead of each paying for it (on the demo log about 2.5 CPU s per worker for a
    scan's workers: imports, two Hyperscan compilations, lookup tables); returns the call
    that stops that server again, or None when one already runs (it is left as it is).

    Stopped at the end because a warm server holds what it imported (≈ 240 MB for a
    scan's) for as long as this process lives, and the memory is wanted by the stages that
    follow -- unless it still has children: another pool of this process (the online
    signal worker, the share checker) started workers from it meanwhile, and stopping the
    server would break that pool; then it stays. The preload list set before (by
    ``online.deferred`` for one) is kept and given back. Uses the standard library's
    forkserver handle, which is not public: where it is missing, nothing is preloaded.
    """
    server = getattr(forkserver, "_forkserver", None)
    if server is None or getattr(server, "_forkserver_pid", 0) is not None:
        return None
    lock = getattr(server, "_lock", None)
    stop = getattr(server, "_stop_unlocked", None)
    previous = getattr(server, "_preload_modules", None)
    if lock is None or stop is None or not isinstance(previous, list):
        return None
    context.set_forkserver_preload([*previous, *warm])

    def stop_server() -> None:
        context.set_forkserver_preload(previous)
        with lock:
            pid = server._forkserver_pid
            if pid is not None and not _children(pid):
                stop()

    return stop_server


def _children(pid: int) -> bool:
    """Whether process ``pid`` has live children (True when that cannot be read)."""
    try:
        return bool(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    except OSError:
        return True
