"""What a reader of a foreign log format produces, and the helpers every reader shares.

A *dialect* maps one foreign record (a LiteLLM SpendLogs row, an OTLP line, a proxy's
request/response line) to zero or more traffic log v1 records. It never validates v1 itself:
the v1 record goes through the same ``flatten`` as a v1 file, so the quarantine rules are the
same whatever the source. Each item a mapper yields is one of:

* :class:`Mapped` — a v1 record, with ``origin``: which foreign field each v1 field came from,
  so that a v1 error ("usage.input_tokens must be an integer") is reported against the field
  the user can find in their own log ("prompt_tokens").
* :class:`Unmapped` — a foreign record that cannot become a v1 record (the error names the
  foreign field); it is quarantined.
* :class:`PassedOver` — a foreign record that is deliberately not a request (an HTTP span in
  an OTLP trace, a tool-execution span): counted by reason, never silently dropped.

Every foreign value is attacker-controlled: the helpers here check types before use and raise
:class:`InvalidRecord` naming the field, never ``TypeError``/``KeyError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from distillwatch.ingest.validate import (
    InvalidRecord,
    Reason,
    json_type,
    optional_object,
    wrong_type,
)


@dataclass(frozen=True, slots=True)
class Mapped:
    """One v1 record; ``where`` locates it inside its line/row (an OTLP span), else None."""

    record: dict[str, Any]
    origin: Mapping[str, str] = field(default_factory=dict)
    where: str | None = None
    raw: Any = None


@dataclass(frozen=True, slots=True)
class Unmapped:
    """A foreign record that could not be mapped; ``problem.field`` is the foreign field."""

    problem: InvalidRecord
    where: str | None = None
    raw: Any = None


@dataclass(frozen=True, slots=True)
class PassedOver:
    """A foreign record that is not a model request, and why (the key it is counted under)."""

    why: str


Item = Mapped | Unmapped | PassedOver
#: A dialect's mapper: one parsed foreign record in, its items out.
Mapper = Callable[[Any], Iterable[Item]]


class Taker:
    """Collects a v1 record and the origin of each field while a mapper reads a record."""

    __slots__ = ("origin", "record")

    def __init__(self) -> None:
        self.record: dict[str, Any] = {}
        self.origin: dict[str, str] = {}

    def __call__(self, v1_name: str, value: Any, name: str | None) -> None:
        """Set ``v1_name`` from the foreign field ``name``, unless the value is null or ""."""
        if value is not None and value != "" and name is not None:
            self.record[v1_name] = value
            self.origin[v1_name] = name


def missing(field_name: str, detail: str | None = None) -> InvalidRecord:
    """The error for a foreign field that a v1 field needs and that is absent."""
    return InvalidRecord(
        Reason.MISSING_FIELD, field_name, detail or f"{field_name} is missing or empty"
    )


#: A JSON object, null/absent read as empty; any other type is an error naming the field.
as_object = optional_object


def as_list(value: Any, field_name: str) -> list[Any]:
    """A JSON array, null/absent read as empty."""
    if type(value) is list:
        return value
    if value is None:
        return []
    raise wrong_type(field_name, "an array", value)


def first(record: Mapping[str, Any], *names: str) -> tuple[Any, str | None]:
    """The first of ``names`` present with a value that is not null or "", and its name."""
    for name in names:
        value = record.get(name)
        if value is not None and value != "":
            return value, name
    return None, None


def lookup(record: Any, path: str) -> Any:
    """The value at a dotted ``path`` (``request.metadata.customer``), or None if absent.

    Keys may themselves contain dots (OpenTelemetry attributes such as ``gen_ai.request.model``
    sit in one flat object), so at each object the longest key matching the rest of the path
    wins. A number selects a list element (``choices.0.message``).
    """
    parts = path.split(".")
    node: Any = record
    i = 0
    while i < len(parts):
        if type(node) is dict:
            for j in range(len(parts), i, -1):
                key = ".".join(parts[i:j])
                if key in node:
                    node, i = node[key], j
                    break
            else:
                return None
        elif type(node) is list and parts[i].isdigit():
            index = int(parts[i])
            if index >= len(node):
                return None
            node, i = node[index], i + 1
        else:
            return None
    return node


def put(record: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted v1 ``path`` (``params.temperature``), creating the objects on the way."""
    *parents, leaf = path.split(".")
    node = record
    for part in parents:
        child = node.get(part)
        if type(child) is not dict:
            child = node[part] = {}
        node = child
    node[leaf] = value


def translate(problem: InvalidRecord, origin: Mapping[str, str]) -> InvalidRecord:
    """A v1 error re-stated against the foreign field the v1 field was taken from.

    ``messages[2].role`` with origin ``messages -> request.messages`` becomes
    ``request.messages[2].role``; the detail keeps the v1 name too, for whoever reads both.
    """
    name = problem.field
    if name is None:
        return problem
    best = ""
    for v1_name in origin:
        if len(v1_name) > len(best) and (
            name == v1_name or name.startswith((v1_name + ".", v1_name + "["))
        ):
            best = v1_name
    if not best:
        return problem
    foreign = origin[best] + name[len(best) :]
    detail = f"{foreign}: {problem.detail} (traffic log v1 field {name})"
    return InvalidRecord(problem.reason, foreign, detail)


def guarded(raw: Any, what: str, build: Callable[[dict[str, Any]], Mapped]) -> Iterator[Item]:
    """``build(raw)`` for an object, else why not; an :class:`InvalidRecord` → :class:`Unmapped`."""
    if type(raw) is not dict:
        detail = f"{what} must be a JSON object, got {json_type(raw)}"
        yield Unmapped(InvalidRecord(Reason.NOT_AN_OBJECT, None, detail), raw=raw)
        return
    try:
        yield build(raw)
    except InvalidRecord as problem:
        yield Unmapped(problem, raw=raw)
