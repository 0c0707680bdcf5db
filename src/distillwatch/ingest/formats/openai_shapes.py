"""OpenAI-compatible request and response bodies → the v1 fields they carry.

LiteLLM stores the request body it received (``proxy_server_request``) and the response it
returned in this shape, and so do most proxies' request/response logs, so both readers use
these. Chat completions, text completions, the Responses API and embeddings are told apart
by the body (``messages``, ``prompt``, ``input``) or by the response's ``object``.

Each function fills a v1 record and its ``origin`` (v1 field → foreign field) from one body
found at ``prefix`` in the foreign record; a value of the wrong type is left for v1's own
checks when v1 has a rule for it (it is then reported against the foreign field), and raises
here when the mapping itself needs its shape (``choices`` must be a list to find choice 0).
"""

from __future__ import annotations

from typing import Any

from distillwatch.ingest.formats.base import as_list, as_object, first, put
from distillwatch.schema import ENDPOINTS

#: Request-body keys copied into v1 ``params``, by v1 name (first present wins).
PARAM_SOURCES: dict[str, tuple[str, ...]] = {
    "temperature": ("temperature",),
    "top_p": ("top_p",),
    "max_tokens": ("max_tokens", "max_completion_tokens", "max_output_tokens"),
    "n": ("n",),
    "logprobs": ("logprobs",),
    "top_logprobs": ("top_logprobs",),
    "stream": ("stream",),
    "reasoning_effort": ("reasoning_effort",),
}

#: Response ``object`` values → v1 endpoint.
OBJECT_ENDPOINTS = {
    "chat.completion": "chat",
    "chat.completion.chunk": "chat",
    "text_completion": "completion",
    "response": "responses",
}

#: URL path endings → v1 endpoint.
PATH_ENDPOINTS = (
    ("/chat/completions", "chat"),
    ("/completions", "completion"),
    ("/responses", "responses"),
    ("/embeddings", "embedding"),
)


def endpoint_from_path(path: Any) -> str | None:
    """``/v1/chat/completions`` → ``chat``; anything unrecognised → None."""
    if type(path) is not str:
        return None
    clean = path.split("?", 1)[0].rstrip("/")
    for suffix, endpoint in PATH_ENDPOINTS:
        if clean.endswith(suffix):
            return endpoint
    return None


def endpoint_from_bodies(request: dict[str, Any], response: dict[str, Any]) -> str | None:
    """The endpoint a request/response pair belongs to, from their shapes."""
    kind = response.get("object")
    if type(kind) is str and kind in OBJECT_ENDPOINTS:
        return OBJECT_ENDPOINTS[kind]
    if kind == "list" and type(response.get("data")) is list:
        return "embedding"
    if "messages" in request:
        return "chat"
    if "prompt" in request:
        return "completion"
    if "input" in request:
        return "responses" if "instructions" in request or "reasoning" in request else None
    return None


def _responses_input(value: Any) -> Any:
    """Responses API ``input``: a string is one user message; items with a role are messages."""
    if type(value) is str:
        return [{"role": "user", "content": value}]
    if type(value) is list:
        return [item for item in value if type(item) is not dict or "role" in item]
    return value  # wrong type: v1 reports it against the foreign field


def map_request(
    body: dict[str, Any],
    prefix: str,
    record: dict[str, Any],
    origin: dict[str, str],
    endpoint: str | None,
) -> None:
    """Messages, system prompt, tools and sampling parameters from a request body."""
    here = f"{prefix}." if prefix else ""
    if endpoint == "embedding":
        pass  # the input is data to embed, not a conversation
    elif "messages" in body:
        record["messages"] = body["messages"]
        origin["messages"] = f"{here}messages"
    elif endpoint == "completion" or ("prompt" in body and endpoint is None):
        prompt = body.get("prompt")
        record["messages"] = [{"role": "user", "content": prompt}] if prompt is not None else []
        origin["messages"] = f"{here}prompt"
        origin["messages[0].content"] = f"{here}prompt"
    elif "input" in body:
        record["messages"] = _responses_input(body["input"])
        origin["messages"] = f"{here}input"
    if body.get("instructions") is not None:
        record["system"] = body["instructions"]
        origin["system"] = f"{here}instructions"
    if "tools" in body:
        record["tools"] = body["tools"]
        origin["tools"] = f"{here}tools"
    reasoning = body.get("reasoning")
    for v1_name, names in PARAM_SOURCES.items():
        value, name = first(body, *names)
        if value is None and v1_name == "reasoning_effort" and type(reasoning) is dict:
            value, name = reasoning.get("effort"), "reasoning.effort"
        if value is not None:
            put(record, f"params.{v1_name}", value)
            origin[f"params.{v1_name}"] = f"{here}{name}"
    if type(body.get("logprobs")) is int and endpoint == "completion":
        # legacy completions: logprobs=N means "the top N", v1 says logprobs=true, top_logprobs=N
        record["params"]["logprobs"] = True
        record["params"].setdefault("top_logprobs", body["logprobs"])
        origin["params.top_logprobs"] = f"{here}logprobs"
    if endpoint in ENDPOINTS:
        record["endpoint"] = endpoint


def _chat_choice(choice: dict[str, Any], at: str) -> tuple[Any, Any, Any, dict[str, str]]:
    message = as_object(choice.get("message"), f"{at}.message")
    content = message.get("content")
    if type(content) is list:  # parts: keep the text ones
        content = "\n".join(
            part["text"] for part in content if type(part) is dict and type(part.get("text")) is str
        )
    origin = {
        "response.text": f"{at}.message.content",
        "response.tool_calls": f"{at}.message.tool_calls",
        "response.finish_reason": f"{at}.finish_reason",
    }
    return content, choice.get("finish_reason"), message.get("tool_calls"), origin


def _responses_output(body: dict[str, Any], at: str) -> tuple[Any, Any, list[Any] | None]:
    if type(body.get("output_text")) is str:
        text: Any = body["output_text"]
    else:
        texts = []
        for item in as_list(body.get("output"), f"{at}output"):
            if type(item) is dict and item.get("type") == "message":
                for part in as_list(item.get("content"), f"{at}output[].content"):
                    if type(part) is dict and type(part.get("text")) is str:
                        texts.append(part["text"])
        text = "\n".join(texts) if texts else None
    calls = [
        item
        for item in as_list(body.get("output"), f"{at}output")
        if type(item) is dict and item.get("type") == "function_call"
    ]
    return text, body.get("status"), calls


def map_response(
    body: dict[str, Any], prefix: str, record: dict[str, Any], origin: dict[str, str]
) -> None:
    """Answer text, finish reason, tool calls and token usage from a response body."""
    here = f"{prefix}." if prefix else ""
    if not body:
        return
    response: dict[str, Any] = {}
    if "choices" in body:
        choices = as_list(body.get("choices"), f"{here}choices")
        if choices:
            choice = as_object(choices[0], f"{here}choices[0]")
            if "message" in choice:
                text, finish, calls, where = _chat_choice(choice, f"{here}choices[0]")
            else:
                text, finish, calls = choice.get("text"), choice.get("finish_reason"), None
                where = {
                    "response.text": f"{here}choices[0].text",
                    "response.finish_reason": f"{here}choices[0].finish_reason",
                }
            response = {"text": text, "finish_reason": finish, "tool_calls": calls}
            origin.update(where)
    elif "output" in body or "output_text" in body:
        text, finish, calls = _responses_output(body, here)
        response = {"text": text, "finish_reason": finish, "tool_calls": calls or None}
        origin["response.text"] = f"{here}output"
        origin["response.finish_reason"] = f"{here}status"
    if response:
        record["response"] = response
    usage = as_object(body.get("usage"), f"{here}usage")
    for v1_name, names in (
        ("input_tokens", ("prompt_tokens", "input_tokens")),
        ("output_tokens", ("completion_tokens", "output_tokens")),
    ):
        value, name = first(usage, *names)
        if value is not None:
            put(record, f"usage.{v1_name}", value)
            origin[f"usage.{v1_name}"] = f"{here}usage.{name}"
    for details in ("completion_tokens_details", "output_tokens_details"):
        inner = usage.get(details)
        if type(inner) is dict and inner.get("reasoning_tokens") is not None:
            put(record, "usage.reasoning_tokens", inner["reasoning_tokens"])
            origin["usage.reasoning_tokens"] = f"{here}usage.{details}.reasoning_tokens"
            break
