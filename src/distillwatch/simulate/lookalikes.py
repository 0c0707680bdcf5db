"""Honest look-alikes of the content tactics: products whose every request looks like an attack's.

Issue 10: a detector trained where grading, step-by-step asks, breadth over capabilities,
logprobs, many languages and per-request tool sets only ever occur in attacks learns
"that surface => attack" and flags the paying customers who have a product reason for it.
Each population here (and in ``lookalikes_batch.py``) is such a customer: same per-request
surface as one tactic, a legitimate reason, and per-account traits drawn widely (log-normal
rates, shares from ranges) so that populations overlap the attacks and each other.

    judge          <-> grading       LLM-as-judge / eval-ops grading their own model's answers
    tutoring       <-> cot           tutoring apps asking for step-by-step explanations
    wrapper_app    <-> bulk,         prompt-library apps wrapping end-user tasks in fixed frames
                       reseller_mix
    localisation   <-> multilingual  support bots and localisation teams in 8-15 languages
    classifier     <-> logprob       one-token batch classifiers reading logprobs
    sampler        <-> logprob n>1   self-consistency, best-of-n, preference data
    tool_eval      <-> tool_trace    function-calling benchmarks and plugin apps
    synthetic_data <-> bulk          content and test-data generation at volume
"""

from __future__ import annotations

import numpy as np

from distillwatch.simulate import timing
from distillwatch.simulate.lookalike_text import (
    APP_NAMES,
    APP_SYSTEMS,
    JUDGE_CRITERIA,
    JUDGE_PAIRWISE,
    JUDGE_SINGLE,
    JUDGE_SYSTEMS,
    LOCALISE_TEMPLATES,
    SUPPORT_SYSTEMS,
    TUTOR_ASKS,
    TUTOR_LAYOUTS,
    TUTOR_LEVELS,
    TUTOR_NAMES,
    TUTOR_SYSTEMS,
    WRAPPER_FRAMES,
    WRAPPER_LAYOUTS,
)
from distillwatch.simulate.lookalikes_batch import (
    BATCH_LOOKALIKES,
    COMPANY,
    broad_mix,
    either,
    job_runs,
    one_shot,
    share,
)
from distillwatch.simulate.phrasing import (
    ASSISTANT_REPLIES,
    LANGUAGES,
    answer_in,
    human_frame,
    pick,
    short_answer,
    translate_request,
)
from distillwatch.simulate.plan import Account, Ctx, Plan, active_span, lognormal_rate, out_tokens
from distillwatch.simulate.populations import (
    CASUAL_MIX,
    Behaviour,
    Params,
    chat_plan,
    draw_mixed,
    localise,
    people_accounts,
)


# --- judge: mirrors `grading` ---------------------------------------------------------------
def _answer(ctx: Ctx, rng: np.random.Generator, question: str) -> str:
    """One of the customer's own model's answers to ``question`` (short, or a passage)."""
    u = rng.random()
    if u < 0.4:
        return short_answer(rng, question)
    text = pick(rng, ctx.corpus.pool("sentences"))
    lead = pick(rng, ASSISTANT_REPLIES) if u < 0.7 else short_answer(rng, question)
    return f"{lead} {text}"


def judge_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """An eval-ops service grading its own model's answers with a fixed rubric (LLM-as-judge).

    Mirrors ``grading``: a question, one or two candidate answers and an ask to score or
    compare them, temperature 0, single-shot. One or two rubric templates per account
    (pairwise A/B comparisons or 1-10 / pass-fail scoring), a few criteria, questions as broad
    as the customer's product traffic, some with an "impartial judge" system prompt; batch
    runs in bursts, some accounts several hundred requests a day.
    """
    span = active_span(ctx, acct)
    items = max(10.0, lognormal_rate(rng, p["items_per_run"], 0.8))
    speed = p["items_per_second"] * rng.lognormal(0.0, 0.5)
    runs = lognormal_rate(rng, p["runs_per_day"], 0.8)
    ts = job_runs(rng, acct, span, runs, items, speed, pick(rng, ("office", "office", "flat")))
    n = len(ts)
    pairwise = rng.random() < p["pairwise_share"]
    rubrics = JUDGE_PAIRWISE if pairwise else JUDGE_SINGLE
    templates = [rubrics[j] for j in rng.choice(len(rubrics), 1 + int(rng.random() < 0.4), False)]
    crits = [JUDGE_CRITERIA[j] for j in rng.choice(len(JUDGE_CRITERIA), rng.integers(1, 4), False)]
    prompts = [
        pick(rng, templates).format(
            q=q,
            a=_answer(ctx, rng, q),
            b=_answer(ctx, rng, q) if pairwise else "",
            crit=pick(rng, crits),
            ref=short_answer(rng, q),
        )
        for q in draw_mixed(ctx, rng, broad_mix(rng), n)
    ]
    terse = rng.random() < 0.25  # score-only judges cap the output at a few tokens
    params: Params = {"temperature": 0.0, "max_tokens": 8 if terse else pick(rng, (256, 512, 1024))}
    outs = np.full(n, 4, dtype=np.int64) if terse else out_tokens(rng, n, 150.0, 0.5)
    system = pick(rng, JUDGE_SYSTEMS) if rng.random() < p["system_share"] else None
    return one_shot(
        ctx, rng, ts, prompts, params, outs, systems=system, adopt=0.5, weights=(0.8, 0.15, 0.05)
    )


# --- tutoring: mirrors `cot` -----------------------------------------------------------------
_TUTOR_POOLS = ("reasoning", "knowledge", "coding", "cot_shots", "instructions")
_ZONE_STEPS = (-3.0, -2.0, -1.0, 1.0, 2.0, 3.0)


def _homework(rng: np.random.Generator, question: str, step: bool) -> str:
    if not step:
        return human_frame(rng, question)
    ask = pick(rng, TUTOR_ASKS)
    return pick(rng, TUTOR_LAYOUTS).format(x=question, ask=ask, ans=short_answer(rng, question))


def tutoring_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """A tutoring or education app: many students behind one account, nearly every prompt
    asking for the solution step by step.

    Mirrors ``cot``: step-by-step asks (some quoting the book's answer and asking how to get
    there), long outputs, questions across math, science, reasoning, knowledge and coding.
    Students work in school hours and evenings in one to three neighbouring time zones; most
    sessions are one question, some follow up; most apps (not all) set a tutor system prompt.
    """
    a, b = active_span(ctx, acct)
    per_day = lognormal_rate(rng, p["sessions_per_day"], 1.0)
    zones = [acct.tz, *(acct.tz + d for d in rng.choice(_ZONE_STEPS, rng.integers(0, 3), False))]
    school = share(rng, p["school_share"])
    parts = []
    for tz in zones:
        w = per_day / len(zones)
        parts.append(timing.session_starts(rng, a, b, w * school, tz, "office", 0.2))
        parts.append(timing.session_starts(rng, a, b, w * (1.0 - school), tz, "evening"))
    starts = np.sort(np.concatenate(parts))
    m = len(starts)
    step = (rng.random(m) < share(rng, p["step_share"], 12.0)).tolist()
    questions = draw_mixed(ctx, rng, broad_mix(rng, _TUTOR_POOLS), m)
    firsts = [_homework(rng, q, s) for q, s in zip(questions, step, strict=True)]
    firsts = localise(rng, acct, firsts, float(rng.uniform(0.0, 0.5)))
    single = rng.random(m) >= share(rng, p["follow_up_share"])
    system = None
    if rng.random() < p["system_share"]:
        system = pick(rng, TUTOR_SYSTEMS).format(
            level=pick(rng, TUTOR_LEVELS), name=pick(rng, TUTOR_NAMES)
        )
    return chat_plan(
        ctx,
        acct,
        rng,
        starts,
        2.5,
        40.0,
        firsts,
        p["adopt_new_model"],
        CASUAL_MIX,
        system=system,
        out_median=float(rng.uniform(450, 900)),
        one_shot=single,
    )


# --- wrapper_app: mirrors `bulk` / `reseller_mix` wrappers --------------------------------
_USER_ZONES = (-8.0, -5.0, 0.0, 1.0, 5.5, 8.0, 9.0)


def wrapper_app_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """A prompt-library app, browser extension or starter kit: the end user's text wrapped in
    one of a handful of fixed quick-action frames ("Summarize the following:", ...).

    Mirrors the instruction wrappers of ``bulk`` and ``reseller_mix``: many frames over
    unrelated single-shot tasks spanning all capability areas. End users in a few time zones;
    each app has its own frame menu, layout, popularity of frames and translation languages.
    """
    a, b = active_span(ctx, acct)
    per_day = lognormal_rate(rng, p["requests_per_day"], 1.0)
    zones = [acct.tz, *rng.choice(_USER_ZONES, rng.integers(0, 3), False).tolist()]
    ts = np.sort(
        np.concatenate(
            [timing.poisson_stream(rng, a, b, per_day / len(zones), z, "evening") for z in zones]
        )
    )
    n = len(ts)
    k = int(np.clip(rng.poisson(p["frames"]), 3, len(WRAPPER_FRAMES)))
    frames = [WRAPPER_FRAMES[j] for j in rng.choice(len(WRAPPER_FRAMES), k, replace=False)]
    which = rng.choice(k, n, p=rng.dirichlet(np.ones(k))).tolist()
    codes = [c for c in LANGUAGES if c != "en"]
    langs = [LANGUAGES[c] for c in rng.choice(codes, rng.integers(1, 6), replace=False)]
    layout = pick(rng, WRAPPER_LAYOUTS)
    texts = draw_mixed(ctx, rng, broad_mix(rng), n)  # users also paste anything anywhere
    fits = (rng.random(n) < share(rng, 0.6)).tolist()
    prompts = [
        layout.format(
            f=frames[w][0].format(lang=pick(rng, langs)),
            x=pick(rng, ctx.corpus.pool(frames[w][1])) if fit else t,
        )
        for w, t, fit in zip(which, texts, fits, strict=True)
    ]
    params: Params = {"temperature": float(pick(rng, (0.3, 0.5, 0.7, 1.0)))}
    if rng.random() < 0.5:
        params["max_tokens"] = int(pick(rng, (512, 1024, 2048)))
    if rng.random() < 0.5:
        params["stream"] = True
    system = None
    if rng.random() < p["system_share"]:
        system = pick(rng, APP_SYSTEMS).format(app=pick(rng, APP_NAMES))
    outs = out_tokens(rng, n, float(rng.uniform(150, 450)), 0.7)
    return one_shot(ctx, rng, ts, prompts, params, outs, systems=system)


# --- localisation: mirrors `multilingual` ----------------------------------------------------
_SUPPORT_POOLS = ("organic", "knowledge", "instructions", "sentences", "coding")
_CONTENT_POOLS = ("batch", "sentences", "organic", "instructions", "knowledge")


def _support_bot(
    ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator, langs: list[str]
) -> Plan:
    span = active_span(ctx, acct)
    rate = lognormal_rate(rng, p["requests_per_day"], 1.0)
    ts = timing.poisson_stream(rng, *span, rate, acct.tz, pick(rng, ("flat", "office")))
    n = len(ts)
    lang = [langs[j] for j in rng.choice(len(langs), n, p=rng.dirichlet(np.full(len(langs), 2.0)))]
    questions = draw_mixed(ctx, rng, broad_mix(rng, _SUPPORT_POOLS), n)
    app, template = pick(rng, APP_NAMES), pick(rng, SUPPORT_SYSTEMS)
    systems = [template.format(app=app, lang=LANGUAGES[c]) for c in lang]
    if rng.random() < 0.6:  # the app also tags the customer's message with its language
        questions = [answer_in(c, q) for c, q in zip(lang, questions, strict=True)]
    params: Params = {"temperature": float(pick(rng, (0.2, 0.3, 0.5))), "max_tokens": 1024}
    outs = out_tokens(rng, n, 220.0, 0.6)
    return one_shot(ctx, rng, ts, questions, params, outs, systems=systems)


def _content_team(
    ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator, langs: list[str]
) -> Plan:
    span = active_span(ctx, acct)
    per = len(langs)
    per_day = lognormal_rate(rng, p["requests_per_day"], 1.0)
    items = max(float(per), lognormal_rate(rng, 20.0 * per, 0.7))
    ts = job_runs(rng, acct, span, per_day / items, items, float(rng.uniform(0.5, 4.0)))
    n = len(ts)
    sources = draw_mixed(ctx, rng, broad_mix(rng, _CONTENT_POOLS), n // per + 1)
    mode = int(rng.integers(3))  # fixed template | varied translate asks | generate natively
    template = pick(rng, LOCALISE_TEMPLATES)
    prompts = [
        template.format(lang=LANGUAGES[langs[i % per]], x=sources[i // per])
        if mode == 0
        else translate_request(rng, sources[i // per], langs[i % per])
        if mode == 1
        else answer_in(langs[i % per], sources[i // per])
        for i in range(n)
    ]
    params: Params = {"temperature": float(pick(rng, (0.0, 0.2, 0.3))), "max_tokens": 2048}
    outs = out_tokens(rng, n, 260.0, 0.6)
    return one_shot(ctx, rng, ts, prompts, params, outs)


def localisation_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """A product serving the same tasks in many languages: a global support bot, or a
    content-localisation team sending each source text into every target language in a row.

    Mirrors ``multilingual``: 8-15 languages per account over several capability areas.
    """
    codes = [c for c in LANGUAGES if c != "en"]
    k = int(np.clip(round(lognormal_rate(rng, p["languages"], 0.25)), 8, 15))
    langs = [str(c) for c in rng.choice(codes, k, replace=False)]
    if rng.random() < p["support_share"]:
        return _support_bot(ctx, acct, p, rng, langs)
    return _content_team(ctx, acct, p, rng, langs)


LOOKALIKES: dict[str, Behaviour] = {
    "judge": Behaviour(
        people_accounts(("sdk", "http", "eval"), (0.1, 0.0), network="cloud"), judge_plan
    ),
    "tutoring": Behaviour(
        people_accounts(("custom", "sdk"), (0.15, 0.0), network="cloud"), tutoring_plan
    ),
    "wrapper_app": Behaviour(
        either(
            0.7,
            people_accounts(("custom",), (0.1, 0.0), network="cloud"),
            people_accounts(("browser", "custom"), (0.6, 0.0)),
        ),
        wrapper_app_plan,
    ),
    "localisation": Behaviour(COMPANY, localisation_plan),
    **BATCH_LOOKALIKES,
}
