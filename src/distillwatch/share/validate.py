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
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"
)
_STAMP = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z\Z")
#: Deepest nesting of lists and objects accepted in one object. distillwatch's own objects
#: nest 5 levels; the OASIS validator and the pattern parser recurse per level (a deeper
#: object would exhaust Python's stack) and JSON encoders refuse more than 255.
MAX_DEPTH = 32
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
        ident = str(obj.get("id", "<no id>"))
        try:
            result = validate_instance(obj, options)
        except RecursionError:  # the pattern parser and schema checks recurse per level
            problems.append(Problem(ident, "too deeply nested to validate (pattern or property)"))
            continue
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


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Does ``value`` nest lists/objects more than ``limit`` levels (iteratively: no recursion
    for a hostile document to exhaust)?"""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def structural_errors(obj: Any) -> str | None:
    """Why ``obj`` is not a well-formed STIX 2.1 object, or ``None``; cheap and strict."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    if too_deep(obj):
        return f"nested more than {MAX_DEPTH} levels deep"
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
