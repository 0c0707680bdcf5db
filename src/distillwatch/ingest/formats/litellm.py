"""LiteLLM SpendLogs rows → traffic log v1 (``--from litellm``).

The LiteLLM proxy writes one row per call to its ``LiteLLM_SpendLogs`` table (schema:
``litellm/proxy/schema.prisma``); the same rows come out of its ``/spend/logs`` API as a
JSON array, and out of ``psql`` as JSON Lines (``COPY (SELECT row_to_json(s) FROM
"LiteLLM_SpendLogs" s) TO STDOUT``). From PostgreSQL the JSON columns are objects and the
times datetimes; from JSON exports the JSON columns may also be strings holding JSON, and the
times are ISO text — both are accepted.

Prompts and answers are in the row only when the proxy runs with
``store_prompts_in_spend_logs: true``: the request body in ``proxy_server_request``, the
answer in ``response``. Without them a row still gives identity, network, model, tokens and
timing, which is what the account-linking checks use. The mapping, field by field, is in
``docs/readers.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson

from distillwatch.ingest.formats.base import Item, Mapped, Taker, as_object, first, guarded, missing
from distillwatch.ingest.formats.mapping import NO_MAPPING, FieldMapping
from distillwatch.ingest.formats.openai_shapes import map_request, map_response
from distillwatch.ingest.limits import client_account
from distillwatch.ingest.validate import InvalidRecord, Reason

#: LiteLLM ``call_type`` → v1 endpoint (async and sync names alike); others stay unset.
CALL_TYPES = {
    "completion": "chat",
    "acompletion": "chat",
    "text_completion": "completion",
    "atext_completion": "completion",
    "responses": "responses",
    "aresponses": "responses",
    "embedding": "embedding",
    "aembedding": "embedding",
    "anthropic_messages": "chat",  # /v1/messages through LiteLLM
}
#: Columns holding JSON (strings of JSON in some exports).
JSON_COLUMNS = ("metadata", "messages", "response", "proxy_server_request", "request_tags")


def looks_like(record: Any) -> bool:
    """A SpendLogs row (``request_id`` and ``startTime`` with LiteLLM's accounting columns),
    or a StandardLoggingPayload (:mod:`.litellm_payload`)."""
    from distillwatch.ingest.formats import litellm_payload

    return (
        type(record) is dict
        and "request_id" in record
        and "startTime" in record
        and ("api_key" in record or "call_type" in record or "spend" in record)
    ) or litellm_payload.looks_like(record)


def _json_column(row: dict[str, Any], name: str) -> Any:
    """A JSON column as a value: objects as they are, a string holding JSON parsed."""
    value = row.get(name)
    if type(value) is str and value[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            raise InvalidRecord(
                Reason.WRONG_TYPE, name, f"{name} holds text that is not valid JSON"
            ) from None
    return value


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if type(value) is str:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _latency_ms(row: dict[str, Any]) -> tuple[Any, str | None]:
    if row.get("request_duration_ms") is not None:
        return row["request_duration_ms"], "request_duration_ms"
    start, end = _moment(row.get("startTime")), _moment(row.get("endTime"))
    if start is None or end is None or (start.tzinfo is None) != (end.tzinfo is None):
        return None, None
    return (end - start).total_seconds() * 1000.0, "endTime"


def _status(row: dict[str, Any], metadata: dict[str, Any]) -> Any:
    """``success`` → 200; ``failure`` → the error code LiteLLM recorded, when it is HTTP."""
    status = row.get("status")
    if status == "success":
        return 200
    if status == "failure":
        info = metadata.get("error_information")
        code = info.get("error_code") if type(info) is dict else None
        if type(code) is str and code.isdigit() and 100 <= int(code) <= 599:
            return int(code)
        if type(code) is int and 100 <= code <= 599:
            return code
    return None


def map_row(raw: Any, mapping: FieldMapping = NO_MAPPING) -> Iterator[Item]:
    """One SpendLogs row (or StandardLoggingPayload) → one v1 record (or why not)."""
    from distillwatch.ingest.formats.litellm_payload import map_payload

    def build(row: dict[str, Any]) -> Mapped:
        if "request_id" not in row and "id" in row:
            return map_payload(row, mapping)
        return _map(row, mapping)

    return guarded(raw, "a SpendLogs row", build)


def _map(row: dict[str, Any], mapping: FieldMapping) -> Mapped:
    metadata = as_object(_json_column(row, "metadata"), "metadata")
    body = as_object(_json_column(row, "proxy_server_request"), "proxy_server_request")
    answer = as_object(_json_column(row, "response"), "response")
    take = Taker()
    record, origin = take.record, take.origin

    take("request_id", row.get("request_id"), "request_id")
    take("ts", row.get("startTime"), "startTime")
    take("account_id", *first(row, "user", "api_key", "end_user"))
    if "account_id" not in record:
        raise missing("user", "user, api_key and end_user are all empty: no account to charge")
    take("key_id", row.get("api_key"), "api_key")
    take("org_id", *first(row, "organization_id", "team_id"))
    take("ip", row.get("requester_ip_address"), "requester_ip_address")
    if "ip" not in record:
        take("ip", metadata.get("requester_ip_address"), "metadata.requester_ip_address")
    take("user_agent", metadata.get("user_agent"), "metadata.user_agent")
    take("model", *first(row, "model_group", "model"))
    call_type = row.get("call_type")
    endpoint = CALL_TYPES.get(call_type) if type(call_type) is str else None
    map_request(body, "proxy_server_request", record, origin, endpoint)
    messages = _json_column(row, "messages")
    if "messages" not in record and type(messages) is list and messages:
        record["messages"], origin["messages"] = messages, "messages"
    map_response(answer, "response", record, origin)
    tokens = (("input_tokens", "prompt_tokens"), ("output_tokens", "completion_tokens"))
    for v1_name, column in tokens:
        if row.get(column) is not None:
            record.setdefault("usage", {})[v1_name] = row[column]
            origin[f"usage.{v1_name}"] = column
    take("status", _status(row, metadata), "status")
    take("latency_ms", *_latency_ms(row))
    mapping.apply(row, record, origin)
    client_account(record, origin)
    return Mapped(record, origin, raw=row)
