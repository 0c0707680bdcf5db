"""``distillwatch ingest``: exit codes, messages, and the files it leaves behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import zstandard
from typer.testing import CliRunner

from distillwatch.cli import app

Record = dict[str, Any]


def unwrapped(text: str) -> str:
    """Rich wraps long paths at the terminal width, even mid-word: compare without whitespace."""
    return "".join(text.split())


def write_log(path: Path, make_record: Callable[..., Record], bad_line: int | None = None) -> Path:
    lines = [orjson.dumps(make_record(i)) for i in range(4)]
    if bad_line is not None:
        lines[bad_line - 1] = b"{broken"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_ingest_prints_a_summary_and_writes_outputs(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    log = write_log(tmp_path / "log.jsonl", make_record, bad_line=2)
    result = CliRunner().invoke(app, ["ingest", str(log), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "records" in result.stdout and "invalid_json" in result.stdout
    assert "quarantined" in result.output
    summary = orjson.loads((tmp_path / "out" / "summary.json").read_bytes())
    assert summary["records"] == 3 and summary["quarantined"] == {"invalid_json": 1}
    assert summary["accounts"] == 1 and summary["ts_min"] == "2026-02-01T12:00:00.250000Z"
    assert list((tmp_path / "out" / "requests").glob("part-*.parquet"))


def test_strict_violation_exits_non_zero_naming_file_and_line(
    tmp_path: Path, make_record: Callable[..., Record]
) -> None:
    log = write_log(tmp_path / "log.jsonl", make_record, bad_line=3)
    result = CliRunner().invoke(
        app, ["ingest", str(log), "--out", str(tmp_path / "out"), "--strict"]
    )
    assert result.exit_code != 0
    assert "log.jsonl:3:invalid_json" in unwrapped(result.output)


def test_missing_file_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    missing = tmp_path / "absent.jsonl"
    result = CliRunner().invoke(app, ["ingest", str(missing), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "absent.jsonl:nosuchfileordirectory" in unwrapped(result.output)


def test_empty_file_exits_zero_with_a_warning(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl.gz"
    empty.write_bytes(b"")
    result = CliRunner().invoke(app, ["ingest", str(empty), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "empty file" in result.output


def test_out_is_required(tmp_path: Path, make_record: Callable[..., Record]) -> None:
    log = write_log(tmp_path / "log.jsonl", make_record)
    result = CliRunner().invoke(app, ["ingest", str(log)])
    assert result.exit_code != 0 and "--out" in result.output


def test_simulate_then_ingest_round_trips_without_quarantine(tmp_path: Path) -> None:
    runner = CliRunner()
    sim = tmp_path / "sim"
    made = runner.invoke(
        app, ["simulate", "--out", str(sim), "--accounts", "120", "--days", "1", "--seed", "5"]
    )
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, ["ingest", str(sim), "--out", str(sim / "ingested")])
    assert result.exit_code == 0, result.output
    summary = orjson.loads((sim / "ingested" / "summary.json").read_bytes())
    [(name, counts)] = summary["files"].items()
    assert name.endswith("traffic.jsonl.zst")
    assert summary["quarantined"] == {} and summary["records"] == counts["lines"] > 0
    assert str(sim / "labels.jsonl") in summary["skipped"]

    # the same traffic with broken lines injected quarantines exactly those lines
    with (sim / "traffic.jsonl.zst").open("rb") as handle:
        lines = (
            zstandard.ZstdDecompressor()
            .stream_reader(handle, read_across_frames=True)
            .read()
            .splitlines()
        )
    lines.insert(2, b'{"ts": "not a time", "account_id": "a", "request_id": "x"}')
    lines.insert(9, lines[9][: len(lines[9]) // 2])  # a line cut in half
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"\n".join(lines) + b"\n")
    result = runner.invoke(app, ["ingest", str(broken), "--out", str(tmp_path / "broken-out")])
    assert result.exit_code == 0, result.output
    quarantine = (tmp_path / "broken-out" / "quarantine.jsonl").read_bytes().splitlines()
    assert [orjson.loads(q)["line"] for q in quarantine] == [3, 10]
    again = orjson.loads((tmp_path / "broken-out" / "summary.json").read_bytes())
    assert again["records"] == summary["records"]
