"""A PostgreSQL query as a source of traffic log v1 rows (a provider's own request table or
view), against the local server: types arrive as PostgreSQL's (timestamptz, jsonb, bigint) and
go through the same v1 validation as a file's."""

from __future__ import annotations

from pathlib import Path

import psycopg

from ingest_helpers import assert_nothing_lost, ingest_cli, postgres_schema, scan_accounts

TABLE = """
CREATE TABLE requests (
    ts timestamptz, account_id text, request_id text, ip text, country text, asn bigint,
    model text, endpoint text, messages jsonb, params jsonb, usage jsonb, status int
)"""
INSERT = "INSERT INTO requests VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


def rows() -> list[tuple]:
    good = [
        (f"2026-09-21 12:{i:02d}:00+02", f"acct_{i % 3}", f"r{i}", f"198.51.100.{i}", "de", 3320,
         "m", "chat", f'[{{"role": "user", "content": "question {i}"}}]',
         '{"temperature": 0.5, "n": 1}', '{"input_tokens": 5, "output_tokens": 9}', 200)
        for i in range(12)
    ]  # fmt: skip
    bad = [
        ("2026-09-21 13:00:00+00", "acct_x", "bad-1", None, "Germany", None, None, "chat",
         None, None, None, 200),
        ("2026-09-21 13:01:00+00", "acct_x", "bad-2", None, None, None, None, "chat",
         '{"role": "user"}', None, None, 200),
        ("2026-09-21 13:02:00+00", "acct_x", "bad-3", None, None, None, None, "chat",
         None, '{"n": "many"}', None, 200),
        ("2026-09-21 13:03:00+00", None, "bad-4", None, None, None, None, "chat",
         None, None, None, 200),
    ]  # fmt: skip
    return good + bad


def test_v1_rows_from_a_query(tmp_path: Path) -> None:
    dsn = postgres_schema("dw_ingest_pg_v1")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(TABLE)
        with connection.cursor() as cursor:
            cursor.executemany(INSERT, rows())
    query = "SELECT * FROM requests ORDER BY ts"
    summary, out, quarantine = ingest_cli(dsn, "--query", query, "--out", str(tmp_path / "o"))
    assert_nothing_lost(summary, 16)
    assert summary["records"] == 12 and {row["account_id"] for row in out} == {
        "acct_0",
        "acct_1",
        "acct_2",
    }
    assert str(out[0]["ts"]) == "2026-09-21 10:00:00+00:00" and out[0]["country"] == "DE"
    assert out[0]["last_user"] == "question 0" and out[0]["temperature"] == 0.5
    assert {q["field"]: q["line"] for q in quarantine} == {
        "country": 13,
        "messages": 14,
        "params.n": 15,
        "account_id": 16,
    }
    accounts = scan_accounts(dsn, tmp_path / "scan", "--query", query)
    assert set(accounts) == {"acct_0", "acct_1", "acct_2"}


def test_a_query_whose_rows_are_no_known_format_is_refused(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from distillwatch.cli import app

    dsn = postgres_schema("dw_ingest_pg_unknown")
    result = CliRunner().invoke(
        app, ["ingest", dsn, "--query", "SELECT 1 AS x", "--from", "auto", "--out", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert "cannot tell the log format" in " ".join(result.output.split())


def test_columns_of_postgres_own_types_read_as_plain_values(tmp_path: Path) -> None:
    """A table keeping addresses in ``inet``, ids in ``uuid``, numbers in ``numeric`` and
    times without a zone: psycopg's IPv4Address/UUID/Decimal objects failed the v1 rules,
    so every row of such a table was quarantined."""
    dsn = postgres_schema("dw_ingest_pg_types")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE calls (ts timestamp, account_id text, request_id uuid, ip inet,"
            " asn numeric, latency_ms numeric(10, 3), status smallint)"
        )
        connection.execute(
            "INSERT INTO calls VALUES"
            " ('2026-09-21 12:00:00', 'acct_1', gen_random_uuid(), '198.51.100.7', 3320, 12.5,"
            " 200), ('2026-09-21 12:01:00', 'acct_1', gen_random_uuid(), '2001:db8::1', 3320,"
            " 7, 200), ('2026-09-21 12:02:00', 'acct_1', gen_random_uuid(), '10.0.0.0/8', -1,"
            " 1, 200)"
        )
    summary, out, quarantine = ingest_cli(
        dsn, "--from", "v1", "--query", "SELECT * FROM calls ORDER BY ts", "--out", str(tmp_path)
    )
    assert_nothing_lost(summary, 3)
    assert [(row["ip"], row["asn"], row["latency_ms"]) for row in out] == [
        ("198.51.100.7", 3320, 12.5),
        ("2001:db8::1", 3320, 7.0),
    ]
    assert len(out[0]["request_id"]) == 36 and str(out[0]["ts"]) == "2026-09-21 12:00:00+00:00"
    assert [q["field"] for q in quarantine] == ["asn"]  # a negative AS number, named
