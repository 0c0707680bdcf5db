"""Where the gateway's records go: rotating JSON Lines files and NATS JetStream.

Files are the durable, ``scan``-ready record (``distillwatch scan DIR`` reads the whole
directory); JetStream lets other services (a central online engine, a SIEM) follow the
stream live. Publishing to NATS never holds up a request: records wait in a bounded queue
drained by a background task, and are counted as dropped when it is full or NATS fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

log = logging.getLogger("distillwatch.gateway")


class RotatingJsonl:
    """Appends one JSON object per line; starts a new file past ``max_bytes`` or ``max_age``.

    File names sort in time order (``traffic-20260201T120000Z-0001.jsonl``), and each line is
    flushed as written, so a crash loses at most the line being written.
    """

    def __init__(
        self,
        directory: Path,
        prefix: str = "traffic",
        max_bytes: int = 256 * 1024 * 1024,
        max_age: float = 3600.0,
    ) -> None:
        self.directory = Path(directory)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.directory.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] | None = None
        self._size = 0
        self._opened = 0.0
        self._serial = 0
        self.records = 0

    @property
    def path(self) -> Path | None:
        return Path(self._fh.name) if self._fh is not None else None

    def write(self, record: dict[str, Any]) -> None:
        line = orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"
        now = time.time()
        if (
            self._fh is None
            or self._size + len(line) > self.max_bytes
            or now - self._opened >= self.max_age
        ):
            self._rotate(now)
        assert self._fh is not None
        self._fh.write(line)
        self._fh.flush()
        self._size += len(line)
        self.records += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def _rotate(self, now: float) -> None:
        self.close()
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
        while True:
            self._serial += 1
            path = self.directory / f"{self.prefix}-{stamp}-{self._serial:04d}.jsonl"
            if not path.exists():
                break
        self._fh = path.open("ab")
        self._size = 0
        self._opened = now


class NatsSink:
    """Publishes records to a JetStream subject, creating the stream when missing."""

    def __init__(
        self,
        url: str,
        subject: str = "distillwatch.traffic",
        stream: str = "DISTILLWATCH_TRAFFIC",
        queue_size: int = 10_000,
    ) -> None:
        self.url = url
        self.subject = subject
        self.stream = stream
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self._nc: Any = None
        self.published = 0
        self.dropped = 0

    async def start(self) -> None:
        import nats
        from nats.js.errors import BadRequestError

        try:
            self._nc = await nats.connect(
                self.url, connect_timeout=2, max_reconnect_attempts=-1, allow_reconnect=True
            )
        except Exception as exc:
            raise ConnectionError(f"cannot connect to NATS at {self.url}: {exc}") from exc
        js = self._nc.jetstream()
        with contextlib.suppress(BadRequestError):  # exists with another config: use as is
            await js.add_stream(name=self.stream, subjects=[self.subject])
        self._task = asyncio.create_task(self._drain(js))

    def write(self, record: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(orjson.dumps(record))
        except asyncio.QueueFull:
            self.dropped += 1

    async def close(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout=5)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._nc is not None:
            await self._nc.close()

    async def _drain(self, js: Any) -> None:
        while True:
            data = await self._queue.get()
            try:
                await js.publish(self.subject, data)
                self.published += 1
            except Exception as exc:  # NATS down or no ack: count it, keep serving
                if self.dropped == 0:
                    log.warning("NATS publish to %s failed: %s", self.subject, exc)
                self.dropped += 1
            finally:
                self._queue.task_done()
