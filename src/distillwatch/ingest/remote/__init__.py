"""Inputs that are not local files: a PostgreSQL query, and files on an object store.

An argument with ``://`` is a URL. ``postgresql://`` (or ``postgres://``) runs a query
(:mod:`.postgres`); any other scheme is opened through fsspec (:mod:`.objects`): ``s3://``
(MinIO, Ceph, R2 and AWS alike, with ``s3fs``), ``gs://``, ``az://``, ``memory://``,
``file://``. Credentials come from the usual places of each library (``AWS_*`` variables,
``AWS_ENDPOINT_URL`` for a non-AWS S3 server, ``FSSPEC_S3_*``); a password written in a URL
is never repeated in a message or the summary.
"""

from __future__ import annotations

from collections.abc import Iterable

from distillwatch.ingest.formats import Dialect
from distillwatch.ingest.sources import Skipped, Source

POSTGRES_SCHEMES = ("postgresql", "postgres")


def discover_url(
    url: str, dialect: Dialect | None, query: str | None
) -> Iterable[Source | Skipped]:
    """The sources behind one URL argument (checked now: unreachable is an error up front)."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in POSTGRES_SCHEMES:
        from distillwatch.ingest.remote.postgres import query_source

        return [query_source(url, dialect, query)]
    from distillwatch.ingest.remote.objects import discover_objects

    return discover_objects(url, dialect)
