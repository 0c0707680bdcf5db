"""A mapping file: where a log keeps the fields a reader cannot guess.

```toml
# distillwatch ingest --from openai-log --mapping mapping.toml logs/
ts_unit = "ms"                  # numeric timestamps are epoch milliseconds (s, ms, us, ns)

[fields]                        # traffic log v1 field = dotted path in the foreign record
account_id = "metadata.customer_id"
ip = "client.address"
country = "geo.country"
"params.temperature" = "body.temperature"
request = "payload.req"         # where the request body is (openai-log; default "request")
response = "payload.res"        # where the response body is (default "response")
```

A field named here replaces what the reader's built-in mapping found (an absent path gives
an absent field, so a required one is then quarantined naming the path). The file is checked
whole before anything is read: an unknown v1 field or a path that is not a string is an
:class:`IngestError` naming the key, never a silent no-op.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillwatch.ingest.errors import IngestError
from distillwatch.ingest.formats.base import lookup, put
from distillwatch.schema import PARAM_FIELDS

#: v1 fields a mapping may name (dotted for nested ones), plus the two body locations.
TOP_FIELDS = (
    "ts", "account_id", "request_id", "key_id", "org_id", "ip", "user_agent", "country", "asn",
    "account_created", "payment_fingerprint", "email_domain", "model", "endpoint", "system",
    "messages", "tools", "status", "latency_ms",
)  # fmt: skip
MAPPABLE = frozenset(
    (
        *TOP_FIELDS,
        "request",
        "response",
        *(f"params.{name}" for name in PARAM_FIELDS),
        "response.text",
        "response.finish_reason",
        "response.tool_calls",
        "usage.input_tokens",
        "usage.output_tokens",
        "usage.reasoning_tokens",
    )
)
TS_UNITS = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_TIMESTAMPS = ("ts", "account_created")


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """Overrides from a mapping file; hashable and picklable (it travels to worker processes)."""

    fields: tuple[tuple[str, str], ...] = ()
    ts_unit: str = "s"

    def path(self, name: str, default: str) -> str:
        """The path of ``name`` (``request``/``response`` bodies), or ``default``."""
        return next((path for field, path in self.fields if field == name), default)

    def apply(self, raw: Any, record: dict[str, Any], origin: dict[str, str]) -> None:
        """Replace ``record``'s fields named here by the values at their paths in ``raw``."""
        for name, path in self.fields:
            if name in ("request", "response"):
                continue
            value = lookup(raw, path)
            if value is None and "." not in name:
                record.pop(name, None)
            else:
                put(record, name, value)
            origin[name] = path
        if self.ts_unit != "s":
            scale = TS_UNITS[self.ts_unit]
            for name in _TIMESTAMPS:
                value = record.get(name)
                if type(value) is int or type(value) is float:
                    record[name] = value / scale


NO_MAPPING = FieldMapping()


def load_mapping(path: Path) -> FieldMapping:
    """Read and check a mapping file; every problem is an :class:`IngestError` naming it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise IngestError(f"{path}: cannot read mapping: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: not a TOML mapping file: {exc}") from exc
    unknown = set(data) - {"fields", "ts_unit"}
    if unknown:
        raise IngestError(f"{path}: unknown key(s) {sorted(unknown)}; expected fields, ts_unit")
    fields = data.get("fields", {})
    if type(fields) is not dict:
        raise IngestError(f"{path}: [fields] must be a table of v1 field = path")
    pairs: list[tuple[str, str]] = []
    for name, target in fields.items():
        if name not in MAPPABLE:
            raise IngestError(f"{path}: fields.{name}: not a traffic log v1 field")
        if type(target) is not str or not target:
            raise IngestError(f"{path}: fields.{name}: the path must be a non-empty string")
        pairs.append((name, target))
    unit = data.get("ts_unit", "s")
    if unit not in TS_UNITS:
        raise IngestError(f"{path}: ts_unit must be one of {', '.join(TS_UNITS)}, got {unit!r}")
    return FieldMapping(tuple(pairs), unit)
