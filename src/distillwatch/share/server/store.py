"""Object storage for the TAXII server, through SQLAlchemy Core (SQLite or PostgreSQL).

One row per object *version*: ``(collection, object id, version)`` is unique, so adding the
same version twice stores it once. ``added_us`` is the server's date_added in microseconds,
strictly increasing within a server process, which makes ``added_after`` and pagination
exact. ``latest`` marks the newest version of each object so the default
``match[version]=last`` is an index lookup, not a window over the collection. ``tlp_rank``
is computed once on the way in so visibility is a comparison in SQL. ``body`` is the
object's JSON text, returned verbatim: responses are built by joining strings, never by
re-parsing and re-encoding objects.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from distillwatch.share import tlp
from distillwatch.share.server.tables import (
    DEFINITION_TYPES,
    Head,
    NotOwner,
    Page,
    Row,
    content_digest,
    granular_pairs,
    make_tables,
    read_rank,
)
from distillwatch.share.server.timestamps import iso_us, norm_version, version_of

__all__ = [
    "Head",
    "NotOwner",
    "Page",
    "Row",
    "Store",
    "iso_us",
    "new_status_id",
    "norm_version",
    "version_of",
]


class Store:
    """The server's tables on one engine; thread-safe (one write lock for the clock)."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        self.engine: Engine = sa.create_engine(url, future=True, pool_pre_ping=True)
        if url.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        md = sa.MetaData(schema=schema)
        self.objects, self.status, self.state = make_tables(md)
        md.create_all(self.engine)
        self._lock = threading.Lock()
        self._last_us = 0
        self._rerank_definitions()

    def _rerank_definitions(self) -> None:
        """Once per database: definitions stored when every one was readable by all (a
        member's RED statement marking among them) get the rank :func:`read_rank` gives."""
        key = "rerank:definitions:1"
        if self.get_state(key) is not None:
            return
        t = self.objects
        with self._lock, self.engine.begin() as conn:
            q = sa.select(t.c.seq, t.c.added_by, t.c.body).where(
                t.c.type.in_(DEFINITION_TYPES), t.c.tlp_rank == 0
            )
            for seq, owner, body in conn.execute(q).all():
                rank = read_rank(orjson.loads(body), owner, 0)
                if rank:
                    conn.execute(t.update().where(t.c.seq == seq).values(tlp_rank=rank))
        self.set_state(key, "done")

    def _clock(self) -> int:
        now = time.time_ns() // 1000
        self._last_us = max(now, self._last_us + 1)
        return self._last_us

    def add(
        self,
        collection: str,
        objects: Sequence[dict[str, Any]],
        added_by: str | Callable[[dict[str, Any]], str],
        unmarked: str,
    ) -> tuple[list[tuple[str, str]], int]:
        """Store valid objects: ``(id, version)`` of each (stored before or now), and how many
        were new. ``added_by`` is a member name, or a function of the object (provenance of
        pulled objects is per object)."""
        who = added_by if callable(added_by) else (lambda _: added_by)
        with self._lock, self.engine.begin() as conn:
            return self._add_in(conn, collection, objects, who, tlp.rank(unmarked))

    def add_admitted(
        self,
        collection: str,
        objects: Sequence[dict[str, Any]],
        admit: Callable[[dict[str, Head]], tuple[list[dict[str, Any]], dict[str, str], Any]],
        unmarked: str,
    ) -> tuple[list[tuple[str, str]], Any]:
        """Store what ``admit`` lets in, deciding under the write lock and in the same
        transaction as the insert (two members racing for a new id cannot both own it).

        ``admit(heads)`` gets the :class:`Head` of every id in ``objects`` (across all
        collections) and returns ``(accepted, owner by id, refusals)``.
        """
        with self._lock, self.engine.begin() as conn:
            heads = self._heads(conn, list({str(o["id"]) for o in objects}), tlp.rank(unmarked))
            accepted, owners, refused = admit(heads)
            if not accepted:
                return [], refused
            done, _ = self._add_in(
                conn, collection, accepted, lambda o: owners[o["id"]], tlp.rank(unmarked)
            )
            return done, refused

    def _heads(self, conn: sa.Connection, ids: list[str], unmarked_rank: int) -> dict[str, Head]:
        t = self.objects
        out: dict[str, Head] = {}
        newest: dict[str, str] = {}
        for chunk in _chunks(ids, 500):
            q = (
                sa.select(t.c.object_id, t.c.added_by, t.c.version, t.c.tlp_rank, t.c.body)
                .where(t.c.object_id.in_(chunk))
                .order_by(t.c.seq)
            )
            for oid, added_by, ver, rank, body in conn.execute(q):
                head = out.get(oid)
                if head is None:
                    head = out[oid] = Head(added_by, set(), rank, frozenset(), frozenset())
                head.versions.add(ver)
                head.rank = max(head.rank, rank)
                obj = orjson.loads(body)
                head.digests[ver] = content_digest(obj)
                if ver >= newest.get(oid, ""):
                    newest[oid] = ver
                    head.markings = frozenset(map(str, obj.get("object_marking_refs") or ()))
                    head.granular = granular_pairs(obj)
        return out

    def _add_in(
        self,
        conn: sa.Connection,
        collection: str,
        objects: Sequence[dict[str, Any]],
        who: Callable[[dict[str, Any]], str],
        default_rank: int,
    ) -> tuple[list[tuple[str, str]], int]:
        t = self.objects
        done: list[tuple[str, str]] = []
        ids = list({o["id"] for o in objects})
        existing: dict[str, set[str]] = {}
        latest: dict[str, str] = {}
        for chunk in _chunks(ids, 500):
            for oid, ver, is_latest in conn.execute(
                sa.select(t.c.object_id, t.c.version, t.c.latest).where(
                    t.c.collection_id == collection, t.c.object_id.in_(chunk)
                )
            ):
                existing.setdefault(oid, set()).add(ver)
                if is_latest:
                    latest[oid] = ver
        rows, demote = [], set()
        for obj in objects:
            oid, ver = obj["id"], version_of(obj)
            done.append((oid, ver))
            if ver in existing.get(oid, set()):
                continue
            existing.setdefault(oid, set()).add(ver)
            newest = ver > latest.get(oid, "")
            if newest:
                if oid in latest:
                    demote.add((oid, latest[oid]))
                latest[oid] = ver
            owner = who(obj)
            rank = read_rank(obj, owner, default_rank)
            rows.append(
                {
                    "collection_id": collection,
                    "object_id": oid,
                    "type": obj["type"],
                    "version": ver,
                    "spec_version": str(obj.get("spec_version", "2.1")),
                    "added_us": self._clock(),
                    "latest": newest,
                    "tlp_rank": rank,
                    "added_by": owner,
                    "body": orjson.dumps(obj).decode(),
                }
            )
        # a version that lost its "latest" to a newer one in this same batch
        for row in rows:
            if row["latest"] and latest[row["object_id"]] != row["version"]:
                row["latest"] = False
        for oid, ver in demote:
            if latest[oid] != ver:
                self._mark_latest(conn, collection, oid, ver, False)
        if rows:
            self._insert(conn, rows)
        return done, len(rows)

    def _insert(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
        """Bulk insert through the driver's ``executemany`` with the statement compiled once:
        SQLAlchemy's per-row parameter processing was most of the cost of a 10k-object pull."""
        compiled = self.objects.insert().compile(
            dialect=self.engine.dialect, column_keys=list(rows[0])
        )
        sql = str(compiled)
        if compiled.positional:
            order = compiled.positiontup or []
            conn.exec_driver_sql(sql, [tuple(r[k] for k in order) for r in rows])
        else:
            conn.exec_driver_sql(sql, rows)

    def latest(self, types: Iterable[str]) -> list[tuple[str, str, str]]:
        """``(source, added_by, body)`` of the newest version of every object of ``types``,
        across collections (an importer's whole view)."""
        t = self.objects
        q = sa.select(t.c.collection_id, t.c.added_by, t.c.body).where(
            t.c.latest.is_(True), t.c.type.in_(list(types))
        )
        with self.engine.connect() as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(q.order_by(t.c.seq))]

    def rename_added_by(self, old: str, new: str) -> None:
        """Provenance learned late: objects stored before their author's identity arrived."""
        t = self.objects
        with self._lock, self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.added_by == old).values(added_by=new))

    def get_state(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(self.state.c.value).where(self.state.c.key == key)
            ).scalar()
        return str(value) if value is not None else None

    def set_state(self, key: str, value: str) -> None:
        with self.engine.begin() as conn:
            if (
                conn.execute(
                    self.state.update().where(self.state.c.key == key).values(value=value)
                ).rowcount
                == 0
            ):
                conn.execute(self.state.insert().values(key=key, value=value))

    def query(
        self,
        collection: str,
        *,
        max_rank: int,
        added_after_us: int | None = None,
        ids: Iterable[str] = (),
        types: Iterable[str] = (),
        versions: Iterable[str] = ("last",),
        spec_versions: Iterable[str] = (),
        limit: int = 1000,
        after: tuple[int, int] | None = None,
        with_body: bool = True,
    ) -> Page:
        """One page of objects (or manifest rows) in date_added order."""
        t = self.objects
        cols = [t.c.object_id, t.c.version, t.c.added_us, t.c.type, t.c.seq, t.c.added_by]
        if with_body:
            cols.append(t.c.body)
        q = sa.select(*cols).where(t.c.collection_id == collection, t.c.tlp_rank <= max_rank)
        ids, types, spec_versions = list(ids), list(types), list(spec_versions)
        if ids:
            q = q.where(t.c.object_id.in_(ids))
        if types:
            q = q.where(t.c.type.in_(types))
        if spec_versions:
            q = q.where(t.c.spec_version.in_(spec_versions))
        if added_after_us is not None:
            q = q.where(t.c.added_us > added_after_us)
        q = _version_filter(q, t, set(versions))
        if after is not None:
            q = q.where(sa.tuple_(t.c.added_us, t.c.seq) > sa.tuple_(*after))
        q = q.order_by(t.c.added_us, t.c.seq).limit(limit + 1)
        with self.engine.connect() as conn:
            got = conn.execute(q).all()
        more = len(got) > limit
        got = got[:limit]
        rows = [Row(r[0], r[1], r[2], r[3], r[6] if with_body else "", r[5]) for r in got]
        nxt = f"{got[-1][2]}.{got[-1][4]}" if more and got else None
        return Page(rows, more, nxt)

    def delete(
        self,
        collection: str,
        object_id: str,
        versions: Iterable[str],
        max_rank: int,
        member: str | None = None,
    ) -> int:
        """Delete the matching versions visible at ``max_rank``; how many. With ``member``,
        only that member's own versions: :class:`NotOwner` if any match is another's."""
        t = self.objects
        q = sa.select(t.c.seq, t.c.added_by).where(
            t.c.collection_id == collection, t.c.object_id == object_id, t.c.tlp_rank <= max_rank
        )
        q = _version_filter(q, t, set(versions) or {"all"})
        with self._lock, self.engine.begin() as conn:
            found = conn.execute(q).all()
            others = {r[1] for r in found} - {member}
            if member is not None and others:
                raise NotOwner(sorted(others)[0])
            seqs = [r[0] for r in found]
            if seqs:
                conn.execute(t.delete().where(t.c.seq.in_(seqs)))
                rest = conn.execute(
                    sa.select(sa.func.max(t.c.version)).where(
                        t.c.collection_id == collection, t.c.object_id == object_id
                    )
                ).scalar()
                if rest is not None:
                    self._mark_latest(conn, collection, object_id, rest, True)
        return len(seqs)

    def _mark_latest(
        self, conn: sa.Connection, collection: str, oid: str, version: str, value: bool
    ) -> None:
        t = self.objects
        conn.execute(
            t.update()
            .where(t.c.collection_id == collection, t.c.object_id == oid, t.c.version == version)
            .values(latest=value)
        )

    def save_status(self, collection: str, added_by: str, status: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                self.status.insert().values(
                    id=status["id"],
                    collection_id=collection,
                    added_by=added_by,
                    body=orjson.dumps(status).decode(),
                )
            )

    def load_status(self, status_id: str, member: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            body = conn.execute(
                sa.select(self.status.c.body).where(
                    self.status.c.id == status_id, self.status.c.added_by == member
                )
            ).scalar()
        return orjson.loads(body) if body else None

    def drop(self) -> None:
        """Remove the tables (tests on a shared PostgreSQL clean up after themselves)."""
        self.objects.metadata.drop_all(self.engine)
        self.engine.dispose()


def _version_filter(q: sa.Select, t: sa.Table, versions: set[str]) -> sa.Select:
    if not versions or "all" in versions:
        return q
    conds: list[sa.ColumnElement[bool]] = []
    if "last" in versions:
        conds.append(t.c.latest.is_(True))
    if "first" in versions:
        inner = t.alias("first_of")
        first = (
            sa.select(sa.func.min(inner.c.version))
            .where(inner.c.collection_id == t.c.collection_id, inner.c.object_id == t.c.object_id)
            .scalar_subquery()
        )
        conds.append(t.c.version == first)
    exact = [v for v in versions if v not in ("last", "first")]
    if exact:
        conds.append(t.c.version.in_(exact))
    return q.where(sa.or_(*conds))


def _chunks(items: list[str], n: int) -> Iterable[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def new_status_id() -> str:
    return str(uuid.uuid4())
