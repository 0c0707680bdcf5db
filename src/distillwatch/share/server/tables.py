"""The TAXII server's tables and the records read from them.

One row per object *version*; ``added_by`` is the member whose upload stored it (the hub's
attestation of provenance), ``tlp_rank`` who may read it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from distillwatch.share import tlp
from distillwatch.share.vocabulary import VOCABULARY_OWNER

metadata = sa.MetaData()
DEFINITION_TYPES = ("marking-definition", "extension-definition")


def read_rank(obj: dict[str, Any], owner: str, unmarked_rank: int) -> int:
    """The TLP rank a member needs to read this version of ``obj``.

    Shared vocabulary is readable by all. A marking or extension definition without a TLP
    marking is too (whoever reads an object must be able to look up the definitions it
    refers to), but one its author marked keeps that marking: a RED statement marking is
    served to RED members only. Everything else: its own markings, granular ones included,
    ``unmarked_rank`` without any.
    """
    if owner == VOCABULARY_OWNER:
        return 0
    return tlp.object_rank(obj, 0 if obj.get("type") in DEFINITION_TYPES else unmarked_rank)


def granular_pairs(obj: dict[str, Any]) -> frozenset[tuple[str, str]]:
    """``(marking id, selector)`` of each granular marking of ``obj``."""
    pairs = set()
    for m in obj.get("granular_markings") or ():
        if isinstance(m, dict) and "marking_ref" in m:
            for selector in m.get("selectors") or ():
                pairs.add((str(m["marking_ref"]), str(selector)))
    return frozenset(pairs)


def make_tables(md: sa.MetaData) -> tuple[sa.Table, sa.Table, sa.Table]:
    objects = sa.Table(
        "taxii_objects",
        md,
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("collection_id", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(300), nullable=False),
        sa.Column("type", sa.String(250), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("spec_version", sa.String(8), nullable=False),
        sa.Column("added_us", sa.BigInteger, nullable=False),
        sa.Column("latest", sa.Boolean, nullable=False),
        sa.Column("tlp_rank", sa.SmallInteger, nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.UniqueConstraint(
            "collection_id", "object_id", "version", name="uq_taxii_object_version"
        ),
        sa.Index("ix_taxii_added", "collection_id", "added_us"),
        sa.Index("ix_taxii_object", "object_id"),
    )
    status = sa.Table(
        "taxii_status",
        md,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("collection_id", sa.String(64), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    state = sa.Table(
        "taxii_state",
        md,
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    return objects, status, state


class NotOwner(PermissionError):
    """A member tried to delete versions another member uploaded."""

    def __init__(self, owner: str) -> None:
        super().__init__(owner)
        self.owner = owner


@dataclass(frozen=True)
class Row:
    object_id: str
    version: str
    added_us: int
    type: str
    body: str
    added_by: str = ""


@dataclass
class Head:
    """What the hub holds of one object id, in any collection: who owns it (the uploader of
    its first stored version), its versions (with a digest of each one's content), the
    highest TLP rank of any version, and the object and granular markings of the newest
    version."""

    owner: str
    versions: set[str]
    rank: int
    markings: frozenset[str]
    granular: frozenset[tuple[str, str]]
    digests: dict[str, str] = field(default_factory=dict)  # version -> content_digest


def content_digest(obj: dict[str, Any]) -> str:
    """What one version of an object says, whatever the order of its keys."""
    return hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    more: bool
    next: str | None
