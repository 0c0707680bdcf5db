"""distillwatch as a LiteLLM guardrail: a real ``litellm.acompletion`` against the stub
upstream (SDK hook), and the proxy's pre-call guardrail hook with a real ``UserAPIKeyAuth``."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from distillwatch.enforce import Action, ActiveAction, Enforcer, MemoryStore, load_policy
from distillwatch.enforce.rate_assessor import RateAssessor
from distillwatch.gateway.stub import serve_in_thread, stub_app
from distillwatch.ingest.normalize import check_record


@pytest.fixture(scope="module")
def lite():
    """LiteLLM and the guardrail, imported when a test here runs (not at collection: the
    import takes seconds, and every test run would pay it)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
    litellm = pytest.importorskip("litellm")
    pytest.importorskip("fastapi")
    from litellm.proxy._types import UserAPIKeyAuth

    from distillwatch.gateway import litellm_guardrail

    return litellm, UserAPIKeyAuth, litellm_guardrail


# LiteLLM's own pydantic models warn at import and first use; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

MESSAGES = [{"role": "user", "content": "Explain your reasoning step by step"}]


class ListSink:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def write(self, record: dict) -> None:
        self.rows.append(record)


def make_guardrail(lite) -> tuple:
    store, sink = MemoryStore(), ListSink()
    enforcer = Enforcer(load_policy(), RateAssessor(), store)
    guardrail = lite[2].DistillwatchGuardrail(enforcer, sinks=[sink])
    return guardrail, store, sink


def block(store: MemoryStore, account: str) -> None:
    entry = ActiveAction(Action.BLOCK, time.time() + 60, ("desk",), reference_id="DW-LITE")
    asyncio.run(store.set_override(account, entry))


def test_sdk_guardrail_allows_logs_and_refuses(lite) -> None:
    litellm, _, module = lite
    guardrail, store, sink = make_guardrail(lite)
    block(store, "acct_blocked")
    previous = litellm.callbacks
    litellm.callbacks = [guardrail]
    try:
        with serve_in_thread(stub_app()) as url:

            async def call(user: str):
                return await litellm.acompletion(
                    model="openai/stub-model",
                    api_base=url + "/v1",
                    api_key="sk-upstream",
                    messages=MESSAGES,
                    user=user,
                    num_retries=0,
                )

            async def main():
                answer = await call("acct_ok")
                with pytest.raises(module.RequestRefused) as refused:
                    await call("acct_blocked")
                for _ in range(100):  # success callbacks run after the call returns
                    if any(r.get("status") == 200 for r in sink.rows):
                        break
                    await asyncio.sleep(0.05)
                return answer, refused.value

            answer, refused = asyncio.run(main())
    finally:
        litellm.callbacks = previous
    assert answer.choices[0].message.content == "echo: Explain your reasoning step by step"
    assert refused.status_code == 403 and refused.decision.reference_id == "DW-LITE"
    by_status = {r["status"]: r for r in sink.rows}
    assert by_status[200]["account_id"] == "acct_ok"
    assert by_status[200]["response"]["text"].startswith("echo: Explain")
    assert by_status[403]["account_id"] == "acct_blocked"
    assert all(check_record(r) is None for r in sink.rows)
    assert all("sk-upstream" not in str(r) for r in sink.rows)


def test_proxy_pre_call_hook_refuses_with_the_gateway_answer(lite) -> None:
    from fastapi import HTTPException

    UserAPIKeyAuth = lite[1]
    guardrail, store, _ = make_guardrail(lite)
    block(store, "user_7")
    data = {"model": "m", "messages": MESSAGES}

    async def main():
        ok = await guardrail.async_pre_call_hook(
            UserAPIKeyAuth(user_id="user_1", api_key="sk-1"), None, dict(data), "acompletion"
        )
        with pytest.raises(HTTPException) as refused:
            await guardrail.async_pre_call_hook(
                UserAPIKeyAuth(user_id="user_7", api_key="sk-7"), None, dict(data), "acompletion"
            )
        return ok, refused.value

    ok, refused = asyncio.run(main())
    assert ok["metadata"]["distillwatch_decided"] is True  # the SDK hook will not decide again
    assert refused.status_code == 403
    assert refused.detail["code"] == "distillwatch_block"
    assert refused.headers["x-distillwatch-reference"] == "DW-LITE"
