"""``distillwatch scan`` end to end on hand-built logs: the contract fields and the verdicts."""

from pathlib import Path

import orjson
import polars as pl
from typer.testing import CliRunner

from builders import casual_user, cot_harvester, hydra, write_log
from distillwatch.cli import app
from distillwatch.scan import connect, run_scan, sql_memory_lent

ACCOUNT_FIELDS = {"account_id", "score", "flagged", "campaign_id", "reasons"}
CAMPAIGN_FIELDS = {
    "campaign_id",
    "accounts",
    "score",
    "first_seen",
    "last_seen",
    "requests",
    "tactics",
    "capabilities",
    "indicators",
}


def read_jsonl(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def test_scan_contract_and_verdicts(tmp_path: Path) -> None:
    records = [r for a in range(6) for r in casual_user(f"casual{a}", 30, start=a * 100.0)]
    records += cot_harvester("harvester", 400)
    records += hydra("hy", 30, 12)
    log = write_log(tmp_path / "log.jsonl", records, broken=[b"{not json", b'{"ts": 1}'])
    result = run_scan([log], tmp_path / "out")
    out = tmp_path / "out"

    accounts = {a["account_id"]: a for a in read_jsonl(out / "accounts.jsonl")}
    assert len(accounts) == 6 + 1 + 30
    for row in accounts.values():
        assert set(row) >= ACCOUNT_FIELDS
        assert 0.0 <= row["score"] <= 1.0
    assert not any(accounts[f"casual{a}"]["flagged"] for a in range(6))
    assert accounts["harvester"]["flagged"]
    assert any("step-by-step" in r for r in accounts["harvester"]["reasons"])
    assert all(accounts[f"hy{a}"]["flagged"] for a in range(30))

    campaigns = read_jsonl(out / "campaigns.jsonl")
    for c in campaigns:
        assert set(c) >= CAMPAIGN_FIELDS
    hydra_campaign = next(c for c in campaigns if "hy0" in c["accounts"])
    assert "hydra_cluster" in hydra_campaign["tactics"]
    assert set(hydra_campaign["indicators"]["payment_fingerprints"]) == {
        "pf-shared-0",
        "pf-shared-1",
        "pf-shared-2",
    }
    assert hydra_campaign["requests"] >= 30 * 12
    assert accounts["hy3"]["campaign_id"] == hydra_campaign["campaign_id"]

    summary = orjson.loads((out / "summary.json").read_bytes())
    assert summary["records"] == len(records)
    assert sum(summary["quarantined"].values()) == 2
    assert len(read_jsonl(out / "quarantine.jsonl")) == 2
    timeline = pl.read_parquet(out / "timeline.parquet")
    assert timeline["requests"].sum() == len(records)
    assert result.flagged == sum(a["flagged"] for a in accounts.values())


def test_scan_cli_missing_file_fails_clearly(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["scan", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "nope.jsonl" in result.output


def test_scan_cli_empty_log(tmp_path: Path) -> None:
    log = tmp_path / "empty.jsonl"
    log.write_bytes(b"")
    result = CliRunner().invoke(app, ["scan", str(log), "--out", str(tmp_path / "o"), "--no-html"])
    assert result.exit_code == 0, result.output
    assert read_jsonl(tmp_path / "o" / "accounts.jsonl") == []


def test_sql_memory_lent_spills_and_restores(tmp_path: Path) -> None:
    """While Python links and scores, DuckDB keeps only the idle limit (its table written to
    the spill directory, still all there), then gets its own limit back (as DuckDB shows
    it, to 0.1 MiB)."""
    con = connect("512MB", spill_dir=tmp_path / "spill")
    con.execute(
        "CREATE TEMP TABLE t AS SELECT range AS x, md5(range::VARCHAR) AS s FROM range(2000000)"
    )
    setting = "SELECT current_setting('memory_limit')"
    held = "SELECT sum(memory_usage_bytes) FROM duckdb_memory()"
    before, used = con.execute(setting).fetchone(), con.execute(held).fetchone()[0]
    with sql_memory_lent(con, "16MB", least=0):
        assert con.execute(setting).fetchone()[0].startswith("15")  # 16 MB = 15.2 MiB
        assert con.execute(held).fetchone()[0] <= 16e6 < used
        assert any((tmp_path / "spill").iterdir())
    restored = con.execute(setting).fetchone()[0]
    assert abs(float(restored.split()[0]) - float(before[0].split()[0])) <= 0.1  # MiB shown
    assert con.execute("SELECT count(*), count(DISTINCT s) FROM t").fetchone() == (2000000,) * 2
    with sql_memory_lent(object()):  # another engine's connection: left alone
        pass


def test_sql_memory_not_lent_for_little(tmp_path: Path) -> None:
    """A lend that would free less than ``least`` bytes is not made: DuckDB keeps its limit
    and its blocks (nothing written to the spill directory), and lends once it holds more."""
    con = connect("512MB", spill_dir=tmp_path / "spill")
    con.execute("CREATE TEMP TABLE t AS SELECT range AS x FROM range(3000000)")
    setting = "SELECT current_setting('memory_limit')"
    held = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]
    before = con.execute(setting).fetchone()
    assert held > 16e6
    with sql_memory_lent(con, "16MB", least=int(held)):  # would free held - 16 MB < held
        assert con.execute(setting).fetchone() == before
        assert not (tmp_path / "spill").exists() or not any((tmp_path / "spill").iterdir())
    with sql_memory_lent(con, "16MB", least=int(held) - 16 * 10**6 - (1 << 20)):
        assert con.execute(setting).fetchone()[0].startswith("15")
