"""Per-account aggregates, declared once as portable SQL expressions.

Each aggregate is data: a name, one SQL expression over the ``events`` view (requests v1 plus
the signal columns plus a few derived columns, see :data:`EVENT_COLUMNS`), and a sentence
saying why it separates distillation from honest use. :mod:`distillwatch.features.sql` puts
them into one ``GROUP BY account_id`` query and can hand it to another engine through SQLGlot,
so a Spark or warehouse back end is an adapter, not a rewrite.

Only functions that SQLGlot translates between DuckDB and Spark are used here (``count``,
``sum``, ``avg``, ``stddev_samp``, ``min``, ``max``, ``count(DISTINCT ...)``, ``CASE``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Aggregate:
    """One per-account aggregate: ``sql`` is evaluated per ``account_id`` group; over the
    ``events`` table, or -- ``windowed`` -- over the narrow ``event_windows`` table of the
    columns that need other rows (:data:`WINDOW_COLUMNS`)."""

    name: str
    sql: str
    why: str
    windowed: bool = False


def _share(condition: str) -> str:
    return f"avg(CASE WHEN {condition} THEN 1.0 ELSE 0.0 END)"


#: Derived per-event columns, computed before grouping (see ``sql.events_query``).
EVENT_COLUMNS: dict[str, str] = {
    "epoch_s": "epoch(ts)",
    "hour_bucket": "date_trunc('hour', ts)",
    "day": "date_trunc('day', ts)",
    "hour_of_day": "hour(ts)",
    "ip24": (
        "CASE WHEN ip LIKE '%.%' THEN regexp_extract(ip, '^(\\d+\\.\\d+\\.\\d+)\\.', 1) "
        "WHEN ip LIKE '%:%' "
        "THEN regexp_extract(ip, '^([0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F]*)', 1) "
        "ELSE NULL END"
    ),
}

#: Derived per-event columns that read other events (windows). They sit in a table of their
#: own, ``event_windows`` (``account_no``, ``epoch_s`` and these, one row per event; see
#: ``sql.windows_query``), read by the ``windowed`` aggregates: a window sorts and moves every
#: column of its input, and over the whole ``events`` table the two took 1.1 of
#: ``prepare_events``' 2.3 CPU s on make demo's log, over these four columns a fraction.
#: ``gap_s`` orders by time alone: requests at the same time follow one another in some order,
#: and whichever it is, each gap is the same (the earlier one's time is the same time), so an
#: account's gaps are the same values -- where a tie broken by ``request_id`` sorted a string
#: per event (0.43 -> 0.28 CPU s for the table on make demo's log). Only aggregates over an
#: account's whole set of gaps read them. An account's events are those of its number
#: (``sql.ACCOUNT_NO``, one per ``account_id``).
WINDOW_COLUMNS: dict[str, str] = {
    "gap_s": "epoch(ts) - lag(epoch(ts)) OVER (PARTITION BY account_no ORDER BY ts)",
    "model_first_seen": "min(ts) OVER (PARTITION BY model)",
}

#: A request's instruction frame: its first four words, lower-cased. Harvesters put a dataset
#: of unrelated tasks behind a handful of fixed frames ("Answer in Italian:", "Explain your
#: reasoning step by step:"); an honest app's frame serves one task. See ``FRAMES``.
FRAME_WORDS = 4

#: Frames count as *wrappers* when they carry at least this many prompts of an account ...
WRAPPER_MIN_REQUESTS = 10
#: ... spread over at least this many bits of capability entropy (unrelated tasks).
WRAPPER_MIN_BITS = 1.5

AGGREGATES: tuple[Aggregate, ...] = (
    Aggregate("requests", "count(*)", "volume: bulk harvesters are heavy"),
    Aggregate("first_ts", "min(ts)", "when the account started"),
    Aggregate("last_ts", "max(ts)", "when the account stopped"),
    Aggregate(
        "span_hours",
        "(max(epoch_s) - min(epoch_s)) / 3600.0",
        "a hydra account lives briefly; a customer stays",
    ),
    Aggregate("active_hours", "count(DISTINCT hour_bucket)", "hours with any traffic"),
    Aggregate("active_hours_of_day", "count(DISTINCT hour_of_day)", "people sleep; scripts do not"),
    Aggregate("gap_median_s", "median(gap_s)", "typical pause between requests", windowed=True),
    Aggregate("gap_mean_s", "avg(gap_s)", "mean pause between requests", windowed=True),
    Aggregate(
        "gap_cv",
        "stddev_samp(gap_s) / nullif(avg(gap_s), 0)",
        "scripts fire at regular intervals; people are irregular",
        windowed=True,
    ),
    Aggregate(
        "fast_gap_share", _share("gap_s < 2.0"), "requests under two seconds apart", windowed=True
    ),
    Aggregate("capabilities", "count(DISTINCT capability)", "how many capability areas"),
    Aggregate("languages", "count(DISTINCT language)", "multilingual sweeps ask many languages"),
    Aggregate("templates", "count(DISTINCT template_id)", "distinct prompt skeletons"),
    Aggregate("sketches", "count(DISTINCT lsh_0)", "distinct near-duplicate groups"),
    Aggregate("cot_share", _share("cot_elicit"), "chain-of-thought elicitation"),
    Aggregate("grading_share", _share("grading_request"), "reward-signal harvesting"),
    Aggregate("sensitive_share", _share("sensitive_rewrite"), "censorship-rewrite harvesting"),
    Aggregate(
        "logprob_share",
        _share("coalesce(logprobs, false) OR coalesce(top_logprobs, 0) > 0"),
        "asks for token probabilities",
    ),
    Aggregate("top_logprobs_max", "max(coalesce(top_logprobs, 0))", "how many alternatives"),
    Aggregate(
        "tiny_max_tokens_share",
        _share("max_tokens IS NOT NULL AND max_tokens <= 2"),
        "one-token answers: only the distribution is wanted",
    ),
    Aggregate("multi_n_share", _share("coalesce(n, 1) > 1"), "several samples per prompt"),
    Aggregate("temp0_share", _share("temperature = 0"), "deterministic decoding"),
    Aggregate(
        "output_input_ratio",
        "sum(coalesce(output_tokens, 0) + coalesce(reasoning_tokens, 0)) "
        "/ nullif(sum(coalesce(input_tokens, 0)), 0)",
        "harvesters want long answers to short prompts",
    ),
    Aggregate("output_tokens_mean", "avg(output_tokens)", "answer length"),
    Aggregate("prompt_chars_mean", "avg(prompt_chars)", "prompt length"),
    Aggregate("messages_mean", "avg(n_messages)", "conversation depth"),
    Aggregate("multi_turn_share", _share("n_user_turns > 1"), "people hold conversations"),
    Aggregate("tools_share", _share("n_tools > 0"), "tool definitions present"),
    Aggregate("tool_results_mean", "avg(n_tool_results)", "agent loops carry tool results"),
    Aggregate("system_prompts", "count(DISTINCT system_prompt)", "distinct system prompts"),
    Aggregate(
        "system_share",
        _share("system_prompt IS NOT NULL"),
        "products set a system prompt; a harvest script rarely does",
    ),
    Aggregate("models", "count(DISTINCT model)", "models used"),
    Aggregate(
        "account_age_days",
        "(min(epoch_s) - epoch(min(account_created))) / 86400.0",
        "fresh accounts at the first request",
    ),
    Aggregate(
        "new_model_share",
        _share(
            "epoch_s - epoch(model_first_seen) < 172800 "
            "AND model_first_seen > (SELECT min(ts) FROM events) + INTERVAL 1 DAY"
        ),
        "traffic on a model in its first two days after release",
        windowed=True,
    ),
    Aggregate("ips", "count(DISTINCT ip)", "addresses used"),
    Aggregate("ip24s", "count(DISTINCT ip24)", "network prefixes used"),
    Aggregate("asns", "count(DISTINCT asn)", "networks used"),
    Aggregate("user_agents", "count(DISTINCT user_agent)", "clients used"),
    Aggregate("countries", "count(DISTINCT country)", "countries used"),
    Aggregate("error_share", _share("status >= 400"), "refused or failed requests"),
    Aggregate("payment_fingerprint", "min(payment_fingerprint)", "for linking"),
    Aggregate("email_domain", "min(email_domain)", "for linking"),
    Aggregate("org_id", "min(org_id)", "for linking"),
)

#: Dimensions whose per-account distributions we need (coverage and entropy); each becomes
#: one small ``GROUP BY account_id, <dimension>`` query.
PROFILES: dict[str, str] = {
    "capability": "capability",
    "language": "language",
    "hour_of_day": "hour_of_day",
}
