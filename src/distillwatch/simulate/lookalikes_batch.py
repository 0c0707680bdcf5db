"""Honest look-alikes that run as jobs: classifiers, samplers, tool-call evals, synthetic data.

Each population here is a real product with the same per-request surface as an attack tactic
(logprobs, ``n`` > 1, per-request tool definitions, high-volume templated generation), so a
detector that flags the surface alone flags paying customers. The helpers at the top are
shared with ``lookalikes.py`` (the look-alikes that are about what is asked).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from distillwatch.simulate import timing
from distillwatch.simulate.lookalike_text import (
    APP_NAMES,
    CLASSIFY_TEMPLATES,
    SYNTH_SYSTEMS,
    SYNTH_TEMPLATES,
    TOOL_APP_SYSTEMS,
)
from distillwatch.simulate.phrasing import STEP_BY_STEP, pick
from distillwatch.simulate.plan import (
    DAY,
    Account,
    Ctx,
    Plan,
    active_span,
    body,
    lognormal_rate,
    out_tokens,
    pick_models,
    user,
)
from distillwatch.simulate.populations import (
    AccountsFn,
    Behaviour,
    Params,
    draw_mixed,
    people_accounts,
)
from distillwatch.simulate.tools import BATCH_TEMPLATES, synthetic_toolset, tool_call

Mix = tuple[tuple[str, float], ...]

#: Capability pools a broad product spans (each account weights them its own way).
BROAD = ("organic", "reasoning", "knowledge", "coding", "instructions", "safety", "sentences")


# --- helpers shared by the look-alike populations -----------------------------------------
def either(p_first: float, first: AccountsFn, second: AccountsFn) -> AccountsFn:
    """Accounts of two kinds (say cloud back ends and desktop scripts), ``p_first`` of the first."""

    def make(
        ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
    ) -> list[Account]:
        k = int(rng.binomial(n, p_first))
        return first(ctx, group, p, k, rng, cid) + second(ctx, group, p, n - k, rng, cid)

    return make


def share(rng: np.random.Generator, mean: float, k: float = 6.0) -> float:
    """A per-account share around a population mean (Beta: wide, mean preserved)."""
    m = min(max(mean, 0.01), 0.99)
    return float(rng.beta(m * k, (1.0 - m) * k))


def broad_mix(rng: np.random.Generator, pools: Sequence[str] = BROAD, conc: float = 1.5) -> Mix:
    """A per-account weighting over many capability pools: broad, but never the same twice."""
    w = rng.dirichlet(np.full(len(pools), conc))
    return tuple(zip(pools, w.tolist(), strict=True))


def job_runs(
    rng: np.random.Generator,
    acct: Account,
    span: tuple[float, float],
    runs_per_day: float,
    items: float,
    per_second: float,
    profile: str = "office",
) -> np.ndarray:
    """Batch jobs: runs start at ``profile`` hours of the account's day, each a burst of
    about ``items`` requests some ``1 / per_second`` seconds apart."""
    starts = timing.session_starts(rng, *span, runs_per_day, acct.tz, profile, weekend_factor=0.5)
    ts, _, _ = timing.sessions(rng, starts, items, 1.0 / per_second, 0.6, int(items * 5) + 10)
    return np.sort(ts)


def one_shot(
    ctx: Ctx,
    rng: np.random.Generator,
    ts: np.ndarray,
    prompts: Sequence[str],
    params: Params,
    outs: np.ndarray,
    *,
    systems: str | Sequence[str | None] | None = None,
    adopt: float = 0.3,
    weights: Sequence[float] = (0.55, 0.3, 0.15),
    **extra: Any,
) -> Plan:
    """Single-turn requests: ``prompts[i]`` at ``ts[i]``, one system prompt or one per request."""
    models = pick_models(ctx, rng, ts, adopt, weights)

    def render(i: int) -> dict[str, Any]:
        system = systems if systems is None or isinstance(systems, str) else systems[i]
        return body(
            str(models[i]), [user(prompts[i])], params, int(outs[i]), system=system, **extra
        )

    return Plan(ts, render)


# --- classifier: mirrors `logprob` (max_tokens 1, logprobs, top_logprobs) --------------------
#: Enterprise batch templates whose answer is one token (sentiment, moderation, yes/no, ...).
_ONE_TOKEN = [BATCH_TEMPLATES[k] for k in (0, 3, 5, 6, 8)]


def classifier_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """A batch classification or moderation job that reads one token's logprobs.

    Mirrors ``logprob``: max_tokens 1, logprobs true, top_logprobs 5-20, temperature 0 —
    but one label template over many payloads, as in a relevance, toxicity or routing
    classifier calibrated on the label probabilities. Some accounts score a live stream
    (inline moderation) rather than nightly runs.
    """
    span = active_span(ctx, acct)
    per_day = lognormal_rate(rng, p["runs_per_day"] * p["items_per_run"], 1.0)
    if rng.random() < p["online_share"]:
        ts = timing.poisson_stream(rng, *span, per_day, acct.tz, pick(rng, ("flat", "evening")))
    else:
        items = max(10.0, lognormal_rate(rng, p["items_per_run"], 0.8))
        speed = p["items_per_second"] * rng.lognormal(0.0, 0.5)
        ts = job_runs(rng, acct, span, per_day / items, items, speed, pick(rng, ("office", "flat")))
    n = len(ts)
    template = pick(rng, [*CLASSIFY_TEMPLATES, *_ONE_TOKEN])
    pool = ctx.corpus.pool(pick(rng, ("sentences", "batch", "safety", "organic")))
    start = int(rng.integers(len(pool)))
    prompts = [template.format(x=pool[(start + i) % len(pool)]) for i in range(n)]
    params: Params = {
        "temperature": 0.0,
        "max_tokens": 1,
        "logprobs": True,
        "top_logprobs": int(pick(rng, (5, 5, 10, 20))),
    }
    outs = np.ones(n, dtype=np.int64)
    return one_shot(ctx, rng, ts, prompts, params, outs, adopt=0.1, finish="length")


# --- sampler: mirrors `logprob` with n > 1 --------------------------------------------------
_SELF_CONSISTENCY: Mix = (("reasoning", 0.5), ("knowledge", 0.3), ("cot_shots", 0.2))
_BEST_OF_N: Mix = (("coding", 0.4), ("instructions", 0.3), ("organic", 0.3))


def sampler_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Several samples per prompt for self-consistency, best-of-n or a preference dataset.

    Mirrors ``logprob`` with ``n`` > 1: n 4-16, temperature 0.7-1.2, sometimes logprobs —
    a research lab or product team sampling broad prompts to pick answers or to build
    comparison pairs for its own reward model. Jobs run in office hours in bursts.
    """
    span = active_span(ctx, acct)
    per_day = lognormal_rate(rng, p["requests_per_day"], 1.0)
    items = max(5.0, lognormal_rate(rng, 40.0, 0.8))
    ts = job_runs(rng, acct, span, per_day / items, items, float(rng.uniform(0.2, 3.0)))
    n = len(ts)
    purpose = int(rng.integers(3))
    mix = (_SELF_CONSISTENCY, _BEST_OF_N, broad_mix(rng))[purpose]
    prompts = draw_mixed(ctx, rng, mix, n)
    if purpose == 0 and rng.random() < 0.7:
        suffix = pick(rng, STEP_BY_STEP[:3])
        prompts = [f"{q}\n\n{suffix}" for q in prompts]
    k = int(np.clip(round(lognormal_rate(rng, p["n"], 0.4)), 4, 16))
    params: Params = {
        "temperature": round(float(rng.uniform(0.7, 1.2)), 1),
        "n": k,
        "max_tokens": int(pick(rng, (256, 512, 1024, 2048))),
    }
    if rng.random() < p["logprobs_share"]:
        params.update(logprobs=True, top_logprobs=int(pick(rng, (1, 2, 5))))
    outs = out_tokens(rng, n, float(rng.uniform(120, 500)), 0.6) * k
    system = "You are a helpful assistant." if rng.random() < 0.3 else None
    return one_shot(ctx, rng, ts, prompts, params, outs, systems=system, adopt=0.5)


# --- tool_eval: mirrors `tool_trace` --------------------------------------------------------
@lru_cache(maxsize=16384)
def _item_tools(j: int) -> list[dict[str, Any]]:
    """The function definitions of benchmark item ``j``: fixed, like a public benchmark's."""
    r = np.random.default_rng([j, 0xBFC1])
    return synthetic_toolset(r, int(r.integers(1, 5)))


def _tool_bench(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    sc = ctx.scenario
    a, b = active_span(ctx, acct)
    weeks = (b - a) / (7 * DAY)
    run_t = np.sort(a + rng.random(max(1, rng.poisson(p["runs_per_week"] * weeks))) * (b - a))
    adopter = rng.random() < p["adopt_new_model"]
    if adopter and a < sc.release_ts < b - 3600:
        run_t = np.sort(np.append(run_t, sc.release_ts + rng.uniform(0.5, 12) * 3600))
    tasks = ctx.corpus.pool("tooluse")
    parts: list[np.ndarray] = []
    items: list[int] = []
    models: list[str] = []
    per_run = max(1, int(min(len(sc.models), p["models_per_run"])))
    for t0 in run_t.tolist():
        size = min(len(tasks), max(20, int(lognormal_rate(rng, p["items_per_run"], 0.6))))
        first = int(rng.integers(len(tasks) - size + 1))
        names = [str(m) for m in rng.choice(sc.models, per_run, replace=False)]
        if adopter and t0 >= sc.release_ts:
            names[0] = sc.new_model
        for m_i, model in enumerate(names):  # the same items replayed on each model
            t = t0 + m_i * rng.uniform(60, 900)
            parts.append(t + np.cumsum(rng.exponential(1.0 / p["items_per_second"], size)))
            items.extend(range(first, first + size))
            models.extend([model] * size)
    ts = np.concatenate(parts)
    calls = [tool_call(rng, _item_tools(j)) for j in items]
    outs = out_tokens(rng, len(ts), 60.0, 0.5)
    params: Params = {"temperature": 0.0, "max_tokens": int(pick(rng, (512, 1024, 4096)))}
    if rng.random() < 0.5:
        params["tool_choice"] = "auto"

    def render(i: int) -> dict[str, Any]:
        tools = _item_tools(items[i])
        return body(
            models[i],
            [user(tasks[items[i]])],
            params,
            int(outs[i]),
            tools=tools,
            tools_chars=300 * len(tools),
            finish="tool_calls",
            tool_calls=[calls[i]],
        )

    return Plan(ts, render)


def _tool_app(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    span = active_span(ctx, acct)
    rate = lognormal_rate(rng, p["requests_per_day"], 1.0)
    ts = timing.poisson_stream(rng, *span, rate, acct.tz, pick(rng, ("office", "evening")))
    n = len(ts)
    catalogue = synthetic_toolset(rng, int(rng.integers(6, 15)))
    toolsets = [
        [catalogue[j] for j in rng.choice(len(catalogue), int(k), replace=False)]
        for k in rng.integers(2, 7, n)
    ]
    tasks = draw_mixed(ctx, rng, (("tooluse", 0.7), ("organic", 0.3)), n)
    called = rng.random(n) < share(rng, 0.75)
    calls = [tool_call(rng, t) for t in toolsets]
    system = pick(rng, TOOL_APP_SYSTEMS).format(app=pick(rng, APP_NAMES))
    params: Params = {"temperature": float(pick(rng, (0.0, 0.2, 0.5, 0.7))), "tool_choice": "auto"}
    models = pick_models(ctx, rng, ts, 0.4)
    outs = out_tokens(rng, n, 90.0, 0.7)

    def render(i: int) -> dict[str, Any]:
        call = bool(called[i])
        return body(
            str(models[i]),
            [user(tasks[i])],
            params,
            int(outs[i]),
            system=system,
            tools=toolsets[i],
            tools_chars=300 * len(toolsets[i]),
            finish="tool_calls" if call else "stop",
            tool_calls=[calls[i]] if call else None,
        )

    return Plan(ts, render)


def tool_eval_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Function-calling benchmark runs, and apps that render tool schemas per request.

    Mirrors ``tool_trace``: a different tool set on almost every request, single-shot, no
    tool results. Benchmark runners (BFCL-like) send each item with its own function
    definitions, in order, replayed across models (the new one soon after release);
    ``app_share`` of accounts are assistants that attach a per-request subset of their own
    plugin catalogue.
    """
    if rng.random() < p["app_share"]:
        return _tool_app(ctx, acct, p, rng)
    return _tool_bench(ctx, acct, p, rng)


# --- synthetic_data: mirrors `bulk` ---------------------------------------------------------
def synthetic_data_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """A company generating content or labelled data for its own product, round the clock.

    Mirrors ``bulk``: high volume, flat timing, one to a few templates over broad topics —
    product descriptions, FAQ entries, unit tests, quiz items, test-set paraphrases.
    """
    span = active_span(ctx, acct)
    ts = timing.poisson_stream(rng, *span, lognormal_rate(rng, p["requests_per_day"], 0.9))
    n = len(ts)
    k = min(len(SYNTH_TEMPLATES), 1 + int(rng.poisson(max(0.0, p["templates"] - 1.0))))
    chosen = rng.choice(len(SYNTH_TEMPLATES), k, replace=False)
    which = rng.choice(chosen, n, p=rng.dirichlet(np.full(k, 2.0))).tolist()
    prompts = [
        SYNTH_TEMPLATES[w][0].format(x=pick(rng, ctx.corpus.pool(SYNTH_TEMPLATES[w][1])))
        for w in which
    ]
    medians = np.array([SYNTH_TEMPLATES[w][2] for w in which], dtype=float)
    outs = np.maximum(1, medians * rng.lognormal(0.0, 0.4, n)).astype(np.int64)
    params: Params = {
        "temperature": float(pick(rng, (0.7, 0.8, 0.9, 1.0))),
        "max_tokens": int(pick(rng, (1024, 2048, 4096))),
    }
    system = None
    if rng.random() < p["system_share"]:
        system = pick(rng, SYNTH_SYSTEMS).format(app=pick(rng, APP_NAMES))
    return one_shot(ctx, rng, ts, prompts, params, outs, systems=system, adopt=0.2)


COMPANY = people_accounts(("http", "sdk", "custom"), email=(0.1, 0.0), network="cloud")

BATCH_LOOKALIKES: dict[str, Behaviour] = {
    "classifier": Behaviour(
        people_accounts(("http", "sdk"), email=(0.1, 0.0), network="cloud"), classifier_plan
    ),
    "sampler": Behaviour(
        either(
            0.6,
            people_accounts(("sdk", "eval", "http"), (0.4, 0.0), 0.5, network="cloud"),
            people_accounts(("sdk", "http"), (0.4, 0.0), 0.5),
        ),
        sampler_plan,
    ),
    "tool_eval": Behaviour(
        people_accounts(("eval", "sdk", "http"), (0.3, 0.0), 0.3, network="cloud"), tool_eval_plan
    ),
    "synthetic_data": Behaviour(COMPANY, synthetic_data_plan),
}
