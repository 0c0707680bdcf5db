"""``replay``: the online engine and the enforcement policy over logs, in timestamp order.

What a provider runs to ask "had the gateway been on last week, whom would it have stopped,
when, and how much did each campaign get answered first?". The logs are read and enriched
once, exactly as ``scan`` does; the requests are then fed one at a time in
``(ts, request_id)`` order to :class:`~distillwatch.online.engine.OnlineEngine` and the
same :class:`~distillwatch.enforce.enforcer.Enforcer` the gateway uses (with the in-memory
store and the record's timestamp as the clock). Writes ``DIR/decisions.jsonl`` -- one line
per change of an account's action (the contract of ``DESIGN.md``) -- and
``DIR/replay-accounts.jsonl`` with what each account got answered and refused.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from distillwatch.enforce.assessment import Assessment
from distillwatch.enforce.decision import Decision
from distillwatch.enforce.enforcer import Enforcer
from distillwatch.enforce.policy import Policy, load_policy
from distillwatch.enforce.store import MemoryStore
from distillwatch.ingest import Dialect, IngestSummary
from distillwatch.ingest.stream import ProgressCallback
from distillwatch.online.engine import OnlineEngine
from distillwatch.scan.enrich import enrich_into

REPLAY_VERSION = "1"
#: Columns the engine reads: prompt text only for the instruction frame, never the response.
_COLUMNS = (
    "ts, account_id, request_id, org_id, ip, asn, country, user_agent, email_domain, "
    "account_created, "
    "payment_fingerprint, "
    "model, system_prompt, last_user, n_user_turns, n_tool_results, n_tools, temperature, "
    "max_tokens, n, logprobs, top_logprobs, capability, cot_elicit, grading_request, "
    "sensitive_rewrite, language, template_id, lsh_0"
)


@dataclass
class Tally:
    requests: int = 0
    refused: int = 0
    first_refused: str | None = None
    actions: dict[str, int] = field(default_factory=dict)
    #: The highest online score the account reached (what ``calibrate`` sets thresholds on).
    max_score: float = 0.0
    max_cluster_score: float = 0.0


@dataclass(frozen=True)
class ReplayResult:
    out_dir: Path
    ingest: IngestSummary
    decisions: int
    accounts: dict[str, Tally]
    seconds: float

    @property
    def refused(self) -> int:
        return sum(t.refused for t in self.accounts.values())


def ordered_rows(enriched: Path, batch_rows: int = 8192) -> Iterator[dict[str, Any]]:
    """Every enriched request in ``(ts, request_id)`` order, streamed (DuckDB sorts, spilling
    to disk when the log is larger than memory)."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        reader = con.sql(
            f"SELECT {_COLUMNS} FROM read_parquet('{enriched}') ORDER BY ts, request_id"
        ).to_arrow_reader(batch_rows)
        for batch in reader:
            yield from pa.Table.from_batches([batch]).to_pylist()
    finally:
        con.close()


class _PeakScores:
    """The engine, remembering each account's highest score while it had distinctive
    evidence: the policy's score rules act on such scores at thresholds, so the peak says at
    which thresholds the account would have been actioned (``calibrate --replay``), whatever
    the replayed policy was."""

    def __init__(self, engine: OnlineEngine) -> None:
        self.engine = engine
        self.peaks: dict[str, tuple[float, float]] = {}

    def assess(self, record: Mapping[str, Any]) -> Assessment:
        found = self.engine.assess(record)
        if found.distinctive:  # score rules act on nothing else (Assessment.distinctive)
            score, cluster = self.peaks.get(found.account_id, (0.0, 0.0))
            peak = (max(score, found.score), max(cluster, found.cluster_score))
            self.peaks[found.account_id] = peak
        return found


async def _drive(
    rows: Iterable[Mapping[str, Any]], enforcer: Enforcer, clock: list[float]
) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    for row in rows:
        clock[0] = row["ts"].timestamp()
        decision = await enforcer.check(row)
        tally = tallies.get(row["account_id"])
        if tally is None:
            tally = tallies[row["account_id"]] = Tally()
        tally.requests += 1
        action = decision.action.value
        tally.actions[action] = tally.actions.get(action, 0) + 1
        if not decision.allowed:
            tally.refused += 1
            if tally.first_refused is None:
                tally.first_refused = _iso(row["ts"])
    return tallies


def replay_rows(
    rows: Iterable[Mapping[str, Any]],
    on_decision: Callable[[dict[str, Any]], None],
    policy_path: Path | None = None,
    learned: bool = True,
    policy: Policy | None = None,
) -> dict[str, Tally]:
    """Run engine + policy over enriched rows already in time order; the core of ``replay``
    (and of the prefix-consistency test)."""
    clock = [0.0]
    engine = _PeakScores(OnlineEngine(learned=learned))

    def changed(decision: Decision, record: Mapping[str, Any]) -> None:
        on_decision(decision.to_record(_iso(record["ts"]), str(record["request_id"])))

    enforcer = Enforcer(
        policy if policy is not None else load_policy(policy_path),
        engine,
        MemoryStore(),
        on_change=changed,
        clock=lambda: clock[0],
        strict=True,  # an engine error must stop a replay, not be decided around
    )
    tallies = asyncio.run(_drive(rows, enforcer, clock))
    for account_id, (score, cluster) in engine.peaks.items():
        if account_id in tallies:
            tallies[account_id].max_score = round(score, 4)
            tallies[account_id].max_cluster_score = round(cluster, 4)
    return tallies


def run_replay(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: Path,
    *,
    policy_path: Path | None = None,
    strict: bool = False,
    learned: bool = True,
    on_progress: ProgressCallback | None = None,
    keep_work: bool = False,
    policy: Policy | None = None,
    dialect: Dialect | None = None,
    query: str | None = None,
) -> ReplayResult:
    """``policy``, when given, is used instead of reading ``policy_path`` (a policy with
    calibrated thresholds); ``dialect``/``query`` say how to read foreign logs."""
    started = time.perf_counter()
    paths = list(paths)
    policy = policy if policy is not None else load_policy(policy_path)  # fails early
    enriched, summary = enrich_into(
        paths, out_dir, strict=strict, on_progress=on_progress, dialect=dialect, query=query
    )
    work = enriched.parent
    try:
        count, tallies = replay_enriched(enriched, out_dir, policy_path, learned, policy)
    finally:
        if not keep_work:
            shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - started
    _write_outputs(out_dir, paths, summary, tallies, count, seconds, policy)
    return ReplayResult(out_dir, summary, count, tallies, seconds)


def replay_enriched(
    enriched: Path,
    out_dir: Path,
    policy_path: Path | None = None,
    learned: bool = True,
    policy: Policy | None = None,
) -> tuple[int, dict[str, Tally]]:
    """Replay an enriched file (as ``scan --keep-work`` leaves it) into ``out_dir``:
    ``decisions.jsonl`` and ``replay-accounts.jsonl``. Returns the number of decisions and
    the per-account tallies."""
    out_dir.mkdir(parents=True, exist_ok=True)
    count = 0
    with (out_dir / "decisions.jsonl").open("wb") as out:

        def write(line: dict[str, Any]) -> None:
            nonlocal count
            count += 1
            out.write(orjson.dumps(line) + b"\n")

        tallies = replay_rows(ordered_rows(enriched), write, policy_path, learned, policy)
    _write_tallies(out_dir, tallies)
    return count, tallies


def _write_tallies(out_dir: Path, tallies: dict[str, Tally]) -> None:
    with (out_dir / "replay-accounts.jsonl").open("wb") as fh:
        for account_id in sorted(tallies):
            t = tallies[account_id]
            line = {"account_id": account_id, "requests": t.requests, "refused": t.refused,
                    "answered": t.requests - t.refused, "first_refused": t.first_refused,
                    "actions": t.actions, "max_score": t.max_score,
                    "max_cluster_score": t.max_cluster_score}  # fmt: skip
            fh.write(orjson.dumps(line) + b"\n")


def _write_outputs(
    out_dir: Path,
    paths: list[str | os.PathLike[str]],
    summary: IngestSummary,
    tallies: dict[str, Tally],
    decisions: int,
    seconds: float,
    policy: Policy,
) -> None:
    doc = {
        "replay_version": REPLAY_VERSION,
        "inputs": [str(p) for p in paths],
        "policy": policy.source,
        "records": summary.records,
        "quarantined": dict(summary.quarantined),
        "accounts": len(tallies),
        "decisions": decisions,
        "refused": sum(t.refused for t in tallies.values()),
        "seconds": round(seconds, 3),
        "requests_per_second": round(summary.records / seconds, 1) if seconds else None,
    }
    (out_dir / "summary.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))


def _iso(value: Any) -> str:
    text: str = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text.replace("+00:00", "Z")
