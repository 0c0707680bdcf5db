"""TAXII 2.1 wire details: media types, error messages, envelopes, request filters.

Kept apart from the routes so the rules of the protocol (what a ``next`` token looks like,
which ``Accept`` headers are acceptable, what an error body holds) are plain functions that
tests can call directly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
from fastapi import Request
from fastapi.responses import Response

from distillwatch.share.server.store import Row, iso_us, norm_version

TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"
#: The custom property of an envelope naming, per object id, the member that uploaded it.
ATTESTED = "x_distillwatch_added_by"
#: What this hub does beyond TAXII, announced in the API root (``share publish`` reads it).
HUB_FEATURES = {"attests_uploader": ATTESTED, "extension_definitions": True}
MAX_VALUES = 500  # most comma-separated values of one match[] filter
_BIGINT = 2**63 - 1
_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{0,249}\Z")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,249}--[0-9a-fA-F-]{1,64}\Z")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_SPEC = re.compile(r"^[0-9]{1,2}\.[0-9]{1,2}\Z")


class TaxiiError(Exception):
    """An error answered with a TAXII error message resource."""

    def __init__(
        self, status: int, title: str, description: str = "", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {title}: {description}")
        self.status = status
        self.title = title
        self.description = description
        self.headers = headers or {}


def taxii_response(
    body: bytes | str | dict, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    data = body if isinstance(body, bytes | str) else orjson.dumps(body)
    return Response(data, status_code=status, media_type=TAXII, headers=headers)


def error_response(err: TaxiiError) -> Response:
    body = {"title": err.title, "description": err.description, "http_status": str(err.status)}
    return taxii_response(body, err.status, err.headers)


def acceptable(accept: str | None) -> bool:
    """Does an ``Accept`` header allow a TAXII 2.1 answer? (absent or ``*/*`` does)."""
    if not accept:
        return True
    for part in accept.split(","):
        tokens = [t.strip().lower() for t in part.split(";")]
        kind = tokens[0]
        if kind in ("*/*", "application/*"):
            return True
        if kind == "application/taxii+json":
            versions = [t for t in tokens[1:] if t.startswith("version=")]
            if not versions or versions[0] == "version=2.1":
                return True
    return False


def json_content(content_type: str | None) -> bool:
    """Is a request body declared as TAXII 2.1 JSON?"""
    if not content_type:
        return False
    tokens = [t.strip().lower() for t in content_type.split(";")]
    versions = [t for t in tokens[1:] if t.startswith("version=")]
    return tokens[0] == "application/taxii+json" and (not versions or versions[0] == "version=2.1")


def parse_timestamp(text: str, what: str) -> datetime:
    """An aware UTC datetime, or 400; one the UTC calendar cannot hold (year 1 at +14:00)
    is as invalid as a malformed one."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise TaxiiError(
            400, f"invalid {what}", f"{text!r:.60} is not an RFC 3339 timestamp in range"
        ) from exc
    return value


def added_after_us(text: str | None) -> int | None:
    if text is None:
        return None
    value = parse_timestamp(text, "added_after")
    return int(value.timestamp()) * 1_000_000 + value.microsecond


def split(
    param: str | None, what: str = "filter", shape: re.Pattern[str] | None = None
) -> list[str]:
    """Comma-separated values, at most :data:`MAX_VALUES`, each of ``shape`` (else 400)."""
    values = [p.strip() for p in param.split(",") if p.strip()] if param else []
    if len(values) > MAX_VALUES:
        raise TaxiiError(400, f"invalid {what}", f"at most {MAX_VALUES} values, got {len(values)}")
    for v in values:
        if shape is not None and not shape.match(v):
            raise TaxiiError(400, f"invalid {what}", f"{v!r:.80} is not a valid value")
    return values


def is_uuid(text: str) -> bool:
    return bool(_UUID.match(text))


def ids(param: str | None) -> list[str]:
    return split(param, "match[id]", _ID)


def types(param: str | None) -> list[str]:
    return split(param, "match[type]", _TYPE)


def spec_versions(param: str | None) -> list[str]:
    return split(param, "match[spec_version]", _SPEC)


def versions(param: str | None) -> list[str]:
    """``match[version]`` values: last (default), first, all, or timestamps (normalised)."""
    out = []
    for v in split(param, "match[version]") or ["last"]:
        if v in ("last", "first", "all"):
            out.append(v)
        else:
            out.append(norm_version(parse_timestamp(v, "match[version]").isoformat()))
    return out


def cursor(token: str | None) -> tuple[int, int] | None:
    """The position a ``next`` token names (``<added_us>.<seq>``)."""
    if token is None:
        return None
    try:
        a, b = token.split(".")
        if not (a.isascii() and a.isdigit() and b.isascii() and b.isdigit()):
            raise ValueError(token)
        at, seq = int(a), int(b)
        if at > _BIGINT or seq > _BIGINT:  # beyond what the database's integers hold
            raise ValueError(token)
    except ValueError as exc:
        raise TaxiiError(
            400, "invalid next", f"{token!r:.60} is not a token this server gave"
        ) from exc
    return at, seq


def page_limit(limit: int | None, page_size: int) -> int:
    if limit is None:
        return page_size
    if limit < 1:
        raise TaxiiError(400, "invalid limit", "limit must be a positive integer")
    return min(limit, page_size)


def date_headers(rows: Sequence[Row]) -> dict[str, str]:
    if not rows:
        return {}
    return {
        "X-TAXII-Date-Added-First": iso_us(rows[0].added_us),
        "X-TAXII-Date-Added-Last": iso_us(rows[-1].added_us),
    }


def envelope(rows: Sequence[Row], more: bool, nxt: str | None) -> bytes:
    """``{"more", "next", "objects", x_distillwatch_added_by}`` built from stored JSON text
    without re-encoding. ``x_distillwatch_added_by`` attests, per object id, the member
    whose upload stored it: pullers trust it rather than an object's own ``created_by_ref``."""
    head = b'{"more":' + (b"true" if more else b"false")
    if nxt:
        head += b',"next":' + orjson.dumps(nxt)
    attested = orjson.dumps({r.object_id: r.added_by for r in rows})
    objects = ",".join(r.body for r in rows).encode()
    return head + b',"' + ATTESTED.encode() + b'":' + attested + b',"objects":[' + objects + b"]}"


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, or 413 as soon as it is known to exceed ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before reading anything; a
    chunked body is read chunk by chunk and abandoned at the limit, so a huge upload never
    sits in memory.
    """
    declared = request.headers.get("content-length")
    # Connection: close -- the server then closes the socket after the 413 instead of reading
    # (and discarding) the rest of the body to keep the connection alive
    too_large = TaxiiError(
        413, "too large", f"the body is over {limit} bytes", {"Connection": "close"}
    )
    if declared is not None:
        if not declared.isdigit():
            raise TaxiiError(400, "invalid Content-Length", f"{declared!r:.40} is not a length")
        if int(declared) > limit:
            raise too_large
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        parts.append(chunk)
    return b"".join(parts)


def manifest(rows: Sequence[Row], more: bool, nxt: str | None) -> dict:
    body: dict = {
        "more": more,
        "objects": [
            {
                "id": r.object_id,
                "date_added": iso_us(r.added_us),
                "version": r.version,
                "media_type": STIX,
            }
            for r in rows
        ],
    }
    if nxt:
        body["next"] = nxt
    return body
