"""``scan --state-dir --replaces OLD=NEW``: a corrected day re-exported under a new name.

A provider re-exports 2026-03-08 as ``2026-03-08-corrected.jsonl`` (one record fixed) beside
the old file. Without ``--replaces`` both are counted (as a full scan given both would), and
the run says so; with it the verdicts are those of a full rescan with the corrected file
instead of the old. Real files from the simulator, compared with ``run_scan`` field for field.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from distillwatch.cli import app
from distillwatch.scan import run_scan
from distillwatch.scan.state import StateError, load_manifest
from test_scan_incremental import assert_same_scan, daily, read_jsonl, write_days


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A simulated log cut into one file per UTC day; the second day has broken lines."""
    from distillwatch.simulate import load_scenario, simulate

    root = tmp_path_factory.mktemp("week")
    simulate(load_scenario(accounts=60, days=4, seed=5, format="jsonl"), root / "sim")
    records = read_jsonl(root / "sim" / "traffic.jsonl")
    second = sorted({r["ts"][:10] for r in records})[1]
    return write_days(records, root / "days", broken_on=second)


def delivery(week: list[Path], folder: Path) -> tuple[list[Path], Path, Path]:
    """The week copied to ``folder``, and day two re-exported under a new name with one
    record moved to another account (same request id): (days, old, corrected)."""
    folder.mkdir()
    days = [Path(shutil.copy(p, folder / p.name)) for p in week]
    old = days[1]
    lines = old.read_bytes().splitlines()
    fixed = orjson.loads(lines[0])
    fixed["account_id"] = "corrected-owner"
    corrected = folder / f"{old.stem}-corrected.jsonl"
    corrected.write_bytes(b"\n".join([orjson.dumps(fixed), *lines[1:]]) + b"\n")
    return days, old, corrected


def fix_command(old: Path, new: Path, out: Path, state: Path) -> str:
    """The command an overlap warning gives to count a re-exported day once."""
    return f"distillwatch scan {new} --out {out} --state-dir {state} --replaces {old}={new}"


def snapshot(state: Path) -> dict[str, bytes]:
    """Every file of the state but the lock (rewritten by each run), with its bytes."""
    return {
        p.relative_to(state).as_posix(): p.read_bytes()
        for p in sorted(state.rglob("*"))
        if p.is_file() and p.name != "lock"
    }


def incremental(out: Path) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads((out / "summary.json").read_bytes())
    incremental: dict[str, Any] = doc["incremental"]
    return incremental


def test_replaces_equals_a_full_rescan_with_the_corrected_file(
    week: list[Path], tmp_path: Path
) -> None:
    days, old, corrected = delivery(week, tmp_path / "logs")
    with_fix = [corrected if p == old else p for p in days]
    full = run_scan(with_fix, tmp_path / "full")
    unfixed = run_scan(days, tmp_path / "unfixed")
    assert full.flagged and full.campaigns  # something to get wrong
    assert (
        read_jsonl(tmp_path / "full" / "accounts.jsonl")
        != read_jsonl(tmp_path / "unfixed" / "accounts.jsonl")
        and unfixed.ingest.records == full.ingest.records
    )  # the correction shows

    state = tmp_path / "state"
    daily(days, tmp_path / "a", state)
    # the whole delivery folder, old file included, and OLD spelled through '..'
    spelled = str(old.parent / ".." / old.parent.name / old.name)
    run = daily([old.parent], tmp_path / "b", state, replaces=[f"{spelled}={corrected}"])
    assert run.replaced_by == {str(old): str(corrected)}
    assert run.enriched == [str(corrected)] and run.superseded == {str(old): str(corrected)}
    assert run.overlaps == [] and run.warnings == []
    assert_same_scan(tmp_path / "b", tmp_path / "full")
    manifest = load_manifest(state)
    assert manifest is not None
    assert [i.name for i in manifest.inputs] == [str(p) for p in with_fix]
    [gone] = manifest.superseded
    assert (gone.name, gone.by, gone.last_day) == (str(old), str(corrected), old.stem)
    assert incremental(tmp_path / "b")["replaced_by"] == {str(old): str(corrected)}

    # the next morning, the same folder and command again: the old file stays out, nothing
    # is read, nothing to replace
    again = daily([old.parent], tmp_path / "c", state, replaces=[f"{old}={corrected}"])
    assert again.enriched == [] and again.superseded == {str(old): str(corrected)}
    assert again.replaced_by == {} and len(again.warnings) == 1
    assert again.warnings[0].startswith(f"--replaces '{old}={corrected}': already done")
    for oops in (f"{old}={days[0]}", f"{str(old)[:-1]}={days[0]}"):  # replaced, or a typo
        with pytest.raises(StateError, match=f"'{old}' was already replaced by '{corrected}'"):
            daily([old.parent], tmp_path / "c", state, replaces=[oops])
    assert sorted(again.known) == sorted(str(p) for p in with_fix)
    assert_same_scan(tmp_path / "c", tmp_path / "full")
    # started over (new code, say) from the same folder: what --replaces took out stays out
    rebuilt = daily([old.parent], tmp_path / "d", state, rebuild=True)
    assert sorted(rebuilt.enriched) == sorted(str(p) for p in with_fix)
    assert rebuilt.superseded == {str(old): str(corrected)}
    assert_same_scan(tmp_path / "d", tmp_path / "full")


def test_superseded_bytes_are_forgotten_once_their_day_leaves_the_window(
    week: list[Path], tmp_path: Path
) -> None:
    days, old, corrected = delivery(week, tmp_path / "logs")
    state = tmp_path / "state"
    daily(days[:3], tmp_path / "a", state, window_days=2)  # days two and three
    daily([corrected], tmp_path / "b", state, replaces=[f"{old}={corrected}"])
    assert [s.name for s in load_manifest(state).superseded] == [str(old)]  # type: ignore[union-attr]
    moved = daily([days[3]], tmp_path / "c", state)  # day four: day two leaves the window
    assert moved.dropped_days == [old.stem]
    assert load_manifest(state).superseded == []  # type: ignore[union-attr]
    late = daily([old], tmp_path / "d", state)  # read, and before the window: not kept
    assert late.superseded == {} and "before the 2-day window" in late.warnings[0]
    run_scan(days[2:], tmp_path / "full")
    assert_same_scan(tmp_path / "d", tmp_path / "full")


def test_overlap_is_reported_never_dropped_and_replaces_fixes_it(
    week: list[Path], tmp_path: Path
) -> None:
    days, old, corrected = delivery(week, tmp_path / "logs")
    state, out = tmp_path / "state", tmp_path / "b"
    assert daily(days, tmp_path / "a", state).overlaps == []  # days apart share no ids
    result = CliRunner().invoke(
        app, ["scan", str(corrected), "--out", str(out), "--state-dir", str(state), "--no-html"]
    )
    assert result.exit_code == 0, result.output
    rows = len(old.read_bytes().splitlines()) - 2  # its two broken lines have no valid id
    said = " ".join(result.stderr.split())
    assert (
        f"warning: {corrected} has the request ids of {rows:,} of the {rows:,} requests "
        f"of {old}, {rows:,} with the same time too" in said
    )
    command = fix_command(old, corrected, out, state)
    assert command in said and "nothing was dropped" in said
    [overlap] = incremental(out)["overlaps"]
    held = load_manifest(state).by_name()  # type: ignore[union-attr]
    assert overlap.pop("found_at") == held[str(corrected)].read_at  # when it was read
    assert overlap == {
        "input": str(corrected),
        "held": str(old),
        "shared_requests": rows,
        "same_requests": rows,
        "input_requests": rows,
        "held_requests": rows,
        "input_repeated": rows,
        "both_new": False,
        "reexport": True,
        "commands": [command],
    }
    [warning] = incremental(out)["warnings"]
    assert warning.startswith(f"{corrected} has the request ids of {rows:,} of the {rows:,}")
    # both versions counted, as a full scan given both files counts them
    run_scan([*days, corrected], tmp_path / "both")
    assert_same_scan(out, tmp_path / "both")

    # every report of the window says so, until it is fixed: the next morning, nothing new
    quiet = daily([corrected], tmp_path / "e", state)
    assert quiet.known == [str(corrected)] and len(quiet.overlaps) == 1
    assert quiet.overlaps[0]["same_requests"] == rows and len(quiet.warnings) == 1
    # the command the warning gives: the corrected file is held already, nothing is read
    fix = daily([corrected], tmp_path / "c", state, replaces=[f"{old}={corrected}"])
    assert fix.replaced_by == {str(old): str(corrected)} and fix.enriched == []
    assert fix.known == [str(corrected)] and fix.overlaps == [] and fix.warnings == []
    assert load_manifest(state).overlaps == []  # type: ignore[union-attr]
    run_scan([corrected if p == old else p for p in days], tmp_path / "full")
    assert_same_scan(tmp_path / "c", tmp_path / "full")

    # a client reusing request ids on the same day (other times): a warning, no --replaces
    # advice (it would take real traffic out), and every request counted; two new logs of
    # one run sharing ids are reported once, with a command for each direction (which one
    # is the corrected one cannot be told: in a folder, "-corrected" sorts first)
    mimic = tmp_path / "mimic.jsonl"
    reused = [orjson.loads(line) for line in old.read_bytes().splitlines()[:20]]
    for n, r in enumerate(reused):
        r.update(account_id="id-reuser", ts=r["ts"][:11] + f"23:59:{n:02d}Z")
    mimic.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in reused))
    d, state2 = tmp_path / "d", tmp_path / "state2"
    both = daily([*days, corrected, mimic], d, state2)
    seen = {(o["input"], o["held"], o["shared_requests"], *o["commands"]) for o in both.overlaps}
    assert seen == {
        (str(corrected), str(old), rows, fix_command(old, corrected, d, state2),
         fix_command(corrected, old, d, state2)),
        (str(mimic), str(old), 20),
        (str(mimic), str(corrected), 20),
    }  # fmt: skip
    assert sum("neither is a re-export" in w and "--replaces" not in w for w in both.warnings) == 2
    run_scan([*days, corrected, mimic], tmp_path / "all")
    assert_same_scan(tmp_path / "d", tmp_path / "all")


def test_unknown_old_is_refused_and_changes_nothing(week: list[Path], tmp_path: Path) -> None:
    days, old, corrected = delivery(week, tmp_path / "logs")
    state = tmp_path / "state"
    daily(days, tmp_path / "a", state)
    before = snapshot(state)
    typo = str(old).replace(".jsonl", ".json")
    with pytest.raises(StateError) as error:
        daily([corrected], tmp_path / "b", state, replaces=[f"{typo}={corrected}"])
    message = str(error.value)
    assert f"{typo!r} is not a log the state holds; did you mean {str(old)!r}?" in message
    assert f"It holds {len(days)}: " in message and all(repr(str(p)) in message for p in days)
    assert snapshot(state) == before and not (tmp_path / "b" / "summary.json").exists()

    argv = ["scan", str(corrected), "--out", str(tmp_path / "c"), "--state-dir", str(state)]
    result = CliRunner().invoke(app, [*argv, "--replaces", f"{typo}={corrected}", "--no-html"])
    assert result.exit_code == 2 and "is not a log the state holds" in result.stderr
    assert snapshot(state) == before


def test_hostile_names_are_refused_and_change_nothing(week: list[Path], tmp_path: Path) -> None:
    days, old, corrected = delivery(week, tmp_path / "logs")
    state = tmp_path / "state"
    daily(days, tmp_path / "a", state)
    before = snapshot(state)
    part = next(state.rglob("*.parquet"))
    held_elsewhere = f"{old}={corrected}"
    copy = Path(shutil.copy(days[2], tmp_path / "copy.jsonl"))
    for replaces, logs, message in (
        ([f"../../{old.name}={corrected}"], [corrected], "is not a log the state holds"),
        ([f"{part.relative_to(state)}={corrected}"], [corrected], "is not a log the state"),
        ([f"{part}={corrected}"], [corrected], "is not a log the state holds"),
        ([f"{old}\0={corrected}"], [corrected], "is not a log the state holds"),
        ([f"{old}={part}"], [corrected, part], "inside the state or output directory"),
        ([str(old)], [corrected], "expected OLD=NEW"),
        ([f"{old}="], [corrected], "NEW is empty"),
        ([held_elsewhere], [days[0]], "neither among this run's logs nor held"),
        ([f"{old}={old}"], [corrected], "OLD and NEW are the same input"),
        ([held_elsewhere, f"{old}={days[2]}"], [corrected], "give one --replaces per input"),
        ([f"{old}={copy}"], [copy], f"has the bytes of {days[2]}, which the state holds"),
    ):
        with pytest.raises(StateError, match="--replaces") as error:
            daily(logs, tmp_path / "b", state, replaces=replaces)
        assert message in str(error.value), (replaces, str(error.value))
        assert snapshot(state) == before
    # a name that is console markup is printed as it is, not interpreted (nor a crash)
    argv = ["scan", str(corrected), "--out", str(tmp_path / "b"), "--state-dir", str(state)]
    said = CliRunner().invoke(app, [*argv, "--replaces", "[/]=[bold]x", "--no-html"])
    assert said.exit_code == 2 and "--replaces '[/]=[bold]x': '[/]' is not a log" in said.stderr
    with pytest.raises(StateError, match="--replaces with --rebuild"):
        daily([corrected], tmp_path / "b", state, replaces=[f"{old}={corrected}"], rebuild=True)
    # the old file given again with other bytes, beside --replaces: which one is meant?
    original = old.read_bytes()
    old.write_bytes(original + original.splitlines(keepends=True)[0])
    with pytest.raises(StateError, match="given too, with other bytes"):
        daily([corrected, old], tmp_path / "b", state, replaces=[held_elsewhere])
    old.write_bytes(original)
    assert snapshot(state) == before

    # a name holding '=' is cut where OLD names a held log; what the new log lacks is said
    lines = corrected.read_bytes().splitlines(keepends=True)
    odd = old.parent / "day=2.jsonl"
    odd.write_bytes(b"".join(lines[:-7] + lines[-2:]))  # five valid records fewer
    run = daily([odd], tmp_path / "c", state, replaces=[f"{old}={odd}"])
    assert run.replaced_by == {str(old): str(odd)} and run.left_with_replaced == {str(old): 5}
    assert run.warnings == [
        f"--replaces {old}={odd}: 5 requests of {old} are not in {odd} (no request with the "
        "same id and time); they left the state with it"
    ]
    run_scan([odd if p == old else p for p in days], tmp_path / "full")
    assert_same_scan(tmp_path / "c", tmp_path / "full")
