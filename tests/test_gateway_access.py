"""No way around the gateway: every route needs a known key, every spelling of an enforced
route is enforced, unknown routes are refused, the upstream's address never reaches a client,
and the Anthropic ``/v1/messages`` route (served by LiteLLM) is enforced and logged."""

from __future__ import annotations

import socket
from pathlib import Path

import orjson
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from distillwatch.gateway import GatewayConfig, build_gateway  # noqa: E402
from distillwatch.gateway.stub import serve_in_thread, stub_app  # noqa: E402
from distillwatch.ingest.normalize import check_record  # noqa: E402
from gateway_kit import ALICE, BOB, CHAT, block, raw_request, running, traffic  # noqa: E402

MESSAGES = {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "hi there"}]}


@pytest.fixture(scope="module")
def upstream():
    app = stub_app()
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture
def upstream_key(monkeypatch):
    monkeypatch.setenv("DW_TEST_UPSTREAM_KEY", "sk-upstream-only")
    return "DW_TEST_UPSTREAM_KEY"


def test_nothing_is_served_without_a_known_key(tmp_path: Path, upstream, upstream_key) -> None:
    url_up, app = upstream
    seen = len(app.state.seen)
    with running(tmp_path, url_up, upstream_key_env=upstream_key) as (gw, url):
        calls = [
            ("GET", "/v1/models", None),
            ("GET", "/v1/models/stub-model", None),
            ("GET", "/model/info", None),
            ("POST", "/v1/messages", MESSAGES),
            ("POST", "/v1/chat/completions", CHAT),
            ("POST", "/v1/chat/completions/", CHAT),
            ("GET", "/anything/else", None),
        ]
        for key in (None, "sk-nobody"):
            headers = {"authorization": f"Bearer {key}"} if key else {}
            for method, path, body in calls:
                answer = httpx.request(method, url + path, json=body, headers=headers, timeout=10)
                assert answer.status_code == 401, (key, method, path, answer.text)
                assert answer.json()["error"]["code"] == "invalid_api_key"
        assert len(app.state.seen) == seen  # nothing reached the upstream
        assert httpx.get(url + "/v1/models", headers=ALICE, timeout=10).status_code == 200
        assert httpx.post(url + "/v1/messages", json=MESSAGES, headers=ALICE).status_code == 200
    sent = app.state.seen[-1]["headers"]
    assert sent["authorization"] == "Bearer sk-upstream-only"
    assert "sk-alice-secret" not in str(app.state.seen[-1])  # the client's key stays here
    assert gw.metrics.unauthorized._value.get() == 14


def test_an_upstream_key_needs_a_keys_file(upstream, upstream_key) -> None:
    with pytest.raises(ValueError, match="--upstream-key-env needs --keys"):
        build_gateway(GatewayConfig(upstream=upstream[0], upstream_key_env=upstream_key))


SPELLINGS = [
    "/v1/chat/completions/",
    "/v1//chat/completions",
    "/v1/./chat/completions",
    "//v1/chat/completions//",
    "/chat/completions",
    "/v1/chat%2Fcompletions",
]


@pytest.mark.parametrize("path", SPELLINGS)
def test_every_spelling_of_an_enforced_route_is_enforced(tmp_path: Path, upstream, path) -> None:
    with running(tmp_path, upstream[0]) as (gw, url):
        block(gw, "acct_alice")
        body = orjson.dumps(CHAT)
        blocked = raw_request(url, "POST", path, ALICE, body)  # the path exactly as written
        allowed = raw_request(url, "POST", path, BOB, body)
    assert blocked[0] == 403, blocked
    assert allowed[0] == 200, allowed
    assert orjson.loads(allowed[2])["choices"][0]["message"]["content"] == "echo: name three primes"
    logged = traffic(gw)
    assert [r["status"] for r in logged] == [403, 200]
    assert all(r["endpoint"] == "chat" for r in logged)


def test_unknown_routes_are_refused_and_never_leak_the_upstream(tmp_path: Path, upstream) -> None:
    url_up = upstream[0]
    address = url_up.split("//")[1]
    with running(tmp_path, url_up) as (gw, url):
        answers = {
            ("GET", "/model/info"): 404,  # LiteLLM admin route
            ("GET", "/v1/responses/resp_1"): 404,  # stored model output
            ("POST", "/v1/chat/completions/x"): 404,
            ("POST", "/v1/chat/../completions"): 404,
            ("GET", "/v1/chat/completions"): 405,
            ("DELETE", "/v1/models"): 405,
            ("GET", "/v1/models/moved"): 502,  # the upstream redirects to itself
        }
        for (method, path), status in answers.items():
            code, headers, body = raw_request(url, method, path, ALICE)
            assert code == status, (method, path, body)
            assert "location" not in headers
            assert address not in body.decode() and address not in str(headers)
            assert orjson.loads(body)["error"]["message"]
    assert traffic(gw) == []  # nothing was served, so nothing to log


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_messages_route_is_enforced_and_logged(tmp_path: Path, upstream, stream) -> None:
    body = {**MESSAGES, "system": [{"type": "text", "text": "be terse"}], "stream": stream}
    with running(tmp_path, upstream[0]) as (gw, url):
        block(gw, "acct_alice")
        blocked = httpx.post(url + "/v1/messages", json=body, headers=ALICE, timeout=10)
        allowed = httpx.post(url + "/v1/messages", json=body, headers=BOB, timeout=10)
    assert blocked.status_code == 403
    assert allowed.status_code == 200
    if stream:
        assert b"content_block_delta" in allowed.content
    else:
        assert allowed.json()["content"][0]["text"] == "echo: hi there"
    refused, answered = traffic(gw)
    assert refused["status"] == 403 and refused["account_id"] == "acct_alice"
    assert answered["endpoint"] == "chat" and answered["system"] == "be terse"
    assert answered["messages"] == MESSAGES["messages"]
    assert answered["response"] == {"text": "echo: hi there", "finish_reason": "end_turn"}
    assert answered["usage"] == {"input_tokens": 6, "output_tokens": 3}
    assert answered["params"]["max_tokens"] == 64
    assert check_record(refused) is None and check_record(answered) is None


def test_external_authorisation_decides_and_logs_without_forwarding(
    tmp_path: Path, upstream
) -> None:
    """Envoy's ext_authz (HTTP service) sends the request's method, path, headers and body
    under a prefix; 200 lets Envoy forward it, anything else is the answer it returns."""
    url_up, app = upstream
    seen = len(app.state.seen)
    with running(tmp_path, url_up, ext_authz="/ext_authz") as (gw, url):
        block(gw, "acct_alice", ref="DW-AUTHZ")
        path = "/ext_authz/v1/chat/completions"
        refused = httpx.post(url + path, json=CHAT, headers=ALICE)
        allowed = httpx.post(url + path, json=CHAT, headers=BOB)
        nobody = httpx.post(url + path, json=CHAT)
        models = httpx.get(url + "/ext_authz/v1/models", headers=BOB)
        admin = httpx.get(url + "/ext_authz/model/info", headers=BOB)
    assert refused.status_code == 403 and refused.json()["error"]["reference_id"] == "DW-AUTHZ"
    assert allowed.status_code == 200 and allowed.content == b""
    assert allowed.headers["x-distillwatch-account"] == "acct_bob"
    assert nobody.status_code == 401 and models.status_code == 200 and admin.status_code == 404
    assert len(app.state.seen) == seen  # decided only: the calling proxy forwards
    logged = traffic(gw)
    assert [(r["account_id"], r.get("status"), r.get("via")) for r in logged] == [
        ("acct_alice", 403, "ext_authz"),
        ("acct_bob", None, "ext_authz"),
    ]
    assert all(check_record(r) is None for r in logged)
    for bad in ("/v1", "/", "ext_authz", "/a/../b"):
        with pytest.raises(ValueError, match="--ext-authz"):
            build_gateway(GatewayConfig(upstream=url_up, ext_authz=bad))


def test_websockets_are_refused_by_the_middleware(tmp_path: Path) -> None:
    """A realtime API over WebSocket in the guarded app would carry model output past
    every check: the middleware refuses every WebSocket handshake."""
    from starlette.routing import WebSocketRoute

    from distillwatch.enforce import Enforcer, MemoryStore, load_policy
    from distillwatch.enforce.rate_assessor import RateAssessor
    from distillwatch.gateway import DistillwatchMiddleware

    async def realtime(ws) -> None:
        await ws.accept()
        await ws.send_text("model output")
        await ws.close()

    app = stub_app()
    app.router.routes.append(WebSocketRoute("/v1/realtime", realtime))
    app.add_middleware(
        DistillwatchMiddleware, enforcer=Enforcer(load_policy(), RateAssessor(), MemoryStore())
    )
    with serve_in_thread(app) as url:
        host, port = url.split("//")[1].split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"GET /v1/realtime HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\n"
                b"connection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                b"sec-websocket-version: 13\r\nauthorization: Bearer sk-alice-secret\r\n\r\n"
            )
            answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 403"), answer
