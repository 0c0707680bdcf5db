"""A member's requests while someone guesses passwords at the hub (issue 12's target: 1,000
wrong passwords must not slow legitimate requests beyond 2x).

Starts ``distillwatch share serve`` over HTTPS (a self-signed certificate) as its own
process, twice: with the default login throttling, and with it effectively off (budgets of a
million failures, what the hub had before). For each, a member already logged in sends a
paced stream of ``GET …/objects/?limit=10`` (20 per second, well under its request rate
limit), first alone and then while ``--attackers`` threads send ``--guesses`` wrong
passwords as fast as the hub answers (half to a real member's name, half to unknown names),
each attacker on one kept-alive TLS connection. Prints the member's latency (median, p95)
alone and under attack, the ratio, the attack's answers (401 / 429), its duration and the
hub's CPU seconds during it; with ``--out`` writes them as a Markdown table.

    .venv/bin/python benchmarks/bench_share_login.py --out benchmarks/results/share-login.md
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from distillwatch.share.server.config import hash_password
from distillwatch.share.server.tlscert import self_signed

COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"


@dataclass
class Run:
    label: str
    alone_ms: list[float]
    attacked_ms: list[float]
    answers: Counter
    attack_s: float
    hub_cpu_s: float
    member_errors: int


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp: Path, throttled: bool) -> Path:
    pw = hash_password("right-password")
    budgets = "" if throttled else "login_failures = 1000000\nmember_login_failures = 1000000\n"
    path = tmp / "hub.toml"
    path.write_text(
        f'[server]\ndatabase = "sqlite:///{tmp / "hub.sqlite"}"\napi_root = "isac"\n'
        f'audit_log = "{tmp / "audit.jsonl"}"\n{budgets}'
        f'[members.member-a]\npassword_hash = "{pw}"\n'
        f'[members.member-b]\npassword_hash = "{pw}"\n'
        f'[collections.campaigns]\nid = "{COLLECTION}"\nread = ["*"]\nwrite = ["*"]\n'
    )
    return path


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _auth(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": "application/taxii+json;version=2.1"}


def _member(url: str, tls: ssl.SSLContext, stop: threading.Event, n: int) -> tuple[list, int]:
    """Paced requests of a logged-in member: (start, latency ms) and non-200 answers."""
    out: list[tuple[float, float]] = []
    errors = 0
    with httpx.Client(verify=tls, timeout=30) as http:
        http.get(url, headers=_auth("member-a", "right-password"))  # log in (scrypt once)
        while not stop.is_set() or len(out) < n:
            t = time.perf_counter()
            r = http.get(url, headers=_auth("member-a", "right-password"))
            out.append((t, (time.perf_counter() - t) * 1000))
            errors += r.status_code != 200
            time.sleep(max(0.0, 0.05 - (time.perf_counter() - t)))
            if stop.is_set() and len(out) >= n:
                break
    return out, errors


def _attacker(base: str, tls: ssl.SSLContext, guesses: range, answers: Counter) -> None:
    with httpx.Client(verify=tls, timeout=60) as http:
        for n in guesses:
            user = "member-b" if n % 2 else f"nobody-{n}"
            r = http.get(f"{base}/taxii2/", headers=_auth(user, f"guess-{n}"))
            answers[r.status_code] += 1


def run(label: str, throttled: bool, guesses: int, attackers: int, samples: int) -> Run:
    with tempfile.TemporaryDirectory(prefix="bench-login-") as name:
        tmp = Path(name)
        cert, key = self_signed(tmp)
        port = _port()
        cmd = [sys.executable, "-m", "distillwatch.cli", "share", "serve", "--port", str(port)]
        cmd += ["--config", str(_config(tmp, throttled)), "--tls-cert", str(cert)]
        cmd += ["--tls-key", str(key)]
        hub = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or hub.poll() is not None:
                        raise RuntimeError("the hub did not start") from None
                    time.sleep(0.2)
            base = f"https://127.0.0.1:{port}"
            url = f"{base}/isac/collections/{COLLECTION}/objects/?limit=10"
            tls = ssl.create_default_context(cafile=str(cert))
            done = threading.Event()
            done.set()
            alone, errors = _member(url, tls, done, samples)
            alone_ms = [ms for _, ms in alone]
            answers: Counter = Counter()
            stop = threading.Event()
            result: dict[str, tuple[list, int]] = {}
            member = threading.Thread(
                target=lambda: result.setdefault("m", _member(url, tls, stop, samples))
            )
            member.start()
            time.sleep(0.5)
            cpu0, t0 = _cpu_seconds(hub.pid), time.perf_counter()
            share = [range(i, guesses, attackers) for i in range(attackers)]
            threads = [
                threading.Thread(target=_attacker, args=(base, tls, part, answers))
                for part in share
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            t1 = time.perf_counter()
            attack_s, cpu = t1 - t0, _cpu_seconds(hub.pid) - cpu0
            stop.set()
            member.join()
            during, more_errors = result["m"]
            attacked = [ms for start, ms in during if t0 <= start <= t1]  # only while it ran
            return Run(label, alone_ms, attacked, answers, attack_s, cpu, errors + more_errors)
        finally:
            hub.terminate()
            hub.wait(10)


def _p95(xs: list[float]) -> float:
    return sorted(xs)[int(0.95 * (len(xs) - 1))]


def table(runs: list[Run], guesses: int, attackers: int) -> str:
    rows = [
        "| hub | member alone: median / p95 | under attack: median / p95 | ratio (median / p95) "
        "| attack answers | attack took | hub CPU during attack | member errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        a50, a95 = statistics.median(r.alone_ms), _p95(r.alone_ms)
        b50, b95 = statistics.median(r.attacked_ms), _p95(r.attacked_ms)
        answers = ", ".join(f"{n}× {code}" for code, n in sorted(r.answers.items()))
        rows.append(
            f"| {r.label} | {a50:.1f} / {a95:.1f} ms | {b50:.1f} / {b95:.1f} ms "
            f"({len(r.attacked_ms)} requests) "
            f"| **{b50 / a50:.2f}× / {b95 / a95:.2f}×** | {answers} | {r.attack_s:.1f} s "
            f"| {r.hub_cpu_s:.1f} s | {r.member_errors} |"
        )
    head = f"{guesses} wrong passwords from {attackers} threads (kept-alive TLS connections)"
    return head + "\n\n" + "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guesses", type=int, default=1000)
    parser.add_argument("--attackers", type=int, default=8)
    parser.add_argument("--samples", type=int, default=100, help="member requests per phase")
    parser.add_argument("--out", type=Path, help="write the table (Markdown) here")
    args = parser.parse_args()
    runs = [
        run(label, on, args.guesses, args.attackers, args.samples)
        for label, on in (("throttled (defaults)", True), ("throttling off", False))
    ]
    text = table(runs, args.guesses, args.attackers)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
