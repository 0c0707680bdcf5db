"""Attack tactics defined by *what* they ask: chain-of-thought, grading, tool traces,
multilingual sweeps and logprob harvesting. All are single-shot streams from a few accounts
per campaign; the prompts carry the tactic.

Each tactic has weaker variants that look more like an honest product (a tutoring app, a
judge service, a classifier): ``timing`` (``human`` = diurnal sessions with think time),
``network`` (``home`` instead of cloud), ``system_prompt_share`` (an app persona), and
per-tactic knobs (``elicit_share``, ``rubric_templates``, ``repeat_share``, ``tiny_share``;
tool traces in ``elicit_tools.py``). The defaults reproduce the original streams exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from distillwatch.simulate import timing
from distillwatch.simulate.disguise import personas_for
from distillwatch.simulate.phrasing import (
    LANGUAGES,
    answer_in,
    cot_request,
    grading_request,
    grading_rubrics,
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
from distillwatch.simulate.tools import fake_tool_result, synthetic_toolset, tool_call

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
    auto = "cloud" if rng.random() < 0.6 else "home"
    net = auto if p["network"] == "auto" else str(p["network"])
    return attack_accounts(ctx, rng, n, group, cid, network=net)


def stream(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> np.ndarray:
    """Request times: a machine stream (``flat``/``office``, ``auto`` picks one per account)
    or ``human`` sessions of about ``session_requests`` with ``think_median_s`` gaps."""
    a, b = active_span(ctx, acct, p)
    u = rng.random()
    rate = lognormal_rate(rng, p["requests_per_day"], 0.4)
    mode = p["timing"]
    if mode == "human":
        per = max(1.0, p["session_requests"])
        hours = "evening" if u < 0.5 else "office"
        starts = timing.session_starts(rng, a, b, rate / per, acct.tz, hours, 0.6)
        ts, _, _ = timing.sessions(rng, starts, per, max(1.0, p["think_median_s"]))
        return np.sort(ts[(ts >= a) & (ts < b)])
    profile = ("flat" if u < 0.6 else "office") if mode == "auto" else mode
    return timing.poisson_stream(rng, a, b, rate, acct.tz, profile)


def _single_shot(
    ctx: Ctx,
    rng: np.random.Generator,
    ts: np.ndarray,
    prompts: list[str],
    params: Params,
    outs: np.ndarray,
    systems: list[str | None] | None = None,
    per_request: list[Params] | None = None,
    **extra: Any,
) -> Plan:
    """One user message per request; ``systems`` / ``per_request`` vary system and params."""
    models = pick_models(ctx, rng, ts, 0.5)

    def render(i: int) -> dict[str, Any]:
        kw = dict(extra)
        if systems is not None and systems[i] is not None:
            kw["system"] = systems[i]
        if per_request is not None:
            kw.update(per_request[i].get("_body", {}))
        par = params if per_request is None else per_request[i]["params"]
        return body(str(models[i]), [user(prompts[i])], par, int(outs[i]), **kw)

    return Plan(ts, render)


def cot_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """'Articulate the internal reasoning ... step by step' around real questions; long outputs.

    ``elicit_share`` < 1 leaves the other questions plain (shorter answers)."""
    ts = stream(ctx, acct, p, rng)
    n = len(ts)
    qs = draw_mixed(ctx, rng, _QUESTIONS, n)
    share = p["elicit_share"]
    ask = (rng.random(n) < share) if share < 1 else np.ones(n, dtype=bool)
    prompts = [cot_request(rng, q) if k else q for q, k in zip(qs, ask.tolist(), strict=True)]
    systems = personas_for(rng, n, p["system_prompt_share"])
    params: Params = {"temperature": 0.7, "max_tokens": 8192}
    outs = out_tokens(rng, n, 1500.0, 0.5)
    outs = np.where(ask, outs, np.maximum(1, outs // 4))
    return _single_shot(ctx, rng, ts, prompts, params, outs, systems)


def _candidates(ctx: Ctx, rng: np.random.Generator, question: str, k: int) -> list[str]:
    opts = [ln[3:] for ln in question.split("\n") if len(ln) > 3 and ln[1:3] == ". "]
    if len(opts) >= k:
        return [str(o) for o in rng.choice(opts, k, replace=False)]
    return [
        short_answer(rng, question) if j % 2 == 0 else pick(rng, ctx.corpus.pool("sentences"))[:200]
        for j in range(k)
    ]


def grading_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """A question plus 1..max_candidates answers, and an ask to score, rank or judge them.

    ``rubric_templates`` = k > 0: k fixed rubrics (layout + ask), like a judge service."""
    ts = stream(ctx, acct, p, rng)
    n = len(ts)
    qs = draw_mixed(ctx, rng, _QUESTIONS, n)
    ks = rng.integers(1, int(p["max_candidates"]) + 1, n)
    k_rub = int(p["rubric_templates"])
    rubrics = grading_rubrics(rng, k_rub) if k_rub > 0 else []
    which = rng.integers(0, k_rub, n).tolist() if rubrics else [0] * n
    prompts = [
        grading_request(rng, q, _candidates(ctx, rng, q, int(k)), rubrics[w] if rubrics else None)
        for q, k, w in zip(qs, ks, which, strict=True)
    ]
    systems = personas_for(rng, n, p["system_prompt_share"])
    params: Params = {"temperature": 0.0, "max_tokens": 1024}
    outs = out_tokens(rng, n, 250.0, 0.5)
    return _single_shot(ctx, rng, ts, prompts, params, outs, systems)


def tool_trace_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """A different synthetic tool set on every request, with a task that needs it.

    ``toolset_pool`` = k > 0: the account reuses k tool sets (like an app with fixed tools);
    ``tool_results_share``: requests that carry a fabricated tool call and its result and
    get a final answer (the second half of an agent turn)."""
    ts = stream(ctx, acct, p, rng)
    n = len(ts)
    tasks = ctx.corpus.draw(rng, "tooluse", n)
    k_pool = int(p["toolset_pool"])
    if k_pool > 0:
        pool = [synthetic_toolset(rng, int(k)) for k in rng.integers(2, 7, k_pool)]
        toolsets = [pool[w] for w in rng.integers(0, k_pool, n).tolist()]
    else:
        toolsets = [synthetic_toolset(rng, int(k)) for k in rng.integers(2, 7, n)]
    calls = [tool_call(rng, t) for t in toolsets]
    models = pick_models(ctx, rng, ts, 0.5)
    outs = out_tokens(rng, n, 120.0, 0.5)
    params: Params = {"temperature": 0.7, "tool_choice": "auto", "max_tokens": 2048}
    share = p["tool_results_share"]
    answered = (rng.random(n) < share).tolist() if share > 0 else [False] * n
    results = [fake_tool_result(rng, c) if a else "" for c, a in zip(calls, answered, strict=True)]
    systems = personas_for(rng, n, p["system_prompt_share"])

    def render(i: int) -> dict[str, Any]:
        msgs: list[dict[str, Any]] = [user(tasks[i])]
        if answered[i]:
            call = {"id": "call_1", "type": "function", "function": calls[i]}
            msgs.append({"role": "assistant", "content": "", "tool_calls": [call]})
            msgs.append({"role": "tool", "tool_call_id": "call_1", "content": results[i]})
        return body(
            str(models[i]),
            msgs,
            params,
            int(outs[i]) * (3 if answered[i] else 1),
            system=systems[i],
            tools=toolsets[i],
            tools_chars=300 * len(toolsets[i]),
            finish="stop" if answered[i] else "tool_calls",
            tool_calls=None if answered[i] else [calls[i]],
        )

    return Plan(ts, render)


def multilingual_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Each task asked in ``languages`` languages in a row (answer-in and translate-into).

    ``repeat_share`` < 1: the other tasks are asked once, in one of the languages."""
    ts = np.sort(stream(ctx, acct, p, rng))
    n = len(ts)
    codes = [c for c in LANGUAGES if c != "en"]
    langs = list(rng.choice(codes, max(1, min(int(p["languages"]), len(codes))), replace=False))
    per = len(langs)
    if p["repeat_share"] >= 1:
        tasks = draw_mixed(ctx, rng, _QUESTIONS, n // per + 1)
        mode = rng.random(n // per + 1) < 0.5
        prompts = [
            answer_in(str(langs[i % per]), tasks[i // per])
            if mode[i // per]
            else translate_request(rng, tasks[i // per], str(langs[i % per]))
            for i in range(n)
        ]
    else:
        prompts = _partly_repeated(ctx, rng, n, [str(c) for c in langs], p["repeat_share"])
    systems = personas_for(rng, n, p["system_prompt_share"])
    params: Params = {"temperature": 0.3, "max_tokens": 4096}
    outs = out_tokens(rng, n, 450.0, 0.5)
    return _single_shot(ctx, rng, ts, prompts, params, outs, systems)


def _partly_repeated(
    ctx: Ctx, rng: np.random.Generator, n: int, langs: list[str], share: float
) -> list[str]:
    tasks = draw_mixed(ctx, rng, _QUESTIONS, n)
    repeat = (rng.random(n) < share).tolist()
    mode = (rng.random(n) < 0.5).tolist()
    one = rng.integers(0, len(langs), n).tolist()
    out: list[str] = []
    for t in range(n):
        for lang in langs if repeat[t] else [langs[one[t]]]:
            out.append(
                answer_in(lang, tasks[t]) if mode[t] else translate_request(rng, tasks[t], lang)
            )
        if len(out) >= n:
            break
    return out[:n]


def logprob_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """logprobs=true, top_logprobs high, max_tokens 1, n samples: one token, many samples.

    ``tiny_share`` < 1: the other requests ask for an ordinary answer (with logprobs), like a
    researcher or a classifier reading confidences."""
    ts = stream(ctx, acct, p, rng)
    n = len(ts)
    prompts = draw_mixed(ctx, rng, _QUESTIONS, n)
    n_samples = max(1, int(p["n"]))
    params: Params = {
        "temperature": 1.0,
        "max_tokens": 1,
        "logprobs": True,
        "top_logprobs": int(p["top_logprobs"]),
        "n": n_samples,
    }
    outs = np.full(n, n_samples, dtype=np.int64)
    systems = personas_for(rng, n, p["system_prompt_share"])
    if p["tiny_share"] >= 1:
        return _single_shot(ctx, rng, ts, prompts, params, outs, systems, finish="length")
    tiny = (rng.random(n) < p["tiny_share"]).tolist()
    longer = {**params, "max_tokens": int(pick(rng, (256, 512, 1024)))}
    lens = out_tokens(rng, n, 160.0, 0.7, cap=longer["max_tokens"]) * n_samples
    per: list[Params] = [
        {"params": params, "_body": {"finish": "length"}} if t else {"params": longer} for t in tiny
    ]
    outs = np.where(tiny, outs, lens)
    return _single_shot(ctx, rng, ts, prompts, params, outs, systems, per)


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
