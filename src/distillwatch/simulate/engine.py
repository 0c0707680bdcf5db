"""The run: allocate accounts, plan each one, merge all requests in time order, write.

Planning is vectorised per account; rendering is lazy and happens in global timestamp order
in chunks, so memory holds a few arrays per request (not a dict per request). Seeds are
derived from (scenario seed, group index, account index), so adding a campaign does not
change the traffic of the populations before it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from distillwatch.ingest.parallel import ordered_map
from distillwatch.simulate import infra
from distillwatch.simulate.corpus import load_corpus
from distillwatch.simulate.elicit import ELICIT
from distillwatch.simulate.lookalikes import LOOKALIKES
from distillwatch.simulate.lookalikes_byok import BYOK_LOOKALIKES
from distillwatch.simulate.lookalikes_identity import IDENTITY_LOOKALIKES
from distillwatch.simulate.plan import Account, Ctx, Plan
from distillwatch.simulate.populations import POPULATIONS, Behaviour
from distillwatch.simulate.scenario import Scenario, ScenarioError
from distillwatch.simulate.tactics import ROSTER
from distillwatch.simulate.workloads import WORKLOADS
from distillwatch.simulate.writer import open_log, write_labels

BEHAVIOURS: dict[str, Behaviour] = {
    **POPULATIONS,
    **WORKLOADS,
    **ROSTER,
    **ELICIT,
    **IDENTITY_LOOKALIKES,
    **LOOKALIKES,
    **BYOK_LOOKALIKES,
}
CHUNK = 20000


@dataclass
class SimulationSummary:
    """What a run produced: counts per group and campaign, time span, files and sizes."""

    out_dir: Path
    files: dict[str, Path]
    requests: int
    accounts: int
    groups: dict[str, dict[str, Any]]  # name -> {label, accounts, requests}
    campaigns: dict[str, dict[str, Any]]  # id -> {tactic, accounts, requests}
    first_ts: float
    last_ts: float
    release_ts: float
    new_model: str
    seconds: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)


@dataclass
class _Live:
    """An account with its plan and pre-drawn per-request metadata, as compact arrays (a
    Python float per request was 32 bytes; at 10M requests these hold about 20 bytes each)."""

    acct: Account
    plan: Plan
    idx: np.ndarray  # local indices of requests inside the run window
    req_bytes: bytes  # 12 random bytes per request: its request id
    status: np.ndarray  # int16
    ip_idx: np.ndarray  # int32 indices into acct.ips
    ua_idx: np.ndarray  # int32
    key_idx: np.ndarray  # int32
    ttfb: np.ndarray  # float64
    per_token: float
    created: str
    head: dict[str, Any]


def allocate(scenario: Scenario) -> list[tuple[str, str, int, str | None, dict[str, Any]]]:
    """(behaviour, group name, accounts, campaign id, params) for every group of the run."""
    total = scenario.accounts
    groups: list[tuple[str, str, int, str | None, dict[str, Any]]] = []
    for c in scenario.campaigns:
        p = dict(c.params)
        n = int(p["accounts"]) or max(int(p.get("min_accounts", 1)), round(p["share"] * total))
        groups.append((c.tactic, c.tactic, n, c.campaign_id, p))
    attack = sum(g[2] for g in groups)
    benign = total - attack
    if benign < 0:
        raise ScenarioError(
            f"campaigns need {attack} accounts but [simulation] accounts = "
            f"{total}; raise accounts or shrink the campaigns"
        )
    pops = [p for p in scenario.populations if p.share > 0]
    shares = np.array([p.share for p in pops])
    raw = shares / shares.sum() * benign
    counts = np.floor(raw).astype(int)
    for k in np.argsort(-(raw - counts), kind="stable")[: benign - counts.sum()]:
        counts[k] += 1
    pop_groups = [
        (p.name, p.name, int(k), None, dict(p.params)) for p, k in zip(pops, counts, strict=True)
    ]
    return pop_groups + groups


def _iso(ts: np.ndarray) -> list[str]:
    ms = np.round(ts * 1000).astype("int64").astype("datetime64[ms]")
    return [s + "Z" for s in np.datetime_as_string(ms, unit="ms").tolist()]


def _live(ctx: Ctx, acct: Account, plan: Plan, rng: np.random.Generator) -> _Live:
    sc = ctx.scenario
    idx = np.flatnonzero((plan.ts >= sc.start_ts) & (plan.ts < sc.end_ts))
    n = len(plan.ts)
    u = rng.random(n)
    heavy = 4.0 if len(idx) > 1500 * sc.days else 1.0
    status = np.where(
        u < sc.error_rate, 500, np.where(u < sc.error_rate + sc.throttle_rate * heavy, 429, 200)
    )
    if plan.ip_idx is not None:
        ip_idx = plan.ip_idx
    elif acct.ip_mode == "sticky":
        ip_idx = np.where(rng.random(n) < 0.88, 0, rng.integers(0, len(acct.ips), n))
    else:
        ip_idx = rng.integers(0, len(acct.ips), n)
    head = {
        "account_id": acct.account_id,
        "org_id": acct.org_id,
        "account_created": _iso(np.array([acct.created]))[0],
        "payment_fingerprint": acct.payment_fingerprint,
        "email_domain": acct.email_domain,
    }
    return _Live(
        acct,
        plan,
        idx,
        rng.bytes(12 * n),
        status.astype(np.int16),
        np.asarray(ip_idx).astype(np.int32),
        rng.integers(0, len(acct.user_agents), n).astype(np.int32),
        rng.integers(0, len(acct.key_ids), n).astype(np.int32),
        rng.lognormal(np.log(380), 0.35, n),
        float(rng.uniform(6, 22)),
        head["account_created"],
        head,
    )


def _record(lv: _Live, i: int, ts: str) -> dict[str, Any]:
    a = lv.acct
    ip = int(lv.ip_idx[i])
    body = lv.plan.render(i)
    rec: dict[str, Any] = {
        "ts": ts,
        "request_id": "req_" + lv.req_bytes[12 * i : 12 * i + 12].hex(),
        "account_id": a.account_id,
        "key_id": a.key_ids[int(lv.key_idx[i])],
        "org_id": a.org_id,
        "ip": a.ips[ip],
        "asn": a.asns[ip],
        "country": a.ip_countries[ip],
        "user_agent": a.user_agents[int(lv.ua_idx[i])],
        "account_created": lv.created,
        "payment_fingerprint": a.payment_fingerprint,
        "email_domain": a.email_domain,
    }
    rec.update(body)
    status = int(lv.status[i])
    ttfb = float(lv.ttfb[i])
    if status == 200:
        lat = ttfb + body["usage"]["output_tokens"] * lv.per_token
    else:
        rec.pop("response", None)
        rec["usage"]["output_tokens"] = 0
        rec["usage"].pop("reasoning_tokens", None)
        lat = ttfb * (0.1 if status == 429 else 2.0)
    rec["status"] = status
    rec["latency_ms"] = int(lat)
    return rec


def simulate(
    scenario: Scenario,
    out_dir: str | Path,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> SimulationSummary:
    """Run ``scenario`` and write traffic, labels and the resolved scenario into ``out_dir``."""
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = Ctx(scenario, load_corpus(scenario.corpora), infra.network())
    lives: list[_Live] = []
    for gi, (beh, name, n, cid, params) in enumerate(allocate(scenario)):
        if n == 0:  # a population too small to get an account in this run
            continue
        behaviour = BEHAVIOURS[beh]
        accts = behaviour.accounts(
            ctx, name, params, n, np.random.default_rng([scenario.seed, 1, gi]), cid
        )
        for j, acct in enumerate(accts):
            rng = np.random.default_rng([scenario.seed, 2, gi, j])
            plan = behaviour.plan(ctx, acct, params, rng)
            lv = _live(ctx, acct, plan, rng)
            if len(lv.idx):
                lives.append(lv)
    ts_all = np.concatenate([lv.plan.ts[lv.idx] for lv in lives])
    order = np.argsort(ts_all, kind="stable")
    ts_all = ts_all[order]  # only the time-ordered copies stay (3 x 8 bytes per request less)
    owner = np.repeat(np.arange(len(lives), dtype=np.int32), [len(lv.idx) for lv in lives])
    owner = owner[order]
    local = np.concatenate([lv.idx for lv in lives]).astype(np.int32)[order]
    del order
    total = len(ts_all)
    global _STATE
    _STATE = (lives, ts_all, owner, local)
    starts = range(0, total, CHUNK)
    procs = min(2, os.cpu_count() or 1) if total >= PARALLEL_FROM else 1
    try:
        with open_log(out, scenario.format) as (log_path, fh):
            # fork: workers inherit the plans; output order is unchanged; a worker that dies
            # (the kernel's out-of-memory killer) is an error, not a hang
            chunks = ordered_map(_render_chunk, starts, workers=procs, start="fork")
            for c0, chunk in zip(starts, chunks, strict=True):
                fh.write(chunk)
                if on_progress:
                    on_progress(min(c0 + CHUNK, total), total)
    except BrokenProcessPool as exc:
        raise RuntimeError(
            f"a process rendering the log died (out of memory? {total:,} requests from "
            f"{len(lives):,} accounts): try fewer accounts or days, or more memory"
        ) from exc
    finally:
        _STATE = None
    return _finish(scenario, out, log_path, lives, ts_all, t0)


_STATE: tuple[list[_Live], np.ndarray, np.ndarray, np.ndarray] | None = None
PARALLEL_FROM = 150_000


def _render_chunk(c0: int) -> bytes:
    """Serialise requests ``c0 .. c0 + CHUNK`` of the time-ordered run (pure, so any process
    can do it)."""
    assert _STATE is not None
    lives, ts, owner, local = _STATE
    sel = slice(c0, c0 + CHUNK)
    lines = [
        orjson.dumps(_record(lives[o], i, s))
        for o, i, s in zip(owner[sel].tolist(), local[sel].tolist(), _iso(ts[sel]), strict=True)
    ]
    return b"\n".join(lines) + b"\n"


def _finish(
    scenario: Scenario, out: Path, log_path: Path, lives: list[_Live], ts_all: np.ndarray, t0: float
) -> SimulationSummary:
    labels: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    camps: dict[str, dict[str, Any]] = {}
    for lv in lives:
        a = lv.acct
        key = "tactic" if a.label == "attack" else "population"
        labels.append(
            {
                "account_id": a.account_id,
                "label": a.label,
                key: a.group,
                "campaign_id": a.campaign_id,
            }
        )
        g = groups.setdefault(a.group, {"label": a.label, "accounts": 0, "requests": 0})
        g["accounts"] += 1
        g["requests"] += len(lv.idx)
        if a.campaign_id:
            c = camps.setdefault(a.campaign_id, {"tactic": a.group, "accounts": 0, "requests": 0})
            c["accounts"] += 1
            c["requests"] += len(lv.idx)
    files = {"traffic": log_path, "labels": out / "labels.jsonl", "scenario": out / "scenario.toml"}
    write_labels(files["labels"], labels)
    files["scenario"].write_text(scenario.to_toml(), encoding="utf-8")
    return SimulationSummary(
        out,
        files,
        len(ts_all),
        len(lives),
        groups,
        camps,
        float(ts_all.min()) if len(ts_all) else scenario.start_ts,
        float(ts_all.max()) if len(ts_all) else scenario.start_ts,
        scenario.release_ts,
        scenario.new_model,
        time.perf_counter() - t0,
        {k: p.stat().st_size for k, p in files.items()},
    )
