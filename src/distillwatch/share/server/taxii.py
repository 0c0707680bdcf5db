"""TAXII 2.1 wire details: media types, error messages, envelopes, request filters.

Kept apart from the routes so the rules of the protocol (what a ``next`` token looks like,
which ``Accept`` headers are acceptable, what an error body holds) are plain functions that
tests can call directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
from fastapi.responses import Response

from distillwatch.share.server.store import Row, iso_us, norm_version

TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"


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
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise TaxiiError(
            400, f"invalid {what}", f"{text!r:.60} is not an RFC 3339 timestamp"
        ) from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def added_after_us(text: str | None) -> int | None:
    if text is None:
        return None
    value = parse_timestamp(text, "added_after")
    return int(value.timestamp()) * 1_000_000 + value.microsecond


def split(param: str | None) -> list[str]:
    return [p.strip() for p in param.split(",") if p.strip()] if param else []


def versions(param: str | None) -> list[str]:
    """``match[version]`` values: last (default), first, all, or timestamps (normalised)."""
    out = []
    for v in split(param) or ["last"]:
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
        return int(a), int(b)
    except ValueError as exc:
        raise TaxiiError(
            400, "invalid next", f"{token!r:.60} is not a token this server gave"
        ) from exc


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
    """``{"more", "next", "objects"}`` built from stored JSON text without re-encoding."""
    head = b'{"more":' + (b"true" if more else b"false")
    if nxt:
        head += b',"next":' + orjson.dumps(nxt)
    return head + b',"objects":[' + ",".join(r.body for r in rows).encode() + b"]}"


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
