"""distillwatch as a LiteLLM guardrail and callback.

For providers who already run LiteLLM (its proxy or its SDK) in front of their models: the
same enforcer as the gateway decides on each call, and each successful call is written as a
traffic log v1 record. Two entry points, one decision per call:

* LiteLLM proxy — ``async_pre_call_hook`` runs before routing (register the class as a custom
  guardrail with ``mode: pre_call``); a refusal is raised as ``fastapi.HTTPException`` with the
  gateway's status, body and headers, which the proxy returns as is. Deciding before routing
  matters: a refusal raised later, per deployment, would look like a failing deployment to
  the router and trigger retries and cool-downs for everyone.
* LiteLLM SDK — ``async_pre_call_deployment_hook`` runs inside ``litellm.acompletion`` when the
  instance is in ``litellm.callbacks``; a refusal raises :class:`RequestRefused`.

Accounts: on the proxy, the key's ``user_id`` (else ``team_id``, else the key's hash); with
the SDK, ``metadata["user_api_key_user_id"]`` or the OpenAI ``user`` field.
Needs the ``litellm`` extra.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import orjson
from litellm.integrations.custom_guardrail import CustomGuardrail

from distillwatch.enforce.decision import Decision
from distillwatch.enforce.enforcer import Enforcer
from distillwatch.gateway.keys import Identity
from distillwatch.gateway.middleware import Sink
from distillwatch.gateway.record import ResponseCapture, request_record
from distillwatch.gateway.responses import Refusal, refusal_for
from distillwatch.gateway.sanitize import ingestible
from distillwatch.ingest.formats.litellm import CALL_TYPES

_MARK = "distillwatch_decided"


class RequestRefused(Exception):
    """The SDK-side refusal: carries the gateway's HTTP answer and the decision."""

    def __init__(self, refusal: Refusal, decision: Decision) -> None:
        super().__init__(refusal.body.decode())
        self.status_code = refusal.status
        self.refusal = refusal
        self.decision = decision


class GuardrailLoadError(RuntimeError):
    """The guardrail could not be built from its LiteLLM config.

    Deliberately not a ``ValueError``/``TypeError``: LiteLLM's proxy catches those at start-up,
    logs them and starts *without* the guardrail. Anything else stops the proxy from starting,
    which is what a missing enforcement point must do (a typo in a policy path must not leave
    every client unguarded)."""


class DistillwatchGuardrail(CustomGuardrail):
    def __init__(
        self,
        enforcer: Enforcer | None = None,
        sinks: Iterable[Sink] = (),
        guardrail_name: str = "distillwatch",
        **kwargs: Any,
    ) -> None:
        """From code: pass an ``enforcer`` (and ``sinks``). From a LiteLLM config, LiteLLM
        passes the ``litellm_params`` instead, and the enforcer is built from the
        ``distillwatch_*`` ones (:func:`from_params`; ``docs/gateway.md``)."""
        own = {k: kwargs.pop(k) for k in list(kwargs) if k.startswith("distillwatch_")}
        kwargs["event_hook"] = "pre_call"
        kwargs["default_on"] = True  # a client must never be able to skip it
        super().__init__(guardrail_name=guardrail_name, **kwargs)
        if enforcer is None:
            try:
                enforcer, sinks = from_params(own)
            except Exception as error:
                raise GuardrailLoadError(
                    f"distillwatch guardrail {guardrail_name!r} could not load, so the proxy "
                    f"must not start unguarded: {error}"
                ) from error
        self.enforcer = enforcer
        self.sinks = list(sinks)

    def should_run_guardrail(self, data: Any, event_type: Any) -> bool:
        """Every pre-call event, whatever the request says: LiteLLM lets a request opt out
        of global guardrails (``disable_global_guardrail``), which must not switch
        enforcement off."""
        return str(getattr(event_type, "value", event_type)) == "pre_call"

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any]:
        """LiteLLM proxy: decide before routing; refuse with the gateway's HTTP answer."""
        account = (
            getattr(user_api_key_dict, "user_id", None)
            or getattr(user_api_key_dict, "team_id", None)
            or f"key-{(getattr(user_api_key_dict, 'token', None) or 'anonymous')[:16]}"
        )
        key_id = (getattr(user_api_key_dict, "token", None) or "")[:12] or account
        identity = Identity(account, key_id, org_id=getattr(user_api_key_dict, "org_id", None))
        _, refusal = await self._decide(data, identity, call_type)
        if refusal is not None:
            from fastapi import HTTPException

            raise HTTPException(
                status_code=refusal.status,
                detail=orjson.loads(refusal.body)["error"],
                headers=dict(refusal.headers),
            )
        return data

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        """LiteLLM SDK: decide unless the proxy hook already did for this call."""
        metadata = kwargs.get("metadata") or kwargs.get("litellm_metadata") or {}
        if metadata.get(_MARK):
            return None
        account = metadata.get("user_api_key_user_id") or kwargs.get("user") or "anonymous"
        identity = Identity(str(account), str(metadata.get("user_api_key_hash") or account)[:12])
        decision, refusal = await self._decide(kwargs, identity, call_type)
        if refusal is not None:
            raise RequestRefused(refusal, decision)
        return None

    async def async_log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        """Write the call, with its response, as a traffic log v1 record."""
        record = (kwargs.get("metadata") or {}).get("distillwatch_record") or (
            kwargs.get("litellm_params", {}).get("metadata") or {}
        ).get("distillwatch_record")
        if record is None or not self.sinks:
            return
        capture = ResponseCapture(record.get("endpoint", "chat"))
        capture.start(200, "application/json")
        if hasattr(response_obj, "model_dump"):
            capture.whole(response_obj.model_dump())
        latency = (end_time - start_time).total_seconds() * 1000 if start_time else 0.0
        record = ingestible({**record, **capture.fields(latency)})
        for sink in self.sinks:
            sink.write(record)

    async def _decide(
        self, data: dict[str, Any], identity: Identity, call_type: Any
    ) -> tuple[Decision, Refusal | None]:
        kind = str(getattr(call_type, "value", call_type))
        endpoint = CALL_TYPES.get(kind, "chat")
        api = "anthropic" if kind == "anthropic_messages" else "openai"
        payload = {k: v for k, v in data.items() if k in _REQUEST_FIELDS}
        record = request_record(payload, endpoint, identity, time.time(), api=api)
        record = ingestible(record)
        decision = await self.enforcer.check(record)
        record["enforcement"] = {"action": decision.action.value, "source": decision.source}
        metadata = data.setdefault("metadata", {})
        if isinstance(metadata, dict):
            metadata[_MARK] = True
            metadata["distillwatch_record"] = record
        if decision.allowed:
            return decision, None
        refusal = refusal_for(decision, self.enforcer.policy.challenge_url)
        for sink in self.sinks:
            sink.write({**record, "status": refusal.status})
        return decision, refusal


#: Request fields worth logging (LiteLLM's kwargs also carry credentials and internals).
_REQUEST_FIELDS = frozenset(
    {
        "model", "messages", "prompt", "input", "instructions", "tools", "temperature",
        "top_p", "max_tokens", "max_completion_tokens", "max_output_tokens", "n", "logprobs",
        "top_logprobs", "stream", "reasoning_effort", "reasoning", "system",
    }
)  # fmt: skip


def from_params(params: dict[str, Any]) -> tuple[Enforcer, list[Sink]]:
    """The enforcer and sinks a LiteLLM config describes (its ``distillwatch_*`` params).

    ``distillwatch_policy`` (policy file), ``distillwatch_keys`` (keys file, for clusters and
    sign-up facts), ``distillwatch_redis`` and ``distillwatch_fail_mode`` (shared state),
    ``distillwatch_state`` (overrides file without Redis), ``distillwatch_assessor``
    (``default``, ``rate``, ``online``), ``distillwatch_log_dir`` (traffic and decisions
    logs, as the gateway writes them). Unknown ``distillwatch_*`` names are errors.
    """
    from pathlib import Path

    from distillwatch.enforce.policy import load_policy
    from distillwatch.gateway.app import GatewayConfig, make_assessor, make_store
    from distillwatch.gateway.keys import load_keys
    from distillwatch.gateway.sinks import RotatingJsonl

    names = {"policy", "keys", "redis", "fail_mode", "state", "assessor", "log_dir"}
    given = {k.removeprefix("distillwatch_"): v for k, v in params.items()}
    unknown = sorted(set(given) - names)
    if unknown:
        raise ValueError(f"unknown distillwatch guardrail parameter(s): {unknown}")

    def path(name: str) -> Path | None:
        return Path(str(given[name])) if given.get(name) else None

    fail_mode = str(given.get("fail_mode") or "open")
    if fail_mode not in ("open", "closed"):
        raise ValueError(f"distillwatch_fail_mode must be open or closed, got {fail_mode!r}")
    config = GatewayConfig(
        upstream="http://litellm.invalid",  # LiteLLM routes; nothing is forwarded from here
        policy=path("policy"),
        keys=path("keys"),
        redis=given.get("redis") or None,
        fail_mode="open" if fail_mode == "open" else "closed",
        assessor=given.get("assessor") or None,
        overrides=path("state"),
    )
    keys = load_keys(config.keys)
    sinks: list[Sink] = []
    decisions: RotatingJsonl | None = None
    log_dir = path("log_dir")
    if log_dir is not None:
        sinks.append(RotatingJsonl(log_dir / "traffic", "traffic"))
        decisions = RotatingJsonl(log_dir / "decisions", "decisions")

    def record_change(decision: Decision, record: Any) -> None:
        if decisions is not None:
            decisions.write(decision.to_record(record["ts"], record["request_id"]))

    enforcer = Enforcer(
        load_policy(config.policy),
        make_assessor(config, keys),
        make_store(config),
        fail_mode=config.fail_mode,
        on_change=record_change,
    )
    return enforcer, sinks
