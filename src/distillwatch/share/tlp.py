"""TLP 2.0 markings as STIX 2.1 marking-definition objects, with their official ids.

``stix2`` ships only the TLP 1.0 markings (``TLP_WHITE`` …), which mean something else:
TLP 2.0 renamed WHITE to CLEAR and added AMBER+STRICT. The TLP 2.0 objects are published by
the OASIS CTI TC as a property extension with fixed ids and a fixed ``created`` time; a
consumer recognises a marking by its id, so the ids here must be exactly the published ones
(a typo would make our objects look unmarked).

Levels are ordered from least to most restricted, so "may a member cleared to AMBER read
this?" is a comparison of ranks (:func:`rank`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: The OASIS TLP 2.0 property extension every TLP 2.0 marking declares itself through.
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATED = "2022-10-01T00:00:00.000Z"

#: level -> marking-definition id, least restricted first.
TLP2_IDS: dict[str, str] = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
LEVELS: tuple[str, ...] = tuple(TLP2_IDS)

#: The STIX 2.1 predefined TLP 1.0 markings, read as their TLP 2.0 equivalents when imported.
TLP1_IDS: dict[str, str] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
_LEVEL_OF_ID = {**{v: k for k, v in TLP2_IDS.items()}, **TLP1_IDS}
_RANK_OF_ID = {ident: LEVELS.index(level) for ident, level in _LEVEL_OF_ID.items()}


class TlpError(ValueError):
    """An unknown TLP level name."""


def normalise(level: str) -> str:
    """``"TLP:AMBER+STRICT"``, ``"amber+strict"`` or ``"Amber"`` -> the level name, or fail."""
    name = level.strip().lower().removeprefix("tlp:")
    if name == "white":  # TLP 1.0's name for CLEAR
        name = "clear"
    if name not in TLP2_IDS:
        raise TlpError(f"unknown TLP level {level!r}; use one of {', '.join(LEVELS)}")
    return name


def rank(level: str) -> int:
    """0 for CLEAR up to 4 for RED."""
    return LEVELS.index(normalise(level))


def marking_id(level: str) -> str:
    return TLP2_IDS[normalise(level)]


def marking_definition(level: str) -> dict[str, Any]:
    """The published TLP 2.0 marking-definition object for ``level``."""
    name = normalise(level)
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_IDS[name],
        "created": TLP2_CREATED,
        "name": f"TLP:{name.upper()}",
        "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": name}},
    }


def level_of(marking_refs: Iterable[str], default: str | None = None) -> str | None:
    """The most restrictive TLP level among an object's ``object_marking_refs``.

    Objects without a TLP marking get ``default`` (``None`` means "unmarked").
    """
    levels = [_LEVEL_OF_ID[m] for m in marking_refs if m in _LEVEL_OF_ID]
    if not levels:
        return default
    return max(levels, key=LEVELS.index)


def rank_of(marking_refs: Iterable[str], default: int) -> int:
    """The rank of :func:`level_of` in one pass (the store computes it for every object)."""
    ranks = [_RANK_OF_ID[m] for m in marking_refs if m in _RANK_OF_ID]
    return max(ranks) if ranks else default


def is_tlp_marking(object_id: str) -> bool:
    return object_id in _LEVEL_OF_ID


def granular_refs(obj: dict[str, Any]) -> list[str]:
    """The marking ids of an object's granular markings (those with a ``marking_ref``)."""
    marks = obj.get("granular_markings")
    if not isinstance(marks, list):
        return []
    return [str(m["marking_ref"]) for m in marks if isinstance(m, dict) and "marking_ref" in m]


def object_rank(obj: dict[str, Any], default: int) -> int:
    """The TLP rank that decides who may read ``obj`` at all.

    The object-level marking (``default`` when it has none), raised by any granular TLP
    marking: a RED ``pattern`` makes the whole indicator RED. Redacting just the marked
    property instead would serve a different object under the same version (and a required
    property like ``pattern`` cannot be left out), so the hub withholds the whole object.
    """
    level = rank_of(obj.get("object_marking_refs") or (), default)
    return max(level, rank_of(granular_refs(obj), level))
