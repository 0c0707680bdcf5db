"""``scan --state-dir DIR``: enrich only the logs the state has not seen, detect over the window.

A run, under the state's lock (``scan/state.py``):

1. finds the inputs (files, directories, object-store URLs) and fingerprints each one's bytes;
2. sorts them: *known* (same name, same bytes: nothing to do), *duplicate* (these bytes are
   in the state under another name: nothing to do), *superseded* (bytes an earlier
   ``--replaces`` took out: nothing to do), *new*, or *re-delivered* (a known name with other
   bytes: its partitions are replaced); ``--replaces OLD=NEW`` takes OLD out for NEW
   (``scan/replaces.py``);
3. enriches the new and re-delivered ones into a staging directory, split by UTC day
   (``scan/partitions.py``);
4. drops the days that fell out of the window (``--window-days``), counts the request ids
   new logs share with others (``scan/overlap.py``: recorded in the manifest and warned
   about while both are held), then commits: staged files moved into place, the manifest
   replaced atomically, unnamed files deleted;
5. runs detection (``scan.detect_enriched``) over the window's partitions, exactly the rows a
   full scan of the window's logs would have enriched, and writes scan output v1 to ``--out``
   plus what the state did (``summary.json``'s ``incremental``).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

from distillwatch.detect.score import DEFAULT_THRESHOLD
from distillwatch.ingest import Dialect
from distillwatch.ingest.sources import Source, discover
from distillwatch.ingest.stream import ProgressCallback
from distillwatch.scan import ScanResult, detect_enriched, overlap, window
from distillwatch.scan.enrich import ENRICHED_SCHEMA
from distillwatch.scan.partitions import enrich_input, fingerprint, offset_progress, part_key
from distillwatch.scan.replaces import Replacement, apply, resolve
from distillwatch.scan.state import (
    TMP_PREFIX,
    Input,
    Manifest,
    StateError,
    StateLock,
    check_compatible,
    collect_garbage,
    enrichment_identity,
    load_manifest,
    prepare_dir,
    reading_identity,
    save_manifest,
    sync_dir,
)

__all__ = ["IncrementalRun", "StateError", "run_incremental_scan"]


@dataclass
class IncrementalRun:
    """What a run did to the state; ``summary.json`` carries it as ``incremental``."""

    state_dir: str
    enriched: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    duplicates: dict[str, str] = field(default_factory=dict)
    replaced_by: dict[str, str] = field(default_factory=dict)
    left_with_replaced: dict[str, int] = field(default_factory=dict)
    superseded: dict[str, str] = field(default_factory=dict)
    dropped_days: list[str] = field(default_factory=list)
    window_days: int | None = None
    window: list[str] | None = None
    enriched_records: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    overlaps: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def run_incremental_scan(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: Path,
    state_dir: Path,
    *,
    window_days: int | None = None,
    rebuild: bool = False,
    strict: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
    on_progress: ProgressCallback | None = None,
    learned: bool = True,
    dialect: Dialect | None = None,
    query: str | None = None,
    replaces: Iterable[str] = (),
) -> tuple[ScanResult, IncrementalRun]:
    """Bring ``state_dir`` up to date with ``paths`` and scan its window into ``out_dir``.

    ``window_days``: keep and scan the last N UTC days of the state (None: what the state
    kept so far, the whole state for a new one). ``rebuild``: start the state over, re-reading
    the logs it holds (from the names it recorded) with this version and these settings.
    ``replaces``: ``OLD=NEW`` texts, each taking a held log out for a log of this run (or one
    held already), as if NEW were OLD delivered again (``scan/replaces.py``).
    Raises :class:`StateError` (state unusable as asked) or ``IngestError`` (logs unreadable;
    the state is then left as it was)."""
    started = time.perf_counter()
    if window_days is not None and window_days < 1:
        raise StateError(f"--window-days {window_days}: give 1 or more days")
    if out_dir.resolve().is_relative_to(state_dir.resolve()):
        raise StateError(f"--out {out_dir} is inside --state-dir {state_dir}: give another")
    replaces = list(replaces)
    if replaces and rebuild:
        raise StateError(
            "--replaces with --rebuild: --rebuild re-reads the logs the state holds as they "
            "are; run it first, then --replaces in the next run"
        )
    prepare_dir(state_dir)
    with StateLock(state_dir):
        exclude = (state_dir, out_dir)
        manifest, to_reread = _open(state_dir, rebuild, window_days, dialect, query)
        run = IncrementalRun(str(state_dir), window_days=manifest.window_days)
        sources, skipped = discover(paths, exclude=exclude, dialect=dialect, query=query)
        sources += _reread_sources(to_reread, sources, exclude, dialect, query)
        run.skipped = {str(item.path): item.why for item in skipped}
        swaps, run.warnings = resolve(replaces, manifest, sources, exclude)
        todo = _plan(sources, manifest, run, swaps)
        reading = (strict, dialect, query)
        _update(state_dir, manifest, todo, swaps, run, exclude, reading, on_progress)
        for found in manifest.overlaps:
            entry, warning = overlap.report(found, state_dir, out_dir)
            run.overlaps.append(entry)
            run.warnings.append(warning)
        run.window = window.span(manifest)
        result = _detect(state_dir, manifest, out_dir, run, threshold, learned, started)
    return result, run


def _open(
    state_dir: Path,
    rebuild: bool,
    window_days: int | None,
    dialect: Dialect | None,
    query: str | None,
) -> tuple[Manifest, list[str]]:
    """The manifest to update, and (with ``rebuild``) the names of the inputs to read again."""
    enrichment = enrichment_identity()
    reading = reading_identity(dialect, query)
    try:
        old = load_manifest(state_dir)
    except StateError:
        if not rebuild:
            raise
        old = None
    # an interrupted run's leftovers: whatever the committed manifest does not name
    collect_garbage(state_dir, old or Manifest(enrichment, reading))
    if old is None or rebuild:
        days = window_days if window_days is not None or old is None else old.window_days
        names = [i.name for i in old.inputs] if old is not None else []
        superseded = old.superseded if old is not None else []  # the operator's, kept
        return Manifest(enrichment, reading, days, superseded=superseded), names
    check_compatible(state_dir, old, enrichment, reading, window_days)
    if window_days is not None:
        old.window_days = window_days
    return old, []


def _reread_sources(
    names: list[str],
    given: list[Source],
    exclude: tuple[Path, ...],
    dialect: Dialect | None,
    query: str | None,
) -> list[Source]:
    """For ``--rebuild``: the state's inputs not given again, found again by their names."""
    from distillwatch.ingest import IngestError

    have = {s.name for s in given}
    found: list[Source] = []
    missing: list[str] = []
    for name in names:
        if name in have:
            continue
        try:
            found += discover([name], exclude=exclude, dialect=dialect, query=query)[0]
        except IngestError:
            missing.append(name)
    if missing:
        raise StateError(
            f"--rebuild re-reads the logs the state holds, and {len(missing)} cannot be found: "
            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}; give them as "
            "arguments (their new place), or start a new --state-dir"
        )
    return found


def _plan(
    sources: list[Source], manifest: Manifest, run: IncrementalRun, swaps: list[Replacement]
) -> list[tuple[Source, str]]:
    """The inputs to enrich, with their fingerprints; the rest sorted into ``run``.

    Bytes held under another name are a duplicate only for a new name: a known name with
    new bytes is always a re-delivery, so its old requests never outstay it. A log being
    taken out (OLD of ``--replaces``) no longer counts as held: given again with its bytes it
    is superseded, with other bytes the run is refused (which version is meant?)."""
    out = {r.old.name: r for r in swaps}
    incoming = {r.new: r for r in swaps}
    names = {n: i for n, i in manifest.by_name().items() if n not in out}
    hashes = {sha: i.name for sha, i in manifest.by_hash().items() if i.name not in out}
    gone = {s.sha256: s.by for s in manifest.superseded} | {r.old.sha256: r.new for r in swaps}
    todo: list[tuple[Source, str]] = []
    for source in sources:
        if source.format == "postgres":
            raise StateError(
                f"{source.name}: a database query has no bytes to fingerprint, so --state-dir "
                "cannot tell a new day from one it holds; export each day to a file"
            )
        sha = fingerprint(source)
        known = names.get(source.name)
        if source.name in incoming and hashes.get(sha, source.name) != source.name:
            raise StateError(
                f"--replaces '{incoming[source.name].old.name}={source.name}': {source.name} "
                f"has the bytes of {hashes[sha]}, which the state holds; it would be counted "
                "twice"
            )
        if known is not None and known.sha256 == sha:
            run.known.append(source.name)
        elif known is None and source.name not in incoming and sha in gone:
            run.superseded[source.name] = gone[sha]
        elif source.name in out:
            raise StateError(
                f"--replaces '{source.name}={out[source.name].new}': {source.name} is given "
                "too, with other bytes than the state holds (a re-delivery of it); give "
                "either that re-delivery or --replaces, not both"
            )
        elif known is None and sha in hashes and source.name not in incoming:
            run.duplicates[source.name] = hashes[sha]
        else:
            hashes[sha] = source.name
            todo.append((source, sha))
    return todo


def _update(
    state_dir: Path,
    manifest: Manifest,
    todo: list[tuple[Source, str]],
    swaps: list[Replacement],
    run: IncrementalRun,
    exclude: tuple[Path, ...],
    reading: tuple[bool, Dialect | None, str | None],
    on_progress: ProgressCallback | None,
) -> None:
    """Enrich ``todo`` into a staging directory, then commit it with the window applied.
    Nothing the committed manifest names is touched before the new manifest is in place."""
    strict, dialect, query = reading
    staging = state_dir / f"{TMP_PREFIX}{os.getpid()}"
    identity = orjson.dumps([manifest.enrichment, manifest.reading]).decode()
    read_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    total, before = sum(s.size for s, _ in todo), 0
    try:
        fresh = []
        for source, sha in todo:
            progress = offset_progress(on_progress, before, total)
            key = part_key(source.name, sha, identity)
            fresh.append(
                enrich_input(
                    source,
                    sha,
                    staging,
                    key,
                    read_at,
                    exclude=exclude,
                    strict=strict,
                    dialect=dialect,
                    query=query,
                    on_progress=progress,
                )
            )
            before += source.size
        _merge(manifest, fresh, run)
        for old, new, lost in apply(manifest, fresh, swaps, read_at, (staging, state_dir)):
            run.replaced_by[old] = new
            if lost:
                run.left_with_replaced[old] = lost
                run.warnings.append(
                    f"--replaces {old}={new}: {lost:,} requests of {old} are not in {new} (no "
                    "request with the same id and time); they left the state with it"
                )
        run.dropped_days, warnings = window.prune(manifest, run.enriched + run.replaced)
        run.warnings += warnings
        _move_into_place(staging, state_dir, fresh)
        again = run.enriched + run.replaced
        found = overlap.find_overlaps(state_dir, manifest, again, staging / "spill", read_at)
        manifest.overlaps = overlap.kept(manifest, again, found)
        save_manifest(state_dir, manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    collect_garbage(state_dir, manifest)


def _merge(manifest: Manifest, fresh: list[Input], run: IncrementalRun) -> None:
    """Add the newly enriched inputs; a re-delivered one replaces its older version."""
    replaced = {i.name for i in fresh} & set(manifest.by_name())
    manifest.inputs = [i for i in manifest.inputs if i.name not in replaced] + fresh
    last = manifest.last_day()
    for entry in manifest.inputs:
        entry.delivery_day = entry.delivery_day or last
    for entry in fresh:
        run.enriched_records += entry.records
        (run.replaced if entry.name in replaced else run.enriched).append(entry.name)


def _move_into_place(staging: Path, state_dir: Path, fresh: list[Input]) -> None:
    """Rename the staged files to their places in the state (same file system: atomic)."""
    for entry in fresh:
        rels = [p.file for p in entry.parts] + ([entry.quarantine] if entry.quarantine else [])
        for rel in rels:
            target = state_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).replace(target)
            sync_dir(target.parent)


def _detect(
    state_dir: Path,
    manifest: Manifest,
    out_dir: Path,
    run: IncrementalRun,
    threshold: float,
    learned: bool,
    started: float,
) -> ScanResult:
    """Detection over the window's partitions; scan output v1 plus the state's report."""
    summary = window.summary(manifest)
    work = out_dir / "_work"
    work.mkdir(parents=True, exist_ok=True)
    files = window.files(state_dir, manifest)
    if not files:  # nothing valid in the window: detect over no requests, as a full scan does
        files = [work / "empty.parquet"]
        pq.write_table(ENRICHED_SCHEMA.empty_table(), files[0])
    try:
        verdicts, campaigns = detect_enriched(
            files,
            out_dir,
            [i.name for i in manifest.inputs],
            summary,
            threshold=threshold,
            started=started,
            learned=learned,
            spill_dir=work / "spill",
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    window.write_quarantine(state_dir, manifest, out_dir / "quarantine.jsonl")
    _add_to_summary(out_dir / "summary.json", {"incremental": asdict(run)})
    return ScanResult(out_dir, summary, verdicts, campaigns, time.perf_counter() - started)


def _add_to_summary(path: Path, extra: dict[str, Any]) -> None:
    doc = orjson.loads(path.read_bytes())
    doc.update(extra)
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
