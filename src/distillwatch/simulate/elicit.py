"""Attack tactics defined by *what* they ask: chain-of-thought, grading, tool traces,
multilingual sweeps and logprob harvesting. All are automated single-shot streams from a few
accounts per campaign; the prompts carry the tactic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from distillwatch.simulate import timing
from distillwatch.simulate.phrasing import (
    LANGUAGES,
    answer_in,
    cot_request,
    grading_request,
    pick,
    short_answer,
    translate_request,
)
from distillwatch.simulate.plan import (
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
from distillwatch.simulate.populations import Behaviour, Params, draw_mixed
from distillwatch.simulate.sweep import attack_accounts
from distillwatch.simulate.tools import synthetic_toolset, tool_call

_QUESTIONS = (
    ("reasoning", 0.35),
    ("knowledge", 0.25),
    ("coding", 0.15),
    ("organic", 0.15),
    ("safety", 0.1),
)


def _accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    return attack_accounts(
        ctx, rng, n, group, cid, network="cloud" if rng.random() < 0.6 else "home"
    )


def _stream(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> np.ndarray:
    a, b = active_span(ctx, acct, p)
    profile = "flat" if rng.random() < 0.6 else "office"
    return timing.poisson_stream(
        rng, a, b, lognormal_rate(rng, p["requests_per_day"], 0.4), acct.tz, profile
    )


def _single_shot(
    ctx: Ctx,
    rng: np.random.Generator,
    ts: np.ndarray,
    prompts: list[str],
    params: Params,
    outs: np.ndarray,
    **extra: Any,
) -> Plan:
    models = pick_models(ctx, rng, ts, 0.5)

    def render(i: int) -> dict[str, Any]:
        return body(str(models[i]), [user(prompts[i])], params, int(outs[i]), **extra)

    return Plan(ts, render)


def cot_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """'Articulate the internal reasoning ... step by step' around real questions; long outputs."""
    ts = _stream(ctx, acct, p, rng)
    prompts = [cot_request(rng, q) for q in draw_mixed(ctx, rng, _QUESTIONS, len(ts))]
    params: Params = {"temperature": 0.7, "max_tokens": 8192}
    return _single_shot(ctx, rng, ts, prompts, params, out_tokens(rng, len(ts), 1500.0, 0.5))


def _candidates(ctx: Ctx, rng: np.random.Generator, question: str, k: int) -> list[str]:
    opts = [ln[3:] for ln in question.split("\n") if len(ln) > 3 and ln[1:3] == ". "]
    if len(opts) >= k:
        return [str(o) for o in rng.choice(opts, k, replace=False)]
    return [
        short_answer(rng, question) if j % 2 == 0 else pick(rng, ctx.corpus.pool("sentences"))[:200]
        for j in range(k)
    ]


def grading_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """A question plus 1..max_candidates answers, and an ask to score, rank or judge them."""
    ts = _stream(ctx, acct, p, rng)
    qs = draw_mixed(ctx, rng, _QUESTIONS, len(ts))
    ks = rng.integers(1, int(p["max_candidates"]) + 1, len(ts))
    prompts = [
        grading_request(rng, q, _candidates(ctx, rng, q, int(k)))
        for q, k in zip(qs, ks, strict=True)
    ]
    params: Params = {"temperature": 0.0, "max_tokens": 1024}
    return _single_shot(ctx, rng, ts, prompts, params, out_tokens(rng, len(ts), 250.0, 0.5))


def tool_trace_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """A different synthetic tool set on every request, with a task that needs it."""
    ts = _stream(ctx, acct, p, rng)
    n = len(ts)
    tasks = ctx.corpus.draw(rng, "tooluse", n)
    toolsets = [synthetic_toolset(rng, int(k)) for k in rng.integers(2, 7, n)]
    calls = [tool_call(rng, t) for t in toolsets]
    models = pick_models(ctx, rng, ts, 0.5)
    outs = out_tokens(rng, n, 120.0, 0.5)
    params: Params = {"temperature": 0.7, "tool_choice": "auto", "max_tokens": 2048}

    def render(i: int) -> dict[str, Any]:
        return body(
            str(models[i]),
            [user(tasks[i])],
            params,
            int(outs[i]),
            tools=toolsets[i],
            tools_chars=300 * len(toolsets[i]),
            finish="tool_calls",
            tool_calls=[calls[i]],
        )

    return Plan(ts, render)


def multilingual_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Each task asked in ``languages`` languages in a row (answer-in and translate-into)."""
    ts = np.sort(_stream(ctx, acct, p, rng))
    n = len(ts)
    codes = [c for c in LANGUAGES if c != "en"]
    langs = list(rng.choice(codes, min(int(p["languages"]), len(codes)), replace=False))
    per = len(langs)
    tasks = draw_mixed(ctx, rng, _QUESTIONS, n // per + 1)
    mode = rng.random(n // per + 1) < 0.5
    prompts = [
        answer_in(str(langs[i % per]), tasks[i // per])
        if mode[i // per]
        else translate_request(rng, tasks[i // per], str(langs[i % per]))
        for i in range(n)
    ]
    params: Params = {"temperature": 0.3, "max_tokens": 4096}
    return _single_shot(ctx, rng, ts, prompts, params, out_tokens(rng, n, 450.0, 0.5))


def logprob_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """logprobs=true, top_logprobs high, max_tokens 1, n > 1: one token, many samples."""
    ts = _stream(ctx, acct, p, rng)
    prompts = draw_mixed(ctx, rng, _QUESTIONS, len(ts))
    n_samples = max(2, int(p["n"]))
    params: Params = {
        "temperature": 1.0,
        "max_tokens": 1,
        "logprobs": True,
        "top_logprobs": int(p["top_logprobs"]),
        "n": n_samples,
    }
    outs = np.full(len(ts), n_samples, dtype=np.int64)
    return _single_shot(ctx, rng, ts, prompts, params, outs, finish="length")


_Plan = Callable[[Ctx, Account, Params, np.random.Generator], Plan]


def _b(plan: _Plan) -> Behaviour:
    return Behaviour(_accounts, plan)


ELICIT: dict[str, Behaviour] = {
    "cot": _b(cot_plan),
    "grading": _b(grading_plan),
    "tool_trace": _b(tool_trace_plan),
    "multilingual": _b(multilingual_plan),
    "logprob": _b(logprob_plan),
}
