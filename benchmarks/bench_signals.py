"""Rows per second of every signal, and of ``signals.compute``, on a corpus-derived batch.

    .venv/bin/python benchmarks/bench_signals.py [--rows 100000] [--unique 0.6] [--write]

The batch mixes every corpus file (weighted like real traffic is not known, so uniformly
over prompts) and repeats a share of prompts, as templated jobs and campaigns do:
``--unique`` is the fraction of distinct prompts. Single-threaded (one core).
``--write`` records the figures in ``benchmarks/results/signals.md``.
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import time
from pathlib import Path

import orjson
import pyarrow as pa

from distillwatch.signals import SIGNALS, PromptMemo, compute, pattern_set
from distillwatch.signals.view import PromptView

CORPORA = Path("/work/shared/corpora")
RESULTS = Path(__file__).resolve().parent / "results" / "signals.md"


def make_batch(rows: int, unique: float, seed: int = 7) -> pa.RecordBatch:
    rng = random.Random(seed)
    texts: list[str] = []
    for path in sorted(CORPORA.glob("*.jsonl.gz")):
        with gzip.open(path, "rb") as fh:
            texts.extend(orjson.loads(line)["text"] for line in fh)
    rng.shuffle(texts)
    distinct = texts[: max(1, int(rows * unique))]
    picked = distinct + [rng.choice(distinct) for _ in range(rows - len(distinct))]
    rng.shuffle(picked)
    n_tools = [rng.choice((0, 0, 0, 2)) for _ in range(rows)]
    return pa.record_batch(
        [pa.array(picked, pa.string()), pa.array(n_tools, pa.int32())],
        names=["last_user", "n_tools"],
    )


def simulated_batch(rows: int) -> pa.RecordBatch | None:
    """The prompts and tool counts of ``rows`` simulated requests (None if it cannot run)."""
    import subprocess
    import sys
    import tempfile

    from distillwatch.ingest import RequestStream

    with tempfile.TemporaryDirectory() as tmp:
        accounts = str(max(rows // 150, 50))
        command = [sys.executable, "-m", "distillwatch.cli", "simulate", "--out", tmp,
                   "--accounts", accounts, "--days", "7", "--seed", "3"]  # fmt: skip
        if subprocess.run(command, capture_output=True).returncode:
            return None
        table = pa.Table.from_batches(list(RequestStream([tmp])))
    columns = ["last_user", "n_tools", "n_tool_results"]
    return table.select(columns).slice(0, rows).combine_chunks().to_batches()[0]


def timed(fn: object, repeat: int = 3) -> float:
    """Best of ``repeat`` runs, in CPU seconds of this process (the machine is shared: CPU
    time is far less disturbed by other people's jobs than wall time)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()  # type: ignore[operator]
        best = min(best, time.process_time() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--unique", type=float, default=0.6)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    batch = make_batch(args.rows, args.unique)
    chars = sum(len(t) for t in batch.column(0).to_pylist()) / batch.num_rows
    compute(batch.slice(0, 1000))  # load the model, warm caches

    lines = [
        f"Batch: {batch.num_rows} rows from all corpora, {args.unique:.0%} distinct prompts, "
        f"mean {chars:.0f} characters; best of 3, CPU seconds of one process.",
        "",
        "| stage | seconds | rows/s |",
        "|---|---|---|",
    ]

    def row(name: str, secs: float) -> None:
        lines.append(f"| {name} | {secs:.3f} | {batch.num_rows / secs:,.0f} |")

    row("view (dedup + truncate)", timed(lambda: PromptView.of(batch)))

    def with_tokens() -> None:
        _ = PromptView.of(batch).tokens

    row("view + tokens + token hashes", timed(with_tokens))
    row(
        "view + one-pass pattern scan (shared by cot, grading, sensitive, capability)",
        timed(lambda: pattern_set().scan(PromptView.of(batch).lowered)),
    )
    for sig in SIGNALS:

        def run(sig: object = sig) -> None:
            view = PromptView.of(batch).use_patterns(pattern_set())
            _ = view.tokens
            sig.compute(batch, view)  # type: ignore[attr-defined]

        row(f"view + tokens + {sig.name}", timed(run))
    row("**all signals (compute)**", timed(lambda: compute(batch)))
    for frac in (1.0, 0.2):
        other = make_batch(args.rows, frac, seed=11)
        secs = timed(lambda other=other: compute(other))
        lines.append(
            f"| all signals, {frac:.0%} distinct | {secs:.3f} | {other.num_rows / secs:,.0f} |"
        )
    sim = simulated_batch(args.rows)
    if sim is not None:
        secs = timed(lambda: compute(sim))
        lines.append(
            f"| all signals, simulated traffic (`distillwatch simulate`) | {secs:.3f} "
            f"| {sim.num_rows / secs:,.0f} |"
        )

        def in_chunks(rows: int) -> None:
            memo = PromptMemo()
            for i in range(0, sim.num_rows, rows):
                compute(sim.slice(i, rows), memo)

        secs = timed(lambda: in_chunks(20_000))
        lines.append(
            f"| same, 20k-row batches with a memo (as `scan` workers) | {secs:.3f} "
            f"| {sim.num_rows / secs:,.0f} |"
        )
    lines += [
        "",
        f"Command: `.venv/bin/python benchmarks/bench_signals.py --rows {args.rows}"
        f" --unique {args.unique} --write`",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        update_section(RESULTS, "speed", "## Speed\n\n" + text)


def update_section(path: Path, name: str, body: str) -> None:
    """Replace the ``name`` section of the results file, keeping the other sections."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Signals\n"
    block = f"{start}\n{body}\n{end}"
    if start in old:
        new = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, old, flags=re.S)
    else:
        new = f"{old.rstrip()}\n\n{block}\n"
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
