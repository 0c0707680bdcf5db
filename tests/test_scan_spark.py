"""``scan --engine spark``: the DuckDB engine's verdicts, campaigns, quarantine and errors.

Spark runs in local mode (``local[1]``, loopback only) in one session shared by the module
(a JVM start costs ~15 CPU seconds); the logs are small. Grouped for pytest-xdist
(``--dist loadgroup``) so one worker runs them all and only one JVM starts: the ``spark``
fixture holds a lock of the test run while its JVM lives, and fails if another worker holds
it under loadgroup (the grouping was lost once: ``tests/conftest.py``); with another
``--dist`` it waits, so two JVMs never run at once.
"""

from __future__ import annotations

import fcntl
import gzip
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from builders import casual_user, cot_harvester, hydra, write_log
from distillwatch.cli import app
from distillwatch.ingest import IngestError
from distillwatch.scan import run_scan
from distillwatch.scan.spark import SparkSetupError, run_spark_scan
from distillwatch.scan.spark.session import java_version, spark_session, stop_spark

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

OTEL = Path(__file__).parent / "fixtures" / "ingest" / "otel-genai.jsonl"
#: Scores of the two engines may differ by float rounding of sums taken in another order.
SCORE_TOLERANCE = 1e-9

BROKEN = [
    b"{not json",
    b'{"ts": 1}',
    b'{"ts": "yesterday", "account_id": "a", "request_id": "r"}',
    b'\xff\xfe{"ts": 1700000000, "account_id": "x", "request_id": "y"}',
    b'\xef\xbb\xbf{"ts": 1700000000, "account_id": "bom", "request_id": "bom-1"}',
]


@pytest.fixture(scope="module")
def one_jvm(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """The test run's Spark lock, held while this worker's JVM lives (no-op without xdist).

    It lives in the run's shared temporary directory (the parent of each worker's), which
    pytest clears away with the run's other old directories."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        yield
        return
    with open(tmp_path_factory.getbasetemp().parent / "spark.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if getattr(request.config.option, "loadgroup", False):
                pytest.fail(
                    "another xdist worker runs Spark tests: the 'spark' xdist_group was not "
                    "kept on one worker (see pytest_collection_modifyitems in conftest.py)"
                )
            fcntl.flock(lock, fcntl.LOCK_EX)  # --dist load etc.: one JVM after the other
        yield


@pytest.fixture(scope="module")
def spark(one_jvm: None) -> Iterator[Any]:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = spark_session("local[1]", "1g")
    yield session
    stop_spark(session)  # its JVM too: SparkSession.stop() leaves it running


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def scans_agree(duck: Path, spark: Path) -> None:
    """The parity the Spark engine promises (docs/spark.md)."""
    a = {r["account_id"]: r for r in read_jsonl(duck / "accounts.jsonl")}
    b = {r["account_id"]: r for r in read_jsonl(spark / "accounts.jsonl")}
    assert a.keys() == b.keys()
    assert {k for k, r in a.items() if r["flagged"]} == {k for k, r in b.items() if r["flagged"]}
    for key, row in a.items():
        assert abs(row["score"] - b[key]["score"]) <= SCORE_TOLERANCE, key
        assert row["campaign_id"] == b[key]["campaign_id"]
        assert row["reasons"] == b[key]["reasons"]
    campaigns_a = {c["campaign_id"]: c for c in read_jsonl(duck / "campaigns.jsonl")}
    campaigns_b = {c["campaign_id"]: c for c in read_jsonl(spark / "campaigns.jsonl")}
    assert campaigns_a.keys() == campaigns_b.keys()
    for cid, campaign in campaigns_a.items():
        other = campaigns_b[cid]
        for field in ("accounts", "requests", "first_seen", "last_seen", "tactics", "indicators"):
            assert campaign[field] == other[field], (cid, field)
        assert abs(campaign["score"] - other["score"]) <= SCORE_TOLERANCE
    assert (duck / "quarantine.jsonl").read_bytes() == (spark / "quarantine.jsonl").read_bytes()
    summary_a = orjson.loads((duck / "summary.json").read_bytes())
    summary_b = orjson.loads((spark / "summary.json").read_bytes())
    for field in ("records", "accounts", "quarantined", "flagged_accounts", "time_span"):
        assert summary_a[field] == summary_b[field], field
    assert_frame_equal(
        pl.read_parquet(duck / "timeline.parquet"), pl.read_parquet(spark / "timeline.parquet")
    )
    features_a = pl.read_parquet(duck / "features.parquet")
    features_b = pl.read_parquet(spark / "features.parquet").select(features_a.columns)
    assert_frame_equal(features_a, features_b, check_dtypes=False, rel_tol=1e-9)


def test_simulated_log_with_broken_lines_in_splits(tmp_path: Path, spark: Any) -> None:
    """A simulated day (300 accounts, campaigns and look-alikes) as one plain JSON Lines file
    with hostile lines spread through it, which Spark reads in 6 MB byte-range splits, beside
    an OTLP trace: same verdicts, campaigns, features, per-file counts and a byte-identical
    quarantine (line numbers included)."""
    sim = tmp_path / "sim"
    result = CliRunner().invoke(
        app,
        ["simulate", "--out", str(sim), "--accounts", "300", "--days", "1", "--seed", "5"],
    )
    assert result.exit_code == 0, result.output
    lines = (
        zstandard.ZstdDecompressor()
        .stream_reader((sim / "traffic.jsonl.zst").open("rb"))
        .read()
        .splitlines()
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    step = len(lines) // len(BROKEN)
    for k, bad in enumerate(BROKEN):  # each broken line lands in another split
        lines.insert(k * step + 7, bad)
    (logs / "traffic.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    shutil.copy(OTEL, logs / "trace.jsonl")  # spans, some passed over, one quarantined

    duck = run_scan([logs], tmp_path / "duck")
    scanned = run_spark_scan([logs], tmp_path / "spark", spark=spark, split_bytes=6 << 20)
    assert scanned.ingest.files == duck.ingest.files  # lines, records, quarantined per file
    assert scanned.ingest.passed_over == duck.ingest.passed_over != {}
    assert scanned.ingest.quarantined_fields == duck.ingest.quarantined_fields
    assert scanned.ingest.duplicate_request_ids == duck.ingest.duplicate_request_ids
    assert scanned.flagged > 0 and scanned.campaigns
    scans_agree(tmp_path / "duck", tmp_path / "spark")
    quarantined = read_jsonl(tmp_path / "spark" / "quarantine.jsonl")
    lines_of_log = [q["line"] for q in quarantined if q["file"].endswith("traffic.jsonl")]
    assert lines_of_log == [k * step + 8 for k in range(len(BROKEN))]


def test_cli_scans_a_directory_of_jsonl_and_parquet(tmp_path: Path, spark: Any) -> None:
    """``distillwatch scan DIR --engine spark``: JSON Lines, Parquet and OTLP spans read
    together, a broken line quarantined and counted, the hydra flagged in campaigns, all as
    DuckDB has them."""
    logs = tmp_path / "logs"
    logs.mkdir()
    records = [r for a in range(4) for r in casual_user(f"casual{a}", 20, start=a * 90.0)]
    write_log(logs / "a.jsonl", records + cot_harvester("harvester", 120), broken=[b"{oops"])
    pq.write_table(pa.Table.from_pylist(hydra("hy", 24, 10)), logs / "b.parquet")
    shutil.copy(OTEL, logs / "c-otel.jsonl")  # another log format, detected in the task

    out = tmp_path / "spark"
    args = ["scan", str(logs), "--out", str(out), "--no-html", "--engine", "spark"]
    result = CliRunner().invoke(app, [*args, "--spark-master", "local[1]"])
    assert result.exit_code == 0, result.output
    summary = orjson.loads((out / "summary.json").read_bytes())
    assert f"scanned {summary['records']:,} requests" in result.output
    assert summary["quarantined"]["invalid_json"] == 1  # (the OTLP fixture has its own)
    problems = read_jsonl(out / "quarantine.jsonl")
    (problem,) = [p for p in problems if p["file"].endswith("a.jsonl")]
    assert problem["line"] == len(records) + 121 and problem["reason"] == "invalid_json"
    accounts = {r["account_id"]: r for r in read_jsonl(out / "accounts.jsonl")}
    assert all(accounts[f"hy{a}"]["flagged"] for a in range(24))
    assert not any(accounts[f"casual{a}"]["flagged"] for a in range(4))
    assert all(accounts[f"hy{a}"]["campaign_id"] for a in range(24))

    duck = run_scan([logs], tmp_path / "duck")
    scans_agree(tmp_path / "duck", out)
    assert summary["records"] == duck.ingest.records > len(records) + 120 + 240  # OTLP spans


def test_unreadable_input_fails_as_with_duckdb(tmp_path: Path, spark: Any) -> None:
    """A gzip file cut short past its first megabyte (so only the task reading it finds out)
    stops the scan with DuckDB's message, naming the file."""
    body = b"".join(orjson.dumps(r) + b"\n" for r in hydra("hy", 40, 100))
    whole = gzip.compress(body, compresslevel=1)
    damaged = tmp_path / "cut.jsonl.gz"
    damaged.write_bytes(whole[: len(whole) * 3 // 4])

    with pytest.raises(IngestError) as duck:
        run_scan([damaged], tmp_path / "duck")
    with pytest.raises(IngestError) as sparks:
        run_spark_scan([damaged], tmp_path / "spark", spark=spark)
    assert str(sparks.value) == str(duck.value)
    assert "cut.jsonl.gz" in str(sparks.value)

    missing = CliRunner().invoke(
        app,
        ["scan", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o"), "--engine", "spark"],
    )
    assert missing.exit_code != 0 and "nope.jsonl" in missing.output
    refused = CliRunner().invoke(
        app,
        ["scan", str(damaged), "--out", str(tmp_path / "o"), "--engine", "spark",
         "--state-dir", str(tmp_path / "state")],
    )  # fmt: skip
    assert refused.exit_code != 0 and "--state-dir" in refused.output


def test_missing_java_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Java where JAVA_HOME points: the error says what to install."""
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(SparkSetupError, match="default-jre-headless"):
        java_version()
    monkeypatch.delenv("JAVA_HOME")
    assert java_version() >= 17
