"""The state directory of an incremental scan: every input's enriched requests, by day.

``scan --state-dir DIR`` keeps what the expensive stage of a scan produced (ingest + signals,
``scan/enrich.py``) so that a daily run enriches only the new day's logs and then runs
detection over the window's stored requests: the verdicts are those of a full rescan of the
window, because detection reads exactly the rows a full rescan would have enriched.

Layout (``docs/incremental.md``)::

    DIR/manifest.json                 what is stored: the inputs, their days, their counts
    DIR/lock                          held (flock) by the run using DIR
    DIR/days/YYYY-MM-DD/<key>.parquet one input's enriched requests of one UTC day
    DIR/quarantine/<key>.jsonl        one input's quarantined records
    DIR/tmp-<pid>/                    a run's files before they are committed

The manifest is the only truth: a file it does not name is an unfinished run's leftover and
is deleted by the next run; it is replaced atomically (temporary file, then rename), after
every file it names is in place, so a run that dies at any point leaves DIR as it was before
the run or as the run finished, never in between.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import shutil
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import IO, Any

import orjson

import distillwatch
from distillwatch.ingest import Dialect
from distillwatch.schema import REQUESTS_VERSION
from distillwatch.signals import OUTPUT_SCHEMA

#: Version of the layout and manifest written here; another one is refused.
STATE_FORMAT = "1"
MANIFEST = "manifest.json"
LOCK = "lock"
DAYS = "days"
QUARANTINE = "quarantine"
TMP_PREFIX = "tmp-"

#: What decides an enriched row: a change in any of these files changes the identity
#: (:func:`enrichment_identity`), and a state enriched by other code is refused.
ENRICHING_CODE = ("ingest", "signals", "schema.py", "scan/enrich.py", "data/capability_model.npz")

DAY_MICROS = 86_400_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class StateError(Exception):
    """The state directory cannot be used as asked; the message says why and what to do."""


@dataclass
class Part:
    """One input's requests of one UTC day: a Parquet file of enriched rows."""

    day: str
    file: str
    rows: int
    ts_min_us: int
    ts_max_us: int


@dataclass
class Input:
    """One log file enriched into the state, known by its name and its bytes' SHA-256."""

    name: str
    sha256: str
    size: int
    read_at: str
    lines: int = 0
    records: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    quarantined_fields: dict[str, int] = field(default_factory=dict)
    passed_over: dict[str, int] = field(default_factory=dict)
    quarantine: str | None = None
    #: The state's last day when it was read: where an input without valid rows sits.
    delivery_day: str | None = None
    parts: list[Part] = field(default_factory=list)

    @property
    def main_day(self) -> str | None:
        """The day most of its requests fall on (the latest of equals): the day it delivers."""
        return max(self.parts, key=lambda p: (p.rows, p.day)).day if self.parts else None


@dataclass
class Superseded:
    """An input taken out by ``--replaces OLD=NEW``: these bytes are never read into the
    state again (the delivery folder usually still holds the old file), whatever their name,
    until its last day leaves the window."""

    name: str
    sha256: str
    by: str
    at: str
    last_day: str | None = None


@dataclass
class Overlap:
    """Two logs of the state sharing request ids (``scan/overlap.py``), as counted when the
    later one was read: kept while both are held, so every report of the window says that
    it counts both."""

    input: str
    held: str
    #: requests of ``held`` whose request id ``input`` has too
    shared_requests: int
    #: requests of ``held`` that ``input`` repeats with the same request id and time
    same_requests: int
    input_requests: int
    held_requests: int
    #: requests of ``input`` that ``held`` repeats with the same request id and time
    input_repeated: int
    #: both read by the run that found them: which one is the later cannot be told
    both_new: bool
    found_at: str


@dataclass
class Manifest:
    """What the state holds, and the identity of the code and settings that made it."""

    enrichment: dict[str, str]
    reading: dict[str, Any]
    window_days: int | None = None
    inputs: list[Input] = field(default_factory=list)
    state_format: str = STATE_FORMAT
    superseded: list[Superseded] = field(default_factory=list)
    overlaps: list[Overlap] = field(default_factory=list)

    def by_name(self) -> dict[str, Input]:
        return {i.name: i for i in self.inputs}

    def by_hash(self) -> dict[str, Input]:
        return {i.sha256: i for i in self.inputs}

    def last_day(self) -> str | None:
        """The latest day delivered, where the window ends: an input delivers its main day,
        so a few stray timestamps (a wrong clock, a year 9999) cannot move the window and
        push real days out of it."""
        return max((d for i in self.inputs if (d := i.main_day) is not None), default=None)


def day_of(micros: int) -> str:
    """The UTC date (``YYYY-MM-DD``) of a timestamp in microseconds since the epoch."""
    return (_EPOCH + dt.timedelta(days=micros // DAY_MICROS)).date().isoformat()


def iso(micros: int | None) -> str | None:
    """RFC 3339 text of a timestamp, exactly as ingest's summary writes it."""
    if micros is None:
        return None
    return (_EPOCH + dt.timedelta(microseconds=micros)).isoformat().replace("+00:00", "Z")


def first_day(last_day: str, window_days: int) -> str:
    """The first day of the ``window_days`` days that end with ``last_day``."""
    return (dt.date.fromisoformat(last_day) - dt.timedelta(days=window_days - 1)).isoformat()


def enrichment_identity() -> dict[str, str]:
    """The version of everything that decides an enriched row, including a hash of the code
    itself (:data:`ENRICHING_CODE`): a state is only as exact as the rows it keeps."""
    root = Path(distillwatch.__file__).parent
    digest = hashlib.sha256()
    for rel in ENRICHING_CODE:
        path = root / rel
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(file.relative_to(root).as_posix().encode() + b"\0")
                digest.update(file.read_bytes())
    try:
        release = package_version("distillwatch")
    except PackageNotFoundError:  # running from a source tree
        release = "unknown"
    signals_version = (OUTPUT_SCHEMA.metadata or {}).get(b"distillwatch.signals_version", b"?")
    return {
        "distillwatch": release,
        "requests_version": REQUESTS_VERSION,
        "signals_version": signals_version.decode(),
        "code": digest.hexdigest()[:16],
    }


def reading_identity(dialect: Dialect | None, query: str | None) -> dict[str, Any]:
    """How the logs were read (``--from``, ``--mapping``, ``--query``): other settings give
    other rows from the same bytes."""
    if dialect is None:
        return {"from": "auto", "mapping": [], "ts_unit": None, "query": query}
    mapping = [list(pair) for pair in dialect.mapping.fields]
    return {
        "from": dialect.name,
        "mapping": mapping,
        "ts_unit": dialect.mapping.ts_unit,
        "query": query,
    }


def load_manifest(state_dir: Path) -> Manifest | None:
    """The manifest of ``state_dir``, None when there is none; :class:`StateError` when it
    cannot be read (damaged, or written by another state format)."""
    path = state_dir / MANIFEST
    if not path.exists():
        return None
    try:
        doc = orjson.loads(path.read_bytes())
        if doc.get("state_format") != STATE_FORMAT:
            raise StateError(
                f"{path}: state format {doc.get('state_format')!r}, this distillwatch reads "
                f"{STATE_FORMAT!r}; run with --rebuild (and the logs) or use a new --state-dir"
            )
        inputs = [
            Input(**{**i, "parts": [Part(**p) for p in i["parts"]]}) for i in doc.pop("inputs")
        ]
        superseded = [Superseded(**s) for s in doc.pop("superseded", [])]
        overlaps = [Overlap(**o) for o in doc.pop("overlaps", [])]
        return Manifest(**doc, inputs=inputs, superseded=superseded, overlaps=overlaps)
    except StateError:
        raise
    except (OSError, orjson.JSONDecodeError, TypeError, KeyError, AttributeError) as exc:
        raise StateError(
            f"{path}: cannot read the state's manifest ({exc}); run with --rebuild to start "
            "it over from the logs given, or use a new --state-dir"
        ) from exc


def save_manifest(state_dir: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically: a reader sees the old one or the new one, whole."""
    path = state_dir / MANIFEST
    partial = state_dir / f".{MANIFEST}.partial"
    data = orjson.dumps(asdict(manifest), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    with partial.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)
    sync_dir(state_dir)


def sync_dir(path: Path) -> None:
    """Make the renames inside ``path`` durable (the rename itself is atomic anyway)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_compatible(
    state_dir: Path,
    manifest: Manifest,
    enrichment: dict[str, str],
    reading: dict[str, Any],
    window_days: int | None,
) -> None:
    """Refuse a state made by other code or other reading settings, or a wider window than
    the one it kept (the days before it are gone)."""
    fix = "run with --rebuild to re-read its logs with this version, or use a new --state-dir"
    if manifest.enrichment != enrichment:
        raise StateError(
            f"{state_dir} was enriched by other code ({_describe(manifest.enrichment)}; this "
            f"is {_describe(enrichment)}): its stored requests would not be read the same "
            f"way today; {fix}"
        )
    if manifest.reading != reading:
        raise StateError(
            f"{state_dir} was read with {_describe(manifest.reading)}; this run asks for "
            f"{_describe(reading)}, which can give other rows from the same logs; {fix}"
        )
    kept = manifest.window_days
    if kept is not None and window_days is not None and window_days > kept:
        raise StateError(
            f"{state_dir} keeps a {kept}-day window (older days are dropped), so it cannot "
            f"give {window_days} days; use --window-days {kept} or fewer, or --rebuild with "
            "the older logs"
        )


def _describe(identity: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v!r}" for k, v in identity.items() if v not in (None, []))


class StateLock:
    """An exclusive ``flock`` on ``DIR/lock`` for the length of a run.

    A second run on the same directory is refused at once rather than queued: two runs would
    enrich the same input twice and race on the manifest. The kernel drops the lock when its
    holder exits, however it exits, so a crashed run never leaves the directory locked.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK
        self._handle: IO[str] | None = None

    def __enter__(self) -> StateLock:
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StateError(
                f"{self.path.parent} is in use by another scan ({holder}); wait for it to "
                "finish: two runs on one state directory are refused"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.truncate(0)
            self._handle.close()  # closing releases the lock
            self._handle = None


def prepare_dir(state_dir: Path) -> None:
    """Create ``state_dir``, refusing a non-empty directory that is not a state: cleaning up
    after a crashed run deletes files, and nobody else's files may be among them."""
    if state_dir.exists() and not state_dir.is_dir():
        raise StateError(f"--state-dir {state_dir} is a file, not a directory")
    if state_dir.is_dir() and not (state_dir / MANIFEST).exists():
        foreign = [p.name for p in state_dir.iterdir() if p.name != LOCK]
        if foreign and not all(
            p in (DAYS, QUARANTINE) or p.startswith((TMP_PREFIX, "." + MANIFEST)) for p in foreign
        ):
            raise StateError(
                f"--state-dir {state_dir} is not empty and holds no {MANIFEST}: not a "
                "distillwatch state directory (give an empty or new directory)"
            )
    state_dir.mkdir(parents=True, exist_ok=True)


def collect_garbage(state_dir: Path, manifest: Manifest) -> None:
    """Delete every file the manifest does not name: old versions of replaced inputs, days
    out of the window, and what an interrupted run left behind."""
    named = {p.file for i in manifest.inputs for p in i.parts}
    named |= {i.quarantine for i in manifest.inputs if i.quarantine}
    for sub in (DAYS, QUARANTINE):
        root = state_dir / sub
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*"), reverse=True):  # files before their directory
            rel = path.relative_to(state_dir).as_posix()
            if path.is_file() and rel not in named:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    for tmp in state_dir.glob(TMP_PREFIX + "*"):
        shutil.rmtree(tmp, ignore_errors=True)
