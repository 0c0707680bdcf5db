"""Faults around the gateway: an upstream that closes pooled connections, clients that go away
mid-stream, stalled and long streams, SIGTERM with a hung upstream, Redis down while an
account is blocked."""

from __future__ import annotations

import asyncio
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import orjson
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from distillwatch.enforce import Action, ActiveAction  # noqa: E402
from distillwatch.enforce.redis_store import RedisStore  # noqa: E402
from distillwatch.gateway.proxy import Timeouts  # noqa: E402
from distillwatch.gateway.stub import serve_in_thread, stub_app  # noqa: E402
from distillwatch.ingest.normalize import check_record  # noqa: E402
from gateway_kit import (  # noqa: E402
    ALICE,
    BOB,
    CHAT,
    KEYS,
    records,
    running,
    traffic,
    wait_until_up,
)  # fmt: skip
from test_gateway_redis import _free_port, needs_redis_server, redis_server  # noqa: E402

ANSWER = orjson.dumps(
    {"id": "x", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
)  # fmt: skip


class _OneShot(socketserver.BaseRequestHandler):
    """Answers the first request of a connection with keep-alive, then closes the connection
    when the next request arrives, without answering: the race of an upstream closing an
    idle pooled connection just as the gateway reuses it."""

    def handle(self) -> None:
        stream = self.request.makefile("rb")
        for n in range(2):
            length = 0
            while (line := stream.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line:
                return
            stream.read(length)
            if n == 1:
                return  # closed, unanswered
            head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            size = f"content-length: {len(ANSWER)}\r\n\r\n".encode()
            self.request.sendall(head + size + ANSWER)


@contextmanager
def one_shot_upstream() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _OneShot)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_pooled_connection_the_upstream_closed_is_no_502(tmp_path: Path) -> None:
    with (
        one_shot_upstream() as upstream,
        running(tmp_path, upstream) as (gw, url),
        httpx.Client(base_url=url, headers=ALICE, timeout=10) as client,
    ):
        statuses = [client.post("/v1/chat/completions", json=CHAT).status_code for _ in range(20)]
    assert statuses == [200] * 20
    assert gw.forwarder.retries >= 10  # every reuse met a closed connection and was resent
    assert [r["status"] for r in traffic(gw)] == [200] * 20


LONG = {"model": "m", "messages": [{"role": "user", "content": " ".join(["word"] * 40)}]}


def test_a_client_that_leaves_cancels_the_upstream_and_the_record_says_so(tmp_path: Path) -> None:
    app = stub_app()
    with serve_in_thread(app) as upstream, running(tmp_path, upstream) as (gw, url):
        body = {**LONG, "stream": True, "stub_delay": 0.1}  # 42 events over ~4 s
        with (
            httpx.Client(base_url=url, headers=ALICE, timeout=10) as client,
            client.stream("POST", "/v1/chat/completions", json=body) as answer,
        ):
            received = next(answer.iter_raw())
        deadline = time.monotonic() + 5
        while not (app.state.streams and traffic(gw)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert app.state.streams == ["cancelled"]  # the model stopped generating
    assert received.startswith(b"data: ")
    (record,) = traffic(gw)
    assert record["status"] == 499 and record["interrupted"] == "client_disconnected"
    assert len(record["response"]["text"]) < len(" ".join(["word"] * 40))
    assert check_record(record) is None


def test_streams_are_limited_by_silence_not_by_length(tmp_path: Path) -> None:
    timeouts = Timeouts(connect=2, read=0.5, idle=0.4, total=None)
    app = stub_app()
    with (
        serve_in_thread(app) as upstream,
        running(tmp_path, upstream, timeouts=timeouts) as (
            gw,
            url,
        ),
    ):
        steady = {**LONG, "stream": True, "stub_delay": 0.05}  # ~2 s in all, never silent long
        stalled = {**CHAT, "stream": True, "stub_delay": 1.0}  # 1 s between events
        long = httpx.post(url + "/v1/chat/completions", json=steady, headers=ALICE, timeout=10)
        cut = httpx.post(url + "/v1/chat/completions", json=stalled, headers=ALICE, timeout=10)
    assert long.status_code == 200 and long.content.endswith(b"data: [DONE]\n\n")
    assert cut.status_code == 200  # the headers were sent; the stream says what happened
    last = cut.content.strip().split(b"\n\n")[-1]
    assert orjson.loads(last[len(b"data: ") :])["error"]["code"] == "upstream_idle_timeout"
    finished, stopped = traffic(gw)
    assert "interrupted" not in finished and finished["status"] == 200
    assert stopped["interrupted"] == "upstream_idle_timeout"
    assert check_record(stopped) is None


class _Hung(socketserver.BaseRequestHandler):
    """Reads a request and never answers; notes when the gateway drops the connection."""

    dropped: ClassVar[list[float]] = []

    def handle(self) -> None:
        self.request.recv(65536)
        self.request.settimeout(60)
        try:
            if self.request.recv(65536) == b"":
                self.dropped.append(time.monotonic())
        except OSError:
            pass


def test_a_client_that_leaves_before_the_answer_cancels_the_upstream(tmp_path: Path) -> None:
    """A non-streamed answer is generated before its headers: leaving then must stop it too."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Hung)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Hung.dropped.clear()
    upstream = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with running(tmp_path, upstream) as (gw, url):
            host, port = url.split("//")[1].split(":")
            body = orjson.dumps(CHAT)
            with socket.create_connection((host, int(port))) as sock:
                sock.sendall(
                    b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n"
                    b"authorization: Bearer sk-alice-secret\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                time.sleep(0.5)  # the gateway waits on the upstream
            left = time.monotonic()
            deadline = left + 5
            while not (_Hung.dropped and traffic(gw)) and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
    assert _Hung.dropped and _Hung.dropped[0] - left < 3  # the upstream saw the gateway leave
    (record,) = traffic(gw)
    assert record["status"] == 499 and record["interrupted"] == "client_disconnected"


def test_sigterm_with_a_hung_upstream_exits_by_the_deadline(tmp_path: Path) -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Hung)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (tmp_path / "keys.toml").write_text(KEYS)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "distillwatch.cli", "gateway", "--upstream",
         f"http://127.0.0.1:{server.server_address[1]}", "--port", str(port),
         "--keys", str(tmp_path / "keys.toml"), "--log-dir", str(tmp_path / "logs"),
         "--assessor", "rate", "--shutdown-timeout", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/metrics", proc)
        outcome: list[object] = []

        def call() -> None:
            try:
                outcome.append(httpx.post(url + "/v1/chat/completions", json=CHAT, headers=ALICE,
                                          timeout=30).status_code)  # fmt: skip
            except httpx.HTTPError as exc:
                outcome.append(type(exc).__name__)

        caller = threading.Thread(target=call)
        caller.start()
        time.sleep(0.5)  # the request is waiting on the hung upstream
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        took = time.monotonic() - sent
        caller.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        server.shutdown()
        server.server_close()
    assert took < 8, took  # the 2 s deadline, plus start-up of nothing and shutdown hooks
    assert outcome and outcome[0] != 200
    (record,) = records(tmp_path / "logs" / "traffic")
    assert record["interrupted"] == "gateway_shutdown" and record["status"] == 499


@contextmanager
def fail_open_on_own_redis(tmp_path: Path, **options: object) -> Iterator[tuple]:
    """A fail-open gateway on a Redis this test starts and stops: yields the gateway, its
    URL, a function that blocks an account through another store, and the Redis context."""
    port = _free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    options = {"redis": redis_url, "redis_retry_interval": 0.2, "fail_mode": "open", **options}

    def block_elsewhere(account: str, ref: str) -> None:  # another replica, or the CLI
        entry = ActiveAction(Action.BLOCK, time.time() + 60, ("desk",), reference_id=ref)
        asyncio.run(RedisStore(redis_url).set_override(account, entry))

    with serve_in_thread(stub_app()) as upstream, running(tmp_path, upstream, **options) as run:
        yield (*run, block_elsewhere, lambda: redis_server(port))


def ask(url: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url + "/v1/chat/completions", json=CHAT, headers=headers, timeout=10)


@needs_redis_server
def test_a_blocked_account_stays_blocked_while_redis_is_down(tmp_path: Path) -> None:
    with fail_open_on_own_redis(tmp_path) as (gw, url, block_elsewhere, redis_up):
        with redis_up():
            block_elsewhere("acct_alice", "DW-AL")  # the gateway learns it when alice calls
            assert ask(url, ALICE).status_code == 403 and ask(url, BOB).status_code == 200
        # Redis is gone: alice's block holds from the local copy; bob is still served
        held, served = ask(url, ALICE), ask(url, BOB)
        assert held.status_code == 403 and held.json()["error"]["reference_id"] == "DW-AL"
        assert served.status_code == 200
        assert gw.enforcer.store_up is False
    assert gw.local is not None and gw.local.held == 1
    logged = traffic(gw)
    assert logged[-2]["enforcement"]["source"] == "override"
    assert "local copy" in logged[-2]["enforcement"]["reasons"][0]


@needs_redis_server
def test_an_override_set_elsewhere_holds_while_redis_is_down(tmp_path: Path) -> None:
    """Alice never called while Redis was up: the copy learned her block from the periodic
    refresh of the override list."""
    with fail_open_on_own_redis(tmp_path, local_refresh=0.2) as (gw, url, block_elsewhere, up):
        with up():
            block_elsewhere("acct_alice", "DW-R")
            time.sleep(1.0)  # a few refreshes
        held, served = ask(url, ALICE), ask(url, BOB)
    assert held.status_code == 403 and held.json()["error"]["reference_id"] == "DW-R"
    assert served.status_code == 200
    assert gw.local is not None and gw.local.held == 1
