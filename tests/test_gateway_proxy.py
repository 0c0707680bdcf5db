"""The reverse proxy end to end: a real gateway in front of a real stub upstream, on loopback.

Every action's HTTP behaviour, streamed and not; bytes passing through unchanged; API keys
mapped to accounts and never logged; cluster budgets across linked accounts; the traffic log
being what ``ingest`` accepts; metrics; the middleware in a plain Starlette app; NATS.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import orjson
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

from distillwatch.enforce import Action, ActiveAction, Enforcer, MemoryStore, load_policy  # noqa: E402
from distillwatch.enforce.rate_assessor import RateAssessor  # noqa: E402
from distillwatch.gateway import DistillwatchMiddleware, GatewayConfig, build_gateway  # noqa: E402
from distillwatch.gateway.keys import load_keys  # noqa: E402
from distillwatch.gateway.stub import serve_in_thread, stub_app  # noqa: E402
from distillwatch.ingest.normalize import check_record  # noqa: E402

KEYS = """
[[key]]
id = "key_alice"
account = "acct_alice"
key = "sk-alice-secret"
org = "org_a"

[[key]]
id = "key_bob"
account = "acct_bob"
key = "sk-bob-secret"
"""
HYDRA = (
    '\n[[key]]\nid = "key_h{i}"\naccount = "hydra_{i}"\nkey = "sk-hydra-{i}"\ncluster = "C-hydra"\n'
)
KEYS += "".join(HYDRA.format(i=i) for i in range(3))

POLICY = """
[cluster_limit]
rate = 0.001
burst = 4
action = "throttle"

[[rule]]
name = "very-high"
action = "block"
min_score = 0.99
"""

CHAT = {"model": "m", "messages": [{"role": "user", "content": "name three primes"}]}
BODIES = {
    "/v1/chat/completions": CHAT,
    "/v1/completions": {"model": "m", "prompt": "Once upon"},
    "/v1/responses": {"model": "m", "input": "Explain step by step", "instructions": "be brief"},
}


@pytest.fixture(scope="module")
def upstream():
    app = stub_app()
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture
def gateway(tmp_path: Path, upstream, request):
    (tmp_path / "keys.toml").write_text(KEYS)
    (tmp_path / "policy.toml").write_text(POLICY)
    config = GatewayConfig(
        upstream=upstream[0] + "/v1",  # a /v1 base must not give /v1/v1 upstream
        policy=tmp_path / "policy.toml",
        keys=tmp_path / "keys.toml",
        log_dir=tmp_path / "logs",
        assessor=getattr(request, "param", None),
    )
    gw = build_gateway(config)
    with serve_in_thread(gw.app) as url:
        yield gw, url


def client(url: str, key: str | None = "sk-alice-secret") -> httpx.Client:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=url, headers=headers, timeout=10)


def override(gw, account: str, action: Action, **extra) -> None:
    entry = ActiveAction(action, until=time.time() + 60, reasons=("fraud desk",), **extra)
    asyncio.run(gw.store.set_override(account, entry))


def records(directory: Path) -> list[dict]:
    return [orjson.loads(line) for f in sorted(directory.glob("*.jsonl")) for line in f.open("rb")]


@pytest.mark.parametrize("path", list(BODIES))
@pytest.mark.parametrize("stream", [False, True])
def test_allowed_requests_pass_through_byte_for_byte(gateway, upstream, path, stream) -> None:
    gw, url = gateway
    body = {**BODIES[path], "stream": stream, "stub_delay": 0.05 if stream else 0}
    direct = httpx.post(upstream[0] + path, json=body, timeout=10)
    arrivals = []
    with client(url) as c, c.stream("POST", path, json=body) as proxied:
        chunks = []
        for chunk in proxied.iter_raw():
            chunks.append(chunk)
            arrivals.append(time.perf_counter())
        assert proxied.status_code == 200
        assert proxied.headers["content-type"] == direct.headers["content-type"]
    assert b"".join(chunks) == direct.content
    if stream:  # events arrive as the upstream sends them (50 ms apart), not all at the end
        assert len(chunks) > 1 and arrivals[-1] - arrivals[0] > 0.08
    (logged,) = records(gw.config.log_dir / "traffic")
    assert logged["account_id"] == "acct_alice" and logged["key_id"] == "key_alice"
    assert logged["org_id"] == "org_a" and logged["status"] == 200
    assert logged["response"]["text"].startswith("echo: ")
    assert logged["usage"]["output_tokens"] > 0
    assert logged["enforcement"]["action"] == "allow"
    assert logged["params"].get("stream", False) is stream


EXPECTED = {
    Action.THROTTLE: (429, "distillwatch_throttle"),
    Action.CHALLENGE: (428, "distillwatch_challenge"),
    Action.BLOCK: (403, "distillwatch_block"),
}


@pytest.mark.parametrize("action", list(EXPECTED))
@pytest.mark.parametrize("stream", [False, True])
def test_each_action_answers_with_its_http_behaviour(gateway, upstream, action, stream) -> None:
    gw, url = gateway
    ref = "DW-TEST0001" if action is not Action.THROTTLE else None
    override(gw, "acct_alice", action, reference_id=ref, retry_after=7.0)
    seen = len(upstream[1].state.seen)
    with client(url) as c:
        response = c.post("/v1/chat/completions", json={**CHAT, "stream": stream})
        other = c.post(
            "/v1/chat/completions", json=CHAT, headers={"authorization": "Bearer sk-bob-secret"}
        )
    status, code = EXPECTED[action]
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code
    assert "fraud desk" not in response.text  # reasons never reach the client
    if action is Action.THROTTLE:
        assert response.headers["retry-after"] == "7"
    else:
        assert error["reference_id"] == "DW-TEST0001"
        assert response.headers["x-distillwatch-reference"] == "DW-TEST0001"
    assert len(upstream[1].state.seen) == seen + 1  # only bob's request went upstream
    assert other.status_code == 200
    alice = [r for r in records(gw.config.log_dir / "traffic") if r["account_id"] == "acct_alice"]
    assert alice[0]["status"] == status and alice[0]["enforcement"]["action"] == action.value
    assert "manual override" in alice[0]["enforcement"]["reasons"]
    (change,) = records(gw.config.log_dir / "decisions")
    assert change["action"] == action.value and change["account_id"] == "acct_alice"
    assert change["request_id"] == alice[0]["request_id"]
    assert change["reasons"][:2] == ["manual override", "fraud desk"]


def test_keys_are_required_and_never_logged(gateway) -> None:
    gw, url = gateway
    with client(url, key=None) as c:
        missing = c.post("/v1/chat/completions", json=CHAT)
    with client(url, key="sk-nobody") as c:
        unknown = c.post("/v1/chat/completions", json=CHAT)
    with client(url) as c:
        assert c.post("/v1/chat/completions", json=CHAT).status_code == 200
        assert c.get("/v1/models").status_code == 200  # other routes pass through
    assert missing.status_code == 401 and unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "invalid_api_key"
    written = b"".join(f.read_bytes() for f in gw.config.log_dir.rglob("*.jsonl"))
    assert b"key_alice" in written
    assert b"sk-alice-secret" not in written and b"sk-nobody" not in written


# The keys file's clusters are the rate assessor's. With the online engine beside it, every
# account here shares loopback, the client and the prompt, so its learner thread may link bob
# to the hydra accounts at any moment, and that cluster (score 0, and this policy budgets every
# cluster) has a budget of its own: bob's outcome would depend on thread timing.
@pytest.mark.parametrize("gateway", ["rate"], indirect=True)
def test_cluster_budget_is_shared_by_linked_accounts(gateway) -> None:
    gw, url = gateway
    statuses = []
    for i in range(9):
        with client(url, key=f"sk-hydra-{i % 3}") as c:
            response = c.post("/v1/chat/completions", json=CHAT)
            statuses.append(response.status_code)
    assert statuses == [200] * 4 + [429] * 5
    assert int(response.headers["retry-after"]) >= 1
    with client(url, key="sk-bob-secret") as c:  # not in the cluster: its own business
        assert all(c.post("/v1/chat/completions", json=CHAT).status_code == 200 for _ in range(6))
    throttled = [r for r in records(gw.config.log_dir / "traffic") if r["status"] == 429]
    assert {r["enforcement"]["source"] for r in throttled} == {"cluster_limit"}
    assert {r["enforcement"]["cluster_id"] for r in throttled} == {"C-hydra"}


def test_traffic_log_is_valid_traffic_log_v1(gateway) -> None:
    gw, url = gateway
    override(gw, "acct_bob", Action.BLOCK, reference_id="DW-B")
    with client(url) as c:
        for path, body in BODIES.items():
            c.post(path, json=body)
            with c.stream("POST", path, json={**body, "stream": True}) as r:
                r.read()
        c.post("/v1/chat/completions", content=b"not json", headers={"content-type": "x"})
    with client(url, key="sk-bob-secret") as c:
        c.post("/v1/chat/completions", json=CHAT)
    logged = records(gw.config.log_dir / "traffic")
    assert len(logged) == 8
    assert [check_record(r) for r in logged] == [None] * 8
    assert {r["endpoint"] for r in logged} == {"chat", "completion", "responses"}
    responses = [r for r in logged if r["endpoint"] == "responses"]
    assert all(r["system"] == "be brief" and r["usage"]["reasoning_tokens"] == 1 for r in responses)


def test_metrics_count_actions_and_state_health(gateway) -> None:
    gw, url = gateway
    override(gw, "acct_bob", Action.BLOCK, reference_id="DW-B")
    with client(url) as c:
        c.post("/v1/chat/completions", json=CHAT)
    with client(url, key="sk-bob-secret") as c:
        c.post("/v1/chat/completions", json=CHAT)
        text = c.get("/metrics").text
    assert 'distillwatch_requests_total{action="allow",endpoint="chat"} 1.0' in text
    assert 'distillwatch_requests_total{action="block",endpoint="chat"} 1.0' in text
    assert "distillwatch_state_up 1.0" in text
    assert "distillwatch_log_records_total 2.0" in text
    assert "distillwatch_decision_seconds_count 2.0" in text


def test_middleware_guards_a_starlette_app_directly(tmp_path: Path) -> None:
    """No proxy: the middleware inside the app that serves the model."""
    app = stub_app()
    store = MemoryStore()
    written: list[dict] = []

    class ListSink:
        def write(self, record: dict) -> None:
            written.append(record)

    (tmp_path / "keys.toml").write_text(KEYS)
    enforcer = Enforcer(load_policy(), RateAssessor(), store)
    app.add_middleware(
        DistillwatchMiddleware,
        enforcer=enforcer,
        keys=load_keys(tmp_path / "keys.toml"),
        sinks=[ListSink()],
    )
    asyncio.run(
        store.set_override("acct_bob", ActiveAction(Action.BLOCK, time.time() + 60, ("x",), "DW-1"))
    )
    with serve_in_thread(app) as url:
        with (
            client(url) as c,
            c.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as r,
        ):
            body = r.read()
        with client(url, key="sk-bob-secret") as c:
            blocked = c.post("/v1/chat/completions", json=CHAT)
    assert body.endswith(b"data: [DONE]\n\n")
    assert blocked.status_code == 403
    assert [w["status"] for w in written] == [200, 403]
    assert written[0]["response"]["text"] == "echo: name three primes"


def test_records_are_published_to_nats_jetstream(tmp_path: Path, upstream) -> None:
    nats = pytest.importorskip("nats")
    suffix = uuid.uuid4().hex[:8]
    subject, stream = f"dwtest.traffic.{suffix}", f"DWTEST_{suffix}"
    config = GatewayConfig(upstream=upstream[0], nats="nats://127.0.0.1:4222", nats_subject=subject)
    gw = build_gateway(config)
    assert gw.nats is not None
    gw.nats.stream = stream
    with serve_in_thread(gw.app) as url, client(url) as c:
        for _ in range(3):
            assert c.post("/v1/chat/completions", json=CHAT).status_code == 200
        deadline = time.monotonic() + 5
        while gw.nats.published < 3 and time.monotonic() < deadline:
            time.sleep(0.02)

    async def read() -> list[dict]:
        nc = await nats.connect("nats://127.0.0.1:4222")
        js = nc.jetstream()
        try:
            return [orjson.loads((await js.get_msg(stream, seq)).data) for seq in (1, 2, 3)]
        finally:
            await js.delete_stream(stream)
            await nc.close()

    published = asyncio.run(read())
    assert [p["account_id"] for p in published] == [published[0]["account_id"]] * 3
    assert published[0]["account_id"].startswith("key-")  # no keys file: pseudonymous accounts
    assert all(p["response"]["text"] == "echo: name three primes" for p in published)


def test_indicators_shared_by_another_provider_block_and_reload(tmp_path: Path, upstream) -> None:
    """A block list from the sharing group: matching requests are blocked by the default
    policy's shared-indicator rule; a new version of the file takes effect without restart."""
    blocklist = pytest.importorskip("distillwatch.share.blocklist")
    from distillwatch.gateway.indicators import BlocklistMatcher

    path = tmp_path / "blocklist.json"
    entry = blocklist.Entry(
        kind="ip_prefix",
        encoding="plain",
        value="127.0.0.0/8",  # the test client's address
        confidence=95,
        valid_until=None,
        source="provider-b",
        campaign="campaign--1",
        object_id="indicator--1",
    )
    blocklist.write_blocklist(path, [entry], key_id=None)
    (tmp_path / "keys.toml").write_text(KEYS)
    config = GatewayConfig(
        upstream=upstream[0], keys=tmp_path / "keys.toml", blocklist=path, log_dir=tmp_path / "l"
    )
    BlocklistMatcher.POLL, poll = 0.05, BlocklistMatcher.POLL
    try:
        gw = build_gateway(config)
        with serve_in_thread(gw.app) as url:
            with client(url) as c:
                blocked = c.post("/v1/chat/completions", json=CHAT)
            blocklist.write_blocklist(path, [], key_id=None)  # provider-b withdraws it
            time.sleep(0.2)
            with client(url, key="sk-bob-secret") as c:
                after = c.post("/v1/chat/completions", json=CHAT)
    finally:
        BlocklistMatcher.POLL = poll
    assert blocked.status_code == 403 and after.status_code == 200
    (first, _) = records(tmp_path / "l" / "traffic")
    assert first["enforcement"]["reasons"][0].startswith("rule shared-indicator: matches ip_prefix")
    assert "shared by provider-b" in first["enforcement"]["reasons"][0]


def test_traffic_files_rotate_by_size_and_keep_every_record(tmp_path: Path) -> None:
    from distillwatch.gateway.sinks import RotatingJsonl

    log = RotatingJsonl(tmp_path, "traffic", max_bytes=1000)
    for i in range(100):
        log.write({"ts": "2026-02-01T00:00:00Z", "account_id": "a", "request_id": f"r{i}"})
    log.close()
    files = sorted(tmp_path.glob("traffic-*.jsonl"))
    assert len(files) > 5 and all(f.stat().st_size <= 1000 for f in files)
    assert [r["request_id"] for r in records(tmp_path)] == [f"r{i}" for i in range(100)]
