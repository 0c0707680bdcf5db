"""The gateway's decision time in process: ``decide`` alone and the whole per-request step.

Part of ``bench_gateway.py decide``: assess with the rate assessor, load from the in-memory
store with the cluster's token bucket, decide, remember -- over a stream of requests from
10,000 accounts, 5% of them in 50 clusters, a hydra cluster and fast harvesters.
"""

from __future__ import annotations

import gc
import random
import statistics
import time

from gateway_load import pct


def bench_decide(requests: int) -> str:
    from distillwatch.enforce import Enforcer, MemoryStore, decide, load_policy
    from distillwatch.enforce.policy import ClusterLimit
    from distillwatch.enforce.rate_assessor import RateAssessor

    base = load_policy()
    policy = type(base)(
        rules=base.rules,
        cluster_limit=ClusterLimit(rate=50.0, burst=200.0),
        throttle_retry_after=base.throttle_retry_after,
    )
    rng = random.Random(7)
    # background: 10,000 accounts; a hydra cluster of 200 accounts sending 100/s in all (twice
    # its budget); 10 harvesters at 10/s each (600/min: the rate assessor scores them ~0.83)
    hydra = [f"hydra_{i}" for i in range(200)]
    clusters = {a: "C-hydra" for a in hydra}
    clusters.update({f"acct_{i}": f"C-{i % 50}" for i in range(0, 10_000, 20)})
    assessor = RateAssessor(clusters=clusters)
    store = MemoryStore()
    enforcer = Enforcer(policy, assessor, store)  # for its assess(); the loop below is its check
    t0 = 1_780_000_000.0

    def records():
        for i in range(requests):
            pick = rng.random()
            if pick < 0.2:
                account = rng.choice(hydra)
            elif pick < 0.4:
                account = f"harvester_{rng.randrange(10)}"
            else:
                account = f"acct_{rng.randrange(10_000)}"
            yield {"ts": t0 + i * 0.002, "account_id": account, "request_id": f"r{i}"}

    gc.collect()
    gc.freeze()  # what a long-running gateway would do after start-up: old objects stay put
    decide_ns: list[int] = []
    step_ns: list[int] = []
    actions: dict[str, int] = {}
    clock = time.perf_counter_ns
    for record in records():
        now = record["ts"]
        begin = clock()
        assessment = enforcer.assess(record)
        state = store.load_now(
            assessment.account_id, assessment.cluster_id, now, policy.cluster_limit
        )
        mid = clock()
        decision = decide(policy, assessment, state, now, record["request_id"])
        end = clock()
        if decision.changed or decision.sticky_until is not None:
            store.save_now(decision, now, None)
        done = clock()
        decide_ns.append(end - mid)
        step_ns.append(done - begin)
        actions[decision.action.value] = actions.get(decision.action.value, 0) + 1
    lines = [
        f"{requests:,} requests at 500/s: 60% from 10,000 ordinary accounts (500 of them in 50 "
        "clusters), 20% from a 200-account hydra cluster, 20% from 10 fast harvesters; the "
        "default policy plus a cluster limit of 50/s (burst 200); one core, GC on (frozen "
        "after set-up); "
        f"actions: {', '.join(f'{k} {v:,}' for k, v in sorted(actions.items()))}.",
        "",
        "| step | p50 µs | p99 µs | p99.9 µs | mean µs |",
        "|---|---|---|---|---|",
    ]
    for name, values in (
        ("`decide` (pure)", decide_ns),
        ("assess + load state (bucket) + decide + remember", step_ns),
    ):
        us = [v / 1000 for v in values]
        lines.append(
            f"| {name} | {pct(us, 0.5):.1f} | {pct(us, 0.99):.1f} | {pct(us, 0.999):.1f} "
            f"| {statistics.fmean(us):.1f} |"
        )
    return "\n".join(lines)
