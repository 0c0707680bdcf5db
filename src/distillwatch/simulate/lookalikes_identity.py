"""Honest look-alikes of the attacks' *who, where and when*: identity, payment, networks, timing.

Every tactic about accounts and infrastructure has honest twins that a detector must not flag
on that surface alone: fresh accounts arriving together with shared templates (courses and
hackathons, like a hydra cluster's sign-ups), several accounts on one card (companies and
families, like hydra's shared cards), many IPs and ASNs (phones and VPNs, like proxy rotation;
cloud egress pools, like hydra's exits and bulk's volume) and a switch to a new model within
hours of its release (evaluation teams, like ``pivot``). Registered in
:data:`IDENTITY_LOOKALIKES`; every trait is drawn per group or per account from wide ranges.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillwatch.simulate import infra, timing
from distillwatch.simulate.phrasing import STEP_BY_STEP, pick, short_answer
from distillwatch.simulate.plan import (
    DAY,
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
from distillwatch.simulate.populations import (
    Behaviour,
    Params,
    casual_plan,
    draw_mixed,
    people_accounts,
    power_plan,
)
from distillwatch.simulate.starter_kits import COURSE_MIX, COURSES, KIT_BASIC, KIT_EVAL, PRODUCTS

HOUR = 3600.0


def _sizes(rng: np.random.Generator, n: int, mean: float, least: int) -> list[int]:
    """Group sizes, log-normal around ``mean`` (at least ``least``), adding up to ``n``."""
    out: list[int] = []
    while sum(out) < n:
        out.append(max(least, round(lognormal_rate(rng, mean, 0.7))))
    if out:
        out[-1] -= sum(out) - n
    if len(out) > 1 and out[-1] < least:  # a too-small remainder joins the group before
        rest = out.pop()  # (not ``out[-2] += out.pop()``: its target is picked before the pop)
        out[-1] += rest
    return out


def _asn(rng: np.random.Generator, asns: list[infra.Asn]) -> infra.Asn:
    return asns[int(rng.integers(len(asns)))]


def _add(acct: Account, ips: list[str], asn: infra.Asn) -> list[int]:
    """Give ``acct`` these addresses of ``asn``; return their indices in ``acct.ips``."""
    first = len(acct.ips)
    acct.ips.extend(ips)
    acct.asns.extend([asn.number] * len(ips))
    acct.ip_countries.extend([asn.country] * len(ips))
    return list(range(first, len(acct.ips)))


def _nat(rng: np.random.Generator, asn: infra.Asn, prefixes: int, most: int) -> list[str]:
    """A NAT pool: 1 to ``most`` addresses in each of ``prefixes`` /24s of ``asn``."""
    bases = infra.ip_in(rng, asn, prefixes)
    return [ip for b in bases for ip in infra.same_prefix(rng, b, int(rng.integers(1, most + 1)))]


def _new_or_aged(ctx: Ctx, rng: np.random.Generator, new_share: float) -> float | None:
    """A sign-up time during the run for ``new_share`` of accounts, else None (aged)."""
    sc = ctx.scenario
    return sc.start_ts + rng.uniform(0, 0.8) * sc.days * DAY if rng.random() < new_share else None


def _benign(ctx: Ctx, rng: np.random.Generator, group: str, **kw: Any) -> Account:
    return identity(ctx, rng, label="benign", group=group, network="none", **kw)


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
    for size in _sizes(rng, n, p["accounts_per_cohort"], 3):
        campus = _asn(rng, ctx.net.of_kind("campus"))
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
            "nat": [] if online else _nat(rng, campus, int(rng.integers(1, 3)), 4),
        }
        if online:
            out += _online_students(ctx, rng, group, size, t0, spread, cohort)
            continue
        dom = infra.university_domain(rng)
        card = infra.hex_ids(rng, 1, 8, "pm_")[0] if rng.random() < p["shared_card_share"] else None
        for _ in range(size):
            acct = _benign(
                ctx,
                rng,
                group,
                created=t0 + rng.uniform(0, spread),
                country=campus.country,
                email=dom,
                payment=card,
                ua_family=pick(rng, ("sdk", "sdk", "http", "browser")),
            )
            _add(acct, cohort["nat"], campus)
            attach(acct, rng, _asn(rng, ctx.net.of_kind("residential", campus.country)), 1)
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
        acct = _benign(
            ctx,
            rng,
            group,
            created=t0 + rng.uniform(0, spread * 4),
            country=country,
            email=infra.email_domain(rng, free=0.9, disposable=0.0),
        )
        acct.user_agents = (pinned,)
        attach(acct, rng, _asn(rng, ctx.net.of_kind("residential", country)), 1)
        if rng.random() < 0.4:
            attach(acct, rng, _asn(rng, ctx.net.of_kind("mobile", country)), 1)
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
    for size in _sizes(rng, n, p["accounts_per_card"], 2):
        card = infra.hex_ids(rng, 1, 8, "pm_")[0]
        company = rng.random() < p["company_share"]
        cc = infra.pick_country(rng)
        isp = _asn(rng, ctx.net.of_kind("residential", cc))
        shared_ips = infra.ip_in(rng, isp, int(rng.integers(1, 3)) if company else 1)
        dom = infra.corporate_domain(rng)
        for _ in range(size):
            acct = _benign(
                ctx,
                rng,
                group,
                created=_new_or_aged(ctx, rng, p["new_account_share"]),
                age_days=(10.0, 1200.0),
                country=cc,
                email=dom if company else infra.email_domain(rng, free=1.0, disposable=0.0),
                payment=card,
                ua_family=pick(rng, ("sdk", "browser", "http") if company else ("browser",)),
                n_keys=int(rng.integers(1, 3)),
            )
            _add(acct, shared_ips, isp)
            own = "residential" if company else "mobile"
            if rng.random() < 0.7:
                attach(acct, rng, _asn(rng, ctx.net.of_kind(own, cc)), 1)
            acct.shared["company"] = company
            out.append(acct)
    return out


def shared_card_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Ordinary use: office work sessions for company teams, evening chat for families."""
    return (power_plan if acct.shared["company"] else casual_plan)(ctx, acct, p, rng)


# --- mobile: phones, CGNAT and VPNs (mirrors residential-proxy rotation) -------------------
def mobile_accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    """Mirrors residential-proxy rotation (hydra). People on phones: CGNAT addresses over one or
    more carriers, home Wi-Fi, some behind a VPN's exits in a few countries, some travelling
    (roaming abroad)."""
    out: list[Account] = []
    for _ in range(n):
        cc = infra.pick_country(rng)
        acct = _benign(
            ctx,
            rng,
            group,
            created=_new_or_aged(ctx, rng, 0.05),
            country=cc,
            email=infra.email_domain(rng, free=0.85, disposable=0.01),
            ua_family=pick(rng, ("browser", "custom", "http", "sdk")),
        )
        pools = phone_pools(ctx, rng, acct, cc, p)
        acct.shared.update(pools=pools, power=rng.random() < p["power_share"])
        out.append(acct)
    return out


def phone_pools(
    ctx: Ctx, rng: np.random.Generator, acct: Account, cc: str, p: Params
) -> list[tuple[list[int], float]]:
    """A phone's networks, as (address indices in ``acct.ips``, weight) pools: CGNAT
    addresses of one to three carriers, home Wi-Fi (70%), a VPN provider's exits in 1-4
    countries (``vpn_share``), roaming abroad (10%)."""
    vpns = ctx.net.of_kind("vpn")
    weeks = ctx.scenario.days / 7.0
    carriers = ctx.net.of_kind("mobile", cc) + ctx.net.of_kind("carrier", cc)
    k = min(len(carriers), 1 + rng.binomial(2, 0.35))
    n_ips = max(3, round(lognormal_rate(rng, p["ips_per_week"] * weeks, 0.9)))
    picked = rng.choice(len(carriers), k, replace=False).tolist()
    specs = [([carriers[j]], max(1, n_ips // k), 1.0) for j in picked]  # CGNAT pools
    if rng.random() < 0.7:  # home Wi-Fi
        specs.append(([_asn(rng, ctx.net.of_kind("residential", cc))], 1, rng.uniform(0.2, 1)))
    if rng.random() < p["vpn_share"]:  # one provider's exits in 1-4 countries
        prov = _asn(rng, vpns).name.rsplit(" ", 1)[0]
        mine = [v for v in vpns if v.name.startswith(prov)]
        exits = [mine[e] for e in rng.permutation(len(mine))[: rng.integers(1, 5)].tolist()]
        specs.append((exits, 3, rng.uniform(0.2, 2.0)))
    if rng.random() < 0.1:  # roaming on a trip
        specs.append(([_asn(rng, ctx.net.of_kind("mobile", infra.pick_country(rng)))], 3, 0.3))
    return [
        ([i for asn in asns for i in _add(acct, infra.ip_in(rng, asn, per), asn)], w)
        for asns, per, w in specs
    ]


def mobile_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Casual or power chat; the address changes with each lease (CGNAT, network, VPN)."""
    plan = (power_plan if acct.shared["power"] else casual_plan)(ctx, acct, p, rng)
    return with_leases(plan, acct, p, rng)


def with_leases(plan: Plan, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Give ``plan``'s requests a phone's addresses: a new lease (minutes to a day) from one
    of the phone's pools (``phone_pools``) at a time."""
    ts, pools = plan.ts, acct.shared["pools"]
    lease = rng.lognormal(np.log(p["lease_hours"] * HOUR), 1.2)  # minutes to a day
    _, inv = np.unique(((ts - ts.min()) // lease) if len(ts) else ts, return_inverse=True)
    w = np.array([wt for _, wt in pools])
    which = rng.choice(len(pools), int(inv.max()) + 1 if len(ts) else 0, p=w / w.sum())
    per_lease = [pick(rng, pools[k][0]) for k in which.tolist()]
    plan.ip_idx = np.asarray(per_lease, dtype=np.int64)[inv] if len(ts) else None
    return plan


# --- cloud_egress: apps behind cloud NAT (mirrors hydra's many IPs and bulk's volume) -------
def cloud_egress_accounts(
    ctx: Ctx, group: str, p: Params, n: int, rng: np.random.Generator, cid: str | None
) -> list[Account]:
    """Mirrors hydra's many IPs and bulk's volume. An enterprise app whose calls leave through a
    cloud NAT/egress pool: many /24 prefixes in 2-``asns_max`` cloud ASNs, a few keys, an aged
    (sometimes new) account."""
    big = ctx.net.of_kind("hyperscale")
    pool = big + ctx.net.of_kind("cloud")
    out: list[Account] = []
    for _ in range(n):
        acct = _benign(
            ctx,
            rng,
            group,
            created=_new_or_aged(ctx, rng, 0.08),
            age_days=(20.0, 900.0),
            email=infra.corporate_domain(rng),
            ua_family=pick(rng, ("sdk", "http", "custom")),
            n_keys=int(rng.integers(1, 6)),
        )
        k = int(rng.integers(2, max(2, int(p["asns_max"])) + 1))
        prefixes = int(np.clip(round(lognormal_rate(rng, p["prefixes"], 0.7)), 2 * k, 80))
        # one large egress range, the rest anywhere; prefixes spread by each ASN's size
        chosen = [int(rng.integers(len(big))), *rng.choice(len(pool), k - 1, replace=False)]
        chosen = list(dict.fromkeys(chosen))  # (the large one may be drawn twice)
        size = np.array([len(pool[j].blocks) * pool[j].block_size for j in chosen], float)
        for j, m in zip(chosen, rng.multinomial(prefixes, size / size.sum()) + 1, strict=True):
            _add(acct, _nat(rng, pool[j], int(m), 3), pool[j])
        acct.ip_mode = "pool"
        out.append(acct)
    return out


def cloud_egress_plan(ctx: Ctx, acct: Account, p: Params, rng: np.random.Generator) -> Plan:
    """Steady automated product traffic: one system prompt, end users' text as payload."""
    a, b = active_span(ctx, acct)
    rate = lognormal_rate(rng, p["requests_per_day"], 1.0)
    ts = timing.poisson_stream(rng, a, b, rate, acct.tz, pick(rng, ("flat", "office", "evening")))
    n = len(ts)
    system, tmpl = pick(rng, PRODUCTS)
    system = system.format(co=acct.email_domain.split(".")[0].title())
    texts = ctx.corpus.draw(rng, pick(rng, ("organic", "sentences", "batch", "instructions")), n)
    docs = ctx.corpus.draw(rng, "knowledge", n) if "{c}" in tmpl else [""] * n
    models = pick_models(ctx, rng, ts, 0.15)
    outs = out_tokens(rng, n, rng.uniform(60.0, 400.0), 0.5)
    params: Params = {"temperature": float(pick(rng, (0.0, 0.2, 0.7))), "max_tokens": 1024}

    def render(i: int) -> dict[str, Any]:
        msgs = [user(tmpl.format(x=texts[i], c=docs[i]))]
        return body(str(models[i]), msgs, params, int(outs[i]), system=system)

    return Plan(ts, render)


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


IDENTITY_LOOKALIKES: dict[str, Behaviour] = {
    "cohort": Behaviour(cohort_accounts, cohort_plan),
    "shared_card": Behaviour(shared_card_accounts, shared_card_plan),
    "mobile": Behaviour(mobile_accounts, mobile_plan),
    "cloud_egress": Behaviour(cloud_egress_accounts, cloud_egress_plan),
    "release_eval": Behaviour(
        people_accounts(("eval", "sdk"), email=(0.2, 0.0), university=0.3, network="cloud"),
        release_eval_plan,
    ),
}
