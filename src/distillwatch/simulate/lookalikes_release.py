"""Honest evaluation teams on a model's launch day: the look-alike of ``pivot``.

Registered in ``lookalikes_identity.IDENTITY_LOOKALIKES`` (its accounts are
``populations.people_accounts``'s).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillwatch.simulate import timing
from distillwatch.simulate.lookalike_accounts import HOUR
from distillwatch.simulate.phrasing import STEP_BY_STEP, pick
from distillwatch.simulate.plan import (
    Account,
    Ctx,
    Plan,
    active_span,
    body,
    lognormal_rate,
    out_tokens,
    user,
)
from distillwatch.simulate.populations import Params


# --- release_eval: evaluation teams on launch day (mirrors pivot) ------------------------
def release_eval_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Mirrors ``pivot``: evaluation teams and model-comparison sites. Benchmark sweeps at
    temperature 0 on the usual models; within hours of a release most traffic moves to the new
    model in a launch-day burst (comparison sites keep some on the old ones, side by side),
    then settles at the usual rate."""
    sc = ctx.scenario
    a, b = active_span(ctx, acct)
    rate = lognormal_rate(rng, p["requests_per_day"], 0.9)
    switch = max(a, sc.release_ts + rng.uniform(0.1, 1.0) * p["switch_within_hours"] * HOUR)
    burst = switch + rng.uniform(4.0, 24.0) * HOUR
    kickoff = [switch + rng.uniform(1, 60)] if a <= switch < b - 60 else []  # sweep starts
    ts = np.sort(
        np.concatenate(
            [
                timing.poisson_stream(rng, a, min(b, switch), rate * rng.uniform(0.1, 0.6)),
                kickoff,
                timing.poisson_stream(rng, switch, min(b, burst), rate * rng.uniform(2.0, 8.0)),
                timing.poisson_stream(rng, min(b, burst), b, rate),
            ]
        )
    )
    n = len(ts)
    share = float(np.clip(p["new_model_share"] + rng.uniform(-0.2, 0.1), 0.5, 1.0))
    old = rng.choice(sc.models, n)
    models = np.where((ts >= switch) & (rng.random(n) < share), sc.new_model, old)
    if kickoff:
        models[np.searchsorted(ts, kickoff[0])] = sc.new_model
    names = list(ctx.corpus.benchmarks)
    chosen = rng.choice(len(names), int(rng.integers(1, len(names) + 1)), replace=False)
    sweep = [t for j in chosen.tolist() for t in ctx.corpus.benchmarks[names[j]]] or list(
        ctx.corpus.pool("reasoning")
    )
    first = int(rng.integers(len(sweep)))
    suffix = f"\n\n{pick(rng, STEP_BY_STEP)}" if rng.random() < p["cot_share"] else ""
    outs = out_tokens(rng, n, 320.0, 0.8)
    params: Params = {"temperature": 0.0, "max_tokens": int(pick(rng, (512, 1024, 2048)))}

    def render(i: int) -> dict[str, Any]:
        text = sweep[(first + i) % len(sweep)] + suffix
        return body(str(models[i]), [user(text)], params, int(outs[i]))

    return Plan(ts, render)
