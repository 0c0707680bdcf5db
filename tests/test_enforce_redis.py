"""The Redis enforcement store against the real local Redis (127.0.0.1:6379).

Each test uses its own key prefix and deletes its keys afterwards.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from distillwatch.enforce import Action, ActiveAction, Decision
from distillwatch.enforce.policy import ClusterLimit

redis = pytest.importorskip("redis")

from distillwatch.enforce.redis_store import RedisStore  # noqa: E402

URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix():
    name = f"dwtest:{uuid.uuid4().hex[:10]}:"
    yield name
    client = redis.Redis.from_url(URL)
    keys = list(client.scan_iter(match=name + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def run(coroutine):
    return asyncio.run(coroutine)


def test_cluster_bucket_is_atomic_under_concurrent_takes(prefix) -> None:
    """200 concurrent requests from 200 accounts of one cluster: exactly the burst passes."""
    limit = ClusterLimit(rate=0.001, burst=25)

    async def main():
        stores = [RedisStore(URL, prefix=prefix, timeout=5) for _ in range(4)]  # four "replicas"
        now = time.time()
        states = await asyncio.gather(
            *(stores[i % 4].load(f"acct_{i}", "C-hydra", now, limit) for i in range(200))
        )
        ttl = await stores[0].client.pttl(stores[0].key("bucket", "C-hydra"))
        for store in stores:
            await store.close()
        return states, ttl

    states, ttl = run(main())
    buckets = [s.cluster_bucket for s in states if s.cluster_bucket is not None]
    assert len(buckets) == 200
    assert sum(b.allowed for b in buckets) == 25
    assert all(b.retry_after > 0 for b in buckets if not b.allowed)
    assert 0 < ttl <= 3_600_000  # idle buckets expire


def test_sticky_actions_overrides_and_audit_round_trip(prefix) -> None:
    async def main():
        store = RedisStore(URL, prefix=prefix)
        now = time.time()
        decision = Decision(
            action=Action.BLOCK,
            account_id="a1",
            cluster_id="C-1",
            reasons=("rule high: score 0.95 >= 0.9",),
            reference_id="DW-ABC",
            source="rule:high",
            sticky_until=now + 30,
            sticky_cluster=True,
            changed=True,
        )
        await store.save(decision, now, {"account_id": "a1", "action": "block"})
        own = await store.load("a1", "C-1", now)
        linked = await store.load("a2", "C-1", now)
        ttl = await store.client.pttl(store.key("action:a", "a1"))
        override = ActiveAction(Action.THROTTLE, until=now + 60, reasons=("desk",), retry_after=5)
        await store.set_override("a3", override)
        listed = await store.overrides(now)
        removed = await store.clear_override("a3")
        after = await store.overrides(now)
        audit = await store.audit()
        await store.close()
        return own, linked, ttl, listed, removed, after, audit

    own, linked, ttl, listed, removed, after, audit = run(main())
    assert own.account_action is not None and own.account_action.reference_id == "DW-ABC"
    assert own.last_action is Action.BLOCK and own.cluster_bucket is None
    assert linked.cluster_action is not None and linked.cluster_action.action is Action.BLOCK
    assert linked.account_action is None and linked.last_action is None
    assert 0 < ttl <= 30_000
    assert listed["a3"].action is Action.THROTTLE and listed["a3"].retry_after == 5
    assert removed and after == {}
    assert audit == [{"account_id": "a1", "action": "block"}]


def test_unreachable_redis_is_tried_once_then_left_alone_for_a_while() -> None:
    """The second request inside ``retry_interval`` must not try to connect again (a dead
    Redis must not add a connect timeout to every request): one error counted, and the
    second refusal says so. Speed itself is measured by benchmarks/bench_gateway.py."""

    async def main():
        store = RedisStore("redis://127.0.0.1:1/0", retry_interval=30)
        from distillwatch.enforce import StoreUnavailable

        with pytest.raises(StoreUnavailable) as first:
            await store.load("a", None, time.time())
        with pytest.raises(StoreUnavailable, match="retrying shortly"):
            await store.load("a", None, time.time())
        await store.close()
        return str(first.value), store

    first, store = run(main())
    assert "retrying shortly" not in first
    assert not store.available and store.errors == 1


def test_a_password_in_the_redis_url_never_reaches_an_error_or_log(caplog) -> None:
    from distillwatch.enforce.store import StoreUnavailable

    async def main() -> str:
        store = RedisStore("redis://:s3cret-pw@127.0.0.1:1/0", timeout=0.05)  # nobody listens
        try:
            await store.load("acct", None, time.time())
        except StoreUnavailable as exc:
            return str(exc)
        finally:
            await store.close()
        raise AssertionError("a Redis nobody listens on answered")

    caplog.set_level("WARNING")
    message = run(main())
    assert "s3cret-pw" not in message and ":***@127.0.0.1:1" in message
    assert "s3cret-pw" not in caplog.text
