"""Benign hard negatives: coding agents, enterprise batch jobs, evaluation runs.

These are the honest users who look most like extraction — high volume, templated prompts,
benchmark questions, "think step by step", long tool loops, a new model tested within hours
of release — so detection that flags them is detection that would hurt real customers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillwatch.simulate import infra, timing
from distillwatch.simulate.phrasing import STEP_BY_STEP, pick
from distillwatch.simulate.plan import (
    Account,
    Ctx,
    Plan,
    active_span,
    attach,
    body,
    identity,
    lognormal_rate,
    out_tokens,
    pick_models,
    user,
)
from distillwatch.simulate.populations import Behaviour, Params, people_accounts
from distillwatch.simulate.tools import (
    AGENT_TOOLS,
    BATCH_OUTPUT_TOKENS,
    BATCH_TEMPLATES,
    TOOL_RESULTS,
    agent_system,
    agent_task,
    tool_call,
)

_AGENT_TOOLS_CHARS = len(str(AGENT_TOOLS))


def agent_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Tool loops: each task is a burst of fast calls sharing one long system prompt.

    Every call resends the system prompt and tools; the history alternates assistant tool
    calls and tool results, compacted to the last ``history_window`` messages.
    """
    a, b = active_span(ctx, acct)
    starts = timing.session_starts(
        rng, a, b, lognormal_rate(rng, p["sessions_per_day"]), acct.tz, "office", weekend_factor=0.3
    )
    ts, sid, step = timing.sessions(rng, starts, p["steps_mean"], p["step_gap_s"], 0.9, 300)
    n = len(ts)
    lengths = np.bincount(sid, minlength=len(starts)) if n else np.zeros(0, dtype=int)
    system = agent_system(rng)
    pool = "coding" if rng.random() < 0.7 else "tooluse"
    tasks = [agent_task(rng, t) for t in ctx.corpus.draw(rng, pool, len(starts))]
    calls = [tool_call(rng, AGENT_TOOLS) for _ in range(min(n, 64))]
    results = rng.integers(0, len(TOOL_RESULTS), n)
    models = pick_models(ctx, rng, starts[sid] if n else ts, p["adopt_new_model"], (0.8, 0.2))
    outs = out_tokens(rng, n, 180.0, 0.9)
    window = int(p["history_window"])
    params: Params = {
        "temperature": float(pick(rng, (0.0, 0.2))),
        "max_tokens": 8192,
        "stream": True,
    }

    def render(i: int) -> dict[str, Any]:
        s, k = int(step[i]), int(sid[i])
        history: list[dict[str, Any]] = []
        for j in range(max(1, s - window // 2 + 1), s + 1):
            c = calls[(i - s + j) % len(calls)]
            history.append(
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{"id": f"call_{j}", "type": "function", "function": c}],
                }
            )
            history.append(
                {
                    "role": "tool",
                    "tool_call_id": f"call_{j}",
                    "content": TOOL_RESULTS[results[i - s + j - 1]],
                }
            )
        msgs = [user(tasks[k]), *history]
        last = s == lengths[k] - 1
        return body(
            str(models[i]),
            msgs,
            params,
            int(outs[i]),
            system=system,
            tools=AGENT_TOOLS,
            tools_chars=_AGENT_TOOLS_CHARS,
            prior_tokens=s * 420,
            finish="stop" if last else "tool_calls",
            tool_calls=None if last else [calls[i % len(calls)]],
            text="Done — tests pass." if last else None,
        )

    return Plan(ts, render)


def batch_accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    """Organisations of ``accounts_per_org`` team accounts sharing org, payment and domain."""
    out: list[Account] = []
    clouds = ctx.net.of_kind("cloud")
    while len(out) < n:
        org = infra.hex_ids(rng, 1, 6, "org_")[0]
        pay = infra.hex_ids(rng, 1, 8, "pm_")[0]
        dom = infra.corporate_domain(rng)
        cc = infra.pick_country(rng)
        cloud = clouds[int(rng.integers(len(clouds)))]
        for _ in range(min(int(p["accounts_per_org"]), n - len(out))):
            acct = identity(
                ctx,
                rng,
                label="benign",
                group=group,
                country=cc,
                email=dom,
                payment=pay,
                org_id=org,
                ua_family=pick(rng, ("http", "sdk")),
                n_keys=int(rng.integers(1, 4)),
                network="none",
            )
            attach(acct, rng, cloud, int(rng.integers(1, 4)))
            acct.ip_mode = "pool"
            out.append(acct)
    return out


def batch_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """A scheduled job: one template, many payloads, temperature 0, steady throughput."""
    a, b = active_span(ctx, acct)
    every = timing.DAY / max(p["runs_per_day"], 1e-3)
    runs = timing.schedule(a, b, every, rng.uniform(0, every))
    size = max(10, int(lognormal_rate(rng, p["items_per_run"], 0.5)))
    per_run = np.maximum(1, rng.normal(size, size * 0.1, len(runs))).astype(int)
    run_of = np.repeat(np.arange(len(runs)), per_run)
    gaps = rng.exponential(1.0 / p["items_per_second"], len(run_of)) + 0.05
    offs = np.cumsum(per_run) - per_run
    cum = np.cumsum(gaps)
    ts = runs[run_of] + cum - np.repeat(cum[offs] - gaps[offs], per_run) if len(runs) else cum
    n = len(ts)
    k = int(rng.integers(len(BATCH_TEMPLATES)))
    template, out_med = BATCH_TEMPLATES[k], BATCH_OUTPUT_TOKENS[k]
    pool = ctx.corpus.pool("sentences" if rng.random() < 0.6 else "batch")
    start = int(rng.integers(len(pool)))
    model = str(pick(rng, ctx.scenario.models[1:] or ctx.scenario.models))
    outs = out_tokens(rng, n, out_med, 0.3)
    params: Params = {"temperature": 0.0, "max_tokens": int(max(16, out_med * 4))}
    labels = ("positive", "negative", "neutral")

    def render(i: int) -> dict[str, Any]:
        text = template.format(x=pool[(start + i) % len(pool)])
        return body(
            model, [user(text)], params, int(outs[i]), text=labels[i % 3] if k == 0 else None
        )

    return Plan(ts, render)


def eval_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Benchmark runs: items in order, replayed on several models, often step by step.

    Adopters run the new model within hours of its release — like a pivot, but benign.
    """
    sc = ctx.scenario
    a, b = active_span(ctx, acct)
    n_runs = max(1, rng.poisson(p["runs_per_week"] * (b - a) / (7 * timing.DAY)))
    run_t = np.sort(a + rng.random(n_runs) * (b - a))
    adopter = rng.random() < p["adopt_new_model"]
    if adopter and a < sc.release_ts < b - 3600:
        run_t = np.sort(np.append(run_t, sc.release_ts + rng.uniform(0.5, 12) * 3600))
    names = list(ctx.corpus.benchmarks)
    ts_parts: list[np.ndarray] = []
    meta: list[tuple[str, int, str, str, int]] = []
    for r, t0 in enumerate(run_t.tolist()):
        bench = names[int(rng.integers(len(names)))]
        items = ctx.corpus.benchmarks[bench]
        size = min(len(items), max(20, int(lognormal_rate(rng, p["items_per_run"], 0.5))))
        first = int(rng.integers(max(1, len(items) - size)))
        models = list(
            rng.choice(sc.models, min(int(p["models_per_run"]), len(sc.models)), replace=False)
        )
        if adopter and t0 >= sc.release_ts:
            models[0] = sc.new_model
        cot = rng.random() < p["cot_share"]
        suffix = pick(rng, STEP_BY_STEP) if cot else ""
        for m_i, model in enumerate(models):
            start = t0 + m_i * rng.uniform(60, 900)
            gaps = rng.exponential(1.0 / p["items_per_second"], size)
            ts_parts.append(start + np.cumsum(gaps))
            meta.extend((bench, first + j, str(model), suffix, r) for j in range(size))
    ts = np.concatenate(ts_parts) if ts_parts else np.zeros(0)
    keep = np.flatnonzero(ts < b)
    outs = out_tokens(rng, len(ts), 320.0, 0.8)
    params: Params = {"temperature": 0.0, "max_tokens": int(pick(rng, (512, 1024, 2048)))}

    def render(i: int) -> dict[str, Any]:
        bench, item, model, suffix, _ = meta[keep[i]]
        text = ctx.corpus.benchmarks[bench][item]
        if suffix:
            text = f"{text}\n\n{suffix}"
        return body(model, [user(text)], params, int(outs[keep[i]]))

    return Plan(ts[keep], render)


WORKLOADS: dict[str, Behaviour] = {
    "coding_agent": Behaviour(people_accounts(("agent",), email=(0.5, 0.0)), agent_plan),
    "batch": Behaviour(batch_accounts, batch_plan),
    "eval": Behaviour(
        people_accounts(("eval",), email=(0.3, 0.0), university=0.4, network="cloud"), eval_plan
    ),
}
