"""Hostile request bodies: nothing a client sends can hide an answered request from ``scan``
or the online engine, and bodies the gateway cannot read are refused before the upstream
sees them (malformed JSON, non-UTF-8, cut short, too large)."""

from __future__ import annotations

import gzip
import socket
import time
from pathlib import Path

import orjson
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from distillwatch.gateway.stub import serve_in_thread, stub_app  # noqa: E402
from distillwatch.ingest import iter_batches  # noqa: E402
from distillwatch.ingest.normalize import check_record  # noqa: E402
from gateway_kit import ALICE, CHAT, running, traffic  # noqa: E402

#: Parameter values a real client can send; each must leave a readable, answered record.
ODD_PARAMS = [
    ({"n": 1e10}, "params.n", 1e10),
    ({"max_tokens": 2**63 + 1}, "params.max_tokens", str(2**63 + 1)),
    ({"temperature": "hot"}, "params.temperature", "hot"),
    ({"temperature": "0.7"}, "params.temperature", "0.7"),
    ({"top_p": -3}, "params.top_p", -3),
    ({"logprobs": "true", "top_logprobs": 1.5}, "params.logprobs", "true"),
    ({"max_completion_tokens": "many"}, "params.max_completion_tokens", "many"),
    ({"reasoning_effort": 3}, "params.reasoning_effort", 3),
    ({"n": True}, "params.n", True),
    ({"model": 7, "tools": {"type": "function"}}, "model", 7),
]


@pytest.fixture(scope="module")
def upstream():
    app = stub_app()
    with serve_in_thread(app) as url:
        yield url, app


def test_odd_parameter_values_never_hide_an_answered_request(tmp_path: Path, upstream) -> None:
    with running(tmp_path, upstream[0], assessor="online") as (gw, url):
        for extra, _, _ in ODD_PARAMS:
            answer = httpx.post(url + "/v1/chat/completions", json={**CHAT, **extra}, headers=ALICE)
            assert answer.status_code == 200, (extra, answer.text)
        gw.assessor.flush()  # type: ignore[attr-defined]
        engine = gw.assessor.engine  # type: ignore[attr-defined]
        assert gw.assessor.invalid == 0  # type: ignore[attr-defined]
        assert engine.accounts["acct_alice"].state.requests == len(ODD_PARAMS)
    logged = traffic(gw)
    assert len(logged) == len(ODD_PARAMS)
    assert [check_record(r) for r in logged] == [None] * len(ODD_PARAMS)
    for record, (_, field, sent) in zip(logged, ODD_PARAMS, strict=True):
        assert record["status"] == 200
        assert record["invalid"][field] == sent  # the raw value, for an analyst
    assert logged[0]["params"]["n"] == 2**31 - 1  # clamped: still an extreme value
    assert logged[3]["params"]["temperature"] == 0.7  # what the upstream may have served
    assert "params" not in logged[2]  # "hot" is no temperature
    assert logged[5]["params"] == {"logprobs": True}  # top_logprobs 1.5 is no count
    assert logged[1]["params"]["max_tokens"] == 2**63 - 1
    rows = sum(b.num_rows for b in iter_batches([gw.config.log_dir / "traffic"], strict=True))
    assert rows == len(ODD_PARAMS)  # scan reads every one of them


BAD_BODIES = [
    (b'{"model": "m", "messages": [', "not valid UTF-8 JSON"),
    (b'{"model": "m\xff\xfe", "messages": []}', "not valid UTF-8 JSON"),
    (b'[{"role": "user", "content": "hi"}]', "must be a JSON object"),
    (b'{"model": "m", "messages": [1]}', "'messages[0]' must be an object"),
    (b'{"model": "m", "messages": {"role": "user"}}', "'messages' must be an array"),
    (b'{"messages": [{"role": 7, "content": "x"}]}', "'messages[0].role' must be a string"),
    (b'{"messages": [{"role": "user", "content": [3]}]}', "'messages[0].content[0]'"),
    (b'{"messages": [{"role": "user", "content": 1e999}]}', "not valid UTF-8 JSON"),
]


def test_unreadable_bodies_get_400_and_the_next_request_is_served(tmp_path: Path, upstream) -> None:
    app = upstream[1]
    with running(tmp_path, upstream[0]) as (gw, url), httpx.Client(base_url=url) as client:
        seen = len(app.state.seen)
        for _ in range(4):
            for body, message in BAD_BODIES:
                refused = client.post("/v1/chat/completions", content=body, headers=ALICE)
                assert refused.status_code == 400, body
                error = refused.json()["error"]
                assert message in error["message"] and error["type"] == "invalid_request_error"
                good = client.post("/v1/chat/completions", json=CHAT, headers=ALICE)
                assert good.status_code == 200, good.text
        assert len(app.state.seen) == seen + 4 * len(BAD_BODIES)  # only the good ones went up
    logged = traffic(gw)
    assert [check_record(r) for r in logged] == [None] * len(logged)
    refused_rows = [r for r in logged if r["status"] == 400]
    assert len(refused_rows) == 4 * len(BAD_BODIES)
    assert refused_rows[3]["invalid"]["param"] == "messages[0]"


def test_bodies_over_the_limit_are_refused_without_being_read(tmp_path: Path, upstream) -> None:
    app = upstream[1]
    big = orjson.dumps({**CHAT, "messages": [{"role": "user", "content": "x" * 3_000_000}]})

    def chunks():  # no Content-Length: the limit must hold while reading
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    with running(tmp_path, upstream[0], body_limit=1_000_000) as (gw, url):
        seen = len(app.state.seen)
        declared = httpx.post(url + "/v1/chat/completions", content=big, headers=ALICE)
        streamed = httpx.post(url + "/v1/chat/completions", content=chunks(), headers=ALICE)
        fits = httpx.post(url + "/v1/chat/completions", json=CHAT, headers=ALICE)
    assert declared.status_code == streamed.status_code == 413
    assert declared.json()["error"]["code"] == "request_too_large"
    assert fits.status_code == 200 and len(app.state.seen) == seen + 1
    lines = [f.stat().st_size for f in (gw.config.log_dir / "traffic").glob("*.jsonl")]
    assert sum(lines) < 10_000  # the refused bodies are not copied into the log


def test_a_body_cut_short_is_never_forwarded(tmp_path: Path, upstream) -> None:
    app = upstream[1]
    with running(tmp_path, upstream[0]) as (gw, url):
        seen = len(app.state.seen)
        host, port = url.split("//")[1].split(":")
        with socket.create_connection((host, int(port))) as sock:
            body = orjson.dumps(CHAT)
            head = (
                "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n"
                "authorization: Bearer sk-alice-secret\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body) + 100}\r\n\r\n"
            )
            sock.sendall(head.encode() + body)
        for _ in range(100):
            if traffic(gw):
                break
            time.sleep(0.02)
    assert len(app.state.seen) == seen
    (record,) = traffic(gw)
    assert record["status"] == 499 and record["interrupted"] == "client_disconnected"
    assert check_record(record) is None


def test_the_upstream_serves_exactly_the_request_that_was_logged(tmp_path: Path, upstream) -> None:
    """Parsers disagree on duplicate keys (first or last wins): the gateway forwards the
    object it assessed, written out again, so the upstream cannot see another prompt."""
    app = upstream[1]
    body = (
        b'{"model": "m", "messages": [{"role": "user", "content": "benign"}],'
        b' "messages": [{"role": "user", "content": "harvest this"}]}'
    )
    with running(tmp_path, upstream[0]) as (gw, url):
        answer = httpx.post(url + "/v1/chat/completions", content=body, headers=ALICE)
        gzipped = httpx.post(
            url + "/v1/chat/completions",
            content=gzip.compress(orjson.dumps(CHAT)),
            headers={**ALICE, "content-encoding": "gzip"},
        )
    assert answer.status_code == 200 and gzipped.status_code == 415
    (record, refused) = traffic(gw)
    seen = app.state.seen[-1]
    assert seen["body"]["messages"] == record["messages"]
    # the duplicate never reached the upstream: it got the one object, written out again
    assert int(seen["headers"]["content-length"]) == len(orjson.dumps(seen["body"])) < len(body)
    assert refused["status"] == 415
