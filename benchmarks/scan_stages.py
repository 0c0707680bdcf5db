"""Where ``scan`` spends its CPU: every stage timed alone, in one process, on one log.

    .venv/bin/python benchmarks/scan_stages.py --log PATH [--rows N] [--json F]
    .venv/bin/python benchmarks/scan_stages.py --log PATH [--rows N] --native-ab ROUNDS

Run by ``bench_scan.py --runs stages`` (and usable alone). Unlike the end-to-end run, every
stage here runs in this one process, one after the other, so each figure is that stage's own
CPU time (``time.process_time``) with no worker processes to add up, and the resident set
after each stage is read from ``/proc/self/status`` (``VmHWM`` is reset between stages
where the kernel allows it):

* ``parse floor``: decompress + split + ``orjson.loads`` of every line, nothing kept;
* ``decode``: ingest's ``process_chunk`` on the same chunks (parse + check + flatten to Arrow);
* ``signals``: :func:`distillwatch.signals.compute` on those batches with a memo, as scan's
  workers run it, and each signal's ``per_prompt`` + ``per_row`` on its own (no memo);
* ``write``: the enriched Parquet file;
* ``prepare``, ``group features``, ``link keys``, ``linking``, ``pooled features``,
  ``scoring``, ``outputs``: the steps of ``scan.detect_enriched`` one by one.

``--native-ab ROUNDS`` instead compares the compiled modules (``distillwatch._native``) with
the Python code they replace: decode and signals, both ways in this one process, round by
round, outputs required equal. ``DISTILLWATCH_NATIVE=0`` runs the whole profile on the
Python code.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def _peak_mb() -> float:
    """Peak resident set of this process so far (``VmHWM``), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1e3
    return 0.0


def _reset_peak() -> None:
    """Start ``VmHWM`` again from the current RSS (Linux 4.0+; ignored where refused)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass


class Stages:
    """CPU seconds, wall seconds and peak RSS of named stages, in the order they ran."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def run(self, name: str, fn: Callable[[], T]) -> T:
        _reset_peak()
        cpu, wall = time.process_time(), time.perf_counter()
        result = fn()
        self.rows.append(
            {
                "stage": name,
                "cpu_s": time.process_time() - cpu,
                "wall_s": time.perf_counter() - wall,
                "peak_rss_mb": _peak_mb(),
            }
        )
        return result


def _chunks(log: str, chunk_bytes: int, rows: int | None) -> list[Any]:
    from distillwatch.ingest.readers import read_chunks
    from distillwatch.ingest.sources import discover

    out: list[Any] = []
    lines = 0
    for source in discover([log])[0]:
        for positioned in read_chunks(source, chunk_bytes=chunk_bytes):
            out.append(positioned.chunk)
            lines += positioned.chunk.data.count(b"\n")
            if rows is not None and lines >= rows:
                return out
    return out


def profile(log: str, rows: int | None = None, detect: bool = True) -> dict[str, Any]:
    """Every stage's figures on ``log`` (its first ``rows`` lines or so, if given); without
    ``detect``, only reading, decoding, signals and writing (older checkouts run that far)."""
    import gc

    import orjson
    import pyarrow as pa
    import pyarrow.parquet as pq

    from distillwatch import signals
    from distillwatch.ingest.batches import process_chunk
    from distillwatch.scan.enrich import CHUNK_BYTES, ENRICHED_SCHEMA

    stages = Stages()
    reading = f"read + decompress ({CHUNK_BYTES >> 20} MB chunks)"
    chunks = stages.run(reading, lambda: _chunks(log, CHUNK_BYTES, rows))

    def floor(chunks: list[Any]) -> int:
        loads, count = orjson.loads, 0
        for chunk in chunks:
            for line in chunk.data.splitlines():
                if line.strip():
                    loads(line)
                    count += 1
        return count

    records = stages.run("parse floor (orjson.loads per line)", lambda: floor(chunks))
    batches = stages.run(
        "decode (ingest: parse + check + flatten)",
        lambda: [process_chunk(chunk).batch for chunk in chunks],
    )
    chunks.clear()
    gc.collect()
    memo = signals.PromptMemo()
    derived = stages.run(
        "signals (all, with memo, as scan)",
        lambda: [signals.compute(b, memo) for b in batches],
    )

    def parts() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for start in range(0, batch.num_rows, signals.CHUNK_ROWS):
                yield batch.slice(start, signals.CHUNK_ROWS)

    one_pass = getattr(signals, "pattern_set", None)  # absent in older checkouts

    def view_of(part: pa.RecordBatch) -> signals.PromptView:
        view = signals.PromptView.of(part)
        return view if one_pass is None else view.use_patterns(one_pass())

    for sig in signals.SIGNALS:

        def one(sig: signals.RequestSignal = sig) -> None:
            for part in parts():
                sig.compute(part, view_of(part))

        stages.run(f"· {sig.name} alone (no memo)", one)

    def views() -> None:
        for part in parts():
            signals.PromptView.of(part).tokens  # noqa: B018 - lower-casing and tokens

    stages.run("· view + lower + tokens (shared, counted in each line above)", views)
    if one_pass is not None:

        def scans() -> None:
            for part in parts():
                one_pass().scan(signals.PromptView.of(part).lowered)

        stages.run(
            "· one-pass pattern scan (in each of cot, grading, sensitive, capability)", scans
        )
    with tempfile.TemporaryDirectory() as tmp:
        enriched = Path(tmp) / "enriched.parquet"

        def write() -> None:
            with pq.ParquetWriter(enriched, ENRICHED_SCHEMA, compression="zstd") as writer:
                for batch, extra in zip(batches, derived, strict=True):
                    cols = batch.columns + extra.columns
                    writer.write_batch(pa.RecordBatch.from_arrays(cols, schema=ENRICHED_SCHEMA))

        stages.run("write enriched Parquet", write)
        batches.clear()
        derived.clear()
        gc.collect()
        verdicts = _detect(stages, enriched, Path(tmp) / "out", log) if detect else []
    return {"records": records, "flagged": sum(v.flagged for v in verdicts), "stages": stages.rows}


def _detect(stages: Stages, enriched: Path, out_dir: Path, log: str) -> list[Any]:
    """``scan.detect_enriched``, step by step (kept in step with it by hand)."""
    from distillwatch.detect.link import LinkConfig, link_accounts
    from distillwatch.detect.newcomers import with_newcomer_agents
    from distillwatch.detect.score import DEFAULT_THRESHOLD, score, with_component_size
    from distillwatch.features import group_features, prepare_events
    from distillwatch.features.keys import link_key_ids
    from distillwatch.ingest import IngestSummary
    from distillwatch.scan import cluster_features, connect
    from distillwatch.scan.outputs import write_outputs

    out_dir.mkdir(parents=True)
    con = connect(spill_dir=enriched.parent / "spill")
    con.execute(f"CREATE VIEW enriched AS SELECT * FROM read_parquet('{enriched}')")
    stages.run("prepare events (DuckDB)", lambda: prepare_events(con))
    accounts = stages.run("group features, accounts (DuckDB)", lambda: group_features(con))
    keys = stages.run("link keys (DuckDB)", lambda: link_key_ids(con))
    config = LinkConfig()
    keys = stages.run(
        "newcomer agents (detect.newcomers)",
        lambda: with_newcomer_agents(keys, accounts, config.cap(accounts.height)),
    )
    links = stages.run(
        "linking (detect.link)",
        lambda: link_accounts(accounts["account_id"].to_list(), keys, config),
    )
    accounts = with_component_size(accounts, links)

    pooled_features = stages.run(
        "group features, clusters (DuckDB)", lambda: cluster_features(con, links, accounts)
    )
    verdicts, campaigns = stages.run(
        "scoring (checks + learned scorer)",
        lambda: score(accounts, links, pooled_features, DEFAULT_THRESHOLD),
    )
    summary = IngestSummary()
    stages.run(
        "outputs (files + report)",
        lambda: write_outputs(
            con,
            out_dir,
            [log],
            summary,
            accounts,
            verdicts,
            campaigns,
            DEFAULT_THRESHOLD,
            0.0,
            links=links,
        ),
    )
    con.close()
    return list(verdicts)


def table(figures: dict[str, Any]) -> str:
    """The Markdown table of one profile: per stage µs of CPU per request and ratio to floor."""
    n = figures["records"]
    rows = figures["stages"]
    floor = next(r["cpu_s"] for r in rows if r["stage"].startswith("parse floor"))
    lines = [
        f"{n:,} requests, one process; CPU time per stage (`time.process_time`).",
        "",
        "| stage | CPU s | µs per request | × parse floor | peak RSS (MB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['stage']} | {r['cpu_s']:.1f} | {r['cpu_s'] / n * 1e6:.1f} "
            f"| {r['cpu_s'] / floor:.2f} | {r['peak_rss_mb']:,.0f} |"
        )
    return "\n".join(lines)


def native_ab(log: str, rows: int | None, rounds: int = 3) -> list[dict[str, Any]]:
    """The compiled modules (``distillwatch._native``) against the Python/NumPy code they
    replace, on the same batches in this one process, interleaved round by round so both
    see the same machine: decode (``process_chunk``), signals without a memo, and signals
    with one (as scan runs them). Every round's outputs are compared: they must be equal."""
    import gc

    from distillwatch import signals
    from distillwatch.ingest import fast
    from distillwatch.ingest.batches import process_chunk
    from distillwatch.scan.enrich import CHUNK_BYTES
    from distillwatch.signals import template, text

    chunks = _chunks(log, CHUNK_BYTES, rows)
    modules = {
        "native": (fast._NATIVE, text._NATIVE, template._NATIVE),
        "python": (None, None, None),
    }
    if None in modules["native"]:
        raise SystemExit("distillwatch._native is not built: pip install -e .")
    batches = [process_chunk(chunk).batch for chunk in chunks]
    n = sum(batch.num_rows for batch in batches)
    steps: dict[str, Callable[[], list[Any]]] = {
        "decode": lambda: [process_chunk(chunk).batch for chunk in chunks],
        "signals, no memo": lambda: [signals.compute(batch) for batch in batches],
        "signals, with memo": lambda: [
            signals.compute(batch, memo) for memo in [signals.PromptMemo()] for batch in batches
        ],
    }
    figures: list[dict[str, Any]] = []
    for step, run in steps.items():
        for round_ in range(rounds):
            outputs = {}
            for name, (columns, tokens, masks) in modules.items():
                fast._NATIVE, text._NATIVE, template._NATIVE = columns, tokens, masks
                gc.collect()
                cpu = time.process_time()
                outputs[name] = run()
                us = (time.process_time() - cpu) / n * 1e6
                figures.append({"step": step, "code": name, "round": round_, "us": us})
            fast._NATIVE, text._NATIVE, template._NATIVE = modules["native"]
            pairs = zip(outputs["native"], outputs["python"], strict=True)
            if not all(a.equals(b) for a, b in pairs):
                raise SystemExit(f"{step}: the compiled and Python outputs differ")
    return [{"records": n}, *figures]


def ab_table(figures: list[dict[str, Any]]) -> str:
    """Markdown: per step, µs of CPU per request of each round, Python then compiled."""
    n = figures[0]["records"]
    lines = [
        f"{n:,} requests, one process, rounds interleaved (Python, then compiled, each round).",
        "",
        "| step | Python/NumPy, µs per request | compiled, µs per request | ratio of medians |",
        "|---|---|---|---:|",
    ]
    for step in dict.fromkeys(f["step"] for f in figures[1:]):
        per = {
            code: sorted(f["us"] for f in figures[1:] if f["step"] == step and f["code"] == code)
            for code in ("python", "native")
        }
        median = {code: values[len(values) // 2] for code, values in per.items()}
        shown = {code: " / ".join(f"{v:.1f}" for v in values) for code, values in per.items()}
        lines.append(
            f"| {step} | {shown['python']} | {shown['native']} "
            f"| {median['python'] / median['native']:.2f}× |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--log", required=True)
    parser.add_argument("--rows", type=int, help="stop reading after about this many lines")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--no-detect", action="store_true", help="stop after the Parquet write")
    parser.add_argument(
        "--native-ab",
        type=int,
        metavar="ROUNDS",
        help="only compare the compiled modules with the Python code they replace",
    )
    args = parser.parse_args()
    if args.native_ab:
        print(ab_table(native_ab(args.log, args.rows, args.native_ab)))
        return
    figures = profile(args.log, args.rows, detect=not args.no_detect)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    print(table(figures), file=sys.stdout)


if __name__ == "__main__":
    main()
