"""LiteLLM's StandardLoggingPayload → traffic log v1 (``--from litellm``, the other shape).

What LiteLLM's bucket and custom loggers write for every call (``s3``, ``gcs_bucket``,
``azure_storage``, a ``CustomLogger``'s ``kwargs["standard_logging_object"]``): one JSON
object per call, times as epoch seconds, the key's owner under ``metadata.user_api_key_*``,
the request's messages and sampling parameters as they were sent (``messages``,
``model_parameters``), and the response. Told apart from a SpendLogs row by ``id`` (a row
has ``request_id``). Field mapping: ``docs/readers.md``.
"""

from __future__ import annotations

from typing import Any

from distillwatch.ingest.formats.base import Mapped, Taker, as_object, first, missing, put
from distillwatch.ingest.formats.litellm import CALL_TYPES
from distillwatch.ingest.formats.mapping import FieldMapping
from distillwatch.ingest.formats.openai_shapes import PARAM_SOURCES, map_response
from distillwatch.ingest.limits import client_account


def looks_like(record: Any) -> bool:
    """A StandardLoggingPayload: ``id``, ``call_type``, ``startTime`` and LiteLLM's cost fields."""
    return (
        type(record) is dict
        and "id" in record
        and "call_type" in record
        and "startTime" in record
        and ("response_cost" in record or "model_parameters" in record)
    )


def map_payload(payload: dict[str, Any], mapping: FieldMapping) -> Mapped:
    """One StandardLoggingPayload → one v1 record."""
    metadata = as_object(payload.get("metadata"), "metadata")
    take = Taker()
    record, origin = take.record, take.origin

    def meta(*names: str) -> tuple[Any, str | None]:
        value, name = first(metadata, *names)
        return value, None if name is None else f"metadata.{name}"

    take("request_id", payload.get("id"), "id")
    take("ts", payload.get("startTime"), "startTime")
    take("account_id", *meta("user_api_key_user_id", "user_api_key_hash"))
    if "account_id" not in record:
        take("account_id", payload.get("end_user"), "end_user")
    if "account_id" not in record:
        raise missing(
            "metadata.user_api_key_user_id",
            "user_api_key_user_id, user_api_key_hash and end_user are all empty: no account",
        )
    take("key_id", *meta("user_api_key_hash"))
    take("org_id", *meta("user_api_key_org_id", "user_api_key_team_id"))
    take("ip", *first(payload, "requester_ip_address"))
    if "ip" not in record:
        take("ip", *meta("requester_ip_address"))
    take("user_agent", *first(payload, "user_agent"))
    if "user_agent" not in record:
        take("user_agent", *meta("user_agent"))
    take("model", *first(payload, "model_group", "model"))
    call_type = payload.get("call_type")
    endpoint = CALL_TYPES.get(call_type) if type(call_type) is str else None
    if endpoint is not None:
        record["endpoint"] = endpoint
    messages = payload.get("messages")
    if endpoint != "embedding" and messages is not None:
        if type(messages) is str and endpoint == "completion":
            messages = [{"role": "user", "content": messages}]
        take("messages", messages, "messages")
    parameters = as_object(payload.get("model_parameters"), "model_parameters")
    for v1_name, names in PARAM_SOURCES.items():
        value, name = first(parameters, *names)
        if value is not None:
            put(record, f"params.{v1_name}", value)
            origin[f"params.{v1_name}"] = f"model_parameters.{name}"
    if payload.get("stream") is not None:
        put(record, "params.stream", payload["stream"])
        origin["params.stream"] = "stream"
    if "tools" in parameters:
        take("tools", parameters["tools"], "model_parameters.tools")
    map_response(as_object(payload.get("response"), "response"), "response", record, origin)
    for v1_name, name in (
        ("input_tokens", "prompt_tokens"),
        ("output_tokens", "completion_tokens"),
    ):
        if payload.get(name) is not None:
            put(record, f"usage.{v1_name}", payload[name])
            origin[f"usage.{v1_name}"] = name
    status = payload.get("status")
    take("status", 200 if status == "success" else None, "status")
    seconds = payload.get("response_time")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        take("latency_ms", seconds * 1000.0, "response_time")
    mapping.apply(payload, record, origin)
    client_account(record, origin)
    return Mapped(record, origin, raw=payload)
