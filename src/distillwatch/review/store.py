"""The console's store: one SQLAlchemy engine over SQLite (default) or PostgreSQL.

``Store`` owns the engine and the tables and hands out transactions; the modules beside it
(import, cases, auth, audit) each take a connection, so one request's steps commit together.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from distillwatch.review.tables import Tables, make_tables

DEFAULT_DB = "distillwatch-console.db"


class ConsoleError(ValueError):
    """Something the console cannot do as asked; the message says what and where."""


def database_url(db: str) -> str:
    """A SQLAlchemy URL from a path (SQLite) or a ``postgresql://`` URL (psycopg 3)."""
    if db.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + db.split("://", 1)[1]
    if "://" in db:
        return db
    return f"sqlite:///{Path(db)}"


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(text: str | None, default: Any = None) -> Any:
    return default if text is None else orjson.loads(text)


def new_id(result: sa.CursorResult[Any]) -> int:
    """The primary key an INSERT made."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


class Store:
    """The engine and tables; ``schema`` keeps several stores apart in one PostgreSQL db."""

    def __init__(self, db: str = DEFAULT_DB, schema: str | None = None) -> None:
        url = database_url(db)
        self.engine: Engine = sa.create_engine(url, pool_pre_ping=True)
        if url.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.t: Tables = make_tables(schema)
        self.t.metadata.create_all(self.engine)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def secret(self) -> bytes:
        """The key that signs session cookies: made once, kept in the store."""
        s = self.t.settings
        with self.begin() as conn:
            row = conn.execute(sa.select(s.c.value).where(s.c.key == "session_key")).first()
            if row is not None:
                return bytes.fromhex(row[0])
            value = secrets.token_hex(32)
            conn.execute(sa.insert(s).values(key="session_key", value=value))
            return bytes.fromhex(value)

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets the server read while a CLI import writes; a busy wait instead of errors."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
