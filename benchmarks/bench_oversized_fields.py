"""Peak memory and CPU of ``scan`` and ``replay`` on a log with over-long string fields.

    .venv/bin/python benchmarks/bench_oversized_fields.py --base LOG [--scale 1.0] [--each 3]
        [--runs base,hostile] [--commands scan,replay] [--max-rss-gb 8] [--work DIR]

Traffic log v1 comes from producers other than our gateway, and attackers control every
byte of their requests: a record may carry a 50 MB prompt, a 10 MB ``user_agent`` or
``account_id``, 100,000 messages or 50,000 tools. The limits of ``ingest/limits.py`` bound
what such a record costs and what of it reaches the outputs. This bench builds a *hostile*
log: the ordinary log ``--base`` (e.g. ``distillwatch simulate --accounts 300 --days 2
--seed 3``) with, spread through it, ``--each`` records of one new account per oversized
field (``acct_big_<field>``: every record of that account carries the oversized value, as an
attacker padding every request would; each a copy of a hydra member's request, read from
``labels.jsonl`` beside the log, so the account links to its campaign), then runs
``distillwatch scan`` and ``distillwatch replay`` on the base log and on the hostile one,
each in a fresh child process, sampling the whole process tree (``proc_tree.TreeSampler``:
CPU seconds, peak resident memory).

After each hostile run it checks the outputs: every ``acct_big_*`` account but the one with
the over-long ``account_id`` (quarantined, field named) is in ``accounts.jsonl``; the
longest string in ``accounts.jsonl``, ``campaigns.jsonl``, ``decisions.jsonl``, the
report and the STIX export (``share export``). ``--scale`` multiplies every size (0.1: 5 MB
prompts, 1 MB ids). Figures before and after the limits: ``results/oversized-fields.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proc_tree import TreeSampler

BIN = Path(sys.executable).parent / "distillwatch"
MB = 1 << 20
#: Oversized fields, each with the size (in characters or entries) at ``--scale 1``.
SIZES: dict[str, int] = {
    "prompt": 50 * MB,
    "system": 50 * MB,
    "account_id": 10 * MB,
    "request_id": 10 * MB,
    "key_id": 10 * MB,
    "org_id": 10 * MB,
    "ip": 10 * MB,
    "user_agent": 10 * MB,
    "email_domain": 10 * MB,
    "payment_fingerprint": 10 * MB,
    "model": 10 * MB,
    "reasoning_effort": 10 * MB,
    "finish_reason": 10 * MB,
    "messages": 100_000,
    "tools": 50_000,
}
RECORDS_EACH = 3


def oversized(template: dict[str, Any], field: str, size: int, index: int) -> dict[str, Any]:
    """``template`` as a record of account ``acct_big_<field>`` with ``field`` oversized (the
    template's card, network and client kept: the account links to the template's)."""
    record = json.loads(json.dumps(template))
    record["account_id"] = f"acct_big_{field}"
    record["request_id"] = f"req_big_{field}_{index}"
    filler = "x" * max(size - 40, 1)
    if field == "prompt":
        record["messages"] = [{"role": "user", "content": f"Explain step by step {filler} why."}]
    elif field == "system":
        record["system"] = f"You are a tutor. {filler}"
    elif field == "messages":
        roles = ("assistant", "user")
        record["messages"] = [{"role": roles[i % 2], "content": f"turn {i}"} for i in range(size)]
    elif field == "tools":
        tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
        record["tools"] = [tool] * size
    elif field == "reasoning_effort":
        record.setdefault("params", {})[field] = f"high{filler}"
    elif field == "finish_reason":
        record.setdefault("response", {})[field] = f"stop{filler}"
    else:
        record[field] = f"{record.get(field) or field}{filler}{index}"
    return record


def campaign_template(base: Path, lines: list[bytes]) -> dict[str, Any]:
    """A record of a hydra campaign's account (``labels.jsonl`` beside the log), else any."""
    labels = base.parent / "labels.jsonl"
    members = set()
    if labels.exists():
        for text in labels.read_text().splitlines():
            label = json.loads(text)
            if label.get("tactic") == "hydra":
                members.add(label["account_id"])
    for line in lines:
        record = json.loads(line)
        if record["account_id"] in members and record.get("payment_fingerprint"):
            return dict(record)
    return dict(json.loads(lines[len(lines) // 2]))


def build(base: Path, out: Path, scale: float, each: int = RECORDS_EACH, seed: int = 5) -> None:
    """Write the hostile log (zstd): ``base`` with the oversized records spread through it."""
    with base.open("rb") as raw:
        lines = zstandard.ZstdDecompressor().stream_reader(raw).read().splitlines()
    template = campaign_template(base, lines)
    rng = random.Random(seed)
    extra: list[tuple[int, bytes]] = []
    for field, size in SIZES.items():
        for index in range(each):
            record = oversized(template, field, max(int(size * scale), 64), index)
            at = rng.randrange(len(lines))
            record["ts"] = json.loads(lines[at])["ts"]
            extra.append((at, json.dumps(record).encode()))
    extra.sort(key=lambda pair: pair[0])
    writer = zstandard.ZstdCompressor(level=1).stream_writer(out.open("wb"))
    position = 0
    for at, line in extra:
        if at > position:
            writer.write(b"\n".join(lines[position:at]) + b"\n")
        writer.write(line + b"\n")
        position = at
    writer.write(b"\n".join(lines[position:]) + b"\n")
    writer.close()


def run(args: list[str], cap_gb: float) -> dict[str, Any]:
    """CPU seconds, peak RSS and exit code of one command's process tree."""
    env = dict(os.environ, OMP_NUM_THREADS="1", DISTILLWATCH_NO_PROGRESS="1")
    started = time.time()
    child = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    with TreeSampler(child.pid, cap=int(cap_gb * (1 << 30))) as sampler:
        output, _ = child.communicate()
    return {
        "rc": child.returncode,
        "cpu": sampler.cpu_seconds,
        "rss": sampler.peak_rss,
        "wall": time.time() - started,
        "killed": sampler.stopped,
        "tail": output.decode(errors="replace")[-600:],
    }


def longest_string(value: Any) -> int:
    """Length of the longest string (key or value) anywhere in a parsed JSON value."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return max((max(len(k), longest_string(v)) for k, v in value.items()), default=0)
    if isinstance(value, list):
        return max((longest_string(v) for v in value), default=0)
    return 0


def jsonl(path: Path) -> list[Any]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check_outputs(scan: Path, replay: Path, stix: Path) -> dict[str, Any]:
    """What of the oversized records reached the outputs."""
    accounts = {row["account_id"] for row in jsonl(scan / "accounts.jsonl")}
    quarantine = jsonl(scan / "quarantine.jsonl")
    big = sorted(f"acct_big_{field}" for field in SIZES if field != "account_id")
    return {
        "missing accounts": [a for a in big if a not in accounts],
        "quarantined": sorted({(q.get("field"), q.get("reason")) for q in quarantine}),
        "longest in accounts.jsonl": longest_string(jsonl(scan / "accounts.jsonl")),
        "longest in campaigns.jsonl": longest_string(jsonl(scan / "campaigns.jsonl")),
        "longest in decisions.jsonl": longest_string(jsonl(replay / "decisions.jsonl")),
        "longest in replay-accounts.jsonl": longest_string(jsonl(replay / "replay-accounts.jsonl")),
        "longest in quarantine.jsonl": longest_string(quarantine),
        "report.html bytes": (scan / "report.html").stat().st_size
        if (scan / "report.html").exists()
        else None,
        "longest in STIX export": longest_string(json.loads(stix.read_text()))
        if stix.exists()
        else None,
    }


def longest_line(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open(encoding="utf-8", errors="replace") as handle:
        return max((len(line) for line in handle), default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="an ordinary log (.jsonl.zst)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--each", type=int, default=RECORDS_EACH, help="records per field")
    parser.add_argument("--runs", default="base,hostile")
    parser.add_argument("--commands", default="scan,replay")
    parser.add_argument("--max-rss-gb", type=float, default=8.0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-oversized"))
    options = parser.parse_args()
    work: Path = options.work
    work.mkdir(parents=True, exist_ok=True)
    logs = {"base": options.base}
    if "hostile" in options.runs:
        logs["hostile"] = work / "hostile.jsonl.zst"
        build(options.base, logs["hostile"], options.scale, options.each)
    rows = []
    checks: dict[str, Any] = {}
    for name in options.runs.split(","):
        log = logs[name]
        out = {c: work / f"{name}-{c}" for c in ("scan", "replay")}
        for command in options.commands.split(","):
            result = run(
                [str(BIN), command, str(log), "--out", str(out[command])], options.max_rss_gb
            )
            rows.append((name, command, log.stat().st_size, result))
            print(name, command, {k: v for k, v in result.items() if k != "tail"}, flush=True)
            if result["rc"]:
                print(result["tail"])
        stix = work / f"{name}-stix.json"
        if (out["scan"] / "campaigns.jsonl").exists():
            key = work / "group.key"
            key.write_text("00" * 32)
            subprocess.run(
                [str(BIN), "share", "export", "--scan", str(out["scan"]), "--out", str(stix),
                 "--key-file", str(key), "--audit-log", str(work / "audit.jsonl")],
                check=False, capture_output=True,
            )  # fmt: skip
        if name == "hostile":
            checks = check_outputs(out["scan"], out["replay"], stix)
            checks["longest line of report.html"] = longest_line(out["scan"] / "report.html")
            for check, value in checks.items():
                print(f"  {check}: {value}")
    print(render(rows, checks))


def render(rows: list[tuple[str, str, int, dict[str, Any]]], checks: dict[str, Any]) -> str:
    lines = [
        "| log | command | log MB (zstd) | exit | CPU s | peak RSS (MB) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, command, size, r in rows:
        exit_code = "killed (cap)" if r["killed"] else str(r["rc"])
        lines.append(
            f"| {name} | {command} | {size / MB:.1f} | {exit_code} | {r['cpu']:.1f} | "
            f"{r['rss'] / MB:,.0f} |"
        )
    lines.append("")
    lines.extend(f"- {key}: {value}" for key, value in checks.items())
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
