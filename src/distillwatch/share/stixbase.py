"""Small STIX 2.1 building blocks: timestamps, deterministic ids, the distillwatch identity.

Objects are plain dicts, not ``stix2`` instances: the exporter builds thousands of them and
needs full control of every property; the OASIS validator checks the result instead.

Ids are UUIDv5 over what the object *is* (producer, campaign, kind), so exporting the same
campaign again yields the same ids with a later ``modified`` -- a new version that TAXII
servers and importers de-duplicate -- instead of a pile of look-alike objects.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

#: Namespace of every distillwatch-made STIX id.
NAMESPACE = uuid.UUID("5f0b1d1e-3c1f-5d7a-9a55-6a0d2f8f6b21")
SPEC = "2.1"
#: ``created`` of objects that are the same for every member (identity, attack patterns).
FIXED = "2026-01-01T00:00:00.000Z"


def stamp(when: datetime | None = None) -> str:
    """RFC 3339 UTC with exactly millisecond precision, as STIX tools expect."""
    when = (when or datetime.now(UTC)).astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_stamp(text: str) -> datetime:
    """A STIX/RFC 3339 timestamp (``Z`` or offset, any fraction) as an aware datetime."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def sid(stix_type: str, *parts: str) -> str:
    """A deterministic STIX id for the thing named by ``parts``.

    UUIDv5 bytes with the version nibble set to 4: STIX asks for UUIDv4 ids on SDOs and SROs
    (validator check 103), and a name-derived id is as unguessable-looking as a random one.
    """
    name = uuid.uuid5(NAMESPACE, "|".join((stix_type, *parts)))
    return f"{stix_type}--{uuid.UUID(bytes=name.bytes, version=4)}"


def base(stix_type: str, ident: str, when: str, **props: Any) -> dict[str, Any]:
    """The common properties of an SDO/SRO, then ``props`` (``None`` values left out)."""
    obj: dict[str, Any] = {
        "type": stix_type,
        "spec_version": SPEC,
        "id": ident,
        "created": props.pop("created", when),
        "modified": when,
    }
    obj.update({k: v for k, v in props.items() if v is not None})
    return obj


#: The identity that authors distillwatch's shared vocabulary (extension, attack patterns),
#: identical at every member so those objects de-duplicate across the group.
PROJECT_IDENTITY: dict[str, Any] = base(
    "identity",
    sid("identity", "distillwatch-project"),
    FIXED,
    name="distillwatch",
    description="Open-source detection of adversarial distillation of model APIs.",
    identity_class="system",
)


def member_identity(name: str, when: str = FIXED) -> dict[str, Any]:
    """The identity of a member of the sharing group (the producer of an export)."""
    return base(
        "identity",
        sid("identity", "member", name),
        when,
        created=FIXED,
        name=name,
        description=f"Sharing-group member {name}.",
        identity_class="organization",
        sectors=["technology"],
    )
