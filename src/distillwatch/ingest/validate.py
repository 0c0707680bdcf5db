"""The rules one traffic log v1 field must follow, and the typed reason when it does not.

Each helper here takes one raw JSON value and returns it in the type the requests table
stores, or raises :class:`InvalidRecord` naming the field and why. ``normalize`` applies them
while it flattens a record, so a record is checked and converted in a single pass over its
fields (checking first and converting afterwards would walk every record twice, and ingest
speed is dominated by that per-record Python work).

What is fatal to a record and what is tolerated (the JSON Schema in
``schemas/traffic-log-v1.schema.json`` encodes the same rules; tests hold the two together):

* fatal (the record is quarantined): not valid JSON; not a JSON object; ``ts``, ``account_id``
  or ``request_id`` missing, null or empty; a timestamp that is not RFC 3339 (``T`` or space
  separator, optional fraction, ``Z`` or ``±hh:mm`` offset) or epoch seconds in
  ``[0, 1e11)`` — larger numbers are almost always epoch *milliseconds*, and reading them as
  seconds would silently put the request thousands of years in the future; a field of the wrong
  JSON type (``asn`` not an integer, ``messages`` not a list, ``params.n`` not an integer, ...);
  a value outside its domain (``endpoint`` not in the enum, ``country`` not two letters,
  ``status`` not 100..599, negative token counts, integers too large for their column);
  an ``account_id`` over :data:`limits.ACCOUNT_ID_MAX` characters (``too_long``).
* cut, not fatal: identifiers over their limit in ``ingest/limits.py`` (``user_agent``,
  ``request_id``, ``model``, ...) keep their head and a marker with their length and digest.
* tolerated: unknown fields anywhere (ignored; the raw line stays reachable through
  ``source_file``/``source_line``); a timestamp without an offset (read as UTC); a lowercase
  country (upper-cased); an empty country (null); integer ids (stored as decimal strings);
  integral floats where an integer is expected (``"max_tokens": 256.0``, as JSON Schema allows).

``country`` is only checked to be two ASCII letters, not against the ISO 3166 list: user-
assigned codes such as ``XK`` or ``EU`` appear in real gateways and are not errors.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Why a record was quarantined; the keys of ``IngestSummary.quarantined``."""

    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    BAD_TIMESTAMP = "bad_timestamp"
    WRONG_TYPE = "wrong_type"
    BAD_VALUE = "bad_value"
    TOO_LONG = "too_long"
    LINE_TOO_LONG = "line_too_long"


class InvalidRecord(Exception):
    """One record breaks the traffic log v1 schema.

    ``field`` is the dotted path of the offending field (``params.n``, ``messages[2].role``) or
    ``None`` when the record as a whole is at fault.
    """

    def __init__(self, reason: Reason, field: str | None, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.field = field
        self.detail = detail


INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
ASN_MAX = 2**32 - 1
#: Epoch seconds at or above this are rejected as probably milliseconds (year 5138).
EPOCH_SECONDS_MAX = 1e11

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
RFC3339_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$"
_RFC3339 = re.compile(RFC3339_PATTERN)
_fromisoformat = datetime.fromisoformat

_JSON_TYPE_NAMES = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
    type(None): "null",
}


def json_type(value: object) -> str:
    """The JSON name of a value's type, for error messages."""
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def wrong_type(field: str, expected: str, value: object) -> InvalidRecord:
    """The error for a field of the wrong JSON type."""
    return InvalidRecord(
        Reason.WRONG_TYPE, field, f"{field} must be {expected}, got {json_type(value)}"
    )


def bad_value(field: str, detail: str) -> InvalidRecord:
    """The error for a field of the right type but outside its domain."""
    return InvalidRecord(Reason.BAD_VALUE, field, f"{field} {detail}")


def too_long(field: str, length: int, limit: int) -> InvalidRecord:
    """The error for a value too long to be what its field names (``ingest/limits.py``)."""
    return InvalidRecord(
        Reason.TOO_LONG,
        field,
        f"{field} is {length:,} characters long, over its limit of {limit}: not an identifier",
    )


def timestamp_us(value: Any, field: str) -> int:
    """RFC 3339 text, epoch seconds or a ``datetime`` (from Parquet) → UTC microseconds."""
    kind = type(value)
    if kind is str:
        if _RFC3339.match(value) is None:
            raise InvalidRecord(
                Reason.BAD_TIMESTAMP, field, f"{field} is not an RFC 3339 timestamp: {value[:64]!r}"
            )
        try:
            moment = _fromisoformat(value)
        except ValueError as exc:
            raise InvalidRecord(Reason.BAD_TIMESTAMP, field, f"{field} {value!r}: {exc}") from None
    elif kind is int or kind is float:
        if not 0 <= value < EPOCH_SECONDS_MAX:
            raise InvalidRecord(
                Reason.BAD_TIMESTAMP,
                field,
                f"{field} {value!r} is outside epoch seconds [0, 1e11) (milliseconds?)",
            )
        return value * 1_000_000 if kind is int else round(value * 1_000_000)
    elif isinstance(value, datetime):
        moment = value
    else:
        raise InvalidRecord(
            Reason.BAD_TIMESTAMP,
            field,
            f"{field} must be RFC 3339 text or epoch seconds, got {json_type(value)}",
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _ONE_US


def required_id(value: Any, field: str) -> str:
    """A required identifier: a non-empty string, or an integer stored as its decimal text."""
    kind = type(value)
    if kind is str:
        if value:
            return value
    elif value is not None:
        return optional_id(value, field) or ""
    raise InvalidRecord(Reason.MISSING_FIELD, field, f"{field} is missing or empty")


def optional_id(value: Any, field: str) -> str | None:
    """An optional identifier: string, integer (as text) or null."""
    kind = type(value)
    if value is None or kind is str:
        return value
    if kind is int:
        return str(value)
    if kind is float and value.is_integer():  # JSON Schema counts 7.0 as an integer
        return str(int(value))
    raise wrong_type(field, "a string", value)


def optional_str(value: Any, field: str) -> str | None:
    """An optional string field."""
    if value is None or type(value) is str:
        return value
    raise wrong_type(field, "a string", value)


def optional_int(value: Any, field: str, low: int = 0, high: int = INT64_MAX) -> int | None:
    """An optional integer in ``[low, high]``; integral floats are accepted as JSON Schema does."""
    kind = type(value)
    if kind is int:
        pass
    elif value is None:
        return None
    elif kind is float and value.is_integer():
        value = int(value)
    else:
        raise wrong_type(field, "an integer", value)
    if not low <= value <= high:
        raise bad_value(field, f"must be in [{low}, {high}], got {value}")
    return value


def optional_number(value: Any, field: str, low: float | None = None) -> float | None:
    """An optional JSON number (integer or float, never boolean), at least ``low`` if given."""
    kind = type(value)
    if kind is float or kind is int:
        if low is not None and value < low:
            raise bad_value(field, f"must be >= {low}, got {value}")
        return float(value)
    if value is None:
        return None
    raise wrong_type(field, "a number", value)


def optional_bool(value: Any, field: str) -> bool | None:
    """An optional boolean."""
    if value is None or type(value) is bool:
        return value
    raise wrong_type(field, "a boolean", value)


def optional_object(value: Any, field: str) -> dict[str, Any]:
    """An optional JSON object; null and absent both read as an empty object."""
    if type(value) is dict:
        return value
    if value is None:
        return {}
    raise wrong_type(field, "an object", value)


def optional_list(value: Any, field: str) -> list[Any] | None:
    """An optional JSON array."""
    if value is None or type(value) is list:
        return value
    raise wrong_type(field, "an array", value)


def country_code(value: Any) -> str | None:
    """Two ASCII letters, upper-cased; an empty string reads as null."""
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise wrong_type("country", "a string", value)
    if len(value) == 2 and value.isascii() and value.isalpha():
        return value.upper()
    raise bad_value("country", f"must be an ISO 3166 alpha-2 code, got {value[:32]!r}")


def enum_value(value: Any, field: str, allowed: tuple[str, ...]) -> str | None:
    """An optional string that must be one of ``allowed``."""
    if value is None:
        return None
    if type(value) is not str:
        raise wrong_type(field, "a string", value)
    if value not in allowed:
        raise bad_value(field, f"must be one of {', '.join(allowed)}, got {value[:32]!r}")
    return value
