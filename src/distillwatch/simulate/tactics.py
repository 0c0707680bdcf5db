"""Attack tactics that are about *who and when*: bulk, hydra, reseller mixing, slow-and-low,
pivot. The tactics that are about *what is asked* (CoT, grading, tool traces, multilingual,
logprobs) live in ``elicit.py``. Registered together in :data:`TACTICS`.

Weaker variants: bulk ``system_prompt_share`` (an app persona) and ``templates``; hydra
``countries`` (proxy exits in a few countries), ``exit_hours`` (stickier exits) and
``payment_fingerprints = 0`` (one card per account); slow-and-low ``templates`` and
``cot_share``; pivot ``new_model_share`` (only part of the traffic moves). The defaults
reproduce the original streams exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillwatch.simulate import infra, timing
from distillwatch.simulate.disguise import personas_for
from distillwatch.simulate.phrasing import human_frame, pick
from distillwatch.simulate.plan import (
    Account,
    Ctx,
    Plan,
    active_span,
    body,
    identity,
    lognormal_rate,
    out_tokens,
    proxy_ips,
    user,
)
from distillwatch.simulate.populations import (
    CASUAL_MIX,
    Behaviour,
    Params,
    chat_plan,
    reseller_plan,
)
from distillwatch.simulate.sweep import Sweep, attack_accounts


def _with_sweep(
    accts: list[Account], rng: np.random.Generator, templates: int, cot_share: float = 0.1
) -> list[Account]:
    sweep = Sweep.for_campaign(rng, templates, cot_share)
    for a in accts:
        a.shared["sweep"] = sweep
    return accts


def sweep_plan(
    ctx: Ctx,
    acct: Account,
    rng: np.random.Generator,
    ts: np.ndarray,
    models: np.ndarray | str,
    out_median: float = 600.0,
    system_share: float = 0.0,
) -> Plan:
    """Single-shot sweep prompts at times ``ts`` (shared by bulk, hydra and pivot)."""
    prompts = acct.shared["sweep"].prompts(ctx, rng, len(ts))
    outs = out_tokens(rng, len(ts), out_median, 0.6)
    params: Params = {
        "temperature": float(pick(rng, (0.7, 1.0, 0.8))),
        "max_tokens": int(pick(rng, (2048, 4096, 8192))),
    }
    systems = personas_for(rng, len(ts), system_share)

    def render(i: int) -> dict[str, Any]:
        model = models if isinstance(models, str) else str(models[i])
        return body(model, [user(prompts[i])], params, int(outs[i]), system=systems[i])

    return Plan(ts, render)


# --- bulk harvester ---------------------------------------------------------------------
def bulk_accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    return _with_sweep(attack_accounts(ctx, rng, n, group, cid), rng, int(p["templates"]))


def bulk_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    a, b = active_span(ctx, acct, p)
    ts = timing.poisson_stream(rng, a, b, lognormal_rate(rng, p["requests_per_day"], 0.3))
    model = ctx.scenario.models[0]
    return sweep_plan(ctx, acct, rng, ts, model, system_share=p["system_prompt_share"])


# --- hydra cluster ----------------------------------------------------------------------
def hydra_accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    """Many new accounts: staggered sign-ups, shared cards, disposable mail, proxy exits.

    ``payment_fingerprints = 0``: one card per account; ``countries`` > 0: the accounts and
    their proxy exits are in that many countries."""
    sc = ctx.scenario
    life = p["lifetime_days"] * timing.DAY
    n_cards = int(p["payment_fingerprints"])
    cards = infra.hex_ids(rng, n_cards, 8, "pm_") if n_cards > 0 else []
    uas = tuple(infra.user_agent(rng, f) for f in ("sdk", "sdk", "http"))
    latest = max(sc.start_ts, sc.end_ts - life / 2)
    k = min(int(p["countries"]), len(infra.COUNTRY_CODES))
    where = (
        [str(c) for c in rng.choice(infra.COUNTRY_CODES, k, replace=False, p=infra.COUNTRY_WEIGHTS)]
        if k > 0
        else []
    )
    out = []
    for _ in range(n):
        created = rng.uniform(sc.start_ts - 2 * timing.DAY, latest)
        acct = identity(
            ctx,
            rng,
            label="attack",
            group=group,
            campaign_id=cid,
            created=created,
            email=infra.email_domain(
                rng, free=1.0 - p["disposable_email_share"], disposable=p["disposable_email_share"]
            ),
            payment=pick(rng, cards) if cards else None,
            network="proxy",
            country=pick(rng, where) if where else None,
        )
        acct.user_agents = (pick(rng, uas),)
        acct.shared["exit_countries"] = where
        out.append(acct)
    return _with_sweep(out, rng, int(p["templates"]))


def hydra_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Paced under ``max_requests_per_hour`` inside daily shifts during the account's life."""
    a, b = active_span(ctx, acct, p)
    b = min(b, acct.created + p["lifetime_days"] * timing.DAY)
    windows = timing.daily_windows(rng, a, b, p["active_hours_per_day"])
    fill = min(
        1.0,
        p["requests_per_day"] / max(1.0, p["active_hours_per_day"] * p["max_requests_per_hour"]),
    )
    ts = timing.paced(rng, windows, int(p["max_requests_per_hour"]), fill=max(fill, 0.5))
    plan = sweep_plan(ctx, acct, rng, ts, ctx.scenario.models[0])
    per = 3600 * max(p["exit_hours"], 1 / 60)
    hours = ((ts - ts[0]) // per).astype(np.int64) if len(ts) else np.zeros(0, np.int64)
    n_ips = int(hours.max()) + 1 if len(ts) else 1
    proxy_ips(ctx, acct, rng, n_ips, acct.shared.get("exit_countries", ()))
    plan.ip_idx = hours  # a fresh residential exit every ``exit_hours`` (default: hourly)
    return plan


# --- reseller mixing extraction into genuine traffic ------------------------------------
def reseller_mix_accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    accts = attack_accounts(
        ctx, rng, n, group, cid, age_days=(120, 700), ua=("custom",), email=(0.05, 0.0)
    )
    return _with_sweep(accts, rng, 3, cot_share=0.3)


def reseller_mix_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    sweep: Sweep = acct.shared["sweep"]
    return reseller_plan(
        ctx,
        acct,
        p,
        rng,
        extract=lambda r: sweep.prompts(ctx, r, 1)[0],
        extraction_share=p["extraction_share"],
    )


# --- slow and low -----------------------------------------------------------------------
def slow_low_accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    accts = attack_accounts(
        ctx,
        rng,
        n,
        group,
        cid,
        age_days=(365, 1500),
        network="home",
        ua=("browser", "sdk"),
        email=(0.9, 0.0),
    )
    return _with_sweep(accts, rng, int(p["templates"]), cot_share=p["cot_share"])


def slow_low_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Human timing (diurnal sessions, think-time jitter) around paraphrased sweep prompts."""
    a, b = active_span(ctx, acct, p)
    per_day = lognormal_rate(rng, p["requests_per_day"], 0.4)
    turns = 1.6
    starts = timing.session_starts(rng, a, b, per_day / turns, acct.tz, "evening")
    raw = acct.shared["sweep"].prompts(ctx, rng, len(starts))
    firsts = [human_frame(rng, t) for t in raw]
    return chat_plan(ctx, acct, rng, starts, turns, p["think_median_s"], firsts, 0.0, CASUAL_MIX)


# --- pivot to a newly released model ----------------------------------------------------
def pivot_accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    accts = _with_sweep(attack_accounts(ctx, rng, n, group, cid), rng, 5, cot_share=0.3)
    lag = rng.uniform(0.3, 0.8) * p["pivot_within_hours"] * 3600.0
    for acct in accts:  # the campaign switches together, each account a little apart
        acct.shared["switch"] = ctx.scenario.release_ts + lag * rng.uniform(0.6, 1.25)
    return accts


def pivot_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Old model before the switch; after it (release < switch <= release + within hours)
    only the new model, at about twice the rate."""
    sc = ctx.scenario
    a, b = active_span(ctx, acct, p)
    switch = min(acct.shared["switch"], sc.release_ts + p["pivot_within_hours"] * 3600.0)
    rate = lognormal_rate(rng, p["requests_per_day"], 0.3)
    before = timing.poisson_stream(rng, a, min(b, switch), rate * 0.6)
    after = timing.poisson_stream(rng, max(a, switch), b, rate * 1.4)
    ts = np.concatenate([before, after])
    moved = ts >= switch
    if p["new_model_share"] < 1:  # only part of the traffic moves to the new model
        moved &= rng.random(len(ts)) < p["new_model_share"]
    models = np.where(moved, sc.new_model, sc.models[0]).astype(object)
    return sweep_plan(ctx, acct, rng, ts, models, out_median=900.0)


ROSTER: dict[str, Behaviour] = {
    "bulk": Behaviour(bulk_accounts, bulk_plan),
    "hydra": Behaviour(hydra_accounts, hydra_plan),
    "reseller_mix": Behaviour(reseller_mix_accounts, reseller_mix_plan),
    "slow_low": Behaviour(slow_low_accounts, slow_low_plan),
    "pivot": Behaviour(pivot_accounts, pivot_plan),
}
