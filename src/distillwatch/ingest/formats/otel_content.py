"""Prompts and answers of a GenAI span, wherever its instrumentation put them.

The GenAI conventions moved content three times, and logs of every vintage are in use:

1. ``gen_ai.input.messages`` / ``gen_ai.output.messages`` / ``gen_ai.system_instructions``
   attributes (current): messages as ``{"role", "parts": [{"type": "text", "content"}]}``,
   as JSON text or as structured OTLP values.
2. Span events per message (``gen_ai.system.message``, ``gen_ai.user.message``,
   ``gen_ai.assistant.message``, ``gen_ai.tool.message`` with a ``content`` attribute, and
   ``gen_ai.choice`` with ``message`` and ``finish_reason``).
3. ``gen_ai.content.prompt`` / ``gen_ai.content.completion`` events with ``gen_ai.prompt`` /
   ``gen_ai.completion`` attributes holding JSON, and the flat ``gen_ai.prompt.N.role`` /
   ``gen_ai.prompt.N.content`` / ``gen_ai.completion.N.content`` attributes (OpenLLMetry).

The first place that has messages wins. Text parts are joined; other parts (images, tool
calls) are not text, and tool calls in an answer are counted.
"""

from __future__ import annotations

from typing import Any

import orjson

from distillwatch.ingest.formats.base import as_object

_ROLE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


def _json(value: Any) -> Any:
    if type(value) is str and value[:1] in ("[", "{"):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _parts_text(message: dict[str, Any]) -> tuple[Any, int]:
    """The text of a message (``content``, or its text ``parts``), and its tool-call parts."""
    if "parts" not in message:
        return message.get("content"), len(message.get("tool_calls") or [])
    texts, calls = [], 0
    for part in message["parts"] if type(message["parts"]) is list else []:
        if type(part) is not dict:
            continue
        if part.get("type") == "text" and type(part.get("content")) is str:
            texts.append(part["content"])
        elif part.get("type") == "tool_call":
            calls += 1
    return ("\n".join(texts) if texts else None), calls


def _messages(value: Any) -> list[dict[str, Any]] | None:
    value = _json(value)
    if type(value) is not list:
        return None
    out = []
    for message in value:
        if type(message) is dict:
            text, _ = _parts_text(message)
            out.append({"role": message.get("role"), "content": text})
    return out


def _indexed(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """``gen_ai.prompt.0.role``, ``gen_ai.prompt.0.content``, ... as a list of messages."""
    found: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        if not key.startswith(prefix):
            continue
        index, _, name = key[len(prefix) :].partition(".")
        if index.isdigit() and len(index) < 6 and name in ("role", "content", "finish_reason"):
            found.setdefault(int(index), {})[name] = value
    return [found[i] for i in sorted(found)]


def _from_events(events: list[Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    messages: list[dict[str, Any]] = []
    choice: dict[str, Any] | None = None
    from distillwatch.ingest.formats.otel import attributes

    for i, event in enumerate(events):
        event = as_object(event, f"events[{i}]")
        name = event.get("name")
        if name not in _ROLE_EVENTS and name not in (
            "gen_ai.choice", "gen_ai.content.prompt", "gen_ai.content.completion",
        ):  # fmt: skip
            continue
        attrs = attributes(event.get("attributes"), f"events[{i}].attributes")
        if name in _ROLE_EVENTS:
            content = _json(attrs.get("content"))
            text = _parts_text({"parts": content})[0] if type(content) is list else content
            messages.append({"role": _ROLE_EVENTS[name], "content": text})
        elif name == "gen_ai.content.prompt":
            messages.extend(_messages(attrs.get("gen_ai.prompt")) or [])
        elif name == "gen_ai.content.completion":
            answer = _messages(attrs.get("gen_ai.completion")) or []
            if answer and choice is None:
                choice = {"message": answer[0]}
        elif choice is None:
            message = _json(attrs.get("message"))
            choice = {
                "message": message if type(message) is dict else {"content": message},
                "finish_reason": attrs.get("finish_reason"),
            }
    return messages, choice


def conversation(
    attrs: dict[str, Any],
    events: list[Any],
    record: dict[str, Any],
    origin: dict[str, str],
    endpoint: str,
) -> None:
    """Fill ``messages``, ``system`` and ``response`` of a span's v1 record."""
    finish = attrs.get("gen_ai.response.finish_reasons")
    finish_reason = finish[0] if type(finish) is list and finish else None
    messages = _messages(attrs.get("gen_ai.input.messages"))
    where = "attributes.gen_ai.input.messages"
    output = _messages(attrs.get("gen_ai.output.messages"))
    raw_output = _json(attrs.get("gen_ai.output.messages"))
    choice: dict[str, Any] | None = None
    if output:
        first_out = raw_output[0] if type(raw_output) is list and raw_output else {}
        calls = _parts_text(first_out)[1] if type(first_out) is dict else 0
        reason = first_out.get("finish_reason") if type(first_out) is dict else None
        choice = {"message": output[0], "finish_reason": reason or finish_reason, "calls": calls}
    if messages is None:
        event_messages, event_choice = _from_events(events)
        messages, where = (event_messages or None), "events"
        choice = choice or event_choice
    if messages is None:
        flat = _indexed(attrs, "gen_ai.prompt.")
        messages, where = (flat or None), "attributes.gen_ai.prompt"
        answers = _indexed(attrs, "gen_ai.completion.")
        if answers and choice is None:
            choice = {"message": answers[0], "finish_reason": answers[0].get("finish_reason")}
    instructions = _json(attrs.get("gen_ai.system_instructions"))
    if instructions is not None:
        text = instructions
        if type(instructions) is list:
            text = _parts_text({"parts": instructions})[0]
        record["system"], origin["system"] = text, "attributes.gen_ai.system_instructions"
    if messages is not None and endpoint != "embedding":
        record["messages"], origin["messages"] = messages, where
    if choice is not None:
        message = as_object(choice.get("message"), "gen_ai.choice.message")
        text, calls = _parts_text(message)
        record["response"] = {
            "text": text if type(text) is str or text is None else orjson.dumps(text).decode(),
            "finish_reason": choice.get("finish_reason") or finish_reason,
            "tool_calls": [None] * int(choice.get("calls") or calls) or None,
        }
        origin["response.text"] = "attributes.gen_ai.output.messages" if output else "events"
    elif finish_reason is not None:
        record["response"] = {"finish_reason": finish_reason}
    if "response" in record:
        origin["response.finish_reason"] = "attributes.gen_ai.response.finish_reasons"
