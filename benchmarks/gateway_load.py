"""The gateway benchmark's load generator: open-loop HTTP/1.1 load on loopback URLs.

Run by ``bench_gateway.py load --target URL@RATE ...`` in a process of its own (see
``gateway_proxy._drive``), so the generator's own work does not share a core's time with
the stub or the gateway it measures. Request ``i`` starts at ``t0 + i / rate`` whatever the
latency, over keep-alive connections; ``pct`` is the percentile both benchmarks report.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import socket
import time

BODY = json.dumps(
    {"model": "stub-model", "messages": [{"role": "user", "content": "Name three primes."}]}
).encode()


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank), as both benchmarks report it."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _one(pool: asyncio.Queue, host: str, port: int, request: bytes) -> tuple[float, int]:
    try:
        reader, writer = pool.get_nowait()
    except asyncio.QueueEmpty:
        reader, writer = await asyncio.open_connection(host, port)
        writer.transport.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )
    start = time.perf_counter()
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    await reader.readexactly(length)
    elapsed = time.perf_counter() - start
    pool.put_nowait((reader, writer))
    return elapsed, status


async def _drive_one(url: str, rate: float, seconds: float, warmup: float) -> dict[str, float]:
    """Open-loop load on one URL: request ``i`` starts at ``t0 + i / rate``, however long the
    earlier ones take (so a slow server meets a queue, as it would in production)."""
    host, port = url.split("//")[1].split(":")
    # 2,000 keys (each its own account): ordinary traffic the policy lets through, so the
    # whole forwarding path is measured, not the cheap refusals of one key sending 500/s
    requests = [
        (
            f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}\r\n"
            f"authorization: Bearer bench-key-{k}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(BODY)}\r\n\r\n"
        ).encode()
        + BODY
        for k in range(2000)
    ]
    pool: asyncio.Queue = asyncio.Queue()
    results: list[tuple[float, int]] = []
    tasks = []
    total = int((seconds + warmup) * rate)
    t0 = time.perf_counter() + 0.1

    async def fire(i: int) -> None:
        elapsed, status = await _one(pool, host, int(port), requests[i % len(requests)])
        if i >= warmup * rate:
            results.append((elapsed, status))

    for i in range(total):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(i)))
    await asyncio.gather(*tasks)
    latencies = [r[0] * 1000 for r in results]
    return {
        "n": len(results),
        "errors": sum(1 for r in results if r[1] != 200),
        "p50": pct(latencies, 0.5),
        "p90": pct(latencies, 0.9),
        "p99": pct(latencies, 0.99),
        "p999": pct(latencies, 0.999),
        "achieved": len(results) / seconds,
    }


async def _load(targets: list[tuple[str, float]], seconds: float, warmup: float) -> list[dict]:
    """Drive every (url, rate) target at once, so all see the same moment of the machine."""
    return list(await asyncio.gather(*(_drive_one(u, r, seconds, warmup) for u, r in targets)))


def load_main(targets: list[str], seconds: float, warmup: float) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    gc.disable()  # the generator's own pauses would show up as latency
    parsed = [(t.rsplit("@", 1)[0], float(t.rsplit("@", 1)[1])) for t in targets]
    print(json.dumps(asyncio.run(_load(parsed, seconds, warmup))))
