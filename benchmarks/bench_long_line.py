"""CPU and peak memory of ``scan`` on a log holding one huge line (``limits.LINE_MAX_BYTES``).

    .venv/bin/python benchmarks/bench_long_line.py --base LOG [--mb 300] [--work DIR]
        [--pythonpath SRC]

The log is ``--base`` (e.g. ``distillwatch simulate --accounts 200 --days 1 --seed 5``)
with, in its middle, one request whose last user message is padded to ``--mb`` MB: one line
of that many bytes, written zstd-compressed (``--mb 0``: the base log as it is).
``distillwatch scan`` runs on it in a fresh child process (``bench_oversized_fields.run``:
CPU seconds and peak RSS of its process tree); ``--pythonpath`` runs another checkout's
code (a worktree of the commit before).
It prints the figures and what the scan made of the line (quarantine entries by reason, the
line's place). Figures: ``results/oversized-fields.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_oversized_fields import run


def build(base: Path, out: Path, megabytes: int) -> int:
    """Write the log with the huge line; its 1-based line number."""
    lines = zstandard.ZstdDecompressor().stream_reader(base.open("rb")).read().splitlines()
    middle = len(lines) // 2
    record = json.loads(lines[middle])
    record["request_id"] = "req_huge_line"
    record["messages"][-1]["content"] = "x" * (megabytes * 1_000_000)
    huge = json.dumps(record).encode()
    with zstandard.ZstdCompressor(level=1).stream_writer(out.open("wb")) as writer:
        writer.write(b"\n".join(lines[:middle]) + b"\n")
        writer.write(huge + b"\n")
        writer.write(b"\n".join(lines[middle:]) + b"\n")
    return middle + 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-long-line"))
    parser.add_argument("--pythonpath", default=None)
    parser.add_argument("--max-rss-gb", type=float, default=6.0)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    log = args.base if args.mb == 0 else args.work / f"huge-{args.mb}.jsonl.zst"
    if not log.exists():
        print("huge line at", build(args.base, log, args.mb))
    if args.pythonpath:
        os.environ["PYTHONPATH"] = args.pythonpath
    out = args.work / "scan"
    cli = str(Path(sys.executable).parent / "distillwatch")
    command = [cli, "scan", str(log), "--out", str(out)]
    result = run(command, args.max_rss_gb)
    print(f"rc {result['rc']}  CPU {result['cpu']:.1f} s  peak RSS {result['rss'] / 1e6:,.0f} MB")
    quarantine = out / "quarantine.jsonl"
    if quarantine.exists():
        for line in quarantine.read_text().splitlines():
            entry = json.loads(line)
            print(entry["reason"], entry["line"], entry["detail"][:160])
    if result["rc"]:
        print(result["tail"])


if __name__ == "__main__":
    main()
