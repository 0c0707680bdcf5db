"""Write tests/fixtures/ingest/litellm-spendlogs.jsonl: SpendLogs rows made by LiteLLM itself.

The LiteLLM proxy writes a SpendLogs row through Prisma, whose query engine is a binary
downloaded at install time — not possible on this machine. So the rows are made by the same
LiteLLM code the proxy runs, one step before Prisma: real ``litellm.acompletion`` /
``atext_completion`` / ``aembedding`` calls against the project's stub upstream
(``distillwatch.gateway.stub``), with the metadata the proxy's auth attaches to a request
(hashed key, user, team, org, requester IP, user agent, the request body), and
``store_prompts_in_spend_logs: true``; a success callback hands each call to
``litellm.proxy.spend_tracking.spend_tracking_utils.get_logging_payload``, which builds the
row the proxy would insert. The rows are written as JSON Lines (datetimes as ISO text);
the tests load them into a ``LiteLLM_SpendLogs`` table created from LiteLLM's own
schema.prisma (tests/fixtures/ingest/litellm-spendlogs.sql).

``--proxy`` writes tests/fixtures/ingest/litellm-proxy-spendlogs.jsonl from a real LiteLLM
proxy process instead (see :func:`from_real_proxy`).

Run: ``.venv/bin/python scripts/make_litellm_fixture.py`` (LiteLLM's proxy modules need
``pip install backoff apscheduler PyJWT semver python-multipart expression fastapi-sso mcp
soundfile`` first: ``litellm[proxy]`` itself does not install from PyPI here). The table's DDL
is every statement on ``LiteLLM_SpendLogs`` in LiteLLM's Prisma migrations, in order:
``pip download --no-deps litellm-proxy-extras``, unzip, then
``.venv/bin/python scripts/make_litellm_fixture.py --sql DIR/litellm_proxy_extras/migrations``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("STORE_PROMPTS_IN_SPEND_LOGS", "true")

import litellm
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy.spend_tracking.spend_tracking_utils import get_logging_payload

from distillwatch.gateway.stub import serve_in_thread, stub_app

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ingest"
BASE = datetime(2026, 9, 21, 12, 0, tzinfo=UTC)
KEYS = {  # virtual key → (user, team, org, ip, user agent)
    "sk-alpha": ("user_alpha", "team_a", "org_1", "198.51.100.20", "openai-python/1.54.0"),
    "sk-beta": ("user_beta", "team_a", "org_1", "198.51.100.21", "openai-python/1.54.0"),
    "sk-gamma": ("", "team_b", "", "203.0.113.9", "curl/8.5.0"),
    "sk-delta": ("user_delta", "", "org_2", "192.0.2.44", "python-httpx/0.28.1"),
}
PROMPTS = [
    "Explain, step by step, how you would prove that sqrt(2) is irrational.",
    "Translate into Spanish: 'The meeting moved to Thursday.'",
    "Write a SQL query listing customers with more than three orders.",
    "Grade the following answer from 1 to 10: 'The capital of Australia is Sydney.'",
]


class Capture(CustomLogger):
    """Builds each call's SpendLogs row exactly as the proxy's spend tracking does."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        #: what LiteLLM's bucket loggers (s3, gcs_bucket, azure_storage) write per call
        self.payloads: list[dict[str, Any]] = []

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):  # type: ignore[no-untyped-def]
        self.rows.append(dict(get_logging_payload(kwargs, response_obj, start_time, end_time)))
        self.payloads.append(kwargs["standard_logging_object"])


def metadata(key: str) -> dict[str, Any]:
    user, team, org, ip, agent = KEYS[key]
    return {
        "user_api_key_hash": hashlib.sha256(key.encode()).hexdigest(),
        "user_api_key_alias": None,
        "user_api_key_user_id": user,
        "user_api_key_team_id": team,
        "user_api_key_org_id": org or None,
        "requester_ip_address": ip,
        "user_agent": agent,
    }


async def calls(url: str) -> None:
    base = {"api_base": url + "/v1", "api_key": "sk-upstream", "num_retries": 0}
    for i in range(16):
        key = list(KEYS)[i % len(KEYS)]
        prompt = PROMPTS[i % len(PROMPTS)]
        messages = [
            {"role": "system", "content": "Be precise."},
            {"role": "user", "content": prompt},
        ]
        body = {"model": "gpt-4o-mini", "messages": messages, "temperature": 0.1 * (i % 5),
                "max_tokens": 300, "user": f"end_{i % 3}"}  # fmt: skip
        await litellm.acompletion(
            model="openai/gpt-4o-mini", messages=messages, temperature=body["temperature"],
            max_tokens=300, user=body["user"], metadata=metadata(key),
            proxy_server_request={"url": "http://proxy/v1/chat/completions", "body": body},
            **base,
        )  # fmt: skip
    prompt_body = {"model": "gpt-3.5-turbo-instruct", "prompt": PROMPTS[0], "max_tokens": 50}
    await litellm.atext_completion(
        model="text-completion-openai/gpt-3.5-turbo-instruct", prompt=PROMPTS[0], max_tokens=50,
        metadata=metadata("sk-alpha"),
        proxy_server_request={"url": "http://proxy/v1/completions", "body": prompt_body}, **base,
    )  # fmt: skip


def iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def extract_sql(migrations: Path) -> str:
    """Every statement on LiteLLM_SpendLogs in LiteLLM's migrations, in migration order."""
    out = [
        "-- LiteLLM_SpendLogs as LiteLLM's own Prisma migrations create it: every statement on",
        "-- the table, in migration order, from litellm-proxy-extras (litellm_proxy_extras/",
        "-- migrations/*/migration.sql). Extracted by scripts/make_litellm_fixture.py --sql.",
        "",
    ]
    for folder in sorted(migrations.iterdir()):
        sql = folder / "migration.sql"
        if not sql.exists():
            continue
        text = re.sub(r"--[^\n]*", "", sql.read_text())
        for statement in (part.strip() for part in text.split(";")):
            if '"LiteLLM_SpendLogs"' not in statement or statement.upper().startswith("DO"):
                continue
            if statement.startswith("CREATE TABLE") and '"LiteLLM_SpendLogs" (' not in statement:
                continue
            out.append(f"-- {folder.name}\n{statement};")
    return "\n".join(out) + "\n"


CAPTURE_MODULE = """
import json, os
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy.spend_tracking.spend_tracking_utils import get_logging_payload

class SpendLogCapture(CustomLogger):
    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        row = dict(get_logging_payload(kwargs, response_obj, start_time, end_time))
        row["request_id"] = "chatcmpl-" + row["litellm_call_id"]  # the stub's id is fixed
        with open(os.environ["SPENDLOG_OUT"], "a") as handle:
            handle.write(json.dumps(row, default=str, sort_keys=True) + "\\n")

capture = SpendLogCapture()
"""
PROXY_CONFIG = """
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: {upstream}/v1
      api_key: sk-upstream
litellm_settings:
  callbacks: spendlog_capture.capture
general_settings:
  master_key: sk-master
  store_prompts_in_spend_logs: true
"""


def from_real_proxy() -> int:
    """Rows from a real LiteLLM proxy (``litellm --config``) in front of the stub: a callback
    in the proxy builds each row with ``get_logging_payload`` where the proxy would hand it to
    Prisma. Without a database only the master key authenticates, so all rows share one key."""
    import socket
    import subprocess
    import tempfile
    import time

    import httpx

    out = OUT / "litellm-proxy-spendlogs.jsonl"
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp, serve_in_thread(stub_app()) as upstream:
        where = Path(tmp)
        (where / "spendlog_capture.py").write_text(CAPTURE_MODULE)
        (where / "config.yaml").write_text(PROXY_CONFIG.format(upstream=upstream))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, "SPENDLOG_OUT": str(out), "PYTHONPATH": tmp}
        command = [sys.executable, "-m", "litellm.proxy.proxy_cli", "--config",
                   str(where / "config.yaml"), "--host", "127.0.0.1",
                   "--port", str(port)]  # fmt: skip
        with (where / "proxy.log").open("wb") as log:
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(240):
                try:
                    if httpx.get(url + "/health/liveliness", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            for i in range(4):
                body = {"model": "gpt-4o-mini", "temperature": 0.2, "user": f"end_{i}",
                        "messages": [{"role": "system", "content": "Be precise."},
                                     {"role": "user", "content": PROMPTS[i]}]}  # fmt: skip
                headers = {"authorization": "Bearer sk-master", "user-agent": f"client/{i}"}
                answer = httpx.post(url + "/v1/chat/completions", json=body, headers=headers)
                answer.raise_for_status()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and (
                not out.exists() or len(out.read_text().splitlines()) < 4
            ):
                time.sleep(0.2)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    rows = len(out.read_text().splitlines()) if out.exists() else 0
    print(f"wrote {rows} rows to {out}")
    return 0 if rows == 4 else 1


def main() -> int:
    if sys.argv[1:2] == ["--proxy"]:
        return from_real_proxy()
    if sys.argv[1:2] == ["--sql"]:
        (OUT / "litellm-spendlogs.sql").write_text(extract_sql(Path(sys.argv[2])))
        return 0
    capture = Capture()
    litellm.callbacks = [capture]
    with serve_in_thread(stub_app()) as url:
        asyncio.run(calls(url))
    # calls ran within a second; spread them over an afternoon as real traffic would be
    rows = []
    for i, row in enumerate(capture.rows):
        shift = BASE + timedelta(minutes=7 * i) - row["startTime"]
        for name in ("startTime", "endTime", "completionStartTime"):
            if isinstance(row.get(name), datetime):
                row[name] = row[name] + shift
        # LiteLLM takes request_id from the upstream's response id; the stub answers with one
        # fixed id, where a real upstream's ids are unique (the table's primary key)
        row["request_id"] = f"chatcmpl-{row['litellm_call_id']}"
        rows.append({name: iso(value) for name, value in row.items()})
    OUT.mkdir(parents=True, exist_ok=True)
    payloads = OUT / "litellm-standard-logging.jsonl"
    with payloads.open("w") as handle:
        for i, payload in enumerate(capture.payloads):
            shift = (BASE + timedelta(minutes=7 * i)).timestamp() - payload["startTime"]
            for name in ("startTime", "endTime", "completionStartTime"):
                if isinstance(payload.get(name), float):
                    payload[name] += shift
            payload["model_map_information"] = None  # the whole price map, in every payload
            payload["id"] = f"chatcmpl-{payload['litellm_call_id']}"  # as for the rows below
            handle.write(json.dumps(payload, sort_keys=True, default=str) + "\n")
    path = OUT / "litellm-spendlogs.jsonl"
    path.write_text("".join(json.dumps(row, sort_keys=True) + "\n" for row in rows))
    print(f"wrote {len(rows)} rows to {path}")
    return 0 if len(rows) == 17 else 1


if __name__ == "__main__":
    sys.exit(main())
