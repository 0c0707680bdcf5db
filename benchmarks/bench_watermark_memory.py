"""Peak memory of ``watermark detect`` on text: the old in-memory path against streaming.

    .venv/bin/python benchmarks/bench_watermark_memory.py [--compare-mb 50] [--stream-mb 1024]

Builds JSON Lines of real prompt text (``../shared/corpora``: every document three random
prompts joined, so documents differ and n-grams repeat as in real data), then runs each
way of scoring it in a child process and reads that child's peak resident memory
(``wait4`` rusage):

* **before** — what ``detect`` did until issue 16: read the whole file, split it, tokenise
  every document at once, score in memory (``read_texts`` + ``encode`` + ``detect``);
* **after** — ``distillwatch watermark detect FILE --key RING``: streamed batches, bucket
  files on disk, per-document scores included.

``--compare-mb`` sizes the file both ways run on (the old way needs ~70x the file in
memory); ``--stream-mb`` the large JSON Lines file only the streaming command runs on;
``--plain-mb`` a plain text file of the same prompts, one document read in pieces. Tokenisation
is pinned to one thread (``RAYON_NUM_THREADS=1``), as on the shared machine.
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
RESULTS = ROOT / "benchmarks" / "results" / "watermark-memory.md"
CLI = ROOT / ".venv" / "bin" / "distillwatch"
ENV = {**os.environ, "RAYON_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}

OLD = """
import sys
from pathlib import Path
from distillwatch.watermark import detect, encode, load_keyring
from distillwatch.watermark.textio import read_texts
ring = load_keyring(Path(sys.argv[2]))
result = detect(encode(read_texts(sys.argv[1])), ring.candidates())
print(result.scores[0].p_value)
"""


def build(path: Path, megabytes: int, seed: int, plain: bool = False) -> int:
    """JSON Lines (or, ``plain``, one text) of about ``megabytes`` MB; returns the number
    of documents."""
    prompts: list[str] = []
    for corpus in sorted(CORPORA.glob("*.jsonl.gz")):
        with gzip.open(corpus, "rb") as fh:
            prompts += [str(orjson.loads(line)["text"]) for line in fh]
    rng = np.random.default_rng(seed)
    target = megabytes << 20
    size = docs = 0
    with path.open("wb") as out:
        while size < target:
            picks = rng.integers(0, len(prompts), size=(4096, 3))
            for a, b, c in picks:
                text = f"{prompts[a]}\n{prompts[b]}\n{prompts[c]}"
                line = (text + "\n\n").encode() if plain else orjson.dumps({"text": text}) + b"\n"
                out.write(line)
                size += len(line)
                docs += 1
                if size >= target:
                    break
    return 1 if plain else docs


def peak(cmd: list[str]) -> tuple[float, float, str]:
    """(peak RSS in MB, wall seconds, last output line) of a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = proc.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{output[-2000:]}")
    last = [line for line in output.splitlines() if line.strip()][-1:]
    return usage.ru_maxrss / 1024, time.perf_counter() - start, last[0] if last else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--compare-mb", type=int, default=50)
    ap.add_argument("--stream-mb", type=int, default=1024)
    ap.add_argument("--plain-mb", type=int, default=0)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="dw-wm-mem-") as tmp:
        ring = Path(tmp) / "ring.json"
        subprocess.run([str(CLI), "watermark", "keys", "new", str(ring)], check=True, env=ENV)
        small = Path(tmp) / "small.jsonl"
        n_small = build(small, args.compare_mb, 1)
        new_cmd = [str(CLI), "watermark", "detect", "--key", str(ring), "--json"]
        mb = small.stat().st_size / 2**20
        rows.append(
            (
                "before: read all, tokenise all, score",
                mb,
                n_small,
                *peak([sys.executable, "-c", OLD, str(small), str(ring)]),
            )
        )
        rows.append(
            ("after: streamed `watermark detect`", mb, n_small, *peak([*new_cmd, str(small)]))
        )
        small.unlink()
        if args.stream_mb:
            large = Path(tmp) / "large.jsonl"
            n_large = build(large, args.stream_mb, 2)
            mb = large.stat().st_size / 2**20
            rows.append(
                ("after: streamed `watermark detect`", mb, n_large, *peak([*new_cmd, str(large)]))
            )
            large.unlink()
        if args.plain_mb:
            plain = Path(tmp) / "large.txt"
            build(plain, args.plain_mb, 3, plain=True)
            mb = plain.stat().st_size / 2**20
            name = "after: streamed, plain text (one document)"
            rows.append((name, mb, 1, *peak([*new_cmd, str(plain)])))
    lines = [
        "| path | input MB | documents | peak RSS MB | wall s |",
        "|---|---|---|---|---|",
    ]
    for name, size, docs, rss, wall, _ in rows:
        lines.append(f"| {name} | {size:,.0f} | {docs:,} | {rss:,.0f} | {wall:,.0f} |")
        print(lines[-1], flush=True)
    lines += [
        "",
        "Peak RSS is the child's `ru_maxrss` (whole process: Python, NumPy, tokenizer). One "
        f"tokenizer thread; 1-minute load average at the end {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores (wall times are those of a shared machine).",
        "",
        "Command: `.venv/bin/python benchmarks/bench_watermark_memory.py "
        f"--compare-mb {args.compare_mb} --stream-mb {args.stream_mb} "
        f"--plain-mb {args.plain_mb} --write`",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        RESULTS.write_text(
            "# Watermark detection memory: text in, bounded memory\n\n"
            "Done when (issue 16): a 1 GB text file is scored in under 2 GB of memory.\n\n"
            + text
            + "\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
