"""Gateways sharing enforcement state through Redis, and what happens when Redis goes away.

Shared state runs against the local Redis (127.0.0.1:6379) with a unique key prefix; loss and
recovery against a ``redis-server`` this test starts, stops and starts again on a free port.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

httpx = pytest.importorskip("httpx")
redis = pytest.importorskip("redis")
pytest.importorskip("uvicorn")

from distillwatch.cli import app as cli  # noqa: E402
from distillwatch.enforce import Assessment  # noqa: E402
from distillwatch.gateway import GatewayConfig, build_gateway  # noqa: E402
from distillwatch.gateway.stub import serve_in_thread, stub_app  # noqa: E402
from test_enforce_redis import URL as LOCAL  # noqa: E402
from test_enforce_redis import prefix  # noqa: E402, F401  (the fixture: a unique key prefix)

KEYS = (
    "".join(
        f'[[key]]\nid = "k{i}"\naccount = "acct_{i}"\nkey = "sk-{i}"\ncluster = "C-ring"\n'
        for i in range(4)
    )
    + '[[key]]\nid = "kb"\naccount = "acct_bob"\nkey = "sk-bob"\n'
)
POLICY = """
[cluster_limit]
rate = 0.001
burst = 4

[[rule]]
name = "high"
action = "block"
min_score = 0.9
ttl = "1h"
"""
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with serve_in_thread(stub_app()) as url:
        yield url


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "keys.toml").write_text(KEYS)
    (tmp_path / "policy.toml").write_text(POLICY)
    return tmp_path


def post(url: str, key: str) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        json=CHAT,
        headers={"authorization": f"Bearer {key}"},
        timeout=10,
    )


class Suspicious:
    """An assessor that finds acct_0 highly suspicious (as only one replica's engine might)."""

    def assess(self, record):
        return Assessment(
            record["account_id"],
            score=0.95 if record["account_id"] == "acct_0" else 0,
            distinctive=True,
        )


def test_two_gateways_share_budgets_blocks_and_overrides(upstream, files, prefix) -> None:  # noqa: F811
    common = dict(upstream=upstream, policy=files / "policy.toml", keys=files / "keys.toml")
    a = build_gateway(GatewayConfig(**common, redis=LOCAL, redis_prefix=prefix), Suspicious())
    b = build_gateway(GatewayConfig(**common, redis=LOCAL, redis_prefix=prefix))
    with serve_in_thread(a.app) as url_a, serve_in_thread(b.app) as url_b:
        # one cluster budget of 4 across both replicas and four linked accounts
        ring = [post((url_a, url_b)[i % 2], f"sk-{1 + i % 3}").status_code for i in range(8)]
        assert ring == [200] * 4 + [429] * 4
        # a sticky block decided on replica A holds on replica B, with the same reference
        blocked_a = post(url_a, "sk-0")
        blocked_b = post(url_b, "sk-0")
        assert blocked_a.status_code == blocked_b.status_code == 403
        ref = blocked_a.json()["error"]["reference_id"]
        assert blocked_b.json()["error"]["reference_id"] == ref
        # a manual override through the CLI reaches both replicas, and so does clearing it
        assert post(url_b, "sk-bob").status_code == 200
        args = ["--redis", LOCAL, "--redis-prefix", prefix]
        runner = CliRunner()
        done = runner.invoke(
            cli,
            ["policy", "override", "acct_bob", "--action", "challenge", "--reason", "desk", *args],
        )
        assert done.exit_code == 0, done.output
        assert post(url_a, "sk-bob").status_code == 428
        assert post(url_b, "sk-bob").status_code == 428
        listed = runner.invoke(cli, ["policy", "list", *args])
        assert "acct_bob\tchallenge" in listed.output
        assert runner.invoke(cli, ["policy", "clear", "acct_bob", *args]).exit_code == 0
        assert post(url_a, "sk-bob").status_code == 200
    ttl = redis.Redis.from_url(LOCAL).pttl(f"{prefix}action:a:acct_0")
    assert 0 < ttl <= 3_600_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server of this test's own, keeping nothing on disk."""
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        client = redis.Redis(port=port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def metric(url: str, name: str) -> float:
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def wait_for(check, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server not installed"
)


@needs_redis_server
def test_redis_loss_fail_open_then_recovery(upstream, files, caplog) -> None:
    port = _free_port()
    url_redis = f"redis://127.0.0.1:{port}/0"
    config = GatewayConfig(
        upstream=upstream,
        policy=files / "policy.toml",
        keys=files / "keys.toml",
        redis=url_redis,
        redis_retry_interval=0.2,
        fail_mode="open",
    )
    gw = build_gateway(config, Suspicious())
    caplog.set_level(logging.WARNING, logger="distillwatch.enforce")
    with serve_in_thread(gw.app) as url:
        with redis_server(port):
            assert post(url, "sk-bob").status_code == 200
            assert metric(url, "distillwatch_state_up") == 1.0
        # Redis is gone: serve anyway, from the assessment alone
        assert post(url, "sk-bob").status_code == 200
        assert post(url, "sk-0").status_code == 403  # the score rule still applies
        assert metric(url, "distillwatch_state_up") == 0.0
        assert metric(url, "distillwatch_state_errors_total") >= 1
        assert any("unavailable, failing open" in r.message for r in caplog.records)
        with redis_server(port):  # back (empty: it kept nothing)
            wait_for(lambda: post(url, "sk-bob").status_code == 200 and gw.enforcer.store_up)
            assert metric(url, "distillwatch_state_up") == 1.0
            # shared state works again: the cluster budget is enforced
            statuses = [post(url, f"sk-{1 + i % 3}").status_code for i in range(6)]
            assert statuses == [200] * 4 + [429] * 2
    assert any("available again" in r.message for r in caplog.records)


@needs_redis_server
def test_redis_loss_fail_closed_refuses_until_recovery(upstream, files) -> None:
    port = _free_port()
    config = GatewayConfig(
        upstream=upstream,
        keys=files / "keys.toml",
        redis=f"redis://127.0.0.1:{port}/0",
        redis_retry_interval=0.2,
        fail_mode="closed",
    )
    gw = build_gateway(config)
    with serve_in_thread(gw.app) as url:
        refused = post(url, "sk-bob")  # no Redis yet
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "distillwatch_unavailable"
        with redis_server(port):
            wait_for(lambda: post(url, "sk-bob").status_code == 200)
            assert metric(url, "distillwatch_state_up") == 1.0
        assert post(url, "sk-bob").status_code == 503
