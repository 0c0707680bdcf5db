"""``samples.jsonl``: requests picked from the events, prompts read for those only."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import duckdb
import polars as pl

from distillwatch.scan.outputs import SAMPLES_PER_CAMPAIGN, sample_rows

BASE = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)

#: The query the samples were once picked with, over the enriched requests themselves.
ONE_PASS = (
    "SELECT campaign_id, account_id, ts, capability, cot_elicit, grading_request, language, "
    "left(last_user, 300) FROM ("
    "  SELECT r.*, m.campaign_id, row_number() OVER ("
    "    PARTITION BY m.campaign_id ORDER BY rn_cap, hash(r.request_id)) AS k FROM ("
    "      SELECT *, row_number() OVER (PARTITION BY account_id, capability "
    "        ORDER BY hash(request_id)) AS rn_cap FROM enriched"
    "      WHERE account_id IN (SELECT account_id FROM campaign_members)) r"
    "    JOIN campaign_members m USING (account_id) WHERE rn_cap <= 2)"
    f" WHERE k <= {SAMPLES_PER_CAMPAIGN} ORDER BY campaign_id, k"
)


def _connection(requests: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("requests", pl.DataFrame(requests).to_arrow())
    con.execute("CREATE TABLE enriched AS SELECT * FROM requests")
    con.execute("CREATE TABLE events AS SELECT * EXCLUDE (last_user) FROM requests")
    members = pl.DataFrame(
        {"account_id": ["a0", "a1", "a2", "b0"], "campaign_id": ["C-a", "C-a", "C-a", "C-b"]}
    )
    con.register("campaign_members", members.to_arrow())
    return con


def _requests(rng: random.Random, n: int, repeat: int = 1) -> list[dict[str, Any]]:
    """``n`` requests; with ``repeat``, runs of that many share a time and, per account, an
    id (one request logged several times, with different prompts)."""
    accounts = ["a0", "a1", "a2", "b0", "x9"]
    return [
        {
            "account_id": (account := rng.choice(accounts)),
            "request_id": f"{account}-{i // repeat}",
            "ts": BASE + dt.timedelta(seconds=i // repeat),
            "capability": rng.choice(["math", "code", "translation", None]),
            "cot_elicit": rng.random() < 0.5,
            "grading_request": rng.random() < 0.2,
            "language": rng.choice(["en", "de"]),
            "last_user": f"prompt {i} " + "x" * rng.randrange(400),
        }
        for i in range(n)
    ]


def test_the_same_samples_as_picking_them_from_the_enriched_requests() -> None:
    for seed in range(5):
        con = _connection(_requests(random.Random(seed), 300))
        want = con.execute(ONE_PASS).fetchall()
        got = sample_rows(con)
        assert len(got) == len(want) > SAMPLES_PER_CAMPAIGN
        assert [tuple(r.values())[3:] for r in got] == [w[3:] for w in want]
        assert [r["campaign_id"] for r in got] == [w[0] for w in want]


def test_requests_under_one_id_give_one_sample_with_the_least_prompt() -> None:
    requests = _requests(random.Random(7), 400, repeat=6)
    con = _connection(requests)
    got = sample_rows(con)
    assert len(got) == len(con.execute(ONE_PASS).fetchall()) > SAMPLES_PER_CAMPAIGN
    assert len({(r["account_id"], r["ts"]) for r in got}) < len(got)  # repeats were picked
    for row in got:
        same = [
            r["last_user"][:300]
            for r in requests
            if r["account_id"] == row["account_id"]
            and r["ts"].isoformat().replace("+00:00", "Z") == row["ts"]
        ]
        assert row["prompt"] == min(same)
