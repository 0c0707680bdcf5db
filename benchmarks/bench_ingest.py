"""Benchmark traffic log v1 ingest against the floor of merely parsing each line with orjson.

    .venv/bin/python benchmarks/bench_ingest.py [--records 1000000] [--log PATH] [--keep]

Generates a realistic JSON Lines log (real prompts from ``../shared/corpora`` when present,
multi-turn chats, system prompts, tool definitions, params, usage, responses of realistic
length, account metadata) unless ``--log`` names one, then runs, each in a fresh child process
so peak RSS is that run's alone:

* ``orjson.loads`` of every line (the floor: no validation, no columns, no output);
* ``ingest`` with one process, and with the default worker count.

Prints a Markdown table and, with ``--write``, saves it to ``benchmarks/results/ingest.md``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
CORPUS_FILES = ("alpaca_eval", "codealpaca", "gsm8k", "mmlu", "bbh", "wizardlm_testsets")
RESULTS = Path(__file__).resolve().parent / "results" / "ingest.md"
WORDS = [
    "the",
    "model",
    "answer",
    "question",
    "data",
    "step",
    "reason",
    "code",
    "function",
    "return",
    "value",
    "list",
    "table",
    "user",
    "translate",
    "explain",
    "summary",
    "because",
    "therefore",
    "first",
    "second",
    "finally",
    "example",
    "result",
    "test",
]


def _prompts(rng: random.Random) -> list[str]:
    texts: list[str] = []
    for name in CORPUS_FILES:
        path = CORPORA / f"{name}.jsonl.gz"
        if path.exists():
            with gzip.open(path, "rb") as handle:
                texts.extend(orjson.loads(line)["text"] for line in handle)
    if not texts:  # no corpora on this machine: synthetic prose of realistic length
        texts = [" ".join(rng.choices(WORDS, k=rng.randint(8, 120))) for _ in range(5000)]
    return texts


def generate(path: Path, records: int, seed: int = 7) -> None:
    """Write ``records`` realistic traffic log v1 records to ``path`` (JSON Lines)."""
    rng = random.Random(seed)
    prompts = _prompts(rng)
    filler = " ".join(rng.choices(prompts, k=400))
    systems = [
        f"You are a helpful assistant for {w}. " + rng.choice(prompts)[:300] for w in WORDS[:40]
    ]
    tool = {
        "type": "function",
        "function": {
            "name": "run_code",
            "description": "Run Python code and return stdout",
            "parameters": {"type": "object", "properties": {"code": {"type": "string"}}},
        },
    }
    start = 1_769_904_000.0  # 2026-02-01
    with path.open("wb") as out:
        for i in range(records):
            ts = start + i * 0.6 + rng.random()
            turns = rng.choice((1, 1, 1, 2, 3))
            messages: list[dict[str, object]] = []
            if rng.random() < 0.5:
                messages.append({"role": "system", "content": rng.choice(systems)})
            for turn in range(turns):
                if turn:
                    messages.append(
                        {"role": "assistant", "content": filler[: rng.randint(80, 600)]}
                    )
                prompt = rng.choice(prompts)
                content: object = (
                    prompt if rng.random() < 0.8 else [{"type": "text", "text": prompt}]
                )
                messages.append({"role": "user", "content": content})
            offset = rng.randint(0, len(filler) - 2000)
            record: dict[str, object] = {
                "ts": ts
                if i % 10 == 0
                else time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{i % 1000:03d}Z",
                "account_id": f"acct_{rng.randint(0, 20_000):06d}",
                "request_id": f"req_{i:09d}",
                "key_id": f"key_{rng.randint(0, 40_000):06d}",
                "ip": f"198.51.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                "user_agent": rng.choice(("openai-python/1.54.0", "curl/8.5.0", "Mozilla/5.0")),
                "country": rng.choice(("US", "DE", "IN", "BR", "JP", "sg")),
                "asn": rng.choice((13335, 16509, 15169, 7922, 3320)),
                "account_created": "2025-11-03T08:12:44Z",
                "payment_fingerprint": f"pf_{rng.randint(0, 9999):04d}",
                "email_domain": rng.choice(("gmail.com", "example.org", "proton.me")),
                "model": rng.choice(("frontier-large", "frontier-small")),
                "endpoint": "chat",
                "messages": messages,
                "params": {
                    "temperature": rng.choice((0.0, 0.7, 1.0)),
                    "max_tokens": rng.choice((256, 1024, 4096)),
                    "stream": rng.random() < 0.5,
                },
                "response": {
                    "text": filler[offset : offset + rng.randint(200, 1800)],
                    "finish_reason": "stop",
                },
                "usage": {
                    "input_tokens": rng.randint(20, 3000),
                    "output_tokens": rng.randint(50, 900),
                },
                "status": 200,
                "latency_ms": round(rng.uniform(200, 9000), 1),
            }
            if rng.random() < 0.1:
                record["tools"] = [tool]
            out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))


def _child(mode: str, log: str, workers: int | None) -> None:
    """Run one measurement in this (fresh) process and print it as JSON."""
    started = time.perf_counter()
    if mode == "orjson":
        count = 0
        loads = orjson.loads
        with open(log, "rb") as handle:
            for line in handle:
                loads(line)
                count += 1
    else:
        from distillwatch.ingest import ingest

        with tempfile.TemporaryDirectory() as out:
            summary = ingest([log], out, workers=workers)
            count = summary.records + summary.quarantined_total
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {
                "records": count,
                "seconds": seconds,
                "rss_mb": own / 1024,
                "workers_rss_mb": kids / 1024,
            }
        )
    )


def _measure(mode: str, log: Path, workers: int | None) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", mode, "--log", str(log)]
    if workers is not None:
        command += ["--workers", str(workers)]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--log", type=Path, help="an existing traffic log v1 JSONL file")
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    parser.add_argument("--write", action="store_true", help=f"save the table to {RESULTS}")
    parser.add_argument("--child", choices=("orjson", "ingest"), help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, str(args.log), args.workers)
        return

    log = args.log
    if log is None:
        log = Path(tempfile.gettempdir()) / f"distillwatch-bench-{args.records}.jsonl"
        if not log.exists():
            started = time.perf_counter()
            generate(log, args.records)
            print(f"generated {log} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    size_mb = log.stat().st_size / 1e6
    rows = [
        ("orjson.loads per line (floor)", _measure("orjson", log, None)),
        ("ingest, 1 process", _measure("ingest", log, 1)),
        (f"ingest, {os.cpu_count()} workers (default)", _measure("ingest", log, None)),
    ]
    lines = [
        f"Input: `{log.name}`, {rows[0][1]['records']:,.0f} records, {size_mb:,.0f} MB JSON Lines, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}.",
        "",
        "| run | seconds | records/s | peak RSS main (MB) | peak RSS per worker (MB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, fig in rows:
        rate = fig["records"] / fig["seconds"]
        workers = f"{fig['workers_rss_mb']:.0f}" if fig["workers_rss_mb"] > 0 else "-"
        lines.append(
            f"| {name} | {fig['seconds']:.2f} | {rate:,.0f} | {fig['rss_mb']:.0f} | {workers} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.write:
        command = (
            "DISTILLWATCH_NO_PROGRESS=1 .venv/bin/python benchmarks/bench_ingest.py --records "
        )
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            "# Ingest benchmark\n\nCommand:\n\n```\n"
            f"{command}{args.records} --write\n```\n\n{table}\n",
            encoding="utf-8",
        )
    if args.log is None and not args.keep:
        log.unlink()


if __name__ == "__main__":
    main()
