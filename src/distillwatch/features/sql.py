"""Turn the aggregate declarations into queries, for DuckDB now and other engines later.

The queries read a table or view called ``enriched`` (requests v1 + signal columns). They are
written in DuckDB's dialect and :func:`transpile` hands them to any engine SQLGlot knows
("spark", "bigquery", "snowflake", ...), so the definitions stay in one place.
"""

from __future__ import annotations

from distillwatch.features.aggregates import (
    AGGREGATES,
    EVENT_COLUMNS,
    PROFILES,
    WINDOW_COLUMNS,
    WRAPPER_MIN_BITS,
    WRAPPER_MIN_REQUESTS,
)

SOURCE = "enriched"
#: The narrow table of the columns that need other events (``prepare_events`` makes it).
WINDOWS = "event_windows"
#: Every account's number: its position among the accounts in ``account_id`` order (the
#: order :mod:`.keys` numbers them in too), in the table :data:`ACCOUNT_NUMBERS`, and as the
#: column :data:`ACCOUNT_NO` of every event. The per-account queries group by it: hashing a
#: 4-byte integer per event instead of an id string took a third off them (make demo's log).
ACCOUNT_NUMBERS = "account_numbers"
ACCOUNT_NO = "account_no"


def account_numbers_query(source: str = SOURCE) -> str:
    """``(account_id, account_no)`` of every account of ``source``, numbered from 0 in
    ``account_id`` order."""
    return (
        f"SELECT account_id, CAST(row_number() OVER (ORDER BY account_id) - 1 AS INTEGER) "
        f"AS {ACCOUNT_NO} FROM (SELECT DISTINCT account_id FROM {source})"
    )


def events_query(source: str = SOURCE) -> str:
    """One row per request with the derived columns the aggregates use."""
    derived = ",\n  ".join(f"{expr} AS {name}" for name, expr in EVENT_COLUMNS.items())
    return f"SELECT *,\n  {derived}\nFROM {source}"


def windows_query(source: str = "events") -> str:
    """The ``event_windows`` rows: per event, its account, time and :data:`WINDOW_COLUMNS`
    (only these few columns go through the windows' sorts)."""
    derived = ",\n  ".join(f"{expr} AS {name}" for name, expr in WINDOW_COLUMNS.items())
    return f"SELECT {ACCOUNT_NO}, epoch_s,\n  {derived}\nFROM {source}"


def accounts_query(
    group: str = "account_id", source: str = "events", windowed: bool = False
) -> str:
    """One ``GROUP BY`` over the events: every aggregate of one table in one pass -- the
    ``events`` table's, or with ``windowed`` those of ``event_windows`` (``source`` is then
    that table, or a view of it that carries ``group``).

    ``group`` is ``account_id`` for accounts; a campaign is judged by the same aggregates
    grouped by ``campaign_id`` over a view that carries it.
    """
    mine = [a for a in AGGREGATES if a.windowed == windowed]
    cols = ",\n  ".join(f"{a.sql} AS {a.name}" for a in mine)
    return f"SELECT {group},\n  {cols}\nFROM {source}\nGROUP BY {group}"


def profile_query(dimension: str, group: str = "account_id", source: str = "events") -> str:
    """Counts of one dimension per group (capability, language, hour of day, ...)."""
    expr = PROFILES[dimension]
    return (
        f"SELECT {group}, {expr} AS value, count(*) AS n FROM {source} "
        f"WHERE {expr} IS NOT NULL GROUP BY {group}, {expr}"
    )


def peak_rate_query(group: str = "account_id", source: str = "events") -> str:
    """The busiest clock hour of each group: rate limits are per hour, so is this."""
    return (
        f"SELECT {group}, max(n) AS peak_hour_requests FROM "
        f"(SELECT {group}, hour_bucket, count(*) AS n FROM {source} "
        f"GROUP BY {group}, hour_bucket) GROUP BY {group}"
    )


def frames_query(group: str = "account_id", source: str = "events") -> str:
    """Per group: how many instruction frames wrap unrelated tasks, and how many requests.

    Capability entropy per frame is ``ln N - (1/N) sum n_i ln n_i`` (in nats), written with
    plain aggregates so every engine can run it.
    """
    wrapper = f"n >= {WRAPPER_MIN_REQUESTS} AND nats >= {WRAPPER_MIN_BITS} * ln(2)"
    return (
        f"WITH fc AS (SELECT {group}, frame, capability, count(*) AS n FROM {source} "
        f"WHERE frame IS NOT NULL GROUP BY {group}, frame, capability), "
        f"f AS (SELECT {group}, frame, sum(n) AS n, "
        f"ln(sum(n)) - sum(n * ln(n)) / sum(n) AS nats FROM fc GROUP BY {group}, frame) "
        f"SELECT {group}, count(CASE WHEN {wrapper} THEN 1 END) AS wrapper_frames, "
        f"sum(CASE WHEN {wrapper} THEN n ELSE 0 END) AS wrapper_requests "
        f"FROM f GROUP BY {group}"
    )


def replay_query(group: str = "account_id", source: str = "events") -> str:
    """Per group: the share of requests whose prompt (LSH sketch) the account also sent to
    another model -- evaluations replay the same items against several models.

    The models per sketch are counted as the groups of a finer ``GROUP BY`` (``count(model)``
    of the ``(sketch, model)`` groups is ``count(DISTINCT model)``: a null model is no group
    it counts), not with ``count(DISTINCT ...)``, whose hash table per group cost twice the
    query (0.27 -> 0.15 CPU s on make demo's log); the counts are the same integers."""
    return (
        f"WITH q AS (SELECT {group}, lsh_0, model, count(*) AS n FROM {source} "
        f"GROUP BY {group}, lsh_0, model), "
        f"p AS (SELECT {group}, lsh_0, CAST(sum(n) AS BIGINT) AS n, count(model) AS models "
        f"FROM q GROUP BY {group}, lsh_0) "
        f"SELECT {group}, sum(CASE WHEN models >= 2 THEN n ELSE 0 END) * 1.0 / sum(n) "
        f"AS replayed_share FROM p GROUP BY {group}"
    )


#: A /24 prefix counts in ``prefix_recurrence`` once this many UTC days separate the day it
#: was first seen from the group's last active day: one whole later day has passed in which
#: it could have come back. With one (a later day merely begun) a phone user's second morning
#: read as 0 recurrence for hours -- every prefix of yesterday not yet seen again -- and the
#: online engine throttled honest users as a proxy pool (heldout draw 51).
RECURRENCE_WAIT_DAYS = 2


def recurrence_query(
    group: str = "account_id",
    source: str = "events",
    member: str | None = None,
    day: str = "date_trunc('day', ts)",
) -> str:
    """Per group: of its /24 prefixes that have had a whole later day to come back (see
    :data:`RECURRENCE_WAIT_DAYS`), the share seen again on a later day (null when none had the
    chance). A residential proxy pool hands out a fresh exit per session, so its prefixes do
    not come back; an office, a phone carrier or a cloud egress pool reuses the same ones
    every day. Prefixes of the last two days are left out: nothing could have told yet -- the
    online engine on an account's first two days sees only such.

    ``member``: for a group of accounts (a linked component), a prefix comes back only to the
    *same* member; the chance is the group's (its last day), as a hydra's actor goes on
    through other accounts. Pooled, one proxy pool's exits handed to two accounts of a hydra
    on different days read as "came back" -- a big pool's /24s are drawn again across forty
    accounts -- and hid a group whose every member hops through fresh exits (tune draw 0:
    0.50 pooled, 0.0 member by member).

    ``day``: the UTC day of a request (the ``events`` table has it as a column, ``day``:
    computed there once instead of three times here, 0.2 CPU s on make demo's log)."""
    keys = group if member is None or member == group else f"{group}, {member}"
    eligible = f"p.first_day + INTERVAL {RECURRENCE_WAIT_DAYS} DAY <= l.last_day"
    return (
        f"WITH p AS (SELECT {keys}, ip24, min({day}) AS first_day, "
        f"count(DISTINCT {day}) AS days FROM {source} WHERE ip24 IS NOT NULL "
        f"GROUP BY {keys}, ip24), "
        f"l AS (SELECT {group}, max({day}) AS last_day FROM {source} GROUP BY {group}) "
        f"SELECT p.{group}, sum(CASE WHEN {eligible} AND p.days >= 2 THEN 1.0 ELSE 0.0 END) "
        f"/ nullif(sum(CASE WHEN {eligible} THEN 1.0 ELSE 0.0 END), 0) AS prefix_recurrence "
        f"FROM p JOIN l ON p.{group} = l.{group} GROUP BY p.{group}"
    )


def transpile(sql: str, dialect: str) -> str:
    """The same query in another engine's dialect (e.g. ``"spark"``). SQLGlot is imported
    here, when asked: a DuckDB scan never needs it (0.07 CPU s to import)."""
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write=dialect)[0]
