"""The console store: importing scans and replays, cases, verdicts fed back to calibrate,
dismissed accounts not re-opened on the same evidence; SQLite and PostgreSQL."""

from __future__ import annotations

import tomllib
import uuid
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from distillwatch.cli import app
from distillwatch.review import audit, cases
from distillwatch.review.importer import import_replay, import_scan
from distillwatch.review.store import ConsoleError, Store
from review_kit import CAMPAIGN, HOSTILE, build_scan, findings
from scan_fixtures import account, write_jsonl, write_scan


def _cases(store: Store) -> list[cases.Case]:
    with store.begin() as conn:
        return cases.listing(conn, store.t, None)


def _case_of(store: Store, subject: str) -> cases.Case:
    return next(c for c in _cases(store) if c.subject == subject)


def test_import_opens_a_case_per_flagged_campaign_and_loose_account(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "c.db"))
    r = import_scan(store, build_scan(tmp_path / "scan"), "cli:kim")
    assert (r.accounts, r.flagged, r.campaigns, r.cases_opened) == (7, 5, 1, 2)
    assert {(c.kind, c.subject, c.status) for c in _cases(store)} == {
        ("campaign", CAMPAIGN, "open"),
        ("account", "acct_loose", "open"),
    }
    with store.begin() as conn:
        reasons = conn.execute(
            sa.select(store.t.accounts.c.reasons).where(store.t.accounts.c.account_id == "acct_h1")
        ).scalar()
        logged = audit.entries(conn, store.t)
    assert HOSTILE in orjson.loads(reasons)[0]  # stored as written; escaped when shown
    assert logged[0].action == "scan.import" and logged[0].actor == "cli:kim"
    # a second import of the same flags opens nothing new: the open cases follow the scan
    assert import_scan(store, tmp_path / "scan", "cli:kim").cases_opened == 0
    assert _case_of(store, CAMPAIGN).scan_id == 2


def test_a_broken_scan_is_named_and_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    scan = build_scan(tmp_path / "scan")
    lines = (scan / "accounts.jsonl").read_bytes().splitlines()
    lines[2] = lines[2].replace(b'"score":0.97', b'"score":"high"')
    (scan / "accounts.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    store = Store(str(tmp_path / "c.db"))
    with pytest.raises(ConsoleError, match=r"accounts\.jsonl:3.*'score'"):
        import_scan(store, scan, "t")
    with pytest.raises(ConsoleError, match=r"no accounts\.jsonl"):
        import_scan(store, tmp_path, "t")
    with store.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(store.t.scans)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(store.t.cases)).scalar() == 0


def test_replay_decisions_are_imported_and_a_bad_line_is_named(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "c.db"))
    replay = tmp_path / "replay"
    replay.mkdir()
    good = {"ts": "2026-03-02T01:00:00Z", "account_id": "acct_h0", "request_id": "r1"}
    write_jsonl(replay / "decisions.jsonl", [{**good, "action": "block", "reasons": ["x"]}])
    assert import_replay(store, replay, "t") == 1
    write_jsonl(replay / "decisions.jsonl", [{**good, "action": "nuke", "reasons": []}])
    with pytest.raises(ConsoleError, match=r"decisions\.jsonl:1.*'action'"):
        import_replay(store, replay, "t")


def _decide(store: Store, subject: str, verdict: str, reason: str | None) -> list[str]:
    with store.begin() as conn:
        return cases.decide(conn, store.t, "ana", _case_of(store, subject).id, verdict, reason)


def test_dismiss_needs_a_reason_and_verdicts_feed_calibrate(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "c.db"))
    scan = build_scan(tmp_path / "scan")
    import_scan(store, scan, "t")
    with pytest.raises(ConsoleError, match="needs a reason"):
        _decide(store, "acct_loose", "dismissed", "  ")
    assert _decide(store, CAMPAIGN, "confirmed", None) == [f"acct_h{i}" for i in range(4)]
    assert _decide(store, "acct_loose", "dismissed", "a tutoring app") == ["acct_loose"]
    with pytest.raises(ConsoleError, match="already dismissed"):
        _decide(store, "acct_loose", "dismissed", "again")

    out = tmp_path / "verdicts.jsonl"
    db = ["--db", str(tmp_path / "c.db")]
    result = CliRunner().invoke(app, ["console", "verdicts", "--out", str(out), *db])
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert {r["account_id"]: r["verdict"] for r in rows} == {
        **{f"acct_h{i}": "confirmed" for i in range(4)},
        "acct_loose": "dismissed",
    }
    loose = next(r for r in rows if r["account_id"] == "acct_loose")
    assert loose["reason"] == "a tutoring app" and loose["evidence"] == ["disposable_email"]

    known = tmp_path / "good.txt"
    known.write_text("acct_b1\nacct_b2\n")
    cal = tmp_path / "calibration.toml"
    args = ["calibrate", "--scan", str(scan), "--known-good", str(known), "--verdicts", str(out)]
    result = CliRunner().invoke(app, [*args, "--target-fpr", "0.5", "--out", str(cal)])
    assert result.exit_code == 0, result.output
    doc = tomllib.loads(cal.read_text())
    assert doc["scan"]["known_bad"] == 4 and doc["scan"]["known_good"] == 3
    assert doc["scan"]["recall"] == 1.0


def test_a_dismissed_account_is_marked_not_reopened_on_the_same_evidence(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "c.db"))
    import_scan(store, build_scan(tmp_path / "s1"), "t")
    _decide(store, "acct_loose", "dismissed", "known reseller")
    _decide(store, CAMPAIGN, "dismissed", "a hackathon")

    again = import_scan(store, build_scan(tmp_path / "s2"), "t")  # same evidence
    assert again.cases_opened == 0 and again.dismissed_before == 5
    with store.begin() as conn:
        marked = dict(
            conn.execute(
                sa.select(store.t.accounts.c.account_id, store.t.accounts.c.dismissed_case).where(
                    store.t.accounts.c.scan_id == again.scan_id
                )
            ).all()
        )
    assert marked["acct_loose"] == _case_of(store, "acct_loose").id
    assert marked["acct_b1"] is None
    assert [c.status for c in _cases(store)] == ["dismissed", "dismissed"]

    # new evidence (a finding kind nobody judged) opens a case again
    later = import_scan(
        store, build_scan(tmp_path / "s3", ("disposable_email", "proxy_rotation")), "t"
    )
    assert later.cases_opened == 1 and later.dismissed_before == 4
    assert [c.status for c in _cases(store) if c.subject == "acct_loose"] == ["open", "dismissed"]


def test_an_account_case_covers_an_unflagged_account_opened_by_hand(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "c.db"))
    rows = [findings(account("quiet", 0.4), "grading_share"), account("other")]
    import_scan(store, write_scan(tmp_path / "scan", rows), "t")
    with store.begin() as conn:
        case_id = cases.open_case(conn, store.t, "ana", "account", "quiet", None, "tip-off")
        assert cases.open_case(conn, store.t, "ana", "account", "quiet", None, "x") == case_id
        assert cases.decide(conn, store.t, "ana", case_id, "confirmed", None) == ["quiet"]
        assert [line for line in cases.verdict_lines(conn, store.t) if b"quiet" in line]


def _postgres_url() -> str:
    url = "postgresql://postgres@127.0.0.1:5432/test"
    try:
        import psycopg

        psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=3)
    except Exception as exc:  # the server is part of the test environment
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432 ({exc})")
    return url


def test_postgresql_store_imports_decides_and_exports(tmp_path: Path) -> None:
    url = _postgres_url()
    schema = f"console_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        store = Store(url, schema=schema)
        r = import_scan(store, build_scan(tmp_path / "scan"), "t")
        assert r.cases_opened == 2
        _decide(store, "acct_loose", "dismissed", "reseller")
        assert import_scan(store, tmp_path / "scan", "t").dismissed_before == 1
        with store.begin() as conn:
            lines = cases.verdict_lines(conn, store.t)
            tables = conn.execute(
                sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = :s"), {"s": schema}
            ).scalar()
        assert len(lines) == 1 and b'"dismissed"' in lines[0]
        assert tables == len(store.t.metadata.tables)
        store.close()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
