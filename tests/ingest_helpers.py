"""Helpers shared by the tests of the foreign-format readers (tests/test_ingest_<format>.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
from typer.testing import CliRunner

from distillwatch.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def ingest_cli(*args: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Run ``distillwatch ingest ARGS``: the summary, the rows written, the quarantine."""
    out = Path(args[args.index("--out") + 1])
    result = CliRunner().invoke(app, ["ingest", *args])
    assert result.exit_code == 0, result.output
    summary = orjson.loads((out / "summary.json").read_bytes())
    rows = pq.read_table(out / "requests").to_pylist()
    return summary, rows, read_jsonl(out / "quarantine.jsonl")


def assert_nothing_lost(summary: dict[str, Any], inputs: int) -> None:
    """Every foreign record read was ingested, quarantined or passed over — and counted."""
    passed = sum(summary["passed_over"].values())
    assert summary["records"] + summary["quarantined_total"] + passed == inputs, summary
    assert sum(counts.get("inputs", 0) for counts in summary["files"].values()) == inputs


def scan_accounts(log: str, out: Path, *extra: str) -> dict[str, dict[str, Any]]:
    """``distillwatch scan LOG`` end to end: the accounts it wrote, by id."""
    result = CliRunner().invoke(app, ["scan", log, "--out", str(out), "--no-html", *extra])
    assert result.exit_code == 0, result.output
    return {row["account_id"]: row for row in read_jsonl(out / "accounts.jsonl")}


POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_schema(name: str) -> str:
    """A fresh schema in the local test database; the DSN that reads from it first.

    Each test gets its own schema (tests may run in parallel); skipped when no server runs.
    """
    import pytest

    psycopg = pytest.importorskip("psycopg")
    try:
        with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            connection.execute(f'CREATE SCHEMA "{name}"')
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 not reachable: {exc}")
    return f"{POSTGRES}?options=-csearch_path%3D{name}"


def json_values():  # type: ignore[no-untyped-def]
    """Hypothesis: any JSON value, nested a little (what a hostile log line can hold)."""
    from hypothesis import strategies as st

    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
