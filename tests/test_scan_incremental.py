"""``scan --state-dir``: daily runs that read only new logs give a full rescan's verdicts.

Logs are split into one file per UTC day, as a provider delivers them; every test compares an
incremental state's scan with ``run_scan`` over the same days' files, field for field.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from typer.testing import CliRunner

from builders import casual_user, cot_harvester, hydra, record
from distillwatch.cli import app
from distillwatch.ingest import IngestError
from distillwatch.ingest.formats import Dialect
from distillwatch.scan import run_scan
from distillwatch.scan.incremental import IncrementalRun, run_incremental_scan
from distillwatch.scan.state import MANIFEST, StateError, StateLock, load_manifest

#: Fields of summary.json that say how and when a run ran, not what it found.
RUN_FIELDS = {"inputs", "seconds", "requests_per_second", "incremental"}
BROKEN = [b"{not json", b'{"ts": 1}']


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def write_days(records: list[dict[str, Any]], folder: Path, broken_on: str = "") -> list[Path]:
    """One JSON Lines file per UTC day of ``ts``, in time order; ``broken_on`` (a day) also
    gets two lines that break the schema."""
    by_day: dict[str, list[bytes]] = defaultdict(list)
    for r in sorted(records, key=lambda r: r["ts"]):
        by_day[r["ts"][:10]].append(orjson.dumps(r))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for day, lines in sorted(by_day.items()):
        path = folder / f"{day}.jsonl"
        path.write_bytes(b"\n".join(lines + (BROKEN if day == broken_on else [])) + b"\n")
        paths.append(path)
    return paths


def hand_built() -> list[dict[str, Any]]:
    """Casual users over two days, a step-by-step harvester over four, a hydra on day one."""
    records = [r for a in range(6) for r in casual_user(f"casual{a}", 30, start=a * 20_000.0)]
    return records + cot_harvester("harvester", 300) + hydra("hy", 24, 10)


@pytest.fixture(scope="module")
def hand_days(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_days(hand_built(), tmp_path_factory.mktemp("hand"), broken_on="2026-11-03")


def assert_same_scan(incremental: Path, full: Path) -> None:
    """accounts.jsonl and campaigns.jsonl (and the link graph, samples, timeline, quarantine)
    equal row for row and field for field; summary.json equal but for how and when the run
    ran (docs/incremental.md lists what may differ, and why)."""
    for name in ("accounts.jsonl", "campaigns.jsonl", "link_graph.jsonl", "samples.jsonl"):
        assert read_jsonl(incremental / name) == read_jsonl(full / name), name
    assert read_jsonl(incremental / "quarantine.jsonl") == read_jsonl(full / "quarantine.jsonl")
    timelines = [pl.read_parquet(d / "timeline.parquet") for d in (incremental, full)]
    assert timelines[0].equals(timelines[1])
    inc, ful = (orjson.loads((d / "summary.json").read_bytes()) for d in (incremental, full))
    assert {k: v for k, v in inc.items() if k not in RUN_FIELDS} == {
        k: v for k, v in ful.items() if k not in RUN_FIELDS
    }


def daily(paths: list[Path], out: Path, state: Path, **options: Any) -> IncrementalRun:
    return run_incremental_scan(paths, out, state, **options)[1]


def test_daily_run_equals_full_rescan_of_a_simulated_log(tmp_path: Path) -> None:
    from distillwatch.simulate import load_scenario, simulate

    simulate(load_scenario(accounts=60, days=3, seed=3, format="jsonl"), tmp_path / "sim")
    records = read_jsonl(tmp_path / "sim" / "traffic.jsonl")
    days = write_days(records, tmp_path / "days", broken_on=max(r["ts"][:10] for r in records))
    assert len(days) == 3
    full = run_scan(days, tmp_path / "full")
    assert full.flagged and full.campaigns  # something to get wrong

    state = tmp_path / "state"
    first = daily(days[:2], tmp_path / "d2", state)
    assert first.enriched == [str(p) for p in days[:2]]
    second = daily(days[2:], tmp_path / "d3", state)
    assert second.enriched == [str(days[2])] and second.known == []
    assert second.enriched_records == sum(1 for r in records if r["ts"][:10] == days[2].stem)
    assert_same_scan(tmp_path / "d3", tmp_path / "full")
    summary = orjson.loads((tmp_path / "d3" / "summary.json").read_bytes())
    assert summary["quarantined"] == {"invalid_json": 1, "missing_field": 1}
    assert summary["incremental"]["window"] == [days[0].stem, days[2].stem]


def test_inputs_already_held_are_not_enriched_again(hand_days: list[Path], tmp_path: Path) -> None:
    state = tmp_path / "state"
    daily(hand_days, tmp_path / "a", state)
    before = (state / MANIFEST).read_bytes()
    alias = tmp_path / "copy-of-day-1.jsonl"
    shutil.copy(hand_days[0], alias)
    again = daily([*hand_days, alias], tmp_path / "b", state)
    assert again.enriched == [] and again.enriched_records == 0
    assert again.known == [str(p) for p in hand_days]
    assert again.duplicates == {str(alias): str(hand_days[0])}
    assert (state / MANIFEST).read_bytes() == before
    run_scan(hand_days, tmp_path / "full")
    assert_same_scan(tmp_path / "b", tmp_path / "full")


def test_a_day_delivered_again_replaces_its_partition(
    hand_days: list[Path], tmp_path: Path
) -> None:
    days = [Path(shutil.copy(p, tmp_path / p.name)) for p in hand_days]
    state = tmp_path / "state"
    daily(days, tmp_path / "a", state)
    old = {p.file for i in load_manifest(state).inputs for p in i.parts}  # type: ignore[union-attr]
    # day two comes again, complete this time: a late batch of a harvester's requests
    late = cot_harvester("late-harvester", 120)
    for r in late:
        r["ts"] = days[1].stem + r["ts"][10:]
    with days[1].open("ab") as fh:
        fh.write(b"".join(orjson.dumps(r) + b"\n" for r in late))
    again = daily([days[1]], tmp_path / "b", state)
    assert again.replaced == [str(days[1])] and again.enriched == []
    manifest = load_manifest(state)
    assert manifest is not None and [i.name for i in manifest.inputs].count(str(days[1])) == 1
    new = {p.file for i in manifest.inputs for p in i.parts}
    assert len(old - new) == 1 and not (state / sorted(old - new)[0]).exists()
    run_scan(days, tmp_path / "full")
    assert_same_scan(tmp_path / "b", tmp_path / "full")
    accounts = {a["account_id"] for a in read_jsonl(tmp_path / "b" / "accounts.jsonl")}
    assert "late-harvester" in accounts
    # delivered again with the bytes of another day held: still a re-delivery of its name
    shutil.copy(days[2], days[1])
    third = daily([days[1]], tmp_path / "c", state)
    assert third.replaced == [str(days[1])] and not third.duplicates
    run_scan(days, tmp_path / "full-again")
    assert_same_scan(tmp_path / "c", tmp_path / "full-again")


def test_window_drops_old_days_and_cannot_widen(hand_days: list[Path], tmp_path: Path) -> None:
    state = tmp_path / "state"
    daily(hand_days[:3], tmp_path / "a", state, window_days=2)
    assert load_manifest(state).window_days == 2  # type: ignore[union-attr]
    # the last day, with one request from a client whose clock says 2099: it must not move
    # the window (and push every real day out), nor be lost
    last = Path(shutil.copy(hand_days[3], tmp_path / hand_days[3].name))
    skewed = record("skewed-clock", 0, "Hello there", 0.0, ts="2099-01-01T00:00:00Z")
    with last.open("ab") as fh:
        fh.write(orjson.dumps(skewed) + b"\n")
    run = daily([last], tmp_path / "b", state)  # the state remembers its window
    assert run.dropped_days == [hand_days[1].stem]
    assert run.window == [hand_days[2].stem, "2099-01-01"]
    assert not (state / "days" / hand_days[1].stem).exists()
    run_scan([hand_days[2], last], tmp_path / "full")
    assert_same_scan(tmp_path / "b", tmp_path / "full")

    late = daily(hand_days[:1], tmp_path / "c", state)  # every day of it before the window
    assert late.warnings and "before the 2-day window" in late.warnings[0]
    assert_same_scan(tmp_path / "c", tmp_path / "full")
    with pytest.raises(StateError, match="keeps a 2-day window"):
        daily(hand_days, tmp_path / "d", state, window_days=3)


def test_state_of_other_code_or_settings_is_refused_then_rebuilt(
    hand_days: list[Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    daily(hand_days[:2], tmp_path / "a", state)
    manifest = orjson.loads((state / MANIFEST).read_bytes())
    manifest["enrichment"]["code"] = "0123456789abcdef"  # enriched by other signal code
    (state / MANIFEST).write_bytes(orjson.dumps(manifest))
    with pytest.raises(StateError, match=r"enriched by other code.*--rebuild"):
        daily(hand_days[2:], tmp_path / "b", state)
    rebuilt = daily(hand_days[2:], tmp_path / "b", state, rebuild=True)
    assert sorted(rebuilt.enriched) == sorted(str(p) for p in hand_days)  # old ones re-read
    run_scan(hand_days, tmp_path / "full")
    assert_same_scan(tmp_path / "b", tmp_path / "full")
    with pytest.raises(StateError, match="was read with"):
        daily(hand_days, tmp_path / "c", state, dialect=Dialect("v1"))
    (state / MANIFEST).write_bytes(b'{"state_format": "1", "inputs": [')
    with pytest.raises(StateError, match="cannot read the state's manifest"):
        daily(hand_days, tmp_path / "c", state)


def test_second_run_on_a_state_in_use_is_refused(hand_days: list[Path], tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    with StateLock(state), pytest.raises(StateError, match="in use by another scan"):
        daily(hand_days[:1], tmp_path / "a", state)
    daily(hand_days[:1], tmp_path / "a", state)  # released with its holder


def test_a_failed_run_leaves_the_state_as_it_was(hand_days: list[Path], tmp_path: Path) -> None:
    state = tmp_path / "state"
    daily(hand_days[:1], tmp_path / "a", state)
    before = (state / MANIFEST).read_bytes()
    files = sorted(p for p in state.rglob("*") if p.is_file())
    # day two has broken lines: with --strict the run stops part way through the new logs
    with pytest.raises(IngestError, match="invalid_json"):
        daily(hand_days[1:], tmp_path / "b", state, strict=True)
    assert (state / MANIFEST).read_bytes() == before
    assert sorted(p for p in state.rglob("*") if p.is_file()) == files
    # what a run killed between writing and committing leaves: never read, then deleted
    (state / "tmp-999999" / "days" / hand_days[1].stem).mkdir(parents=True)
    stray = state / "days" / hand_days[1].stem / "0123456789abcdef01234567.parquet"
    stray.parent.mkdir()
    shutil.copy(next((state / "days").rglob("*.parquet")), stray)
    daily(hand_days, tmp_path / "c", state)
    assert not stray.exists() and not list(state.glob("tmp-*"))
    run_scan(hand_days, tmp_path / "full")
    assert_same_scan(tmp_path / "c", tmp_path / "full")


def test_a_run_killed_while_enriching_leaves_a_usable_state(
    hand_days: list[Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    daily(hand_days[:1], tmp_path / "a", state)
    before = (state / MANIFEST).read_bytes()
    busy = [r for a in range(200) for r in casual_user(f"busy{a}", 30, start=a * 600.0)]
    big = write_days(busy, tmp_path / "big")
    command = [sys.executable, "-m", "distillwatch.cli", "scan", *map(str, big),
               "--out", str(tmp_path / "b"), "--state-dir", str(state), "--no-html"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:  # SIGKILL as soon as the run has written enriched requests, before it commits
        while proc.poll() is None and not list(state.glob("tmp-*/days/*/*.parquet")):
            time.sleep(0.005)
        proc.kill()
    finally:
        proc.wait()
    manifest = (state / MANIFEST).read_bytes()
    if manifest == before:  # killed before the commit (else it had just finished)
        assert list(state.glob("tmp-*"))  # it left its unfinished files
    daily([*hand_days, *big], tmp_path / "c", state)  # not locked: the lock died with it
    assert not list(state.glob("tmp-*"))
    run_scan([*hand_days, *big], tmp_path / "full")
    assert_same_scan(tmp_path / "c", tmp_path / "full")


def test_cli_daily_runs_and_clear_errors(hand_days: list[Path], tmp_path: Path) -> None:
    state, runner = tmp_path / "state", CliRunner()
    common = ["--state-dir", str(state), "--no-html"]
    first = runner.invoke(app, ["scan", str(hand_days[0]), "--out", str(tmp_path / "a"), *common])
    assert first.exit_code == 0, first.output
    assert "new logs read: 1 (464 requests" in " ".join(first.output.split())
    folder = hand_days[0].parent  # the whole delivery folder: only the new days are read
    second = runner.invoke(app, ["scan", str(folder), "--out", str(tmp_path / "b"), *common])
    assert second.exit_code == 0, second.output
    said = " ".join(second.output.split())
    assert f"new logs read: {len(hand_days) - 1} (" in said and "already held: 1;" in said
    summary = orjson.loads((tmp_path / "b" / "summary.json").read_bytes())
    assert summary["quarantined"] == {"invalid_json": 1, "missing_field": 1}

    for bad, message in (
        (["--window-days", "2"], "need --state-dir"),
        (["--state-dir", str(hand_days[0])], "is a file, not a directory"),
        (["--state-dir", str(folder)], "not a distillwatch state directory"),
        (["--state-dir", str(tmp_path)], "is inside --state-dir"),
    ):
        result = runner.invoke(app, ["scan", str(folder), "--out", str(tmp_path / "c"), *bad])
        assert result.exit_code != 0 and message in " ".join(result.output.split()), result.output
