"""OpenAI-compatible request/response logs → traffic log v1 (``--from openai-log``).

What many proxies and SDK wrappers write, one JSON object per line::

    {"id": "...", "timestamp": "...", "user_id": "...", "ip": "...",
     "request": {"model": "...", "messages": [...], "temperature": 0.2, ...},
     "response": {"object": "chat.completion", "choices": [...], "usage": {...}},
     "status": 200, "latency_ms": 812}

The metadata around the two bodies has no standard names, so each v1 field is taken from the
first of a few common names (listed in ``docs/readers.md``), and a mapping file
(:mod:`distillwatch.ingest.formats.mapping`) names the others. Bodies are read by
:mod:`distillwatch.ingest.formats.openai_shapes`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from distillwatch.ingest.formats.base import (
    Item,
    Mapped,
    as_object,
    first,
    guarded,
    lookup,
    missing,
)
from distillwatch.ingest.formats.mapping import NO_MAPPING, FieldMapping
from distillwatch.ingest.formats.openai_shapes import (
    endpoint_from_bodies,
    endpoint_from_path,
    map_request,
    map_response,
)
from distillwatch.ingest.limits import client_account
from distillwatch.schema import ENDPOINTS

#: v1 field → names tried, in order, at the top level of a log line.
META_NAMES: dict[str, tuple[str, ...]] = {
    "request_id": ("request_id", "id", "call_id"),
    "ts": ("ts", "timestamp", "time", "created_at", "start_time", "started_at"),
    "account_id": ("account_id", "user_id", "customer_id", "api_key_id", "key_id", "user"),
    "key_id": ("key_id", "api_key_id", "api_key_hash"),
    "org_id": ("org_id", "organization_id", "team_id"),
    "ip": ("ip", "client_ip", "remote_addr", "ip_address"),
    "user_agent": ("user_agent",),
    "status": ("status", "status_code"),
    "latency_ms": ("latency_ms", "duration_ms"),
    "country": ("country",),
    "asn": ("asn",),
    "account_created": ("account_created",),
    "payment_fingerprint": ("payment_fingerprint",),
    "email_domain": ("email_domain",),
}


#: What marks a line as this format when sniffing a file.
def looks_like(record: Any) -> bool:
    """True for an object holding a request body object (and no v1 ``messages``)."""
    return (
        type(record) is dict
        and type(record.get("request")) is dict
        and ("response" in record or "messages" in record["request"])
    )


def _header(headers: Any, name: str) -> Any:
    if type(headers) is dict:
        for key, value in headers.items():
            if type(key) is str and key.lower() == name:
                return value
    return None


def map_line(raw: Any, mapping: FieldMapping = NO_MAPPING) -> Iterator[Item]:
    """One log line → one v1 record (or why not)."""
    return guarded(raw, "a log line", lambda line: map_pair(line, mapping))


def map_pair(raw: dict[str, Any], mapping: FieldMapping) -> Mapped:
    """The v1 record of one request/response pair."""
    request_at = mapping.path("request", "request")
    response_at = mapping.path("response", "response")
    request = as_object(lookup(raw, request_at), request_at)
    response = as_object(lookup(raw, response_at), response_at)
    record: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for v1_name, names in META_NAMES.items():
        value, name = first(raw, *names)
        if value is not None and name is not None:
            record[v1_name] = value
            origin[v1_name] = name
    if "request_id" not in record and response.get("id") is not None:
        record["request_id"], origin["request_id"] = response["id"], f"{response_at}.id"
    if "ts" not in record and response.get("created") is not None:
        record["ts"], origin["ts"] = response["created"], f"{response_at}.created"
    if "account_id" not in record and request.get("user") is not None:
        record["account_id"], origin["account_id"] = request["user"], f"{request_at}.user"
    if "user_agent" not in record:
        agent = _header(raw.get("headers"), "user-agent")
        if agent is not None:
            record["user_agent"], origin["user_agent"] = agent, "headers.user-agent"
    endpoint = raw.get("endpoint")
    if endpoint not in ENDPOINTS:
        path_value, _ = first(raw, "path", "url", "route", "endpoint")
        endpoint = endpoint_from_path(path_value) or endpoint_from_bodies(request, response)
    model, name = first(request, "model")
    if model is None:
        model, name = first(response, "model")
        at = response_at
    else:
        at = request_at
    if model is not None:
        record["model"], origin["model"] = model, f"{at}.{name}"
    map_request(request, request_at, record, origin, endpoint)
    map_response(response, response_at, record, origin)
    mapping.apply(raw, record, origin)
    client_account(record, origin, {f"{request_at}.user"})
    for required in ("account_id", "ts", "request_id"):
        if record.get(required) is None or record.get(required) == "":
            tried = ", ".join((*META_NAMES[required], *_FALLBACKS[required]))
            where = origin.get(required, required)
            raise missing(where, f"no {required}: none of {tried} is set (name it in --mapping)")
    return Mapped(record, origin, raw=raw)


#: Where, after the top-level names, each required field is looked for.
_FALLBACKS = {
    "account_id": ("request.user",),
    "ts": ("response.created",),
    "request_id": ("response.id",),
}
