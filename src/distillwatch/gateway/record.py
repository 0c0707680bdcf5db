"""OpenAI-style requests and responses → traffic log v1 records.

The gateway writes exactly what ``scan`` reads, so an online deployment feeds the batch
detectors with no conversion step. A record is built in two halves: the request half before
forwarding (it is what the assessor sees: a decision may use only what is known then), and the
response half when the response has been sent — for streams, from the SSE events as they pass
through, without changing a byte of them.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from distillwatch.gateway import sanitize
from distillwatch.gateway.keys import Identity

#: Anthropic message and stream event types (``/v1/messages``).
_ANTHROPIC = frozenset(
    ("message", "message_start", "content_block_delta", "message_delta", "content_block_start")
)

#: The most characters of a User-Agent kept (a header can be far longer than any real one).
MAX_AGENT = 512
#: The most response text kept per record (a log is evidence, not an archive of outputs).
MAX_TEXT = 32_000


def now_rfc3339(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def request_record(
    payload: dict[str, Any],
    endpoint: str,
    identity: Identity,
    epoch: float,
    ip: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
    api: str = "openai",
) -> dict[str, Any]:
    """The request half of a record, from the request's JSON object (``api``: its dialect).

    Parameters are read into their columns' types (:mod:`distillwatch.gateway.sanitize`);
    values that had to change are kept as sent under ``invalid``.
    """
    record: dict[str, Any] = {
        "ts": now_rfc3339(epoch),
        "account_id": identity.account_id,
        "request_id": request_id or uuid.uuid4().hex,
        "key_id": identity.key_id,
        "endpoint": endpoint,
    }
    if identity.org_id:
        record["org_id"] = identity.org_id
    if identity.email_domain:
        record["email_domain"] = identity.email_domain
    if identity.account_created:
        record["account_created"] = identity.account_created
    if ip:
        record["ip"] = ip
    if user_agent:
        record["user_agent"] = user_agent[:MAX_AGENT]
    invalid: dict[str, Any] = {}
    for name, kind in (("model", str), ("tools", list)):
        value = payload.get(name)
        if isinstance(value, kind):
            record[name] = value
        elif value is not None:
            invalid[name] = sanitize.raw(value)
    record.update(_anthropic(payload) if api == "anthropic" else _conversation(payload, endpoint))
    params = sanitize.params(payload, invalid)
    if "max_tokens" not in params:
        for alt in ("max_completion_tokens", "max_output_tokens"):
            if payload.get(alt) is not None:
                value, changed = sanitize.param("max_tokens", payload[alt])
                if changed:
                    invalid[f"params.{alt}"] = sanitize.raw(payload[alt])
                if value is not None:
                    params["max_tokens"] = value
                    break
    effort = (payload.get("reasoning") or {}) if isinstance(payload.get("reasoning"), dict) else {}
    if "reasoning_effort" not in params and isinstance(effort.get("effort"), str):
        params["reasoning_effort"] = effort["effort"]
    if params:
        record["params"] = params
    if invalid:
        record["invalid"] = invalid
    return record


def _anthropic(payload: dict[str, Any]) -> dict[str, Any]:
    """``system`` and ``messages`` of an Anthropic messages request (``/v1/messages``)."""
    out: dict[str, Any] = {}
    system = payload.get("system")
    if isinstance(system, list):
        system = "\n".join(
            p["text"] for p in system if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    if isinstance(system, str) and system:
        out["system"] = system
    if isinstance(payload.get("messages"), list):
        out["messages"] = payload["messages"]
    return out


def _conversation(payload: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """``system`` and ``messages`` in OpenAI chat form, whatever the endpoint."""
    out: dict[str, Any] = {}
    if endpoint == "chat" and isinstance(payload.get("messages"), list):
        out["messages"] = payload["messages"]
    elif endpoint == "completion":
        prompt = payload.get("prompt")
        if isinstance(prompt, list):
            prompt = "\n".join(p for p in prompt if isinstance(p, str))
        if isinstance(prompt, str):
            out["messages"] = [{"role": "user", "content": prompt}]
    elif endpoint == "responses":
        if isinstance(payload.get("instructions"), str):
            out["system"] = payload["instructions"]
        given = payload.get("input")
        if isinstance(given, str):
            out["messages"] = [{"role": "user", "content": given}]
        elif isinstance(given, list):
            out["messages"] = [
                {"role": item.get("role", "user"), "content": item.get("content", "")}
                for item in given
                if isinstance(item, dict) and "content" in item
            ]
    elif endpoint == "embedding" and isinstance(payload.get("input"), str):
        out["messages"] = [{"role": "user", "content": payload["input"]}]
    return out


class ResponseCapture:
    """Collects the response half of a record from the body chunks as they are sent.

    JSON bodies are parsed once at the end (up to ``limit`` bytes kept); event streams are
    parsed event by event, so memory stays bounded however long the stream runs.
    """

    def __init__(self, endpoint: str, limit: int = 4 * 1024 * 1024) -> None:
        self.endpoint = endpoint
        self.limit = limit
        self.status: int | None = None
        self.stream = False
        #: the last body chunk has been sent
        self.complete = False
        self._body = bytearray()
        self._pending = b""
        self._text: list[str] = []
        self._chars = 0
        self.finish_reason: str | None = None
        self.tool_calls: list[Any] = []
        self.usage: dict[str, int] = {}

    def start(self, status: int, content_type: str) -> None:
        self.status = status
        self.stream = content_type.startswith("text/event-stream")

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if not self.stream:
            if len(self._body) < self.limit:
                self._body += chunk[: self.limit - len(self._body)]
            return
        data = self._pending + chunk
        *events, self._pending = data.replace(b"\r\n", b"\n").split(b"\n\n")
        for event in events:
            self._event(event)

    def fields(self, latency_ms: float) -> dict[str, Any]:
        """The response half: ``response``, ``usage``, ``status``, ``latency_ms``."""
        if self.stream and self._pending.strip():
            self._event(self._pending)
            self._pending = b""
        elif not self.stream and self._body:
            with contextlib.suppress(orjson.JSONDecodeError):
                payload = orjson.loads(bytes(self._body))
                if isinstance(payload, dict):
                    self._json(payload)
        out: dict[str, Any] = {"status": self.status, "latency_ms": round(latency_ms, 3)}
        response: dict[str, Any] = {}
        if self._text:
            response["text"] = "".join(self._text)[:MAX_TEXT]
        if self.finish_reason:
            response["finish_reason"] = self.finish_reason
        if self.tool_calls:
            response["tool_calls"] = self.tool_calls
        if response:
            out["response"] = response
        if self.usage:
            out["usage"] = self.usage
        return out

    def whole(self, payload: dict[str, Any]) -> None:
        """Take a complete response object at once (when it comes parsed, as in LiteLLM)."""
        self._json(payload)

    def _add_text(self, text: object) -> None:
        if isinstance(text, str) and text and self._chars < MAX_TEXT:
            self._text.append(text)
            self._chars += len(text)

    def _event(self, event: bytes) -> None:
        data = b"".join(
            line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:")
        )
        if not data or data == b"[DONE]":
            return
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if isinstance(payload, dict):
            self._json(payload, delta=True)

    def _json(self, payload: dict[str, Any], delta: bool = False) -> None:
        self._usage(payload.get("usage"))
        kind = payload.get("type")
        if kind in _ANTHROPIC:
            self._anthropic(kind, payload)
            return
        if isinstance(kind, str) and kind.startswith("response."):  # responses API events
            if kind == "response.output_text.delta":
                self._add_text(payload.get("delta"))
            elif kind == "response.completed" and isinstance(payload.get("response"), dict):
                self._usage(payload["response"].get("usage"))
                self.finish_reason = payload["response"].get("status") or self.finish_reason
            return
        if payload.get("object") == "response":  # a whole responses API object
            for item in payload.get("output") or []:
                for part in (item.get("content") or []) if isinstance(item, dict) else []:
                    if isinstance(part, dict):
                        self._add_text(part.get("text"))
            self.finish_reason = payload.get("status") or self.finish_reason
            return
        for choice in (payload.get("choices") or [])[:1]:
            if not isinstance(choice, dict):
                continue
            message = choice.get("delta" if delta else "message")
            if isinstance(message, dict):
                self._add_text(message.get("content"))
                if message.get("tool_calls"):
                    self.tool_calls.extend(message["tool_calls"])
            self._add_text(choice.get("text"))  # completions
            self.finish_reason = choice.get("finish_reason") or self.finish_reason

    def _anthropic(self, kind: str, payload: dict[str, Any]) -> None:
        """Anthropic messages, whole or as stream events (``/v1/messages``)."""
        if kind == "message":
            for part in payload.get("content") or []:
                if isinstance(part, dict) and part.get("type") == "text":
                    self._add_text(part.get("text"))
            self.finish_reason = payload.get("stop_reason") or self.finish_reason
        elif kind == "message_start" and isinstance(payload.get("message"), dict):
            self._usage(payload["message"].get("usage"))
        elif kind == "content_block_delta" and isinstance(payload.get("delta"), dict):
            self._add_text(payload["delta"].get("text"))
        elif kind == "message_delta" and isinstance(payload.get("delta"), dict):
            self.finish_reason = payload["delta"].get("stop_reason") or self.finish_reason

    def _usage(self, usage: object) -> None:
        if not isinstance(usage, dict):
            return
        pairs = (
            ("input_tokens", ("prompt_tokens", "input_tokens")),
            ("output_tokens", ("completion_tokens", "output_tokens")),
        )
        for name, sources in pairs:
            for source in sources:
                if isinstance(usage.get(source), int):
                    self.usage[name] = usage[source]
        for details in ("completion_tokens_details", "output_tokens_details"):
            value = usage.get(details)
            if isinstance(value, dict) and isinstance(value.get("reasoning_tokens"), int):
                self.usage["reasoning_tokens"] = value["reasoning_tokens"]
