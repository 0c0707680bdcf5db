"""Per-account aggregates: the values on a hand-built log, and portability of the SQL."""

from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot

from builders import casual_user, cot_harvester, hydra, record, write_log
from distillwatch.features import group_features, prepare_events
from distillwatch.features.aggregates import AGGREGATES, WINDOW_COLUMNS
from distillwatch.features.keys import keys_query
from distillwatch.features.sql import (
    accounts_query,
    events_query,
    peak_rate_query,
    transpile,
    windows_query,
)
from distillwatch.scan import connect
from distillwatch.scan.enrich import enrich


def _events(tmp: Path, records: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    """A connection with the ``events`` tables of ``records`` (enriched as scan does)."""
    log = write_log(tmp / "log.jsonl", records)
    enrich([log], tmp / "e.parquet", tmp / "q.jsonl", exclude=tmp / "none")
    con = connect()
    con.execute(f"CREATE VIEW enriched AS SELECT * FROM read_parquet('{tmp / 'e.parquet'}')")
    prepare_events(con)
    return con


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("features")
    records = casual_user("casual", 20) + cot_harvester("cot", 100) + hydra("hy", 4, 5)
    records += [
        record(
            "lp",
            i,
            "Is the sky blue?",
            i * 5.0,
            params={"logprobs": True, "top_logprobs": 20, "max_tokens": 1, "n": 4},
        )
        for i in range(50)
    ]
    frame = group_features(_events(tmp, records))
    return {row["account_id"]: row for row in frame.iter_rows(named=True)}


def test_volume_and_timing(features) -> None:
    assert features["casual"]["requests"] == 20
    assert features["casual"]["gap_median_s"] == pytest.approx(900.0)
    assert features["cot"]["fast_gap_share"] == pytest.approx(0.0)
    assert features["lp"]["peak_hour_requests"] == 50


def test_content_shares(features) -> None:
    assert features["cot"]["cot_share"] == pytest.approx(1.0)
    assert features["casual"]["cot_share"] == pytest.approx(0.0)
    assert features["cot"]["capabilities"] >= 5
    assert features["cot"]["capability_entropy"] > features["casual"]["capability_entropy"]


def test_logprob_shape(features) -> None:
    lp = features["lp"]
    assert lp["logprob_share"] == 1.0
    assert lp["tiny_max_tokens_share"] == 1.0
    assert lp["multi_n_share"] == 1.0
    assert lp["top_logprobs_max"] == 20


def test_infrastructure(features) -> None:
    assert features["hy0"]["asns"] == 1
    assert features["hy0"]["ip24s"] == 1
    assert features["hy0"]["account_age_days"] == pytest.approx(1.0, abs=0.01)
    assert features["hy0"]["payment_fingerprint"] == "pf-shared-0"


@pytest.mark.parametrize("dialect", ["spark", "bigquery", "snowflake"])
def test_queries_transpile(dialect: str) -> None:
    queries = (events_query("enriched"), accounts_query(), peak_rate_query(), keys_query())
    windowed = (windows_query(), accounts_query(source="event_windows", windowed=True))
    for query in (*queries, *windowed):
        sql = transpile(query, dialect)
        assert sqlglot.parse_one(sql, read=dialect) is not None


def test_features_are_one_pass_over_events() -> None:
    parsed = sqlglot.parse_one(accounts_query(), read="duckdb")
    tables = {t.name for t in parsed.find_all(sqlglot.exp.Table)}
    assert tables == {"events"}


def test_windowed_aggregates_equal_one_pass_over_events_with_their_windows(tmp_path) -> None:
    """The windows sit in a narrow table of their own (``event_windows``, for speed); the
    features are those of the one query over every event with its window columns."""
    records = [
        record(
            f"a{i % 3}",
            i,
            f"task {i}",
            (i // 6 * 7919) % 4000 * 1.0,  # each account: pairs of requests at one time
            model="model-b" if i % 4 == 0 and i > 40 else "model-a",
        )
        for i in range(120)
    ]
    records += [record("late", i, "hi", 200_000.0 + i, model="model-c") for i in range(12)]
    records += [record("nomodel", i, "hi", 3.0 * i, model=None) for i in range(6)]
    con = _events(tmp_path, records)
    got = group_features(con)
    window = ", ".join(f"{expr} AS {name}" for name, expr in WINDOW_COLUMNS.items())
    con.execute(f"CREATE TEMP VIEW wide AS SELECT *, {window} FROM events")
    cols = ", ".join(f"{a.sql} AS {a.name}" for a in AGGREGATES)
    want = con.sql(f"SELECT account_id, {cols} FROM wide GROUP BY account_id").pl()
    want = want.sort("account_id")
    assert got.columns[: len(want.columns)] == want.columns
    assert got.height == want.height == 5
    for name in want.columns:
        if want[name].dtype.is_float():
            assert got[name].to_list() == pytest.approx(want[name].to_list(), nan_ok=True), name
        else:
            assert got[name].to_list() == want[name].to_list(), name
    assert want["new_model_share"].max() > 0


def test_wrapper_frames_count_frames_over_unrelated_tasks() -> None:
    import duckdb
    import polars as pl

    from distillwatch.features.sql import frames_query

    areas = ["reasoning", "coding", "knowledge", "safety", "creative"]
    rows = [  # a sweep: 5 frames, each around 20 prompts from five areas
        ("sweep", f"frame{f}", areas[i % 5]) for f in range(5) for i in range(20)
    ]
    rows += [("batch", "classify", "knowledge") for _ in range(300)]  # one frame, one task
    rows += [("small", "frame0", areas[i]) for i in range(5)]  # too few to be a wrapper
    events = pl.DataFrame(rows, schema=["account_id", "frame", "capability"], orient="row")
    con = duckdb.connect()
    con.register("events", events.to_arrow())
    got = {r[0]: r[1:] for r in con.sql(frames_query()).fetchall()}
    assert got["sweep"] == (5, 100)
    assert got["batch"] == (0, 0)
    assert got["small"] == (0, 0)


def test_prefix_recurrence_waits_for_a_whole_later_day() -> None:
    """A prefix counts once a whole later day has passed: on an account's second morning
    yesterday's prefixes have not had their chance (a phone user's read 0 for hours)."""
    from datetime import datetime, timedelta

    import duckdb
    import polars as pl

    from distillwatch.features.sql import recurrence_query

    start = datetime(2026, 3, 2, 9)
    rows = [  # a phone: carrier and home prefixes on day one, only the carrier's next morning
        ("phone", start, "10.0.1"),
        ("phone", start + timedelta(hours=9), "10.0.2"),
        ("phone", start + timedelta(hours=24), "10.0.1"),
    ]
    rows += [("pool", start + timedelta(hours=5 * i), f"198.51.{i}") for i in range(12)]
    events = pl.DataFrame(rows, schema=["account_id", "ts", "ip24"], orient="row")
    con = duckdb.connect()
    con.register("events", events.to_arrow())
    got = dict(con.sql(recurrence_query()).fetchall())
    assert got["phone"] is None  # day two: nothing has had a whole day
    assert got["pool"] == 0.0  # 60 hours of fresh exits: those of day one never came back
    later = pl.DataFrame(
        [("phone", start + timedelta(hours=48), "10.0.3")], schema=events.schema, orient="row"
    )
    con.register("events", pl.concat([events, later]).to_arrow())
    assert dict(con.sql(recurrence_query()).fetchall())["phone"] == 0.5


def test_a_groups_prefixes_come_back_to_the_same_member() -> None:
    """Pooled, one proxy pool's /24 handed to two hydra accounts on different days read as a
    home that comes back; member by member it is two fresh exits. A team whose members each
    come back to their own office prefix still reads 1.0. The online engine agrees."""
    from datetime import UTC, datetime, timedelta

    import duckdb
    import polars as pl

    from distillwatch.features.sql import recurrence_query
    from distillwatch.online.account import ProfileState, member_recurrence

    start = datetime(2026, 3, 2, 9)
    hour = timedelta(hours=1)
    rows = []
    for day in range(5):  # two hydra accounts, a fresh exit a day each; day 3 reuses day 0's
        rows.append(("hy", "h1", start + 24 * day * hour, f"198.51.{day}"))
        rows.append(("hy", "h2", start + (24 * day + 1) * hour, f"203.0.{day}"))
    rows[7] = ("hy", "h2", start + 73 * hour, "198.51.0")  # h2 on day 3: h1's exit of day 0
    for day in range(5):  # a team: each at their own office prefix every day
        rows.append(("team", "t1", start + 24 * day * hour, "10.1.1"))
        rows.append(("team", "t2", start + 24 * day * hour, "10.2.2"))
    events = pl.DataFrame(rows, schema=["component", "account_id", "ts", "ip24"], orient="row")
    con = duckdb.connect()
    con.register("events", events.to_arrow())
    pooled = dict(con.sql(recurrence_query("component")).fetchall())
    members = dict(con.sql(recurrence_query("component", member="account_id")).fetchall())
    assert pooled["hy"] > 0.0  # the shared exit counts as "came back" when pooled
    assert members["hy"] == 0.0
    assert members["team"] == pooled["team"] == 1.0
    states: dict[str, ProfileState] = {}
    for _, account, ts, prefix in sorted(rows, key=lambda r: r[2]):
        stamp = ts.replace(tzinfo=UTC).timestamp()
        states.setdefault(account, ProfileState()).update({"ip": f"{prefix}.7"}, stamp, None, False)
    last = max(state.last_ts or 0.0 for state in states.values())
    assert member_recurrence([states["h1"], states["h2"]], last) == members["hy"]
    assert member_recurrence([states["t1"], states["t2"]], last) == members["team"]
    assert member_recurrence([], last) is None


def test_a_short_lived_members_exits_have_the_groups_chance_to_come_back() -> None:
    """A hydra account used for a day and dropped: its exits never come back, and the group
    (the actor goes on through other accounts) gives them their chance -- unknown only while
    the whole group is two days old."""
    from datetime import datetime, timedelta

    import duckdb
    import polars as pl

    from distillwatch.features.sql import recurrence_query

    start = datetime(2026, 3, 2, 9)
    rows = [("hy", f"h{day}", start + timedelta(days=day, hours=h), f"198.51.{day}.{h}")
            for day in range(4) for h in range(3)]  # fmt: skip
    events = pl.DataFrame(rows, schema=["component", "account_id", "ts", "ip24"], orient="row")
    con = duckdb.connect()
    con.register("events", events.to_arrow())
    got = dict(con.sql(recurrence_query("component", member="account_id")).fetchall())
    assert got["hy"] == 0.0  # days 0 and 1's exits had their chance by day 3
    con.register("events", events.filter(pl.col("ts") < start + timedelta(days=2)).to_arrow())
    assert dict(con.sql(recurrence_query("component", member="account_id")).fetchall()) == {
        "hy": None
    }


@pytest.mark.parametrize("dialect", ["spark", "bigquery"])
def test_two_level_queries_transpile(dialect: str) -> None:
    from distillwatch.features.sql import frames_query, recurrence_query, replay_query

    member = recurrence_query("component", member="account_id")
    for query in (frames_query(), replay_query(), recurrence_query(), member):
        assert sqlglot.parse_one(transpile(query, dialect), read=dialect) is not None


def test_frame_sql_equals_its_definition_on_adversarial_texts() -> None:
    """The frame's regex prefix gives the hash of the split-and-join definition on texts made
    of spaces, Unicode spaces DuckDB's trim removes, tabs, line breaks and words."""
    import random

    import pyarrow as pa

    from distillwatch.features import _FRAME_DEFINITION, FRAME_SQL

    rnd = random.Random(11)
    pieces = [" ", "  ", "\u00a0", "\u3000", "\u2003", "\t", "\n", "x", "Ab", "\u00e9t\u00e9", "."]
    texts = [None, "", " ", "a b c d", "a b c d ", "a b  c", "  a b c d e f", "a b c\u00a0 "]
    texts += ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 14))) for _ in range(20000)]
    con = connect()
    con.register("texts", pa.table({"last_user": pa.array(texts, pa.string())}))
    differ = con.execute(
        f"SELECT count(*) FROM texts WHERE ({FRAME_SQL}) IS DISTINCT FROM ({_FRAME_DEFINITION})"
    ).fetchone()
    assert differ == (0,)
    frame = con.execute(
        f"SELECT {FRAME_SQL} = hash('answer in italian: what') "
        "FROM (SELECT '  Answer in Italian: What is a loop?' AS last_user)"
    ).fetchone()
    assert frame == (True,)


def test_replay_share_equals_its_count_distinct_definition() -> None:
    """The replayed share counts a sketch's models by a finer GROUP BY: equal to the
    ``count(DISTINCT model)`` definition, with null models, null sketches and repeats."""
    import random

    import pyarrow as pa

    from distillwatch.features.sql import replay_query

    rnd = random.Random(5)
    rows = [
        (rnd.choice("abcd"), rnd.choice([None, *range(300)]), rnd.choice([None, "m1", "m2", "m3"]))
        for _ in range(3000)
    ]
    con = connect()
    con.register(
        "ev",
        pa.table(
            {
                "account_id": [r[0] for r in rows],
                "lsh_0": pa.array([r[1] for r in rows], pa.uint64()),
                "model": [r[2] for r in rows],
            }
        ),
    )
    definition = (
        "WITH p AS (SELECT account_id, lsh_0, count(*) AS n, count(DISTINCT model) AS models "
        "FROM ev GROUP BY account_id, lsh_0) SELECT account_id, "
        "sum(CASE WHEN models >= 2 THEN n ELSE 0 END) * 1.0 / sum(n) FROM p GROUP BY account_id"
    )
    got = sorted(con.sql(replay_query(source="ev")).fetchall())
    assert got == sorted(con.sql(definition).fetchall())
    assert 0 < min(share for _, share in got) < 1  # some sketches replayed, not all


def test_gaps_are_those_of_requests_in_time_then_id_order(tmp_path) -> None:
    """``gap_s`` orders by time alone: with requests at the same time (ties in every account,
    ids in no particular order) each account's gaps are those of the order broken by
    ``request_id``."""
    records = [
        record(f"a{i % 2}", (i * 37) % 101, f"task {i}", float((i // 3) * 5 + (i % 5 == 0)))
        for i in range(90)
    ]
    con = _events(tmp_path, records)
    definition = (
        "SELECT account_no, epoch(ts) - lag(epoch(ts)) "
        "OVER (PARTITION BY account_id ORDER BY ts, request_id) AS gap_s FROM events"
    )
    differ = con.execute(
        f"SELECT count(*) FROM ((SELECT account_no, gap_s FROM event_windows EXCEPT ALL "
        f"{definition}) UNION ALL ({definition} EXCEPT ALL "
        "SELECT account_no, gap_s FROM event_windows))"
    ).fetchone()
    assert differ == (0,)
    ties = con.execute("SELECT count(*) FROM event_windows WHERE gap_s = 0").fetchone()
    assert ties is not None and ties[0] > 10
