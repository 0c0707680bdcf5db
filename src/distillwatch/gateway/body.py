"""Reading and checking a request body before anything is decided or forwarded.

The gateway assesses the body it forwards, so it must read it the way the upstream will:
a body that is not a JSON object, is cut short, is larger than the limit, or whose
conversation is not a list of messages the log can hold is answered here with a ``400``
(``413`` for size) in the OpenAI error shape, and never reaches the upstream. The body is
read as a stream and reading stops at the limit, so a 100 MB body costs the limit, not
100 MB of memory.

What is checked here is the structure the assessor and ``scan`` read (``messages``, ``input``,
``prompt``, ``system``); parameters with odd values are not refused but normalised for the
log with their raw values kept (:mod:`distillwatch.gateway.sanitize`), because real servers
accept some of them (LiteLLM serves ``"temperature": "0.7"``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from distillwatch.ingest.validate import json_type

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

#: The default body limit: far above any real prompt (a 128k-token context is ~0.5 MB).
DEFAULT_LIMIT = 8 * 1024 * 1024


class BadRequest(Exception):
    """A body the gateway will not forward; ``param`` names the offending field."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param


class ClientGone(Exception):
    """The client disconnected before its body was complete."""


async def read_limited(receive: Receive, limit: int, declared: str | None = None) -> bytes:
    """The whole body, read chunk by chunk and refused as soon as it passes ``limit``."""
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise BadRequest(400, "Content-Length is not a number.")
        if int(declared) > limit:
            raise BadRequest(413, f"Request body larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, f"Request body larger than {limit} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def parse_object(body: bytes) -> dict[str, Any]:
    """The body's JSON object (UTF-8); anything else is a :class:`BadRequest`."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(400, f"Request body is not valid UTF-8 JSON: {exc}") from None
    if type(payload) is not dict:
        raise BadRequest(400, f"Request body must be a JSON object, got {json_type(payload)}.")
    return payload


def check_structure(payload: dict[str, Any], endpoint: str, api: str) -> None:
    """Refuse conversations the log could not hold as sent (OpenAI answers these 400 too)."""
    if api == "anthropic":
        _system(payload.get("system"))
        _messages(payload.get("messages"), "messages")
    elif endpoint == "chat":
        _messages(payload.get("messages"), "messages")
    elif endpoint == "completion":
        _prompt(payload.get("prompt"))
    elif endpoint == "responses":
        _string_or_none(payload.get("instructions"), "instructions")
        given = payload.get("input")
        if type(given) is list:
            _messages(given, "input", typed_items=True)
        else:
            _string_or_none(given, "input")
    elif endpoint == "embedding":
        _prompt(payload.get("input"), "input", tokens=True)


def _messages(value: Any, field: str, typed_items: bool = False) -> None:
    if value is None and field == "input":
        return
    if type(value) is not list:
        raise BadRequest(400, f"'{field}' must be an array of messages.", field)
    for i, message in enumerate(value):
        where = f"{field}[{i}]"
        if type(message) is not dict:
            raise BadRequest(400, f"'{where}' must be an object, got {json_type(message)}.", where)
        role = message.get("role")
        if role is None and typed_items:  # a responses API item that is not a message
            continue
        if type(role) is not str:
            raise BadRequest(400, f"'{where}.role' must be a string.", f"{where}.role")
        _content(message.get("content"), f"{where}.content")


def _content(value: Any, field: str) -> None:
    if value is None or type(value) is str:
        return
    if type(value) is not list:
        raise BadRequest(400, f"'{field}' must be a string or an array of parts.", field)
    for i, part in enumerate(value):
        if type(part) is str:
            continue
        if type(part) is not dict:
            raise BadRequest(400, f"'{field}[{i}]' must be an object.", f"{field}[{i}]")
        text = part.get("text")
        if text is not None and type(text) is not str:
            raise BadRequest(400, f"'{field}[{i}].text' must be a string.", f"{field}[{i}].text")


def _system(value: Any) -> None:
    if value is None or type(value) is str:
        return
    _content(value, "system")


def _prompt(value: Any, field: str = "prompt", tokens: bool = False) -> None:
    if value is None or type(value) is str:
        return
    if type(value) is list and all(type(p) is str for p in value):
        return
    if tokens and type(value) is list:  # token ids, or lists of them (embeddings)
        flat = [x for p in value for x in (p if type(p) is list else [p])]
        if all(type(x) is int for x in flat):
            return
    raise BadRequest(400, f"'{field}' must be a string or an array of strings.", field)


def _string_or_none(value: Any, field: str) -> None:
    if value is not None and type(value) is not str:
        raise BadRequest(400, f"'{field}' must be a string.", field)
