"""The guardrail as ``docs/gateway.md`` says to deploy it: a real LiteLLM proxy, started from a
config file naming the class, in front of the stub upstream. It must load (LiteLLM starts
unguarded when a guardrail's constructor raises ValueError/TypeError; ours must stop it
instead), log every call for ``scan``, and refuse a blocked
account on every route — ``/v1/messages`` too, and whatever the request asks of LiteLLM's
guardrail switches."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("litellm")
pytest.importorskip("fastapi")

from distillwatch.gateway.stub import serve_in_thread, stub_app  # noqa: E402
from distillwatch.ingest.normalize import check_record  # noqa: E402
from gateway_kit import records, wait_until_up  # noqa: E402

CONFIG = """
model_list:
  - model_name: stub-model
    litellm_params:
      model: openai/stub-model
      api_base: {upstream}/v1
      api_key: sk-upstream
guardrails:
  - guardrail_name: distillwatch
    litellm_params:
      guardrail: distillwatch.gateway.litellm_guardrail.DistillwatchGuardrail
      mode: pre_call
      distillwatch_log_dir: {dir}/logs
      distillwatch_state: {dir}/overrides.jsonl
      distillwatch_assessor: rate
general_settings:
  master_key: sk-master
"""
MASTER = {"authorization": "Bearer sk-master"}
CHAT = {"model": "stub-model", "messages": [{"role": "user", "content": "hello"}]}
MESSAGES = {"model": "stub-model", "max_tokens": 20, "messages": CHAT["messages"]}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(config: Path, log_path: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """A LiteLLM proxy process on a free loopback port, its output in ``log_path``."""
    port = _free_port()
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "litellm.proxy.proxy_cli", "--config", str(config),
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    return f"http://127.0.0.1:{port}", proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    where = tmp_path_factory.mktemp("litellm")
    with serve_in_thread(stub_app()) as upstream:
        (where / "config.yaml").write_text(CONFIG.format(upstream=upstream, dir=where))
        url, proc = _start(where / "config.yaml", where / "litellm.log")
        try:
            try:
                wait_until_up(url + "/health/liveliness", proc, seconds=120)
            except AssertionError:
                raise AssertionError((where / "litellm.log").read_text()[-3000:]) from None
            yield url, where
        finally:
            _stop(proc)


def test_a_guardrail_that_cannot_load_stops_the_proxy(tmp_path: Path) -> None:
    """LiteLLM skips a guardrail whose constructor raises ValueError/TypeError and serves
    unguarded; a policy path with a typo must stop the proxy instead."""
    config = CONFIG.format(upstream="http://127.0.0.1:9", dir=tmp_path).replace(
        "      distillwatch_assessor: rate\n",
        f"      distillwatch_assessor: rate\n      distillwatch_policy: {tmp_path}/typo.toml\n",
    )
    assert "typo.toml" in config
    (tmp_path / "config.yaml").write_text(config)
    url, proc = _start(tmp_path / "config.yaml", tmp_path / "litellm.log")
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                answer = httpx.get(url + "/health/liveliness", timeout=1)
                raise AssertionError(f"the proxy started unguarded ({answer.status_code})")
            except httpx.TransportError:
                time.sleep(0.2)
        assert proc.poll() is not None, "the proxy neither started nor stopped in 120 s"
    finally:
        _stop(proc)
    log = (tmp_path / "litellm.log").read_text()
    assert "must not start unguarded" in log and "typo.toml" in log
    assert "WITHOUT this guardrail" not in log


def test_the_guardrail_loads_from_the_config_and_logs_calls(proxy) -> None:
    url, where = proxy
    answer = httpx.post(url + "/v1/chat/completions", json=CHAT, headers=MASTER, timeout=30)
    assert answer.status_code == 200, answer.text
    assert "enforcer" not in (where / "litellm.log").read_text()  # no load error
    deadline = time.monotonic() + 10  # LiteLLM logs success callbacks after answering
    while not records(where / "logs" / "traffic") and time.monotonic() < deadline:
        time.sleep(0.1)
    (record,) = records(where / "logs" / "traffic")
    assert record["status"] == 200 and record["response"]["text"] == "echo: hello"
    assert record["enforcement"]["action"] == "allow"
    assert check_record(record) is None
    assert "sk-master" not in str(record) and "sk-upstream" not in str(record)


def test_a_blocked_account_is_refused_on_every_route_and_switch(proxy) -> None:
    url, where = proxy
    account = "default_user_id"  # what LiteLLM calls the master key's user
    event = {"op": "set", "account_id": account, "action": "block", "until": time.time() + 600,
             "reasons": ["desk"], "reference_id": "DW-LITELLM", "source": "override"}  # fmt: skip
    (where / "overrides.jsonl").write_bytes(orjson.dumps(event) + b"\n")
    time.sleep(1.2)  # the overrides file is re-read within a second
    opt_out = ["distillwatch"]
    attempts = [
        ("/v1/chat/completions", CHAT),
        ("/v1/chat/completions", {**CHAT, "metadata": {"disable_global_guardrail": True}}),
        ("/v1/chat/completions", {**CHAT, "disable_global_guardrail": True, "guardrails": []}),
        ("/v1/chat/completions", {**CHAT, "metadata": {"opted_out_global_guardrails": opt_out}}),
        ("/v1/messages", MESSAGES),
    ]  # fmt: skip
    for path, body in attempts:
        answer = httpx.post(url + path, json=body, headers=MASTER, timeout=30)
        assert answer.status_code == 403, (path, body, answer.text)
        assert "DW-LITELLM" in answer.text
