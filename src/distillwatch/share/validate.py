"""Is this valid STIX 2.1? Two answers: the OASIS validator, and a fast structural check.

The OASIS ``stix2-validator`` is the reference (schemas, pattern grammar, vocabularies, best
practices in strict mode) but costs milliseconds per object. The exporter and the TAXII
server's add endpoint use it: nothing invalid is written or stored. A member pulling tens of
thousands of objects from the hub (which validated them on the way in) re-checks only the
structure with :func:`structural_errors`, which is fast enough for 10k+ objects a second, so
a broken or hostile hub still cannot put garbage into the member's store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from distillwatch.share.extension import FINGERPRINT_TYPE, fingerprint_schema

_ID = re.compile(
    r"^([a-z0-9][a-z0-9-]{0,248}[a-z0-9])--"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
#: Cyber-observable types: they carry no ``created``/``modified``.
_SCO = frozenset({
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
    "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
    "software", "url", "user-account", "windows-registry-key", "x509-certificate",
})  # fmt: skip


@dataclass(frozen=True)
class Problem:
    object_id: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        return f"{self.object_id}: {self.message}"


def oasis_problems(objects: list[dict[str, Any]], strict: bool = True) -> list[Problem]:
    """Problems the OASIS validator finds (in strict mode warnings count as errors).

    The fingerprint SDO is also checked against distillwatch's own JSON Schema, which the
    OASIS validator cannot know.
    """
    from stix2validator import ValidationOptions, validate_instance

    options = ValidationOptions(strict=strict, version="2.1")
    problems: list[Problem] = []
    for obj in objects:
        result = validate_instance(obj, options)
        ident = str(obj.get("id", "<no id>"))
        problems += [Problem(ident, str(e).removeprefix(f"{ident}: ")) for e in result.errors]
        problems += [Problem(ident, str(w), "warning") for w in result.warnings or []]
        if obj.get("type") == FINGERPRINT_TYPE:
            problems += schema_problems(obj)
    return problems


def schema_problems(obj: dict[str, Any]) -> list[Problem]:
    """Problems of a fingerprint object against ``share/schemas/fingerprint-v1.json``."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(fingerprint_schema())
    ident = str(obj.get("id", "<no id>"))
    return [
        Problem(ident, f"{'/'.join(map(str, e.absolute_path)) or '(object)'}: {e.message}")
        for e in validator.iter_errors(obj)
    ]


def structural_errors(obj: Any) -> str | None:
    """Why ``obj`` is not a well-formed STIX 2.1 object, or ``None``; cheap and strict."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    ident, kind = obj.get("id"), obj.get("type")
    if not isinstance(kind, str) or not isinstance(ident, str):
        return "missing 'type' or 'id'"
    m = _ID.match(ident)
    if not m or m.group(1) != kind:
        return f"id {ident!r:.80} is not '{kind}--<uuid>'"
    if kind != "marking-definition" and obj.get("spec_version") != "2.1":
        return "spec_version must be '2.1'"
    needed = (
        ()
        if kind in _SCO
        else ("created",)
        if kind == "marking-definition"
        else (
            "created",
            "modified",
        )
    )
    for prop in ("created", "modified"):
        value = obj.get(prop)
        if value is None and prop not in needed:
            continue
        if not isinstance(value, str) or not _STAMP.match(value):
            return f"{prop} must be an RFC 3339 UTC timestamp, got {value!r:.40}"
    if "modified" in obj and "created" in obj and obj["modified"] < obj["created"]:
        return "modified is before created"
    return None
