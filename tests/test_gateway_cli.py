"""``distillwatch gateway`` as a user runs it: a separate process in front of the stub, with
the traffic log written for ``scan`` and a manual override picked up while it runs."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from distillwatch.cli import app as cli  # noqa: E402
from distillwatch.gateway.stub import serve_in_thread, stub_app  # noqa: E402
from gateway_kit import wait_until_up  # noqa: E402

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_gateway_command_end_to_end(tmp_path: Path) -> None:
    port = _free_port()
    state = tmp_path / "overrides.jsonl"
    headers = {"authorization": "Bearer sk-anything"}
    with serve_in_thread(stub_app()) as upstream:
        proc = subprocess.Popen(
            [sys.executable, "-m", "distillwatch.cli", "gateway", "--upstream", upstream,
             "--port", str(port), "--log-dir", str(tmp_path / "logs"), "--state", str(state)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url + "/metrics", proc)
            first = httpx.post(url + "/v1/chat/completions", json=CHAT, headers=headers)
            assert first.status_code == 200
            account = orjson.loads(next((tmp_path / "logs/traffic").glob("*.jsonl")).read_bytes())[
                "account_id"
            ]
            done = CliRunner().invoke(
                cli,
                ["policy", "override", account, "--action", "block", "--ttl", "10m",
                 "--reason", "abuse report", "--state", str(state)],
            )  # fmt: skip
            assert done.exit_code == 0, done.output
            deadline = time.monotonic() + 5  # the gateway re-reads the file within a second
            while (
                r := httpx.post(url + "/v1/chat/completions", json=CHAT, headers=headers)
            ).status_code != 403:
                assert time.monotonic() < deadline, r.status_code
                time.sleep(0.1)
        finally:
            proc.terminate()
            output = proc.communicate(timeout=10)[0].decode()
    assert "gateway on http://127.0.0.1" in output
    lines = [
        orjson.loads(line)
        for f in (tmp_path / "logs/decisions").glob("*.jsonl")
        for line in f.open("rb")
    ]
    assert [d["action"] for d in lines] == ["block"]
    assert "manual override: abuse report" in lines[0]["reasons"]


def test_policy_check_reports_errors_with_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text('[[rule]]\nname = "x"\naction = "ban"\n')
    result = CliRunner().invoke(cli, ["policy", "check", str(bad)])
    assert result.exit_code == 2
    assert "policy.toml" in result.output and "unknown action 'ban'" in result.output
