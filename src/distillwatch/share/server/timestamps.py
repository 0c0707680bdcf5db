"""Versions and dates of the TAXII server: fixed-form timestamps that compare as strings."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any


def iso_us(us: int) -> str:
    """Microsecond RFC 3339 timestamp (TAXII date_added has microsecond precision)."""
    secs, frac = divmod(us, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:06d}Z"


_MILLIS = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z\Z")


def norm_version(text: str) -> str:
    """A timestamp in one fixed form (microseconds, ``Z``) so versions compare as strings."""
    m = _MILLIS.match(text)
    if m:  # the usual STIX form: pad the fraction, no parsing
        head = text[:19]
        return f"{head}.{(m.group(1) or '.')[1:].ljust(6, '0')}Z"
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version_of(obj: dict[str, Any]) -> str:
    """An object's version: ``modified``, else ``created``, else a fixed stand-in (SCOs)."""
    return norm_version(str(obj.get("modified") or obj.get("created") or "1970-01-01T00:00:00Z"))
