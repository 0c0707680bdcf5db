"""Traffic logs on an object store (or any fsspec file system), read as local files are.

A URL naming one object reads that object whatever its name; a URL naming a prefix (a
"directory") reads every object under it, recursively and sorted, with the same rules as a
local directory (log suffixes only, ``labels.jsonl`` and ingest's own output passed over and
listed, each file's format sniffed from its first records). Objects are streamed: JSON Lines
in blocks, Parquet row group by row group, never downloaded whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from distillwatch.ingest.errors import IngestError
from distillwatch.ingest.formats import Dialect
from distillwatch.ingest.sources import (
    Skipped,
    Source,
    format_from_name,
    redact,
    resolve,
    skip_by_name,
)


def _fs(url: str) -> tuple[object, str]:
    try:
        import fsspec
    except ImportError as exc:  # pragma: no cover - fsspec is a dependency
        raise IngestError(f"{redact(url)}: reading URLs needs fsspec installed") from exc
    try:
        return cast(tuple[object, str], fsspec.core.url_to_fs(url))
    except (ImportError, ValueError) as exc:  # s3:// without s3fs says which package to add
        raise IngestError(f"{redact(url)}: cannot open: {exc}", file=redact(url)) from exc


def open_url(url: str) -> BinaryIO:
    """A seekable binary handle on one object."""
    import fsspec

    return cast(BinaryIO, fsspec.open(url, "rb").open())


def discover_objects(url: str, dialect: Dialect | None) -> Iterator[Source | Skipped]:
    """The objects behind ``url``; a missing object or prefix is an :class:`IngestError`."""
    fs, root = _fs(url)
    name = redact(url)
    try:
        if fs.isdir(root):  # type: ignore[attr-defined]
            listed = sorted(fs.find(root))  # type: ignore[attr-defined]
            in_directory = True
        elif fs.exists(root):  # type: ignore[attr-defined]
            listed, in_directory = [root], False
        else:
            raise IngestError(f"{name}: no such object or prefix", file=name)
        for key in listed:
            path = Path(key)
            full = fs.unstrip_protocol(key)  # type: ignore[attr-defined]
            if in_directory:
                if any(part.startswith(".") for part in Path(key).relative_to(root).parts):
                    continue
                if (why := skip_by_name(path)) is not None:
                    yield Skipped(redact(full), why)
                    continue
            kind = format_from_name(path) or ("jsonl", None)
            size = int(fs.info(key).get("size") or 0)  # type: ignore[attr-defined]
            source = Source(path, kind[0], kind[1], size, url=full)
            yield resolve(source, dialect, in_directory=in_directory)
    except OSError as exc:
        raise IngestError(f"{name}: cannot read: {exc}", file=name) from exc
