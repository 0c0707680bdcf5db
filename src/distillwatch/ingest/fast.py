"""Typed decoding of traffic log v1 lines: the common case, in C, with the exact rules kept.

``batches._parse_jsonl`` spent most of its time not in parsing but around it: building a
dict for every object (unknown fields and whole tool definitions included), checking each
field's type in Python, and freeing it all again. Here msgspec decodes a line straight into
small typed structs (:class:`Record`): unknown fields are skipped without building objects,
types, ranges and enums are checked in C, and only the flattening is left to Python —
or, when the compiled ``_native/columns.pyx`` is built (:func:`native_columns`), to C too:
it reads each :class:`Record` straight into Arrow column buffers, with :func:`to_row` as its
definition (``tests/test_native_columns.py``).

**The per-line path stays the judge.** This decoder is only a shortcut for lines it is sure
about: a line it does not accept (any msgspec error, any rule raised here) goes through the
per-line path of ``orjson`` + :func:`normalize.flatten`, which accepts or quarantines it with
exactly the reason and message it always gave. So the fast path must never *accept* a line
the per-line path would reject, nor give it another row. Its types are therefore at most as
wide as the rules (integers only where integral floats are also allowed, strings only where
integer ids are also allowed, ...), and three things msgspec accepts but ``orjson`` does not
are screened per chunk (:func:`suspect_lines`): invalid UTF-8 inside a skipped field,
numbers that overflow a double (``1e999``, 400 digits) inside a skipped field, and JSON
nested deeper than ``orjson``'s limit when the interpreter's recursion limit would let
msgspec go further. ``tests/test_ingest_fast.py`` holds the two paths together on
generated hostile records and on the simulator's logs.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from types import ModuleType
from typing import Annotated, Literal

import hyperscan
import msgspec
import pyarrow as pa
from msgspec import Meta, Raw, Struct

from distillwatch._native import load
from distillwatch.ingest.limits import ACCOUNT_ID_MAX, CUT_LIMITS
from distillwatch.ingest.normalize import Row
from distillwatch.ingest.validate import ASN_MAX, INT32_MAX, INT64_MAX, country_code, timestamp_us

_Count = Annotated[int, Meta(ge=0, le=INT64_MAX)]
_Positive32 = Annotated[int, Meta(ge=1, le=INT32_MAX)]
_Count32 = Annotated[int, Meta(ge=0, le=INT32_MAX)]
_NonNegative = Annotated[float, Meta(ge=0.0)]
# Strings within their limits (``ingest/limits.py``): a longer one fails the decoder and
# sends its line to the per-line path, which cuts it (or, for ``account_id``, quarantines it).
_AccountId = Annotated[str, Meta(min_length=1, max_length=ACCOUNT_ID_MAX)]
_RequestId = Annotated[str, Meta(min_length=1, max_length=CUT_LIMITS["request_id"])]
_KeyId = Annotated[str, Meta(max_length=CUT_LIMITS["key_id"])]
_OrgId = Annotated[str, Meta(max_length=CUT_LIMITS["org_id"])]
_Ip = Annotated[str, Meta(max_length=CUT_LIMITS["ip"])]
_UserAgent = Annotated[str, Meta(max_length=CUT_LIMITS["user_agent"])]
_Fingerprint = Annotated[str, Meta(max_length=CUT_LIMITS["payment_fingerprint"])]
_Domain = Annotated[str, Meta(max_length=CUT_LIMITS["email_domain"])]
_Model = Annotated[str, Meta(max_length=CUT_LIMITS["model"])]
_Effort = Annotated[str, Meta(max_length=CUT_LIMITS["params.reasoning_effort"])]
_FinishReason = Annotated[str, Meta(max_length=CUT_LIMITS["response.finish_reason"])]


class Part(Struct, gc=False):
    """One object part of a message content; only its text is read."""

    text: str | None = None


Content = str | list[str | Part] | None


class Message(Struct, gc=False):
    """One chat message (``role`` required: the per-line path rejects a missing one)."""

    role: str
    content: Content = None


class Params(Struct, gc=False):
    temperature: _NonNegative | None = None
    top_p: _NonNegative | None = None
    max_tokens: _Count | None = None
    n: _Positive32 | None = None
    logprobs: bool | None = None
    top_logprobs: _Count32 | None = None
    stream: bool | None = None
    reasoning_effort: _Effort | None = None


class Response(Struct, gc=False):
    text: str | None = None
    finish_reason: _FinishReason | None = None
    tool_calls: list[Raw] | None = None


class Usage(Struct, gc=False):
    input_tokens: _Count | None = None
    output_tokens: _Count | None = None
    reasoning_tokens: _Count | None = None


class Record(Struct, gc=False):
    """A traffic log v1 record as the fast path reads it (unknown fields are skipped)."""

    ts: str | int | float
    account_id: _AccountId
    request_id: _RequestId
    key_id: _KeyId | None = None
    org_id: _OrgId | None = None
    ip: _Ip | None = None
    user_agent: _UserAgent | None = None
    country: str | None = None
    asn: Annotated[int, Meta(ge=0, le=ASN_MAX)] | None = None
    account_created: str | int | float | None = None
    payment_fingerprint: _Fingerprint | None = None
    email_domain: _Domain | None = None
    model: _Model | None = None
    endpoint: Literal["chat", "completion", "responses", "embedding"] | None = None
    system: Content = None
    messages: list[Message] | None = None
    tools: list[Raw] | None = None
    params: Params | None = None
    response: Response | None = None
    usage: Usage | None = None
    status: Annotated[int, Meta(ge=100, le=599)] | None = None
    latency_ms: _NonNegative | None = None


DECODER = msgspec.json.Decoder(Record)
_NO_PARAMS = Params()
_NO_USAGE = Usage()
#: Numbers that may overflow a double (past 1.8e308): a positive exponent of 3+ digits
#: ending a number, or 200+ digits in a row (anywhere: a suspect line only takes the
#: per-line path). With an exponent of at most two digits (<= 99) a number needs 210
#: integer digits to overflow, so 200 leaves room; 300 let 250 digits + ``e99`` through.
_HUGE_NUMBERS = (rb"[0-9][eE]\+?[0-9]{3,}[\s,\]}]", rb"[0-9]{200}")
#: ``account_created`` repeats on every request of an account: its conversion is kept (a
#: pure function of the value; bounded, emptied when full).
_CREATED: dict[str, int] = {}
_CREATED_MAX = 65_536
#: orjson refuses JSON nested deeper than this.
_ORJSON_DEPTH = 1024


def _text(content: Content) -> str | None:
    """:func:`normalize.content_text` for content msgspec has already type-checked."""
    if content is None or isinstance(content, str):
        return content
    texts = [p if isinstance(p, str) else p.text for p in content]
    kept = [t for t in texts if t is not None]
    return "\n".join(kept) if kept else None


def _conversation(messages: list[Message]) -> tuple[str | None, str | None, int, int, int]:
    """:func:`normalize._conversation` over typed messages (no type errors can remain)."""
    system: str | None = None
    system_seen = False
    last_user: Content = None
    user_turns = assistant_turns = tool_results = 0
    for message in messages:
        role = message.role
        if role == "user":
            user_turns += 1
            last_user = message.content
        elif role == "assistant":
            assistant_turns += 1
        elif role == "tool" or role == "function":
            tool_results += 1
        elif (role == "system" or role == "developer") and not system_seen:
            system_seen = True
            system = _text(message.content)
    return system, _text(last_user), user_turns, assistant_turns, tool_results


def to_row(r: Record) -> Row:
    """The :func:`normalize.flatten` row of a decoded record (raises ``InvalidRecord`` for
    the rules left to Python: timestamps and country codes)."""
    messages = r.messages
    if messages is None:
        first_system = last_user = None
        n_messages = n_user = n_assistant = n_tool_results = None
    else:
        first_system, last_user, n_user, n_assistant, n_tool_results = _conversation(messages)
        n_messages = len(messages)
    system = r.system
    params = _NO_PARAMS if r.params is None else r.params
    usage = _NO_USAGE if r.usage is None else r.usage
    response = r.response
    if response is None:
        text = finish_reason = None
        n_calls = None
    else:
        text, finish_reason = response.text, response.finish_reason
        n_calls = 0 if response.tool_calls is None else len(response.tool_calls)
    created = r.account_created
    if type(created) is not str:  # numbers: not kept (1 and 1.0 are one key, two values)
        created_us = None if created is None else timestamp_us(created, "account_created")
    else:
        created_us = _CREATED.get(created)
        if created_us is None:
            created_us = timestamp_us(created, "account_created")
            if len(_CREATED) >= _CREATED_MAX:
                _CREATED.clear()
            _CREATED[created] = created_us
    country = r.country
    return (
        timestamp_us(r.ts, "ts"),
        r.account_id,
        r.request_id,
        r.key_id,
        r.org_id,
        r.ip,
        r.user_agent,
        None if country is None else country_code(country),
        r.asn,
        created_us,
        r.payment_fingerprint,
        r.email_domain,
        r.model,
        r.endpoint,
        first_system if system is None else _text(system),
        last_user,
        n_messages,
        n_user,
        n_assistant,
        n_tool_results,
        0 if r.tools is None else len(r.tools),
        None if params.temperature is None else float(params.temperature),
        None if params.top_p is None else float(params.top_p),
        params.max_tokens,
        params.n,
        params.logprobs,
        params.top_logprobs,
        params.stream,
        params.reasoning_effort,
        None if text is None else len(text),
        finish_reason,
        n_calls,
        usage.input_tokens,
        usage.output_tokens,
        usage.reasoning_tokens,
        r.status,
        None if r.latency_ms is None else float(r.latency_ms),
    )


def usable() -> bool:
    """Whether msgspec's nesting limit is within orjson's here (it follows the recursion
    limit): if not, a line orjson refuses as too deep could pass the fast path."""
    return sys.getrecursionlimit() <= _ORJSON_DEPTH


@cache
def _number_screen() -> hyperscan.Database:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=list(_HUGE_NUMBERS),
        ids=list(range(len(_HUGE_NUMBERS))),
        elements=len(_HUGE_NUMBERS),
        flags=[0] * len(_HUGE_NUMBERS),
    )
    return database


def valid_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (Arrow's validator: no Python string is built)."""
    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def suspect_lines(data: bytes) -> set[int] | None:
    """0-based indexes of the lines of ``data`` that must take the per-line path, or None
    when every line must (the chunk is not valid UTF-8: the per-line path finds where).

    What is screened is what msgspec accepts inside fields it skips but orjson refuses:
    invalid UTF-8 and numbers too large for a double. Lines are only suspects; the per-line
    path decides. One Hyperscan pass over the chunk: no Python work per line.
    """
    if not valid_utf8(data):
        return None
    ends: list[int] = []

    def found(_id: int, _start: int, end: int, _flags: int, _context: object) -> None:
        ends.append(end)

    _number_screen().scan(data, match_event_handler=found)
    suspects: set[int] = set()
    line = counted = 0
    for end in sorted(ends):
        line += data.count(b"\n", counted, end - 1)
        counted = end - 1
        suspects.add(line)
    return suspects


_NATIVE = load("columns")
if _NATIVE is not None:
    try:  # the writer reads the structs' slots by offset: tell it where they are
        _NATIVE.bind(
            record=Record, message=Message, part=Part, params=Params, response=Response, usage=Usage
        )
    except (AttributeError, TypeError):  # a build or msgspec that does not fit: Python rows
        _NATIVE = None


def native_columns() -> ModuleType | None:
    """The compiled row writer (``_native/columns.pyx``: :class:`Record` straight into Arrow
    columns, no tuple or Python object per value), or None when it is not built or is turned
    off with ``DISTILLWATCH_NATIVE=0`` (then :func:`to_row` builds tuples, the same rows)."""
    return _NATIVE if os.environ.get("DISTILLWATCH_NATIVE", "1") != "0" else None


def decode(raw: bytes) -> Row:
    """The row of one line, or an exception: the line must take the per-line path."""
    return to_row(DECODER.decode(raw))


__all__ = ["DECODER", "Record", "decode", "native_columns", "suspect_lines", "to_row", "usable"]
