"""Which files to read, in what format, and how to open them.

A path argument is either a file, read whatever its name (format from the suffix, else from
its first bytes), or a directory, searched recursively in sorted order for traffic logs.
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
from typing import BinaryIO, Literal

import orjson
import zstandard

from distillwatch.ingest.errors import IngestError

Format = Literal["jsonl", "parquet"]
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


@dataclass(frozen=True, slots=True)
class Source:
    """One input file and how to read it."""

    path: Path
    format: Format
    compression: Compression
    size: int


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file found in a directory argument and deliberately not read."""

    path: Path
    why: str


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


@contextmanager
def open_jsonl(source: Source) -> Iterator[tuple[BinaryIO, BinaryIO]]:
    """The decompressed byte stream of a JSON Lines source, and the raw file under it.

    The raw handle's ``tell()`` is the number of (compressed) bytes consumed so far, which is
    what a progress bar over the file size needs.
    """
    with source.path.open("rb") as raw:
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


def _looks_like_traffic(source: Source) -> str | None:
    """Why a JSON file found in a directory is not traffic, or None if it should be read."""
    parsed_any = False
    seen = 0
    try:
        with open_jsonl(source) as (stream, _raw):
            head = b""
            while len(head) < SNIFF_BYTES and (block := stream.read(SNIFF_BYTES - len(head))):
                head += block
    except (OSError, EOFError, zstandard.ZstdError) as exc:
        raise IngestError(f"{source.path}: cannot read: {exc}", file=source.path) from exc
    for line in head.removeprefix(b"\xef\xbb\xbf").split(b"\n"):
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
        if isinstance(record, dict) and ("ts" in record or "request_id" in record):
            return None
    if parsed_any:
        return "its first records have neither ts nor request_id"
    suffixes = [s.lower() for s in source.path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes.pop()
    if seen and suffixes and suffixes[-1] == ".json":
        return "not JSON Lines"
    return None


def _is_requests_table(path: Path) -> bool:
    """True for Parquet written by ingest itself (a previous output directory)."""
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    return b"distillwatch.requests_version" in metadata


def _check_readable(path: Path) -> int:
    try:
        with path.open("rb"):
            pass
        return path.stat().st_size
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc.strerror or exc}", file=path) from exc


def _from_directory(root: Path, exclude: tuple[Path, ...]) -> Iterator[Source | Skipped]:
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
            if name.lower() in NOT_TRAFFIC_NAMES:
                yield Skipped(path, "not traffic (by name)")
                continue
            kind = format_from_name(path)
            if kind is None:
                yield Skipped(
                    path, "not a log file suffix (.jsonl/.json/.ndjson[.gz|.zst], .parquet)"
                )
                continue
            source = Source(path, kind[0], kind[1], _check_readable(path))
            if source.format == "parquet":
                if _is_requests_table(path):
                    yield Skipped(path, "already-ingested requests table")
                    continue
            elif source.size and (why := _looks_like_traffic(source)) is not None:
                yield Skipped(path, f"not traffic: {why}")
                continue
            yield source


def discover(
    paths: Iterable[str | os.PathLike[str]], *, exclude: Iterable[Path] = ()
) -> tuple[list[Source], list[Skipped]]:
    """Resolve the path arguments into sources to read and files skipped, checking all first.

    ``exclude`` names directories never descended into (ingest passes its output directory, so
    ``distillwatch ingest run/ --out run/ingested`` does not read its own previous output).
    """
    excluded = tuple(Path(p).resolve() for p in exclude)
    sources: list[Source] = []
    skipped: list[Skipped] = []
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            for item in _from_directory(path, excluded):
                (sources if isinstance(item, Source) else skipped).append(item)  # type: ignore[arg-type]
        elif path.exists():
            size = _check_readable(path)
            kind = format_from_name(path) or format_from_content(path)
            sources.append(Source(path, kind[0], kind[1], size))
        else:
            raise IngestError(f"{path}: no such file or directory", file=path)
    return sources, skipped
