"""OpenTelemetry GenAI spans in OTLP JSON → traffic log v1 (``--from otel``).

The Collector's ``file`` exporter writes one ``ExportTraceServiceRequest`` per line:
``{"resourceSpans": [{"resource": ..., "scopeSpans": [{"scope": ..., "spans": [...]}]}]}``,
in OTLP/JSON encoding (ids as hex, 64-bit integers as decimal strings, attribute values as
``{"stringValue": ...}``/``{"intValue": ...}``/``{"arrayValue": ...}``). Each span that is a
model call under the GenAI semantic conventions becomes one request: one with
``gen_ai.operation.name`` ``chat``, ``text_completion``, ``generate_content`` or ``embeddings``,
or, from instrumentations older than that attribute, one with ``gen_ai.system`` or
``gen_ai.request.model``. Other spans of the trace (HTTP, database, ``execute_tool``,
``invoke_agent``) are passed over and counted by reason. Prompts and answers are read from
every place the conventions have put them over time (``gen_ai.input.messages`` /
``gen_ai.output.messages`` attributes, per-message events, ``gen_ai.prompt.N.*`` attributes);
see ``docs/readers.md``. Quarantine names the span as
``resourceSpans[i].scopeSpans[j].spans[k]`` and the attribute at fault.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from distillwatch.ingest.formats.base import (
    Item,
    Mapped,
    PassedOver,
    Unmapped,
    as_list,
    as_object,
    first,
    missing,
)
from distillwatch.ingest.formats.mapping import NO_MAPPING, FieldMapping
from distillwatch.ingest.formats.otel_content import conversation
from distillwatch.ingest.validate import InvalidRecord, Reason, json_type

#: ``gen_ai.operation.name`` → v1 endpoint, for the operations that are model calls.
OPERATIONS = {
    "chat": "chat",
    "generate_content": "chat",
    "text_completion": "completion",
    "embeddings": "embedding",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Nanosecond timestamps at or above this (year 5138) are rejected, as v1 does for seconds.
MAX_NANOS = 10**20


def looks_like(record: Any) -> bool:
    """An OTLP/JSON trace export: an object with ``resourceSpans``."""
    return type(record) is dict and "resourceSpans" in record


#: Nesting of array/key-value values read at most (GenAI messages need three or four).
MAX_DEPTH = 16


def any_value(value: Any, field: str, depth: int = 0) -> Any:
    """An OTLP ``AnyValue`` as a plain value (arrays and key/value lists recursively)."""
    if depth > MAX_DEPTH:
        raise InvalidRecord(Reason.BAD_VALUE, field, f"{field} nests deeper than {MAX_DEPTH}")
    node = as_object(value, field)
    if not node:
        return None
    if len(node) != 1:
        raise InvalidRecord(Reason.BAD_VALUE, field, f"{field} must hold exactly one value kind")
    kind, inner = next(iter(node.items()))
    if kind == "stringValue":
        return inner
    if kind == "boolValue":
        return inner
    if kind == "intValue":
        if type(inner) is int:
            return inner
        if type(inner) is str and inner.lstrip("-").isdigit() and len(inner) <= 20:
            return int(inner)
        raise InvalidRecord(Reason.WRONG_TYPE, field, f"{field}.intValue is not an integer")
    if kind == "doubleValue":
        return float(inner) if type(inner) in (int, float) else inner
    if kind == "arrayValue":
        items = as_list(as_object(inner, field).get("values"), f"{field}.arrayValue.values")
        return [any_value(item, f"{field}[{i}]", depth + 1) for i, item in enumerate(items)]
    if kind == "kvlistValue":
        return attributes(as_object(inner, field).get("values"), field, depth + 1)
    if kind == "bytesValue":
        return inner
    raise InvalidRecord(Reason.BAD_VALUE, field, f"{field}: unknown value kind {kind[:32]!r}")


def attributes(value: Any, field: str, depth: int = 0) -> dict[str, Any]:
    """A list of ``{"key", "value"}`` as a dict (a key repeated: the last one wins)."""
    out: dict[str, Any] = {}
    for i, item in enumerate(as_list(value, field)):
        pair = as_object(item, f"{field}[{i}]")
        key = pair.get("key")
        if type(key) is not str:
            detail = f"key must be a string, got {json_type(key)}"
            raise InvalidRecord(Reason.WRONG_TYPE, f"{field}[{i}].key", detail)
        out[key] = any_value(pair.get("value"), f"{field}.{key}", depth)
    return out


def _nanos(value: Any, field: str) -> int:
    if type(value) is str and value.isdigit() and len(value) <= 21:
        value = int(value)
    if type(value) is not int or not 0 < value < MAX_NANOS:
        detail = f"{field} must be epoch nanoseconds, got {json_type(value)}"
        raise InvalidRecord(Reason.BAD_TIMESTAMP, field, detail)
    return int(value)


def _rfc3339(nanos: int) -> str:
    moment = _EPOCH + timedelta(microseconds=nanos // 1000)
    return moment.isoformat().replace("+00:00", "Z")


def map_export(raw: Any, mapping: FieldMapping = NO_MAPPING) -> Iterator[Item]:
    """One OTLP/JSON line → one item per span in it."""
    if not looks_like(raw):
        if type(raw) is dict and ("resourceLogs" in raw or "resourceMetrics" in raw):
            yield PassedOver("OTLP logs or metrics, not spans")
            return
        problem = InvalidRecord(
            Reason.MISSING_FIELD, "resourceSpans", "an OTLP trace export needs resourceSpans"
        )
        yield Unmapped(problem, raw=raw)
        return
    for i, rs in enumerate(as_list(raw["resourceSpans"], "resourceSpans")):
        at_r = f"resourceSpans[{i}]"
        try:
            rs = as_object(rs, at_r)
            resource = attributes(as_object(rs.get("resource"), at_r).get("attributes"), "resource")
            scopes = as_list(rs.get("scopeSpans"), f"{at_r}.scopeSpans")
        except InvalidRecord as problem:
            yield Unmapped(problem, raw=rs)
            continue
        for j, ss in enumerate(scopes):
            at_s = f"{at_r}.scopeSpans[{j}]"
            try:
                spans = as_list(as_object(ss, at_s).get("spans"), f"{at_s}.spans")
            except InvalidRecord as problem:
                yield Unmapped(problem, raw=ss)
                continue
            for k, span in enumerate(spans):
                where = f"{at_s}.spans[{k}]"
                try:
                    yield map_span(span, resource, where, mapping)
                except InvalidRecord as problem:
                    yield Unmapped(problem, where=where, raw=span)


def map_span(
    span: Any, resource: dict[str, Any], where: str, mapping: FieldMapping
) -> Mapped | PassedOver:
    """One span → a v1 record, or passed over when it is not a model call."""
    span = as_object(span, "span")
    attrs = attributes(span.get("attributes"), "attributes")
    operation = attrs.get("gen_ai.operation.name")
    if operation is None:
        if not any(key.startswith("gen_ai.") for key in attrs):
            return PassedOver("not a GenAI span")
        if "gen_ai.system" not in attrs and "gen_ai.request.model" not in attrs:
            return PassedOver("GenAI span without a model call (no operation, system or model)")
        kind = attrs.get("llm.request.type")
        endpoint = OPERATIONS.get(kind) if type(kind) is str else None
        if kind == "completion":
            endpoint = "completion"
    elif type(operation) is str and operation in OPERATIONS:
        endpoint = OPERATIONS[operation]
    elif type(operation) is str:
        return PassedOver(f"GenAI span that is not a model call ({operation[:32]})")
    else:
        raise InvalidRecord(Reason.WRONG_TYPE, "attributes.gen_ai.operation.name", "not a string")

    record: dict[str, Any] = {"endpoint": endpoint}
    origin: dict[str, str] = {}

    def take(v1_name: str, value: Any, name: str | None) -> None:
        if value is not None and value != "" and name is not None:
            record[v1_name] = value
            inside = name.startswith(("span.", "resource."))
            origin[v1_name] = name if inside else f"attributes.{name}"

    trace_id, span_id = span.get("traceId"), span.get("spanId")
    if type(span_id) is not str or not span_id:
        raise missing("spanId")
    take("request_id", f"{trace_id}-{span_id}" if type(trace_id) is str else span_id, "span.spanId")
    start = _nanos(span.get("startTimeUnixNano"), "startTimeUnixNano")
    record["ts"], origin["ts"] = _rfc3339(start), "startTimeUnixNano"
    end = span.get("endTimeUnixNano")
    if end is not None:
        end_ns = _nanos(end, "endTimeUnixNano")
        take("latency_ms", max(end_ns - start, 0) / 1e6, "span.endTimeUnixNano")
    take("account_id", *first(attrs, "user.id", "enduser.id", "gen_ai.user.id"))
    if "account_id" not in record:
        account, name = first(resource, "user.id", "enduser.id")
        take("account_id", account, f"resource.{name}" if name else None)
    if "account_id" not in record:
        raise missing(
            "attributes.user.id",
            "no account: none of user.id, enduser.id, gen_ai.user.id (span or resource) is set",
        )
    take("ip", *first(attrs, "client.address", "net.sock.peer.addr", "http.client_ip"))
    take("user_agent", *first(attrs, "user_agent.original", "http.user_agent"))
    take("key_id", *first(attrs, "gen_ai.openai.api_key_id", "api_key.id"))
    take("org_id", *first(attrs, "gen_ai.organization.id", "organization.id"))
    take("model", *first(attrs, "gen_ai.request.model", "gen_ai.response.model"))
    for v1_name, names in (
        ("temperature", ("gen_ai.request.temperature",)),
        ("top_p", ("gen_ai.request.top_p",)),
        ("max_tokens", ("gen_ai.request.max_tokens",)),
        ("n", ("gen_ai.request.choice.count",)),
        ("stream", ("gen_ai.request.stream", "llm.is_streaming")),
        ("reasoning_effort", ("gen_ai.request.reasoning_effort",
                              "gen_ai.openai.request.reasoning_effort")),
        ("logprobs", ("gen_ai.request.logprobs",)),
        ("top_logprobs", ("gen_ai.request.top_logprobs",)),
    ):  # fmt: skip
        value, name = first(attrs, *names)
        if value is not None and name is not None:
            record.setdefault("params", {})[v1_name] = value
            origin[f"params.{v1_name}"] = f"attributes.{name}"
    for v1_name, names in (
        ("input_tokens", ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")),
        ("output_tokens", ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")),
        ("reasoning_tokens", ("gen_ai.usage.reasoning_tokens",
                              "gen_ai.usage.reasoning.output_tokens")),
    ):  # fmt: skip
        value, name = first(attrs, *names)
        if value is not None and name is not None:
            record.setdefault("usage", {})[v1_name] = value
            origin[f"usage.{v1_name}"] = f"attributes.{name}"
    events = as_list(span.get("events"), "events")
    conversation(attrs, events, record, origin, "chat" if endpoint is None else endpoint)
    take("status", _status(span, attrs), "span.status")
    view = {**span, "attributes": attrs, "resource": resource}
    mapping.apply(view, record, origin)
    return Mapped(record, origin, where=where, raw=span)


def _status(span: dict[str, Any], attrs: dict[str, Any]) -> int | None:
    """HTTP status if recorded; else 200 for a span not in error, the error's code if HTTP."""
    code, _ = first(attrs, "http.response.status_code", "http.status_code")
    if type(code) is int:
        return code
    status = span.get("status")
    failed = type(status) is dict and status.get("code") in (2, "STATUS_CODE_ERROR")
    error = attrs.get("error.type")
    if not failed and error is None:
        return 200
    if type(error) is str and error.isdigit() and len(error) == 3:
        return int(error)
    return None
