"""Console actions against the gateways' shared state: a block set from the console is the
override a gateway replica reads from Redis, and unblock clears it (the same keys as
``distillwatch policy override --redis``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest

from distillwatch.review.actions import EnforceConfig, PartlyEnforced, enforce, overrides_of
from distillwatch.review.store import ConsoleError

redis = pytest.importorskip("redis")
URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"dwtest:{uuid.uuid4().hex[:10]}:"
    yield name
    client = redis.Redis.from_url(URL)
    keys = list(client.scan_iter(match=name + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_block_and_unblock_reach_a_gateway_replica_through_redis(prefix: str) -> None:
    from distillwatch.enforce.redis_store import RedisStore

    config = EnforceConfig(redis=URL, prefix=prefix)
    done = asyncio.run(enforce(config, ["a1", "a2"], "block", 3600, "confirmed campaign"))
    assert done["accounts"] == 2 and set(done["references"]) == {"a1", "a2"}

    async def replica_view() -> dict:
        replica = RedisStore(URL, prefix=prefix, timeout=2.0)  # what a gateway reads
        try:
            return await replica.overrides(time.time())
        finally:
            await replica.close()

    seen = asyncio.run(replica_view())
    assert sorted(seen) == ["a1", "a2"]
    assert seen["a1"].action.value == "block"
    assert seen["a1"].reasons == ("manual override: confirmed campaign",)
    asyncio.run(enforce(config, ["a1"], "unblock", 0, "appeal"))
    assert sorted(asyncio.run(replica_view())) == ["a2"]
    assert sorted(asyncio.run(overrides_of(config, ["a1", "a2", "a3"]))) == ["a2"]


def test_an_unreachable_store_is_a_clear_error() -> None:
    config = EnforceConfig(redis="redis://127.0.0.1:1/0", prefix="dwtest:none:")
    with pytest.raises(ConsoleError, match=r"unavailable .*0 of 1 account") as failed:
        asyncio.run(enforce(config, ["a1"], "block", 60, "x"))
    assert "127.0.0.1:1" not in str(failed.value)  # no store URL (it may hold a password)
    assert isinstance(failed.value, PartlyEnforced) and failed.value.done == []
    assert asyncio.run(overrides_of(config, ["a1"])) == {}
