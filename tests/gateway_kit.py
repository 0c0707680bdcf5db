"""Helpers shared by the gateway tests: keys, a gateway in front of the stub, its records."""

from __future__ import annotations

import asyncio
import http.client
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

from distillwatch.enforce import Action, ActiveAction
from distillwatch.gateway import Gateway, GatewayConfig, build_gateway
from distillwatch.gateway.stub import serve_in_thread

KEYS = """
[[key]]
id = "key_alice"
account = "acct_alice"
key = "sk-alice-secret"

[[key]]
id = "key_bob"
account = "acct_bob"
key = "sk-bob-secret"
"""
ALICE = {"authorization": "Bearer sk-alice-secret"}
BOB = {"authorization": "Bearer sk-bob-secret"}
CHAT = {"model": "m", "messages": [{"role": "user", "content": "name three primes"}]}


@contextmanager
def running(tmp_path: Path, upstream: str, **options: Any) -> Iterator[tuple[Gateway, str]]:
    """A gateway with the keys above and a log directory, served on loopback."""
    (tmp_path / "keys.toml").write_text(KEYS)
    options.setdefault("keys", tmp_path / "keys.toml")
    config = GatewayConfig(upstream=upstream, log_dir=tmp_path / "logs", **options)
    gw = build_gateway(config)
    with serve_in_thread(gw.app) as url:
        yield gw, url


def block(gw: Gateway, account: str, ref: str = "DW-TEST") -> None:
    entry = ActiveAction(Action.BLOCK, until=time.time() + 60, reasons=("desk",), reference_id=ref)
    asyncio.run(gw.store.set_override(account, entry))


def raw_request(
    url: str, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """A request with the path sent exactly as given (HTTP clients normalise ``..`` away)."""
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


def wait_until_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    """Wait for a server process to answer HTTP at ``url`` (any status); fail if it exits."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            assert proc.poll() is None, f"{proc.args!r} exited with {proc.returncode}"
            assert time.monotonic() < deadline, f"{url} did not answer in {seconds:g} s"
            time.sleep(0.1)


def records(directory: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for f in sorted(directory.glob("*.jsonl")) for line in f.open("rb")]


def traffic(gw: Gateway) -> list[dict[str, Any]]:
    assert gw.config.log_dir is not None
    return records(gw.config.log_dir / "traffic")
