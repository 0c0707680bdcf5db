"""Readers of the logs providers already have, each mapping its records to traffic log v1.

``--from`` names a dialect: ``v1`` (the native format), ``litellm`` (LiteLLM SpendLogs rows,
from its PostgreSQL table or a JSON export), ``otel`` (OpenTelemetry GenAI spans in OTLP JSON,
as the Collector's file exporter writes them), ``openai-log`` (request/response JSON Lines).
``auto`` decides per file from its first records (:func:`detect`), and only where that is
unambiguous. The field mappings are documented in ``docs/readers.md``.

A :class:`Dialect` is small, hashable and picklable: it travels with each chunk of input to the
worker process that maps it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from distillwatch.ingest.formats.base import Item, Mapped, Mapper, PassedOver, Unmapped
from distillwatch.ingest.formats.mapping import NO_MAPPING, FieldMapping

__all__ = [
    "DIALECTS",
    "V1",
    "Dialect",
    "Item",
    "Mapped",
    "PassedOver",
    "Unmapped",
    "detect",
    "mapper_for",
]

#: Names accepted by ``--from``.
DIALECTS = ("auto", "v1", "litellm", "otel", "openai-log")


@dataclass(frozen=True, slots=True)
class Dialect:
    """A log format and its mapping-file overrides."""

    name: str = "v1"
    mapping: FieldMapping = NO_MAPPING

    @property
    def native(self) -> bool:
        """True when records are traffic log v1 already and go straight to validation."""
        return self.name == "v1" and not self.mapping.fields


V1 = Dialect()


def _v1(raw: Any, mapping: FieldMapping) -> Iterator[Item]:
    """v1 records (from a database, or with a mapping file): mapping overrides only."""
    if type(raw) is not dict or not mapping.fields:
        yield Mapped(raw, raw=raw)  # flatten reports anything wrong with it
        return
    record = dict(raw)
    origin: dict[str, str] = {}
    mapping.apply(raw, record, origin)
    yield Mapped(record, origin, raw=raw)


def mapper_for(dialect: Dialect) -> Mapper:
    """The function mapping one parsed record of ``dialect`` to its items."""
    if dialect.name == "v1":
        return partial(_v1, mapping=dialect.mapping)
    if dialect.name == "openai-log":
        from distillwatch.ingest.formats.openai_log import map_line

        return partial(map_line, mapping=dialect.mapping)
    if dialect.name == "litellm":
        from distillwatch.ingest.formats.litellm import map_row

        return partial(map_row, mapping=dialect.mapping)
    if dialect.name == "otel":
        from distillwatch.ingest.formats.otel import map_export

        return partial(map_export, mapping=dialect.mapping)
    raise ValueError(f"unknown log format {dialect.name!r}; expected one of {DIALECTS}")


def detect(record: Any) -> str | None:
    """The dialect a parsed record unambiguously belongs to, or None.

    v1 is checked first: a record with ``ts``/``account_id``/``request_id`` is v1 whatever else
    it carries (v1 keeps unknown fields).
    """
    from distillwatch.ingest.formats import litellm, openai_log, otel

    if type(record) is not dict:
        return None
    if "ts" in record and "account_id" in record:
        return "v1"
    if otel.looks_like(record):
        return "otel"
    if litellm.looks_like(record):
        return "litellm"
    if openai_log.looks_like(record):
        return "openai-log"
    if "ts" in record or "request_id" in record:
        return "v1"
    return None
