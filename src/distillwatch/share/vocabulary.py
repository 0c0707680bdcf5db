"""The shared vocabulary: objects every member sends identically and no member owns.

The distillwatch project identity, the fingerprint extension-definition, the attack patterns
of the known tactics and the TLP marking definitions carry the same id and the same content
at every member, so they de-duplicate across the group. Because they are nobody's, a hub
accepts them only in their canonical form (a member cannot "version" the vocabulary into
something else) and no member may delete them. Each is marked TLP:CLEAR so members of any
clearance receive them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from distillwatch.share import tlp
from distillwatch.share.atlas import TACTICS, attack_pattern
from distillwatch.share.extension import EXTENSION_DEFINITION
from distillwatch.share.stixbase import PROJECT_IDENTITY

#: ``added_by`` of vocabulary objects in a hub's store: not a valid member name.
VOCABULARY_OWNER = "(vocabulary)"


def clear(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` marked TLP:CLEAR (a copy)."""
    return {**obj, "object_marking_refs": [tlp.marking_id("clear")]}


def project_identity() -> dict[str, Any]:
    return clear(PROJECT_IDENTITY)


def extension_definition() -> dict[str, Any]:
    return clear(EXTENSION_DEFINITION)


def tactic_pattern(tactic: str) -> dict[str, Any]:
    return clear(attack_pattern(tactic))


@lru_cache(maxsize=1)
def _variants() -> dict[str, list[dict[str, Any]]]:
    """id -> the forms accepted (marked, and the unmarked form older exports sent)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for obj in (PROJECT_IDENTITY, EXTENSION_DEFINITION, *(attack_pattern(t) for t in TACTICS)):
        out[obj["id"]] = [obj, clear(obj)]
    for level in tlp.LEVELS:
        definition = tlp.marking_definition(level)
        out[definition["id"]] = [definition]
    for definition in _tlp1():
        out[definition["id"]] = [definition]
    return out


def _tlp1() -> list[dict[str, Any]]:
    """The STIX 2.1 predefined TLP 1.0 definitions (what the ``stix2`` library adds)."""
    try:
        import orjson
        from stix2.v21 import TLP_AMBER, TLP_GREEN, TLP_RED, TLP_WHITE
    except ImportError:  # the share extra is absent: nothing to compare with
        return []
    return [orjson.loads(m.serialize()) for m in (TLP_WHITE, TLP_GREEN, TLP_AMBER, TLP_RED)]


def is_vocabulary(object_id: str) -> bool:
    return object_id in _variants()


def canonical(obj: dict[str, Any]) -> bool:
    """Is ``obj`` exactly one accepted form of a vocabulary object?"""
    return any(obj == form for form in _variants().get(str(obj.get("id")), ()))
