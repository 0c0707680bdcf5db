"""Per-account (and per-campaign) behaviour over time, computed by a SQL engine.

:func:`prepare_events` builds the ``events`` work table from a table or view named
``enriched`` (requests v1 plus the signal columns); :func:`group_features` then returns one
row per account -- or per campaign, over a view that carries ``campaign_id`` -- with every
aggregate of :mod:`distillwatch.features.aggregates`, the peak hourly rate and the
entropy/top share of the capability, language and hour-of-day profiles.
"""

from __future__ import annotations

import duckdb
import polars as pl

from distillwatch.features.aggregates import AGGREGATES, FRAME_WORDS, PROFILES, Aggregate
from distillwatch.features.keys import keys_query
from distillwatch.features.sql import (
    ACCOUNT_NO,
    ACCOUNT_NUMBERS,
    WINDOWS,
    account_numbers_query,
    accounts_query,
    events_query,
    frames_query,
    peak_rate_query,
    profile_query,
    recurrence_query,
    replay_query,
    windows_query,
)

__all__ = [
    "AGGREGATES",
    "Aggregate",
    "capability_shares",
    "group_features",
    "link_keys",
    "prepare_events",
]

#: A request's frame (:data:`FRAME_WORDS` words, ``aggregates``), by its definition: split
#: the whole trimmed prompt on spaces, keep the first words, join them again.
_FRAME_DEFINITION = (
    f"hash(lower(array_to_string(list_slice(string_split(trim(last_user), ' '), 1, "
    f"{FRAME_WORDS}), ' ')))"
)
#: The same words cut out by one anchored regex that stops after them (``P``).
_FRAME_PREFIX = f"regexp_extract(ltrim(last_user), '^[^ ]*(?: [^ ]*){{0,{FRAME_WORDS - 1}}}')"
#: The frame as computed: the definition splits every word of a long prompt into a list (most
#: of ``prepare_events``' CPU, measured); ``P``, the text before the left-trimmed prompt's
#: ``FRAME_WORDS``-th space, is the same words unless the right trim of the definition would
#: have removed characters at the end of ``P`` (a prompt of fewer words ending in spaces):
#: then ``P`` ends in a character ``rtrim`` removes (the engine's own set: DuckDB's includes
#: Unicode spaces). On those rows (3% of make demo's) the definition's words are still ``P``
#: when the trimmed prompt goes on past ``P`` (what follows ``P`` is a space, then more), and
#: ``rtrim(P)`` when it does not (the trim took the end of ``P``; what is left has no more
#: words than ``P``): one comparison of lengths, where splitting the whole prompt cost 0.16
#: CPU s. Null prompts take the definition (its hash of a null is not null).
#: ``tests/test_features.py`` holds the two equal on adversarial texts; the scan outputs
#: are byte-identical.
FRAME_SQL = (
    f"CASE WHEN rtrim({_FRAME_PREFIX}) = {_FRAME_PREFIX} THEN hash(lower({_FRAME_PREFIX})) "
    f"WHEN last_user IS NULL THEN {_FRAME_DEFINITION} "
    f"WHEN length(trim(last_user)) >= length({_FRAME_PREFIX}) THEN hash(lower({_FRAME_PREFIX})) "
    f"ELSE hash(lower(rtrim({_FRAME_PREFIX}))) END"
)

#: Columns of ``enriched`` that the aggregates need; prompt text stays out of the work table.
_EVENT_INPUTS = (
    "ts, account_id, request_id, ip, user_agent, country, asn, account_created, "
    "payment_fingerprint, email_domain, org_id, model, "
    # hash(NULL) is not NULL in DuckDB: keep "no system prompt" apart
    "CASE WHEN system_prompt IS NULL THEN NULL ELSE hash(system_prompt) END AS system_prompt, "
    "n_messages, n_user_turns, n_tool_results, n_tools, temperature, max_tokens, n, logprobs, "
    "top_logprobs, input_tokens, output_tokens, reasoning_tokens, status, capability, "
    "cot_elicit, grading_request, sensitive_rewrite, language, template_id, lsh_0, prompt_chars, "
    f"{FRAME_SQL} AS frame"
)


def prepare_events(con: duckdb.DuckDBPyConnection, source: str = "enriched") -> None:
    """Materialise the ``events`` table (one row per request, derived columns added), the
    narrow ``event_windows`` table beside it (the columns that read other events) and the
    accounts' numbers (``account_numbers``; each event carries its account's)."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {ACCOUNT_NUMBERS} AS {account_numbers_query(source)}"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW events_in AS SELECT {_EVENT_INPUTS}, n.{ACCOUNT_NO} "
        f"FROM {source} LEFT JOIN {ACCOUNT_NUMBERS} n USING (account_id)"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE events AS {events_query('events_in')}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {WINDOWS} AS {windows_query('events')}")


def _profile(
    con: duckdb.DuckDBPyConnection, dimension: str, group: str, source: str
) -> pl.DataFrame:
    rows = con.sql(profile_query(dimension, group, source)).pl()
    share = pl.col("n") / pl.col("n").sum()
    return rows.group_by(group).agg(
        (-(share * share.log(2)).sum()).alias(f"{dimension}_entropy"),
        share.max().alias(f"{dimension}_top_share"),
    )


def group_features(
    con: duckdb.DuckDBPyConnection,
    group: str = "account_id",
    source: str = "events",
    windows: str = WINDOWS,
) -> pl.DataFrame:
    """Every feature, one row per ``group`` value, sorted by it. ``windows``: the
    ``event_windows`` rows of the same events (a view carrying ``group`` when it is not
    ``account_id``). Accounts are grouped by their numbers (``account_no``), named after."""
    key = ACCOUNT_NO if group == "account_id" else group
    frame = con.sql(accounts_query(key, source)).pl()
    windowed = con.sql(accounts_query(key, windows, windowed=True)).pl()
    # the aggregates in their declared order, as one query once gave them
    frame = frame.join(windowed, on=key, how="left").select(key, *(a.name for a in AGGREGATES))
    frame = frame.join(con.sql(peak_rate_query(key, source)).pl(), on=key, how="left")
    frame = frame.join(con.sql(frames_query(key, source)).pl(), on=key, how="left")
    frame = frame.join(con.sql(replay_query(key, source)).pl(), on=key, how="left")
    # a group's prefixes come back to the same account, or not at all (``recurrence_query``)
    recurrence = recurrence_query(key, source, member=ACCOUNT_NO, day="day")
    frame = frame.join(con.sql(recurrence).pl(), on=key, how="left")
    frame = frame.with_columns(
        pl.col("wrapper_frames", "wrapper_requests", "replayed_share").fill_null(0)
    )
    for dimension in PROFILES:
        frame = frame.join(_profile(con, dimension, key, source), on=key, how="left")
    if key != group:
        names = con.sql(f"SELECT {ACCOUNT_NO}, account_id FROM {ACCOUNT_NUMBERS}").pl()
        frame = frame.join(names, on=key, how="left").select(group, pl.exclude(group, key))
    return frame.sort(group)


def capability_shares(
    con: duckdb.DuckDBPyConnection, group: str = "campaign_id", source: str = "events"
) -> dict[str, dict[str, float]]:
    """Share of requests per capability area, per group: a campaign's coverage profile."""
    rows = con.sql(profile_query("capability", group, source)).pl()
    out: dict[str, dict[str, float]] = {}
    for key, value, n in rows.iter_rows():
        out.setdefault(str(key), {})[str(value)] = float(n)
    for shares in out.values():
        total = sum(shares.values())
        for area in shares:
            shares[area] = round(shares[area] / total, 4)
    return out


def link_keys(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``(account_id, kind, value)`` for every value shared by two accounts or more."""
    return con.sql(keys_query()).pl()
