"""Which files to read, in what format, and how to open them.

A path argument is either a file, read whatever its name (format from the suffix, else from
its first bytes), or a directory, searched recursively in sorted order for traffic logs, or a
URL: ``postgresql://`` for a query (:mod:`distillwatch.ingest.remote.postgres`) and any other
``scheme://`` for files on an object store through fsspec
(:mod:`distillwatch.ingest.remote.objects`).

Each file's log format (its *dialect*: v1, LiteLLM, OTLP, request/response log) is the one
asked for with ``--from``, or with ``auto`` the one its first records unambiguously show
(:func:`distillwatch.ingest.formats.detect`); a file that shows none is read as v1, so its
records are quarantined with the reason rather than skipped. A file whose text starts with
``[`` (a JSON export such as LiteLLM's ``/spend/logs``) is read as one JSON document.
Inside a directory only files that are clearly traffic are read, because the simulator and
ingest itself leave other JSON beside the log (``labels.jsonl``, ``quarantine.jsonl``,
``summary.json``, ``scenario.toml``) and reading those as traffic would quarantine every line or,
worse, ingest labels as requests. Everything passed over is reported with the reason, so a
file is never skipped silently.

Every path is checked before any work starts: a missing or unreadable path is an
:class:`IngestError` up front, not after an hour of ingesting the files before it.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import orjson
import zstandard

from distillwatch.ingest.errors import IngestError
from distillwatch.ingest.formats import V1, Dialect, detect

Format = Literal["jsonl", "parquet", "json", "postgres"]
Compression = Literal["gzip", "zstd"] | None

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
COMPRESSION_SUFFIXES: dict[str, Compression] = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}
#: Names that sit beside traffic logs but are never traffic (labels, ingest's own output).
NOT_TRAFFIC_NAMES = frozenset({"labels.jsonl", "quarantine.jsonl", "summary.json"})
#: Lines looked at to decide whether a JSON file found in a directory is traffic.
SNIFF_LINES = 8
SNIFF_BYTES = 1 << 20

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_PARQUET_MAGIC = b"PAR1"
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Source:
    """One input (a file, an object-store file or a query) and how to read it.

    ``url`` is set for inputs that are not local files: an fsspec URL, or a PostgreSQL DSN
    (``query`` then says what to select). ``name`` is what messages and the summary call it,
    with any password in a URL replaced by ``***``.
    """

    path: Path
    format: Format
    compression: Compression
    size: int
    dialect: Dialect = V1
    url: str | None = None
    query: str | None = None

    @property
    def name(self) -> str:
        """The input as the user named it, credentials removed."""
        return redact(self.url) if self.url is not None else str(self.path)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file found in a directory argument and deliberately not read."""

    path: Path | str
    why: str


def redact(url: str) -> str:
    """``scheme://user:secret@host/...`` → ``scheme://user:***@host/...``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    clean = f"{userinfo}{at}{host}" if at else host
    if "password=" in tail:
        tail = "&".join(
            "password=***" if part.startswith("password=") else part
            for part in tail.replace("?", "?&", 1).split("&")
        ).replace("?&", "?", 1)
    return f"{scheme}://{clean}{slash}{tail}"


def format_from_name(path: Path) -> tuple[Format, Compression] | None:
    """Format and compression from the suffixes (``x.jsonl.zst``), or None if not a log name."""
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    compression: Compression = None
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        compression = COMPRESSION_SUFFIXES[suffixes.pop()]
    if not suffixes:
        return None
    if suffixes[-1] in JSONL_SUFFIXES:
        return "jsonl", compression
    if suffixes[-1] == ".parquet" and compression is None:
        return "parquet", None
    return None


def format_from_content(path: Path) -> tuple[Format, Compression]:
    """Format from the first bytes, for a file named explicitly but with an unknown suffix."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head == _PARQUET_MAGIC:
        return "parquet", None
    if head.startswith(_GZIP_MAGIC):
        return "jsonl", "gzip"
    if head == _ZSTD_MAGIC:
        return "jsonl", "zstd"
    return "jsonl", None


def open_raw(source: Source) -> BinaryIO:
    """The file's bytes as stored, local or through fsspec."""
    if source.url is not None:
        from distillwatch.ingest.remote.objects import open_url

        return open_url(source.url)
    return source.path.open("rb")


@contextmanager
def open_jsonl(source: Source) -> Iterator[tuple[BinaryIO, BinaryIO]]:
    """The decompressed byte stream of a JSON Lines source, and the raw file under it.

    The raw handle's ``tell()`` is the number of (compressed) bytes consumed so far, which is
    what a progress bar over the file size needs.
    """
    with open_raw(source) as raw:
        stream: BinaryIO
        if source.compression == "gzip":
            stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        elif source.compression == "zstd":
            # read_across_frames: logs are often appended to, or written, frame by frame.
            stream = zstandard.ZstdDecompressor().stream_reader(
                raw, read_across_frames=True, closefd=False
            )
        else:
            stream = raw
        try:
            yield stream, raw
        finally:
            if stream is not raw:
                stream.close()


def read_head(source: Source) -> bytes:
    """Up to :data:`SNIFF_BYTES` of the decompressed text, byte-order mark removed."""
    try:
        with open_jsonl(source) as (stream, _raw):
            head = b""
            while len(head) < SNIFF_BYTES and (block := stream.read(SNIFF_BYTES - len(head))):
                head += block
    except (OSError, EOFError, zstandard.ZstdError) as exc:
        raise IngestError(f"{source.name}: cannot read: {exc}", file=source.name) from exc
    return head.removeprefix(_BOM)


def is_document(head: bytes) -> bool:
    """True when the text is one JSON document (an array, or a pretty-printed object)."""
    text = head.lstrip()
    return text.startswith(b"[") or text.split(b"\n", 1)[0].strip() == b"{"


def sniff(source: Source, head: bytes) -> tuple[str | None, str | None]:
    """The dialect the first records show, and why the file is not traffic if none does."""
    if is_document(head):
        from distillwatch.ingest.documents import sniff_document

        return sniff_document(source)
    parsed_any = False
    seen = 0
    for line in head.split(b"\n"):
        if seen == SNIFF_LINES:
            break
        if not line.strip():
            continue
        seen += 1
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        parsed_any = True
        if (dialect := detect(record)) is not None:
            return dialect, None
    if parsed_any:
        return None, "its first records are in no known log format (no ts or request_id)"
    suffixes = [s.lower() for s in source.path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes.pop()
    if seen and suffixes and suffixes[-1] == ".json":
        return None, "not JSON Lines"
    return None, None


def resolve(source: Source, dialect: Dialect | None, *, in_directory: bool) -> Source | Skipped:
    """``source`` with its format and dialect settled, or why a directory's file is not read.

    ``dialect`` None means auto-detect. A file named explicitly is always read.
    """
    from dataclasses import replace

    if source.format == "parquet":
        if in_directory and _is_requests_table(source):
            return Skipped(source.name, "already-ingested requests table")
        if dialect is None:  # the columns tell the format: a row of nulls has their names
            found = detect(dict.fromkeys(_parquet_schema(source).names))
            dialect = Dialect(found) if found not in (None, "v1") else V1
        return replace(source, dialect=dialect)
    head = read_head(source) if source.size else b""
    if is_document(head):
        source = replace(source, format="json")
    if dialect is not None and not in_directory:
        return replace(source, dialect=dialect)
    found, why = sniff(source, head) if head else (None, None)
    if in_directory and why is not None:
        return Skipped(source.name, f"not traffic: {why}")
    if dialect is not None:
        return replace(source, dialect=dialect)
    if found is None or found == "v1":
        return source
    return replace(source, dialect=Dialect(found))


def _parquet_schema(source: Source) -> Any:
    import pyarrow.parquet as pq

    try:
        if source.url is not None:
            with open_raw(source) as handle:
                return pq.read_schema(handle)
        return pq.read_schema(source.path)
    except Exception as exc:
        if (error := parquet_error(exc, source)) is exc:
            raise
        raise error from exc


def parquet_error(exc: Exception, source: Source) -> Exception:
    """A damaged Parquet file as an :class:`IngestError` naming it; other errors unchanged."""
    if type(exc).__module__.startswith("pyarrow"):
        return IngestError(f"{source.name}: cannot read Parquet: {exc}", file=source.name)
    return exc


def _is_requests_table(source: Source) -> bool:
    """True for Parquet written by ingest itself (a previous output directory)."""
    metadata = _parquet_schema(source).metadata or {}
    return b"distillwatch.requests_version" in metadata


def _check_readable(path: Path) -> int:
    try:
        with path.open("rb"):
            pass
        return path.stat().st_size
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc.strerror or exc}", file=path) from exc


def _from_directory(
    root: Path, exclude: tuple[Path, ...], dialect: Dialect | None
) -> Iterator[Source | Skipped]:
    """Traffic files under ``root``, recursively, sorted; hidden entries are ignored."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and (here / d).resolve() not in exclude
        )
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = here / name
            if (why := skip_by_name(path)) is not None:
                yield Skipped(path, why)
                continue
            kind = format_from_name(path)
            assert kind is not None  # skip_by_name checked it
            source = Source(path, kind[0], kind[1], _check_readable(path))
            yield resolve(source, dialect, in_directory=True)


def skip_by_name(path: Path) -> str | None:
    """Why a file found in a directory is not read, judging by its name alone."""
    if path.name.lower() in NOT_TRAFFIC_NAMES:
        return "not traffic (by name)"
    if format_from_name(path) is None:
        return "not a log file suffix (.jsonl/.json/.ndjson[.gz|.zst], .parquet)"
    return None


def discover(
    paths: Iterable[str | os.PathLike[str]],
    *,
    exclude: Iterable[Path] = (),
    dialect: Dialect | None = None,
    query: str | None = None,
) -> tuple[list[Source], list[Skipped]]:
    """Resolve the path arguments into sources to read and files skipped, checking all first.

    ``exclude`` names directories never descended into (ingest passes its output directory, so
    ``distillwatch ingest run/ --out run/ingested`` does not read its own previous output).
    ``dialect`` is the log format of every input, or None to detect it per file. ``query`` is
    the SQL run on ``postgresql://`` arguments (default: the dialect's usual table).
    """
    excluded = tuple(Path(p).resolve() for p in exclude)
    sources: list[Source] = []
    skipped: list[Skipped] = []
    for arg in paths:
        items: Iterable[Source | Skipped]
        text = os.fspath(arg)
        if "://" in text:
            from distillwatch.ingest.remote import discover_url

            items = discover_url(text, dialect, query)
        else:
            items = _from_path(Path(arg), excluded, dialect)
        for item in items:
            if isinstance(item, Source):
                sources.append(item)
            else:
                skipped.append(item)
    return sources, skipped


def _from_path(
    path: Path, excluded: tuple[Path, ...], dialect: Dialect | None
) -> Iterable[Source | Skipped]:
    if path.is_dir():
        return _from_directory(path, excluded, dialect)
    if path.exists():
        size = _check_readable(path)
        kind = format_from_name(path) or format_from_content(path)
        return [resolve(Source(path, kind[0], kind[1], size), dialect, in_directory=False)]
    raise IngestError(f"{path}: no such file or directory", file=path)
