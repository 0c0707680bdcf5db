"""Uploaded objects validated in a worker process, one upload per member at a time.

The OASIS validator costs ~10 ms of CPU per object and holds the interpreter while it runs.
In the hub's own process one member's uploads of 2,000 valid objects slowed every other
member's reads 7× (two uploads at once) to 9× (six): a competitor could starve the group
without sending one invalid byte. In a worker process the hub pays only for sending the
upload's bytes; and since each member has at most one upload in validation (another is a
429), one member cannot queue the worker for everyone else.

The pool is per hub process and started on first use (``forkserver``: forking the hub with
its threads could copy a held lock into the child); its worker ends with the hub
(:func:`distillwatch.ingest.orphans.die_with`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager

import orjson

from distillwatch.ingest.orphans import die_with
from distillwatch.share.server.taxii import TaxiiError
from distillwatch.share.validate import oasis_problems, structural_errors

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def problems_of(body: bytes, strict: bool) -> list[str | None]:
    """Why each object of an envelope (already known to parse) may not be stored, or None.

    Structure first (cheap, and it bounds nesting before the validator recurses), then the
    OASIS validator: in strict mode its warnings count too."""
    out: list[str | None] = []
    for obj in orjson.loads(body)["objects"]:
        why = structural_errors(obj)
        if why is None:
            problems = [
                p for p in oasis_problems([obj], strict=strict) if strict or p.severity == "error"
            ]
            why = "; ".join(p.message for p in problems[:5]) or None
        out.append(why)
    return out


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["distillwatch.share.validate", "stix2validator"])
            _pool = ProcessPoolExecutor(
                max_workers=1, mp_context=context, initializer=die_with, initargs=(os.getpid(),)
            )
        return _pool


def warm_up() -> None:
    """Start the worker and load the validator now, not during the first upload."""
    _executor().submit(problems_of, b'{"objects": []}', True).result()


def shutdown() -> None:
    """Stop the worker (the hub is shutting down); the next upload would start another."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


async def check(body: bytes, strict: bool) -> list[str | None]:
    """:func:`problems_of` in the worker process (a new one if the last one died)."""
    global _pool
    loop = asyncio.get_running_loop()
    pool = _executor()
    try:
        return await loop.run_in_executor(pool, problems_of, body, strict)
    except BrokenProcessPool:  # killed (out of memory, by hand): start another, once
        with _pool_lock:
            if _pool is pool:
                _pool = None
        return await loop.run_in_executor(_executor(), problems_of, body, strict)


class Uploads:
    """At most one upload per member in validation and storage at a time."""

    def __init__(self) -> None:
        self._busy: set[str] = set()

    @asynccontextmanager
    async def slot(self, member: str) -> AsyncIterator[None]:
        if member in self._busy:  # one event loop: no lock needed between check and add
            raise TaxiiError(
                429,
                "too many requests",
                f"{member} has an upload in progress: send the next when it is answered",
                {"Retry-After": "1"},
            )
        self._busy.add(member)
        try:
            yield
        finally:
            self._busy.discard(member)
