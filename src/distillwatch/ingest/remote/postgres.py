"""Records from a PostgreSQL query: ``distillwatch ingest postgresql://host/db [--query SQL]``.

Without ``--query`` the dialect's usual table is read — for LiteLLM (the default dialect of a
``postgresql://`` input, since its SpendLogs table is the log providers keep in PostgreSQL)::

    SELECT * FROM "LiteLLM_SpendLogs" ORDER BY "startTime", request_id

With ``--query`` any SELECT can be given (a time window, a join adding account facts, a v1
view); with ``--from auto`` its dialect is told from the first row's columns. The query runs
in a READ ONLY transaction (a query that tries to write fails instead of writing) through a
server-side cursor, fetched :data:`ROWS_PER_CHUNK` rows at a time, so memory is bounded
whatever the table's size. Row N of the result is "line" N in quarantine and
``source_line``. JSON/JSONB columns arrive as objects, timestamps as datetimes (a
``timestamp without time zone`` column, which is what LiteLLM's Prisma schema creates, is read
as UTC), ``inet``/``cidr``/``uuid`` as strings and ``numeric`` as numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from distillwatch.ingest.errors import IngestError
from distillwatch.ingest.formats import Dialect, detect
from distillwatch.ingest.formats.process import MappedChunk, RowsChunk
from distillwatch.ingest.readers import Positioned
from distillwatch.ingest.sources import Source, redact

ROWS_PER_CHUNK = 16_384
#: The query run on a ``postgresql://`` input when none is given, per dialect.
DEFAULT_QUERIES = {
    "litellm": 'SELECT * FROM "LiteLLM_SpendLogs" ORDER BY "startTime", request_id',
}
AUTO = Dialect("auto")


def _connect(dsn: str) -> Any:
    try:
        import psycopg
        from psycopg.types.json import set_json_loads
    except ImportError as exc:
        raise IngestError(
            f"{redact(dsn)}: reading PostgreSQL needs psycopg: pip install 'distillwatch[postgres]'"
        ) from exc

    try:
        connection = psycopg.connect(dsn, connect_timeout=10)
    except psycopg.Error as exc:
        message = str(exc).replace(dsn, redact(dsn))
        raise IngestError(f"{redact(dsn)}: cannot connect: {message}", file=redact(dsn)) from exc
    connection.read_only = True
    # JSON columns are parsed by orjson: LiteLLM's metadata runs to kilobytes a row, and the
    # standard json module made parsing it most of the read time (measured)
    set_json_loads(orjson.loads, connection)
    _plain_values(connection)
    return connection


def _plain_values(connection: Any) -> None:
    """Read the types a table keeps strings and numbers in as the strings and numbers they
    are: an ``inet`` address, a ``uuid`` request id, a ``numeric`` latency. psycopg's own
    objects for them (``IPv4Address``, ``UUID``, ``Decimal``) failed the v1 rules, so a table
    with an ``inet`` column had every row quarantined."""
    from psycopg.adapt import Loader

    class Text(Loader):
        def load(self, data: Any) -> str:
            return bytes(data).decode()

    class Number(Loader):
        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            return int(text) if text.lstrip("-").isdigit() else float(text)

    for name in ("inet", "cidr", "uuid", "macaddr"):
        connection.adapters.register_loader(name, Text)
    connection.adapters.register_loader("numeric", Number)


def query_source(dsn: str, dialect: Dialect | None, query: str | None) -> Source:
    """A source for ``dsn``, checked now: the server must answer before anything is read."""
    if query is None:
        name = "litellm" if dialect is None else dialect.name
        if name not in DEFAULT_QUERIES:
            raise IngestError(
                f"{redact(dsn)}: a PostgreSQL input in format {name!r} needs --query "
                f"(a default table is known only for {', '.join(DEFAULT_QUERIES)})"
            )
        query = DEFAULT_QUERIES[name]
        dialect = dialect or Dialect("litellm")
    with _connect(dsn):
        pass
    return Source(Path("postgresql"), "postgres", None, 0, dialect or AUTO, url=dsn, query=query)


def _settle(dialect: Dialect, row: dict[str, Any], name: str) -> Dialect:
    if dialect.name != "auto":
        return dialect
    found = detect(row)
    if found is None:
        columns = ", ".join(sorted(row)[:12])
        raise IngestError(
            f"{name}: cannot tell the log format of the query's rows (columns: {columns}); "
            "pass --from"
        )
    return replace(dialect, name=found)


def row_chunks(source: Source, rows_per_chunk: int = ROWS_PER_CHUNK) -> Iterator[Positioned]:
    """The query's rows in chunks, as dicts keyed by column name, in result order."""
    import psycopg
    from psycopg.rows import dict_row

    assert source.url is not None and source.query is not None
    name = source.name
    dialect = source.dialect
    row_no = 1
    with _connect(source.url) as connection:
        try:
            with connection.cursor(name="distillwatch_ingest", row_factory=dict_row) as cursor:
                cursor.execute(source.query)  # the user's own query, on their own database
                while rows := cursor.fetchmany(rows_per_chunk):
                    dialect = _settle(dialect, rows[0], name)
                    chunk = MappedChunk(RowsChunk(name, row_no, rows), dialect)
                    yield Positioned(chunk, 0)
                    row_no += len(rows)
        except psycopg.Error as exc:
            raise IngestError(f"{name}: query failed: {exc}", file=name) from exc
