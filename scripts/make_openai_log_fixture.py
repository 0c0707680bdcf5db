"""Write tests/fixtures/ingest/openai-log.jsonl: request/response pairs as an SDK wrapper logs them.

The official ``openai`` client calls the project's stub upstream (chat, streamed chat,
completions, responses, embeddings are not served by the stub and are left out); an httpx
event hook records each request body and response body with the wrapper's own metadata
(``event_id``, ``logged_at`` in epoch milliseconds, ``customer.id``, ``client.ip``) — field
names no reader can guess, which is what the mapping file
(tests/fixtures/ingest/openai-log.mapping.toml) is for.
Run: ``.venv/bin/python scripts/make_openai_log_fixture.py``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from openai import OpenAI

from distillwatch.gateway.stub import serve_in_thread, stub_app

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ingest" / "openai-log.jsonl"
START_MS = 1_790_010_000_000
CUSTOMERS = ["cus_101", "cus_102", "cus_103"]


def main() -> int:
    lines: list[dict[str, Any]] = []
    pending: dict[str, Any] = {}

    def on_request(request: httpx.Request) -> None:
        pending["request"] = json.loads(request.content or b"{}")
        pending["path"] = request.url.path
        pending["t0"] = time.perf_counter()

    def on_response(response: httpx.Response) -> None:
        response.read()
        body = response.text
        i = len(lines)
        if body.startswith("data:"):  # a stream: the wrapper logs the assembled chunks
            chunks = [
                json.loads(x[5:]) for x in body.split("\n\n") if x[5:].strip().startswith("{")
            ]
            text = "".join(
                c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]
            )
            usage = next((c["usage"] for c in chunks if c.get("usage")), None)
            parsed = {"object": "chat.completion", "id": chunks[0]["id"], "usage": usage,
                      "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                   "finish_reason": "stop"}]}  # fmt: skip
        else:
            parsed = json.loads(body)
        lines.append({
            "event_id": f"evt_{i:04d}",
            "logged_at": START_MS + i * 45_000,
            "customer": {"id": CUSTOMERS[i % 3], "plan": "pro"},
            "client": {"ip": f"192.0.2.{20 + i % 3}"},
            "path": pending["path"],
            "status": response.status_code,
            "latency_ms": round((time.perf_counter() - pending["t0"]) * 1000, 3),
            "request": pending["request"],
            "response": parsed,
        })  # fmt: skip

    with serve_in_thread(stub_app()) as url:
        http = httpx.Client(event_hooks={"request": [on_request], "response": [on_response]})
        client = OpenAI(base_url=url + "/v1", api_key="sk-test", http_client=http, max_retries=0)
        for i in range(9):
            messages = [{"role": "user", "content": f"Summarise chapter {i} step by step."}]
            client.chat.completions.create(
                model="stub-model", messages=messages, temperature=0.3, max_tokens=200,
                stream=i % 3 == 2,
            )  # fmt: skip
        client.completions.create(model="stub-model", prompt="Once upon a time", max_tokens=20)
        client.responses.create(model="stub-model", input="Explain recursion.",
                                instructions="Be brief.")  # fmt: skip
    OUT.write_text("".join(json.dumps(line) + "\n" for line in lines))
    print(f"wrote {len(lines)} lines to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
