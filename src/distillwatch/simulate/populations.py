"""Benign populations that talk: casual chat, power users, researchers, resellers, translation.

Each behaviour is a pair of pure functions — ``accounts`` (identities for n accounts) and
``plan`` (one account's requests) — registered in :data:`POPULATIONS`. The hard negatives
(coding agents, batch jobs, evaluation runs) live in ``workloads.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from distillwatch.simulate import infra, timing
from distillwatch.simulate.phrasing import (
    ASSISTANT_REPLIES,
    FOLLOW_UPS,
    LANGUAGES,
    answer_in,
    pick,
    translate_request,
)
from distillwatch.simulate.plan import (
    DAY,
    Account,
    Ctx,
    Plan,
    active_span,
    body,
    conversation,
    identity,
    lognormal_rate,
    out_tokens,
    pick_models,
    user,
)

Params = dict[str, Any]
AccountsFn = Callable[[Ctx, str, Params, int, np.random.Generator, str | None], list[Account]]
PlanFn = Callable[[Ctx, Account, Params, np.random.Generator], Plan]


@dataclass(frozen=True)
class Behaviour:
    """How to make a group's accounts and each account's traffic."""

    accounts: AccountsFn
    plan: PlanFn


#: (pool, weight) mixes of what people ask.
CASUAL_MIX = (
    ("organic", 0.45),
    ("sentences", 0.1),
    ("instructions", 0.1),
    ("knowledge", 0.1),
    ("reasoning", 0.08),
    ("coding", 0.05),
    ("safety", 0.07),
    ("tooluse", 0.05),
)
POWER_MIX = (
    ("organic", 0.3),
    ("coding", 0.2),
    ("reasoning", 0.15),
    ("knowledge", 0.1),
    ("instructions", 0.1),
    ("tooluse", 0.1),
    ("cot_shots", 0.05),
)


def draw_mixed(
    ctx: Ctx, rng: np.random.Generator, mix: tuple[tuple[str, float], ...], n: int
) -> list[str]:
    """``n`` prompts from a weighted mix of pools."""
    w = np.array([m[1] for m in mix])
    which = rng.choice(len(mix), n, p=w / w.sum())
    return [pick(rng, ctx.corpus.pool(mix[k][0])) for k in which]


def localise(
    rng: np.random.Generator, acct: Account, prompts: list[str], share: float
) -> list[str]:
    """People outside English-speaking countries often ask in their own language."""
    lang = infra.language_of(acct.country)
    if lang == "en":
        return prompts
    return [answer_in(lang, p) if rng.random() < share else p for p in prompts]


def chat_params(rng: np.random.Generator, streaming: bool) -> Params:
    p: Params = {"temperature": float(pick(rng, (0.7, 1.0, 0.5, 0.8)))}
    if rng.random() < 0.4:
        p["max_tokens"] = int(pick(rng, (512, 1024, 2048, 4096)))
    if streaming:
        p["stream"] = True
    return p


def chat_plan(
    ctx: Ctx,
    acct: Account,
    rng: np.random.Generator,
    starts: np.ndarray,
    turns_mean: float,
    think_s: float,
    firsts: list[str] | None,
    adopt: float,
    mix: tuple[tuple[str, float], ...],
    system: str | None = None,
    out_median: float = 280.0,
    one_shot: np.ndarray | None = None,
) -> Plan:
    """Multi-turn conversations from session starts: history grows turn by turn.

    ``one_shot`` marks sessions cut to their first turn (scripts do not follow up).
    """
    ts, sid, step = timing.sessions(rng, starts, turns_mean, think_s)
    if one_shot is not None:
        keep = (step == 0) | ~one_shot[sid]
        ts, sid, step = ts[keep], sid[keep], step[keep]
    n = len(ts)
    if firsts is None:
        firsts = localise(rng, acct, draw_mixed(ctx, rng, mix, len(starts)), 0.35)
    fu = rng.integers(0, len(FOLLOW_UPS), n)
    rep = rng.integers(0, len(ASSISTANT_REPLIES), n)
    models = pick_models(ctx, rng, starts[sid] if n else ts, adopt).tolist()
    outs_a = out_tokens(rng, n, out_median)
    outs, cum = outs_a.tolist(), [0, *np.cumsum(outs_a).tolist()]
    sid_l, step_l = sid.tolist(), step.tolist()
    stream = rng.random() < 0.6
    params = [chat_params(rng, stream) for _ in range(len(starts))]

    fu_l, rep_l = fu.tolist(), rep.tolist()

    def render(i: int) -> dict[str, Any]:
        s = step_l[i]
        base = i - s
        k = sid_l[i]
        msgs = conversation(firsts[k], s, fu_l, rep_l, base)
        return body(
            models[i], msgs, params[k], outs[i], system=system, prior_tokens=cum[i] - cum[base]
        )

    return Plan(ts, render)


def people_accounts(
    ua: tuple[str, ...],
    email: tuple[float, float] = (0.75, 0.015),
    university: float = 0.0,
    new_share_key: str = "",
    network: str = "home",
    profile: tuple[float, float] = (30.0, 1100.0),
) -> AccountsFn:
    """An ``accounts`` function for populations of individual people."""

    def make(
        ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
    ) -> list[Account]:
        out = []
        for _ in range(n):
            created = None
            if new_share_key and rng.random() < p[new_share_key]:
                created = ctx.scenario.start_ts + rng.uniform(0, 0.8) * ctx.scenario.days * DAY
            dom = (
                infra.university_domain(rng)
                if rng.random() < university
                else infra.email_domain(rng, free=email[0], disposable=email[1])
            )
            out.append(
                identity(
                    ctx,
                    rng,
                    label="benign",
                    group=group,
                    created=created,
                    age_days=profile,
                    email=dom,
                    ua_family=pick(rng, ua),
                    network=network,
                )
            )
        return out

    return make


def casual_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    a, b = active_span(ctx, acct)
    starts = timing.session_starts(
        rng, a, b, lognormal_rate(rng, p["sessions_per_day"], 0.8), acct.tz, "evening"
    )
    return chat_plan(
        ctx,
        acct,
        rng,
        starts,
        p["turns_mean"],
        p["think_median_s"],
        None,
        p["adopt_new_model"],
        CASUAL_MIX,
    )


def power_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    a, b = active_span(ctx, acct)
    starts = timing.session_starts(
        rng, a, b, lognormal_rate(rng, p["sessions_per_day"]), acct.tz, "office", weekend_factor=0.4
    )
    return chat_plan(
        ctx,
        acct,
        rng,
        starts,
        p["turns_mean"],
        p["think_median_s"],
        None,
        p["adopt_new_model"],
        POWER_MIX,
        out_median=400.0,
    )


def researcher_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Single requests in office hours; logprob users score multiple-choice items."""
    a, b = active_span(ctx, acct)
    per_day = lognormal_rate(rng, p["requests_per_day"], 0.8)
    starts = timing.session_starts(rng, a, b, per_day / 4.0, acct.tz, "office", 0.3)
    ts, _, _ = timing.sessions(rng, starts, 4.0, 20.0)
    n = len(ts)
    mix = (
        ("knowledge", 0.3),
        ("reasoning", 0.25),
        ("organic", 0.2),
        ("safety", 0.1),
        ("instructions", 0.15),
    )
    prompts = draw_mixed(ctx, rng, mix, n)
    models = pick_models(ctx, rng, ts, 0.6)
    uses_lp = rng.random() < p["logprobs_share"]
    top = int(pick(rng, (1, 5, 10, 20)))
    score_share = rng.uniform(0.3, 0.9)
    outs = out_tokens(rng, n, 250.0)
    lp_one = rng.random(n) < score_share
    samples = int(pick(rng, (1, 1, 1, 5)))

    def render(i: int) -> dict[str, Any]:
        params: Params = {"temperature": 0.0 if samples == 1 else 1.0}
        out = int(outs[i])
        if uses_lp:
            params.update(logprobs=True, top_logprobs=top)
            if lp_one[i]:
                params["max_tokens"], out = 1, 1
        if samples > 1:
            params["n"] = samples
        return body(str(models[i]), [user(prompts[i])], params, out * samples)

    return Plan(ts, render)


def reseller_plan(
    ctx: Ctx,
    acct: Account,
    p: Params,
    rng: np.random.Generator,
    extract: Callable[[np.random.Generator], str] | None = None,
    extraction_share: float = 0.0,
) -> Plan:
    """Many end users' conversations behind one account (optionally with extraction mixed in).

    End users live in many time zones, so the aggregate is smoothed; each conversation keeps
    its own end user's params. ``extract`` replaces a share of conversations with one-shot
    extraction prompts (``reseller_mix`` tactic) sent through the same pipeline.
    """
    a, b = active_span(ctx, acct)
    per_day = lognormal_rate(rng, p["requests_per_day"], 0.3)
    starts = np.concatenate(
        [
            timing.poisson_stream(rng, a, b, per_day / 3.0 / 3, tz, "evening")
            for tz in (-5.0, 1.0, 8.0)
        ]
    )
    starts.sort()
    n_conv = len(starts)
    firsts = draw_mixed(ctx, rng, CASUAL_MIX, n_conv)
    is_x = rng.random(n_conv) < (extraction_share if extract is not None else 0.0)
    if extract is not None:
        firsts = [extract(rng) if x else f for x, f in zip(is_x.tolist(), firsts, strict=True)]
    system = f"You are a helpful assistant inside {acct.user_agents[0].split('/')[0]}."
    return chat_plan(
        ctx, acct, rng, starts, 3.0, 50.0, firsts, 0.5, CASUAL_MIX, system=system, one_shot=is_x
    )


def translation_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """A translation app: a fixed system prompt per language pair, user text as payload."""
    a, b = active_span(ctx, acct)
    ts = timing.poisson_stream(
        rng, a, b, lognormal_rate(rng, p["requests_per_day"]), acct.tz, "evening"
    )
    n = len(ts)
    pool = "translation" if "translation" in ctx.corpus.pools else "sentences"
    texts = ctx.corpus.draw(rng, pool, n)
    langs = list(
        rng.choice(["es", "fr", "de", "ja", "zh", "pt", "it", "ko", "en"], 3, replace=False)
    )
    tgt = [str(langs[k]) for k in rng.integers(0, len(langs), n)]
    model = str(pick(rng, ctx.scenario.models))
    if rng.random() < 0.5:  # app with a system prompt per target language
        systems: list[str | None] = [
            f"You are a translation engine. Translate the user's text "
            f"into {LANGUAGES[lang]}. Output only the translation."
            for lang in tgt
        ]
    else:  # app that wraps the text in an instruction
        systems = [None] * n
        texts = [translate_request(rng, t, lang) for t, lang in zip(texts, tgt, strict=True)]

    def render(i: int) -> dict[str, Any]:
        return body(
            model,
            [user(texts[i])],
            {"temperature": 0.2},
            max(2, len(texts[i]) // 4),
            system=systems[i],
        )

    return Plan(ts, render)


def _pop(accounts: AccountsFn, plan: PlanFn) -> Behaviour:
    return Behaviour(accounts, plan)


POPULATIONS: dict[str, Behaviour] = {
    "casual": _pop(
        people_accounts(("browser", "browser", "sdk", "custom"), new_share_key="new_account_share"),
        casual_plan,
    ),
    "power": _pop(people_accounts(("sdk", "browser", "http")), power_plan),
    "researcher": _pop(
        people_accounts(("sdk", "http", "eval"), email=(0.5, 0.0), university=0.7), researcher_plan
    ),
    "reseller": _pop(
        people_accounts(("custom",), email=(0.05, 0.0), network="cloud"), reseller_plan
    ),
    "translation": _pop(
        people_accounts(("custom", "sdk"), email=(0.1, 0.0), network="cloud"), translation_plan
    ),
}
