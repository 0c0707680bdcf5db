"""One traffic log v1 record → one flat requests v1 row.

The row is a plain tuple in ``REQUESTS_SCHEMA`` column order, without the two provenance
columns (the caller knows file and line). Tuples, not dicts: the caller transposes many of them
with ``zip(*rows)`` into Arrow arrays, and building one tuple per record is the cheapest thing
Python can do here.

How nested fields become columns, so later stages know what they are reading:

* ``system_prompt`` — the top-level ``system`` field if present, else the first message whose
  role is ``system`` or ``developer``.
* ``last_user`` — the text of the last ``user`` message. Content may be a string or a list of
  parts; the text of every part (a string part, or an object part's ``text``) is joined with
  ``"\\n"``; parts without text (images, audio) are skipped; no text at all gives null.
* ``n_messages`` and the role counts are null when ``messages`` is absent (unknown, e.g. a
  gateway that does not log content) and 0 when it is an empty list. ``n_tool_results`` counts
  messages with role ``tool`` or ``function``.
* ``n_tools`` is 0 when ``tools`` is absent: no tools were offered.
* ``response_chars`` is ``len(response.text)`` in code points; ``n_tool_calls`` is null when there
  is no ``response`` and 0 when a response has no tool calls.
* identifiers longer than their limit (``ingest/limits.py``) are cut to it, with a marker; an
  over-long ``account_id`` rejects the record (``too_long``).
"""

from __future__ import annotations

from typing import Any

from distillwatch.ingest.limits import ACCOUNT_ID_MAX, bounded
from distillwatch.ingest.validate import (
    ASN_MAX,
    INT32_MAX,
    InvalidRecord,
    Reason,
    country_code,
    enum_value,
    json_type,
    optional_bool,
    optional_id,
    optional_int,
    optional_list,
    optional_number,
    optional_object,
    optional_str,
    required_id,
    timestamp_us,
    too_long,
    wrong_type,
)
from distillwatch.schema import ENDPOINTS

Row = tuple[Any, ...]

_SYSTEM_ROLES = frozenset(("system", "developer"))
_TOOL_ROLES = frozenset(("tool", "function"))
_STR_OR_NULL = frozenset((str, type(None)))


def content_text(content: Any, field: str) -> str | None:
    """The text of a message content: a string, or the joined text of a list of parts."""
    if content is None or type(content) is str:
        return content
    if type(content) is not list:
        raise wrong_type(field, "a string or an array of parts", content)
    texts: list[str] = []
    for part in content:
        if type(part) is str:
            texts.append(part)
        elif type(part) is dict:
            text = part.get("text")
            if type(text) is str:
                texts.append(text)
            elif text is not None:
                raise wrong_type(f"{field}[].text", "a string", text)
        else:
            raise wrong_type(f"{field}[]", "a string or an object", part)
    return "\n".join(texts) if texts else None


def _conversation(messages: list[Any]) -> tuple[str | None, str | None, int, int, int]:
    """First system/developer text, last user text, and user/assistant/tool-result counts."""
    system: str | None = None
    system_seen = False
    last_user: Any = None
    user_turns = assistant_turns = tool_results = last_index = 0
    for index, message in enumerate(messages):
        if type(message) is not dict:
            raise wrong_type(f"messages[{index}]", "an object", message)
        role = message.get("role")
        if role == "user":
            user_turns += 1
            last_user = message.get("content")
            last_index = index
        elif role == "assistant":
            assistant_turns += 1
        elif role in _TOOL_ROLES:
            tool_results += 1
        elif type(role) is not str:
            raise wrong_type(f"messages[{index}].role", "a string", role)
        elif role in _SYSTEM_ROLES and not system_seen:
            system_seen = True
            system = content_text(message.get("content"), f"messages[{index}].content")
        content = message.get("content")
        if content is not None and type(content) is not str:
            content_text(content, f"messages[{index}].content")  # checks lists of parts too
    user_text = None
    if last_user is not None:
        user_text = content_text(last_user, f"messages[{last_index}].content")
    return system, user_text, user_turns, assistant_turns, tool_results


def flatten(record: Any) -> Row:
    """Check and flatten one parsed record; raises :class:`InvalidRecord` if it breaks v1."""
    if type(record) is not dict:
        raise InvalidRecord(
            Reason.NOT_AN_OBJECT, None, f"record must be a JSON object, got {json_type(record)}"
        )
    get = record.get
    ts = get("ts")
    if ts is None or ts == "":
        raise InvalidRecord(Reason.MISSING_FIELD, "ts", "ts is missing or empty")
    ts_us = timestamp_us(ts, "ts")
    account_id = required_id(get("account_id"), "account_id")
    if len(account_id) > ACCOUNT_ID_MAX:
        raise too_long("account_id", len(account_id), ACCOUNT_ID_MAX)
    request_id = bounded(required_id(get("request_id"), "request_id"), "request_id")

    created = get("account_created")
    created_us = None if created is None else timestamp_us(created, "account_created")

    messages = optional_list(get("messages"), "messages")
    if messages is None:
        first_system = last_user = None
        n_messages = n_user = n_assistant = n_tool_results = None
    else:
        first_system, last_user, n_user, n_assistant, n_tool_results = _conversation(messages)
        n_messages = len(messages)
    system = get("system")
    system_prompt = first_system if system is None else content_text(system, "system")
    tools = optional_list(get("tools"), "tools")

    params = optional_object(get("params"), "params")
    pget = params.get
    response = get("response")
    if response is None:
        text = finish_reason = calls = None
    elif type(response) is dict:
        text = response.get("text")
        finish_reason = response.get("finish_reason")
        calls = optional_list(response.get("tool_calls"), "response.tool_calls")
    else:
        raise wrong_type("response", "an object", response)
    usage = optional_object(get("usage"), "usage")
    uget = usage.get

    # Plain optional strings are checked as one group: one set of types per record instead of
    # a call per field; the per-field helper runs only to name the culprit.
    ip, agent, fingerprint, domain, model = (
        get("ip"),
        get("user_agent"),
        get("payment_fingerprint"),
        get("email_domain"),
        get("model"),
    )
    effort = pget("reasoning_effort")
    if (
        not {
            type(ip),
            type(agent),
            type(fingerprint),
            type(domain),
            type(model),
            type(effort),
            type(text),
            type(finish_reason),
        }
        <= _STR_OR_NULL
    ):
        for value, field in (
            (ip, "ip"), (agent, "user_agent"), (fingerprint, "payment_fingerprint"),
            (domain, "email_domain"), (model, "model"), (effort, "params.reasoning_effort"),
            (text, "response.text"), (finish_reason, "response.finish_reason"),
        ):  # fmt: skip
            optional_str(value, field)

    return (
        ts_us,
        account_id,
        request_id,
        bounded(optional_id(get("key_id"), "key_id"), "key_id"),
        bounded(optional_id(get("org_id"), "org_id"), "org_id"),
        bounded(ip, "ip"),
        bounded(agent, "user_agent"),
        country_code(get("country")),
        optional_int(get("asn"), "asn", 0, ASN_MAX),
        created_us,
        bounded(fingerprint, "payment_fingerprint"),
        bounded(domain, "email_domain"),
        bounded(model, "model"),
        enum_value(get("endpoint"), "endpoint", ENDPOINTS),
        system_prompt,
        last_user,
        n_messages,
        n_user,
        n_assistant,
        n_tool_results,
        0 if tools is None else len(tools),
        optional_number(pget("temperature"), "params.temperature", 0.0),
        optional_number(pget("top_p"), "params.top_p", 0.0),
        optional_int(pget("max_tokens"), "params.max_tokens"),
        optional_int(pget("n"), "params.n", 1, INT32_MAX),
        optional_bool(pget("logprobs"), "params.logprobs"),
        optional_int(pget("top_logprobs"), "params.top_logprobs", 0, INT32_MAX),
        optional_bool(pget("stream"), "params.stream"),
        bounded(effort, "params.reasoning_effort"),
        None if text is None else len(text),
        bounded(finish_reason, "response.finish_reason"),
        None if response is None else (0 if calls is None else len(calls)),
        optional_int(uget("input_tokens"), "usage.input_tokens"),
        optional_int(uget("output_tokens"), "usage.output_tokens"),
        optional_int(uget("reasoning_tokens"), "usage.reasoning_tokens"),
        optional_int(get("status"), "status", 100, 599),
        optional_number(get("latency_ms"), "latency_ms", 0.0),
    )


def check_record(record: Any) -> InvalidRecord | None:
    """Why a parsed ``record`` breaks traffic log v1, or ``None`` if it is valid."""
    try:
        flatten(record)
    except InvalidRecord as problem:
        return problem
    return None
