"""A sharing drill on loopback: how fast does one member's detection become another's block?

Three members and a hub, as separate processes with separate stores: the hub runs
``distillwatch share serve``; members B and C run ``distillwatch share pull --follow``
daemons into their own import stores and block lists. Member A's simulated traffic holds a
hydra campaign; A scans it, exports under the default policy (withholding values seen in its
other traffic) and publishes. Member B's traffic is its own benign population plus *the same
campaign* arriving at B: A's hydra requests with new account and request ids, same proxies,
cards and prompt templates. B's gateway is played by this process: it runs B's request
stream through the matcher, reloading it whenever B's block list file changes.

Measured: seconds from A's publish to B's first blocked request; then, with the final block
list, how many of B's campaign accounts are blocked on their first request and how many of
B's benign accounts are blocked at all. Used by ``tests/test_share_e2e.py`` (small) and
``benchmarks/bench_share.py``; provider teams can run it to rehearse.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from distillwatch.share.client import Source, publish
from distillwatch.share.match import Matcher

PASSWORD = "drill-password"
COLLECTION = "2f6b4f44-6a55-4c39-8a4b-0d8d3c1b6e21"
KEY = b"drill-group-key-not-for-production"


@dataclass
class DrillResult:
    propagation_s: float | None  # A's publish -> B's first blocked request
    c_pulled_s: float | None  # A's publish -> C's block list written
    exported_objects: int
    b_campaign_accounts: int
    b_blocked_first: int  # campaign accounts blocked on their first request
    b_blocked_ever: int  # campaign accounts blocked on any of their requests
    #: campaign accounts at B whose account at A was in a campaign A shared, and how many of
    #: them were blocked on their first request (what sharing promises; the others A did not
    #: flag, or flagged in a campaign its policy kept home)
    b_shared_accounts: int
    b_shared_blocked_first: int
    b_benign_accounts: int
    b_benign_blocked: int
    stream_requests: int
    timings: dict[str, float] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "distillwatch.cli", *args]


@contextmanager
def _process(
    args: list[str], cwd: Path, env: dict[str, str], port: int | None = None
) -> Iterator[subprocess.Popen]:
    log = (cwd / "process.log").open("ab")
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while port is not None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args[3:5]} did not start; see {cwd / 'process.log'}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _hub_config(path: Path) -> Path:
    from distillwatch.share.server.config import hash_password

    pw = hash_password(PASSWORD)
    members = "".join(
        f'[members.member-{m}]\npassword_hash = "{pw}"\ntlp = "amber"\n' for m in "abc"
    )
    db = path.parent / "hub.sqlite"
    path.write_text(
        f'[server]\ndatabase = "sqlite:///{db}"\napi_root = "isac"\n{members}'
        f'[collections.campaigns]\nid = "{COLLECTION}"\n'
        'read = ["*"]\nwrite = ["member-a"]\n'
    )
    return path


def _simulate(
    out: Path, seed: int, accounts: int, days: float, start: datetime, campaigns: bool
) -> Path:
    from distillwatch.simulate import load_scenario, simulate

    scenario_file = None
    if not campaigns:
        scenario_file = out.with_suffix(".toml")
        scenario_file.write_text("campaigns = []\n")
    sc = load_scenario(
        scenario_file,
        seed=seed,
        accounts=accounts,
        days=days,
        start=start.isoformat(),
        format="jsonl",
    )
    simulate(sc, out)
    return out / "traffic.jsonl"


def _b_account(a_account: str) -> str:
    return "acct_b" + hashlib.sha256(a_account.encode()).hexdigest()[:15]


def _shared_at_b(a_scan: Path, shared: set[str]) -> set[str]:
    """B's ids of the accounts A's scan put in a campaign that A shared."""
    out = set()
    for line in (a_scan / "accounts.jsonl").read_bytes().splitlines():
        row = orjson.loads(line)
        if row.get("campaign_id") in shared:
            out.add(_b_account(row["account_id"]))
    return out


def _campaign_at_b(a_dir: Path, tactic: str = "hydra") -> list[dict[str, Any]]:
    """A's campaign requests as they would arrive at B: new account and request ids."""
    attack = set()
    for line in (a_dir / "labels.jsonl").read_bytes().splitlines():
        label = orjson.loads(line)
        if label.get("tactic") == tactic:
            attack.add(label["account_id"])
    out = []
    for line in (a_dir / "traffic.jsonl").read_bytes().splitlines():
        r = orjson.loads(line)
        if r["account_id"] in attack:
            r["account_id"], r["request_id"] = _b_account(r["account_id"]), "b-" + r["request_id"]
            r.pop("key_id", None)
            out.append(r)
    return out


def _b_stream(b_log: Path, campaign: list[dict[str, Any]], tmp: Path) -> list[dict[str, Any]]:
    """B's requests in time order, each with the fields the matcher reads (signals included)."""
    from distillwatch.share.traffic import COLUMNS, request_batches

    extra = tmp / "b-campaign.jsonl"
    extra.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in campaign))
    rows: list[dict[str, Any]] = []
    for batch in request_batches([b_log, extra], ("ts", *COLUMNS)):
        rows += batch.to_pylist()
    rows.sort(key=lambda r: r["ts"])
    for r in rows:
        r["ts"] = r["ts"].timestamp()
    return rows


def run_drill(
    workdir: Path, *, accounts: int = 300, days: float = 1.0, seed: int = 5, interval: float = 1.0
) -> DrillResult:
    """Run the drill in ``workdir``; every process it starts is stopped before it returns."""
    from distillwatch.scan import run_scan
    from distillwatch.share.export import build_bundle
    from distillwatch.share.keyed import GroupKey
    from distillwatch.share.policy import load_policy
    from distillwatch.share.traffic import distinct_requests

    t: dict[str, float] = {}
    clock = time.perf_counter()
    # whole days ending at the last UTC midnight: the simulated traffic (diurnal, weekly)
    # must not depend on the hour the drill runs at, nor its result with it
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=days)
    for m in ("hub", "a", "b", "c"):
        (workdir / m).mkdir(parents=True, exist_ok=True)
    a_log = _simulate(workdir / "a" / "sim", seed, accounts, days, start, campaigns=True)
    b_log = _simulate(workdir / "b" / "sim", seed + 1, accounts, days, start, campaigns=False)
    t["simulate_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    run_scan([a_log], workdir / "a" / "scan")
    t["scan_a_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    key = GroupKey(KEY)
    result = build_bundle(
        workdir / "a" / "scan", load_policy(None), key, traffic=distinct_requests([a_log])
    )
    t["export_s"] = time.perf_counter() - clock
    campaign = _campaign_at_b(workdir / "a" / "sim")
    stream = _b_stream(b_log, campaign, workdir / "b")
    (workdir / "key").write_bytes(KEY)
    port = _free_port()
    base = f"http://127.0.0.1:{port}/isac/collections/{COLLECTION}/"
    env = {**os.environ, "DISTILLWATCH_SHARE_PASSWORD": PASSWORD, "DISTILLWATCH_NO_PROGRESS": "1"}
    hub_args = _cli(
        "share",
        "serve",
        "--config",
        str(_hub_config(workdir / "hub" / "hub.toml")),
        "--port",
        str(port),
    )

    def daemon(m: str) -> list[str]:
        return _cli(
            "share", "pull", "--follow", "--interval", str(interval), "--collection", base,
            "--user", f"member-{m}", "--store", f"sqlite:///{workdir / m / 'imports.sqlite'}",
            "--blocklist", str(workdir / m / "blocklist.json"), "--key-file", str(workdir / "key"),
        )  # fmt: skip

    b_list, c_list = workdir / "b" / "blocklist.json", workdir / "c" / "blocklist.json"
    with (
        _process(hub_args, workdir / "hub", env, port),
        _process(daemon("b"), workdir / "b", env),
        _process(daemon("c"), workdir / "c", env),
    ):
        deadline = time.monotonic() + 60
        while not (b_list.exists() and c_list.exists()) and time.monotonic() < deadline:
            time.sleep(0.1)  # both daemons have pulled once (an empty hub)
        first = (b_list.stat().st_mtime_ns, c_list.stat().st_mtime_ns)
        published = time.time()
        publish(Source(base, "member-a", PASSWORD), result.bundle)
        propagation, c_seen = _gateway_until_block(stream, b_list, c_list, first, key, published)
    benign_ids = {r["account_id"] for r in stream} - {r["account_id"] for r in campaign}
    blocked_first, ever, benign_blocked = _evaluate(
        stream, Matcher.from_file(b_list, key), benign_ids
    )
    shared = _shared_at_b(workdir / "a" / "scan", {c.campaign_id for c in result.campaigns})
    shared &= {r["account_id"] for r in campaign}
    t["stream_requests"] = len(stream)
    return DrillResult(
        propagation_s=propagation,
        c_pulled_s=c_seen,
        exported_objects=len(result.objects),
        b_campaign_accounts=len({r["account_id"] for r in campaign}),
        b_blocked_first=len(blocked_first),
        b_blocked_ever=ever,
        b_shared_accounts=len(shared),
        b_shared_blocked_first=len(blocked_first & shared),
        b_benign_accounts=len(benign_ids),
        b_benign_blocked=benign_blocked,
        stream_requests=len(stream),
        timings=t,
    )


def _gateway_until_block(
    stream: list[dict[str, Any]],
    b_list: Path,
    c_list: Path,
    first: tuple[int, int],
    key: Any,
    published: float,
    timeout: float = 60.0,
) -> tuple[float | None, float | None]:
    """B's gateway: run the stream (cycling) through the matcher until a request is blocked."""
    matcher = Matcher([], key)
    loaded = first[0]
    c_seen: float | None = None
    i = 0
    while time.time() - published < timeout:
        if i % 64 == 0:
            mtime = b_list.stat().st_mtime_ns
            if mtime != loaded:
                matcher, loaded = Matcher.from_file(b_list, key), mtime
            if c_seen is None and c_list.stat().st_mtime_ns != first[1]:
                c_seen = time.time() - published
        record = stream[i % len(stream)]
        if matcher.match(record):
            blocked = time.time() - published
            while c_seen is None and time.time() - published < timeout:
                if c_list.stat().st_mtime_ns != first[1]:
                    c_seen = time.time() - published
                time.sleep(0.02)
            return blocked, c_seen
        i += 1
    return None, c_seen


def _evaluate(
    stream: list[dict[str, Any]], matcher: Matcher, benign: set[str]
) -> tuple[set[str], int, int]:
    """Campaign accounts blocked on their first request / matching at all; benign blocked."""
    first_seen: set[str] = set()
    blocked_first: set[str] = set()
    matching = 0
    benign_blocked: set[str] = set()
    for record in stream:
        acct = record["account_id"]
        hit = matcher.match(record)
        if acct in benign:
            if hit:
                benign_blocked.add(acct)
            continue
        if acct not in first_seen:
            first_seen.add(acct)
            if hit:
                blocked_first.add(acct)
            matching += bool(matcher.evidence(record))
    return blocked_first, matching, len(benign_blocked)
