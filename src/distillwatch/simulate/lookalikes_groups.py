"""Honest groups of accounts that arrive or pay together: courses and hackathons, shared cards.

``cohort`` mirrors hydra's fresh accounts and shared templates (students signed up within
hours of each other on one starter-kit notebook); ``shared_card`` mirrors hydra's shared
payment fingerprints (company teams and families on one card). Registered in
``lookalikes_identity.IDENTITY_LOOKALIKES``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillwatch.simulate import infra, timing
from distillwatch.simulate.lookalike_accounts import (
    HOUR,
    add_ips,
    benign,
    group_sizes,
    nat_pool,
    new_or_aged,
    pick_asn,
)
from distillwatch.simulate.phrasing import STEP_BY_STEP, pick, short_answer
from distillwatch.simulate.plan import (
    DAY,
    Account,
    Ctx,
    Plan,
    active_span,
    attach,
    body,
    lognormal_rate,
    out_tokens,
    user,
)
from distillwatch.simulate.populations import Params, casual_plan, draw_mixed, power_plan
from distillwatch.simulate.starter_kits import COURSE_MIX, COURSES, KIT_BASIC, KIT_EVAL


# --- cohort: a course or hackathon (mirrors hydra's fresh accounts and shared templates) ----
def cohort_accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    """Mirrors hydra's fresh accounts and shared templates. Students of a course or a hackathon:
    signed up within hours of each other, one university domain, one campus NAT pool, one
    starter-kit notebook (shared templates, model and params), labs at the same hours;
    sometimes a department card. No org_id.

    ``online_share`` of cohorts are an online course instead (a MOOC, a tutorial's readers):
    everybody at home in their own country on free mail, with the notebook's pinned SDK as
    their one client -- a hydra's wrappers, client, fresh accounts and many networks, honest."""
    sc = ctx.scenario
    out: list[Account] = []
    for size in group_sizes(rng, n, p["accounts_per_cohort"], 3):
        campus = pick_asn(rng, ctx.net.of_kind("campus"))
        online = p["online_share"] > 0 and rng.random() < p["online_share"]  # 0: no draw
        hackathon = not online and rng.random() < p["hackathon_share"]
        fresh = hackathon or rng.random() < p["fresh_share"]
        t0 = (
            sc.start_ts
            + (rng.uniform(-2.0, 0.6 * sc.days) if fresh else -rng.uniform(10.0, 120.0)) * DAY
        )
        spread = lognormal_rate(rng, p["signup_spread_hours"], 0.8) * HOUR
        tz = infra.tz_of(campus.country)
        if hackathon:  # one long event window right after sign-up
            labs = np.array([[t0 + spread, rng.uniform(24.0, 48.0) * HOUR]])
        else:
            starts = timing.session_starts(
                rng, max(t0, sc.start_ts), sc.end_ts, p["labs_per_week"] / 5.0, tz, "office", 0.0
            )
            labs = np.stack([starts, rng.uniform(1.5, 3.0, len(starts)) * HOUR], axis=1)
        evals = not hackathon and rng.random() < p["eval_course_share"]
        kit = KIT_EVAL if evals else KIT_BASIC
        benches = list(ctx.corpus.benchmarks)
        cohort: dict[str, Any] = {
            "labs": labs.reshape(-1, 2),
            "hackathon": hackathon,
            "kit": [kit[i] for i in rng.choice(len(kit), int(rng.integers(1, 4)), replace=False)],
            "course": pick(rng, COURSES),
            "bench": pick(rng, benches) if evals and benches else None,
            "model": str(pick(rng, sc.models)),
            "params": {"temperature": float(pick(rng, (0.0, 0.7, 1.0))), "max_tokens": 512},
            "nat": [] if online else nat_pool(rng, campus, int(rng.integers(1, 3)), 4),
        }
        if online:
            out += _online_students(ctx, rng, group, size, t0, spread, cohort)
            continue
        dom = infra.university_domain(rng)
        card = infra.hex_ids(rng, 1, 8, "pm_")[0] if rng.random() < p["shared_card_share"] else None
        for _ in range(size):
            acct = benign(
                ctx,
                rng,
                group,
                created=t0 + rng.uniform(0, spread),
                country=campus.country,
                email=dom,
                payment=card,
                ua_family=pick(rng, ("sdk", "sdk", "http", "browser")),
            )
            add_ips(acct, cohort["nat"], campus)
            attach(acct, rng, pick_asn(rng, ctx.net.of_kind("residential", campus.country)), 1)
            acct.shared["cohort"] = cohort
            out.append(acct)
    return out


def _online_students(
    ctx: Ctx,
    rng: np.random.Generator,
    group: str,
    size: int,
    t0: float,
    spread: float,
    cohort: dict[str, Any],
) -> list[Account]:
    """An online course's students: free mail, each at home in their own country (one or two
    home prefixes, a phone now and then), the notebook's pinned SDK as the only client."""
    pinned = infra.user_agent(rng, "sdk")
    out = []
    for _ in range(size):
        country = infra.pick_country(rng)
        acct = benign(
            ctx,
            rng,
            group,
            created=t0 + rng.uniform(0, spread * 4),
            country=country,
            email=infra.email_domain(rng, free=0.9, disposable=0.0),
        )
        acct.user_agents = (pinned,)
        attach(acct, rng, pick_asn(rng, ctx.net.of_kind("residential", country)), 1)
        if rng.random() < 0.4:
            attach(acct, rng, pick_asn(rng, ctx.net.of_kind("mobile", country)), 1)
        acct.shared["cohort"] = cohort
        out.append(acct)
    return out


def cohort_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Notebook runs in the labs (campus NAT, everyone at once) and homework in the evening,
    mostly from home; during a hackathon, around the clock inside the event."""
    co = acct.shared["cohort"]
    a, b = active_span(ctx, acct)
    rate = lognormal_rate(rng, p["requests_per_day"], 0.9)
    labs = co["labs"]
    went = labs[rng.random(len(labs)) < rng.uniform(0.5, 0.95)]
    lab_t = went[:, 0] + rng.uniform(0.0, 0.6, len(went)) * went[:, 1]
    if co["hackathon"]:  # sessions all through the event, on top of the kick-off
        h0 = float(labs[0, 0])
        lab_t = np.concatenate([lab_t, timing.poisson_stream(rng, h0, h0 + labs[0, 1], rate / 3)])
        home_t = np.zeros(0)
    else:
        home_t = timing.session_starts(rng, a, b, rate / 6.0, acct.tz, "evening")
    lab_t = lab_t[(lab_t >= a) & (lab_t < b)]
    starts = np.concatenate([lab_t, home_t])
    campus = np.concatenate([np.ones(len(lab_t), bool), rng.random(len(home_t)) < 0.25])
    ts, sid, step = timing.sessions(rng, starts, rng.uniform(3.0, 10.0), 15.0)
    n = len(ts)
    cells = rng.integers(0, len(co["kit"]), len(starts))
    bench = ctx.corpus.benchmarks.get(co["bench"] or "", ())
    if bench:  # everyone runs the same items of the notebook's benchmark, in order
        texts = [bench[int(s) % len(bench)] for s in step.tolist()]
    else:
        texts = draw_mixed(ctx, rng, COURSE_MIX, n)
    nat = len(co["nat"])
    home = rng.integers(nat, len(acct.ips), n)
    # an online course has no campus: its live sessions are watched from home
    ip_idx = np.where(campus[sid], rng.integers(0, nat, n), home) if nat else home
    graded = any("{a}" in t for _, t in co["kit"])
    answers = [short_answer(rng, t) for t in texts] if graded else [""] * n
    outs = out_tokens(rng, n, 250.0)
    cot = pick(rng, STEP_BY_STEP)

    def render(i: int) -> dict[str, Any]:
        cell = int(cells[sid[i]])
        system, tmpl = co["kit"][cell]
        fill = {"course": co["course"], "n": cell + 1, "cot": cot}
        text = tmpl.format(x=texts[i], a=answers[i], **fill)
        system = system.format(**fill) if system else None
        return body(co["model"], [user(text)], co["params"], int(outs[i]), system=system)

    return Plan(ts, render, ip_idx)


# --- shared_card: companies and families (mirrors hydra's shared payment fingerprints) -----
def shared_card_accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    """Mirrors hydra's shared cards. Several accounts on one card, no org declared: a company team
    (corporate domain, office NAT shared by all) or a family (free mail, one household IP, each
    person's phone)."""
    out: list[Account] = []
    for size in group_sizes(rng, n, p["accounts_per_card"], 2):
        card = infra.hex_ids(rng, 1, 8, "pm_")[0]
        company = rng.random() < p["company_share"]
        cc = infra.pick_country(rng)
        isp = pick_asn(rng, ctx.net.of_kind("residential", cc))
        shared_ips = infra.ip_in(rng, isp, int(rng.integers(1, 3)) if company else 1)
        dom = infra.corporate_domain(rng)
        for _ in range(size):
            acct = benign(
                ctx,
                rng,
                group,
                created=new_or_aged(ctx, rng, p["new_account_share"]),
                age_days=(10.0, 1200.0),
                country=cc,
                email=dom if company else infra.email_domain(rng, free=1.0, disposable=0.0),
                payment=card,
                ua_family=pick(rng, ("sdk", "browser", "http") if company else ("browser",)),
                n_keys=int(rng.integers(1, 3)),
            )
            add_ips(acct, shared_ips, isp)
            own = "residential" if company else "mobile"
            if rng.random() < 0.7:
                attach(acct, rng, pick_asn(rng, ctx.net.of_kind(own, cc)), 1)
            acct.shared["company"] = company
            out.append(acct)
    return out


def shared_card_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Ordinary use: office work sessions for company teams, evening chat for families."""
    return (power_plan if acct.shared["company"] else casual_plan)(ctx, acct, p, rng)
