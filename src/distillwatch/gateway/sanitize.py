"""Records that ``scan`` and the online engine always accept, whatever the client sent.

Both readers skip a record that breaks traffic log v1 (``ingest`` quarantines it, the engine
does not learn it). A gateway that copied parameters as sent (``"n": 1e10``,
``"temperature": "hot"``) therefore let a client keep its answered requests out of
detection. Here every parameter is read into the type its column holds:

* numeric text becomes the number (``"0.7"`` → 0.7; some servers accept it and answer);
* ``"true"``/``"false"`` text becomes the boolean;
* a number outside its column's range is clamped to it (``n = 1e10`` is logged as the
  largest ``n`` the column holds: still an extreme value, still visible);
* anything else is left out of ``params``.

Whatever was changed or left out is kept as sent, under ``invalid`` (``{"params.n": 1e10}``),
an extra field readers ignore and an analyst can read. :func:`ingestible` then proves the
record valid with the same check ``ingest`` runs, moving any field that still fails under
``invalid``, so no client value can make a record unreadable.
"""

from __future__ import annotations

import math
from typing import Any

from distillwatch.ingest.normalize import check_record
from distillwatch.ingest.validate import INT32_MAX, INT64_MAX

#: The most characters of a raw value kept under ``invalid`` (it is evidence, not a copy).
MAX_RAW = 200
#: Parameter → (kind, low, high); ranges are those of the requests table's columns.
PARAMS: dict[str, tuple[str, float, float]] = {
    "temperature": ("number", 0.0, math.inf),
    "top_p": ("number", 0.0, math.inf),
    "max_tokens": ("int", 0, INT64_MAX),
    "n": ("int", 1, INT32_MAX),
    "top_logprobs": ("int", 0, INT32_MAX),
    "logprobs": ("bool", 0, 0),
    "stream": ("bool", 0, 0),
    "reasoning_effort": ("str", 0, 0),
}
_BOOLS = {"true": True, "false": False}


def raw(value: Any) -> Any:
    """A JSON-safe, bounded copy of a value for the ``invalid`` side field."""
    if value is None or type(value) in (bool, int, float):
        return value if type(value) is not int or abs(value) < 2**63 else str(value)
    text = value if type(value) is str else repr(value)
    return text[:MAX_RAW]


def param(name: str, value: Any) -> tuple[Any, bool]:
    """``(value for the log or None, whether it differs from what was sent)``."""
    kind, low, high = PARAMS[name]
    if kind == "str":
        return (value, False) if type(value) is str else (None, True)
    if kind == "bool":
        if type(value) is bool:
            return value, False
        if type(value) is str and value.strip().lower() in _BOOLS:
            return _BOOLS[value.strip().lower()], True
        return None, True
    number = _number(value)
    if number is None or (type(number) is float and math.isnan(number)):
        return None, True
    changed = type(value) not in (int, float)
    if kind == "int":
        if type(number) is float and not math.isinf(number) and not number.is_integer():
            return None, True
        clamped = low if number < low else high if number > high else number
        return int(clamped), changed or clamped != number
    clamped = low if number < low else high if number > high else number
    return float(clamped), changed or clamped != number


def _number(value: Any) -> int | float | None:
    if type(value) is int or type(value) is float:
        return value
    if type(value) is str and len(value) <= 64:
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def params(payload: dict[str, Any], invalid: dict[str, Any]) -> dict[str, Any]:
    """The ``params`` object of a request, every value readable; odd ones noted in ``invalid``."""
    out: dict[str, Any] = {}
    for name in PARAMS:
        value = payload.get(name)
        if value is None:
            continue
        clean, changed = param(name, value)
        if changed:
            invalid[f"params.{name}"] = raw(value)
        if clean is not None:
            out[name] = clean
    return out


def ingestible(record: dict[str, Any], tries: int = 16) -> dict[str, Any]:
    """``record`` made valid traffic log v1: each field ``ingest`` refuses moves to ``invalid``."""
    for _ in range(tries):
        problem = check_record(record)
        if problem is None:
            return record
        field = problem.field or ""
        top, _, sub = field.partition(".")
        top = top.split("[")[0]
        invalid = record.setdefault("invalid", {})
        if top in ("params", "usage", "response") and sub and isinstance(record.get(top), dict):
            name = sub.split("[")[0].split(".")[0]
            invalid[f"{top}.{name}"] = raw(record[top].pop(name, None))
        elif top and top not in ("ts", "account_id", "request_id", "invalid"):
            invalid[top] = raw(record.pop(top, None))
        else:  # the gateway writes these itself: a failure here is a bug, not a client value
            raise ValueError(f"gateway record breaks traffic log v1: {problem}")
    raise ValueError("gateway record still breaks traffic log v1 after sanitising")
