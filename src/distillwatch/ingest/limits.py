"""How long a traffic log v1 identifier may be, and what happens to a longer one.

The gateway bounds HTTP bodies and headers, but logs written by other producers reach
``scan`` and ``replay`` unbounded, and attackers control every byte of their requests: a
record may carry a 10 MB ``user_agent`` or ``model``. Two rules hold at once:

* **an over-long value never hides its account's traffic.** Quarantining every record with
  an over-long field would let an attacker pad each request and vanish from detection, so a
  field the client (or a producer's bug) can stretch is *cut*, and the record is scanned.
* **nothing unbounded reaches state or outputs.** A cut value is its first characters and a
  marker ``…[N chars, sha256:H]`` (N the original length in characters, H the first 16 hex
  digits of the SHA-256 of its UTF-8 bytes), together at most the limit. Two cut values are
  equal exactly when the originals were (up to 64 bits of digest), so accounts sharing the
  same over-long client, card or organisation still link, and values that only share a
  prefix never merge (a producer logging a card's metadata blob as its fingerprint must not
  link every card of one brand).

``account_id`` is the one field quarantined instead (reason ``too_long``, the field, its
length and the line named): it is the provider's own key of every aggregate and of
enforcement; an id that long is not an id, and a cut one would name nobody the provider
can act on. The exception is an account id the *client* chose: a LiteLLM log without key
identities falls back to the request's ``end_user``, a request/response log without an
account field to the request body's ``user`` (both the OpenAI ``user`` parameter), and a
client that padded it would otherwise quarantine its own traffic out of the scan; such an
id is cut like the fields above (:func:`client_account`).

The prompt texts (``system_prompt``, ``last_user``) are read whole by the signals, which
look at a head and a tail of them (``signals/view.py``, ``HEAD_CHARS``/``TAIL_CHARS``) and
count their real length (``prompt_chars``); only then (:func:`cut_texts`, in
``batches.process_chunk`` after the signals and in the online engine's ``enrich_records``)
is a text over :data:`TEXT_MAX` characters cut to its first characters, the marker and its
last :data:`TEXT_TAIL` characters, so what is stored, aggregated (the instruction frame is
its first words; distinct system prompts compare whole values, equal exactly when the
originals were) and replayed row by row stays bounded per request. ``country`` (two
letters) and ``endpoint`` (an enum) are bounded by their own rules; ``response.text`` is
stored as its length only.

The limits are in characters (code points), as ``len`` counts them in Python, msgspec's
``max_length`` in the fast decoder (``ingest/fast.py``: a longer value sends its line to
the per-line path, which cuts it here) and ``maxLength`` in the JSON Schema.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Set
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

#: ``account_id`` longer than this quarantines its record.
ACCOUNT_ID_MAX: Final = 256

#: Fields cut to at most this many characters (dotted path as in quarantine reasons).
CUT_LIMITS: Final[dict[str, int]] = {
    "request_id": 256,
    "key_id": 256,
    "org_id": 256,
    "payment_fingerprint": 256,
    "model": 256,
    # a DNS name is at most 253 characters
    "email_domain": 253,
    # real clients send a few hundred at most; browsers' strings stay under 300
    "user_agent": 512,
    # IPv6 text with an IPv4 tail and a zone is under 64
    "ip": 64,
    "params.reasoning_effort": 64,
    "response.finish_reason": 64,
}

#: A JSON Lines line longer than this many bytes (its newline not counted) is not read: the
#: reader skips to its newline keeping only its first :data:`LINE_HEAD_BYTES`, and
#: quarantines it (reason ``line_too_long``); the lines after it are read as usual. The
#: gateway refuses bodies over 8 MiB (``gateway/body.DEFAULT_LIMIT``) and keeps at most as
#: much of a response, so a record it writes stays under ~17 MiB: 64 MiB is four times that,
#: still low enough that a line at the limit costs the reader and its worker a few hundred MB
#: (the line, its parsed record, its Arrow row), and far below Arrow's 2 GiB string offsets.
#: ``read_chunks`` and ``RequestStream`` take ``max_line_bytes`` to set another one.
LINE_MAX_BYTES: Final = 64 << 20
#: How much of a skipped line its quarantine entry keeps (``raw`` is cut further).
LINE_HEAD_BYTES: Final = 16_384

#: Every limit, for the documentation and the tests.
LIMITS: Final[dict[str, int]] = {"account_id": ACCOUNT_ID_MAX, **CUT_LIMITS}

#: Prompt texts (requests columns) are stored cut to at most this many characters ...
TEXT_MAX: Final = 16_384
#: ... of which the last characters kept are this many (the rest is the head and marker).
TEXT_TAIL: Final = 4_096
TEXT_COLUMNS: Final = ("system_prompt", "last_user")

_DIGEST_HEX = 16


def _marker(value: str) -> str:
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_HEX]
    return f"…[{len(value)} chars, sha256:{digest}]"


def cut(value: str, limit: int) -> str:
    """``value`` if it has at most ``limit`` characters, else its head and the marker
    ``…[N chars, sha256:H]`` within ``limit`` characters (a pure function of ``value``)."""
    if len(value) <= limit:
        return value
    marker = _marker(value)
    return value[: max(limit - len(marker), 0)] + marker


#: Foreign fields an account id may come from that the client sends with each request.
CLIENT_ACCOUNT_FIELDS: Final = frozenset({"end_user"})


def client_account(
    record: dict[str, Any], origin: Mapping[str, str], fields: Set[str] = CLIENT_ACCOUNT_FIELDS
) -> None:
    """Cut ``record``'s ``account_id`` in place when it came from one of ``fields``, which
    the client chose: padding it must not quarantine the client's traffic."""
    value = record.get("account_id")
    if origin.get("account_id") in fields and type(value) is str:
        record["account_id"] = cut(value, ACCOUNT_ID_MAX)


def cut_text(value: str) -> str:
    """A prompt text within :data:`TEXT_MAX` characters: its head, the marker of
    :func:`cut`, then its last :data:`TEXT_TAIL` characters."""
    if len(value) <= TEXT_MAX:
        return value
    marker = _marker(value)
    return value[: TEXT_MAX - TEXT_TAIL - len(marker)] + marker + value[-TEXT_TAIL:]


def cut_texts(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with its prompt texts over :data:`TEXT_MAX` characters cut (:func:`cut_text`).

    Nothing is copied when no text is that long in bytes (the usual batch: one pass over
    the offsets); only the long texts are made Python strings."""
    columns = batch.columns
    changed = False
    for name in TEXT_COLUMNS:
        index = batch.schema.get_field_index(name)
        if index < 0:
            continue
        column = columns[index]
        long = pc.fill_null(pc.greater(pc.binary_length(column), TEXT_MAX), False)
        if not pc.any(long).as_py():
            continue
        texts = [cut_text(text) for text in column.filter(long).to_pylist()]
        columns[index] = pc.replace_with_mask(column, long, pa.array(texts, column.type))
        changed = True
    if not changed:
        return batch
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def bounded(value: Any, field: str) -> Any:
    """A checked string field (or None) cut to its limit in :data:`CUT_LIMITS`."""
    if value is None or len(value) <= CUT_LIMITS[field]:
        return value
    return cut(value, CUT_LIMITS[field])


__all__ = [
    "ACCOUNT_ID_MAX",
    "CUT_LIMITS",
    "LIMITS",
    "LINE_HEAD_BYTES",
    "LINE_MAX_BYTES",
    "TEXT_COLUMNS",
    "TEXT_MAX",
    "TEXT_TAIL",
    "bounded",
    "cut",
    "cut_text",
    "cut_texts",
]
