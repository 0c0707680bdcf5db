"""distillwatch's STIX extension: behavioural fingerprints as a new SDO.

No STIX type carries what recognises a distillation campaign beyond its network: the prompt
templates it renders, the capability areas it sweeps, the rhythm of its requests, and the
keyed hashes of its cards and sign-up domains. They travel in a ``distillwatch-fingerprint``
object, a new SDO declared by an ``extension-definition`` (``extension_type`` ``new-sdo``)
whose JSON Schema ships in ``share/schemas/fingerprint-v1.json``. A plain custom object
would draw validator warning 401 and fail strict validation; this form passes.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from distillwatch.share.stixbase import FIXED, PROJECT_IDENTITY, base, sid

FINGERPRINT_TYPE = "distillwatch-fingerprint"
SCHEMA_FILE = "fingerprint-v1.json"
VERSION = "1.0.0"
EXTENSION_ID = sid("extension-definition", FINGERPRINT_TYPE, VERSION)

EXTENSION_DEFINITION: dict[str, Any] = base(
    "extension-definition",
    EXTENSION_ID,
    FIXED,
    created_by_ref=PROJECT_IDENTITY["id"],
    name="distillwatch behavioural fingerprint",
    description=(
        "A new SDO carrying what identifies an adversarial-distillation campaign beyond its "
        "network indicators: prompt-template sketches, capability-coverage and timing "
        "profiles, and keyed (HMAC-SHA256) hashes of identifiers that must be matchable "
        "but not readable."
    ),
    schema=f"JSON Schema distillwatch/share/schemas/{SCHEMA_FILE} in the distillwatch package",
    version=VERSION,
    extension_types=["new-sdo"],
)


@lru_cache(maxsize=1)
def fingerprint_schema() -> dict[str, Any]:
    """The JSON Schema of the fingerprint object."""
    text = (
        resources.files("distillwatch.share").joinpath("schemas").joinpath(SCHEMA_FILE).read_text()
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def extension_marker() -> dict[str, Any]:
    """The ``extensions`` entry every fingerprint object carries."""
    return {EXTENSION_ID: {"extension_type": "new-sdo"}}
