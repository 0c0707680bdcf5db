"""The online state's bounded summaries: they must keep what recurs under a flood of one-offs."""

from __future__ import annotations

import random
from typing import Any

import pytest

from distillwatch.online.account import MAX_FRAMES, ProfileState
from distillwatch.online.sketch import Frequency

AREAS = ("math", "coding", "knowledge", "creative", "translation", "reasoning")


def _row(prompt: str, area: str) -> dict[str, Any]:
    return {"last_user": prompt, "capability": area, "account_id": "a"}


def test_frequency_counts_recurring_keys_and_ages() -> None:
    sketch = Frequency(width=64)
    for _ in range(30):
        sketch.add(12345)
    assert sketch.estimate(12345) >= 30
    assert sketch.estimate(999) <= sketch.estimate(12345) // 2  # an unseen key stays low
    for key in range(10 * 64):  # enough additions to halve every counter once
        sketch.add(key * 7919)
    assert sketch.ageings >= 1
    assert sketch.estimate(12345) < 30


def test_frequency_merge_adds_both_streams() -> None:
    a, b = Frequency(), Frequency()
    a.add(42, 3)
    b.add(42, 4)
    a.merge(b)
    assert a.estimate(42) == 7


def test_slow_steady_frames_survive_a_flood_of_one_off_frames() -> None:
    """A reseller's end users open with endless one-off words; a harvest hidden in the
    same account sends a few fixed wrapper frames a few times a day. The capped frame table
    must end up holding the wrappers, not the latest one-offs."""
    rng = random.Random(3)
    state = ProfileState()
    wrappers = [f"answer in language{i}:" for i in range(6)]
    ts = 0.0
    for i in range(20_000):
        ts += 30.0
        if i % 40 == 0:  # each wrapper every 240 requests, over unrelated tasks
            prompt = f"{wrappers[(i // 40) % 6]} item {i}"
            area = rng.choice(AREAS)
        else:
            prompt = f"hello{rng.randrange(10**9)} there my friend"
            area = "knowledge"
        state.update(_row(prompt, area), ts, 30.0, False)
    assert len(state.frames) <= MAX_FRAMES
    kept = [w for w in wrappers if " ".join(f"{w} item".split(" ")[:4]) in state.frames]
    assert len(kept) == 6
    features = state.features()
    assert features["wrapper_frames"] == 6


def test_frames_below_the_cap_are_counted_exactly() -> None:
    state = ProfileState()
    for i in range(50):
        state.update(_row(f"please rate this answer: {i}", AREAS[i % 6]), float(i), 1.0, False)
    assert state.frame_counts is None  # no sketch until the table is full
    assert state.frames["please rate this answer:"].total() == 50


_COUNT_IPS = """
from distillwatch.online.account import ProfileState
state = ProfileState()
for i in range(3000):
    row = {"account_id": "a", "ip": f"10.{i % 250}.{i // 250}.7", "asn": 64000 + i % 700,
           "system_prompt": f"bot {i % 90}"}
    state.update(row, float(i), 1.0, False)
f = state.features()
print(f["ips"], f["ip24s"], f["asns"], f["system_prompts"])
"""


def test_sketch_estimates_are_the_same_in_every_process() -> None:
    """Past their exact range the distinct-count sketches estimate from hashes; a salted
    hash (Python's ``hash()`` of a string) made the estimates, and so replayed decisions,
    differ from run to run."""
    import os
    import subprocess
    import sys

    outs = {
        subprocess.run(
            [sys.executable, "-c", _COUNT_IPS],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outs) == 1
    ips, ip24s, asns, prompts = (float(x) for x in outs.pop().split())
    assert 2400 < ips < 3600 and 2400 < ip24s < 3600 and 550 < asns < 900 and 70 < prompts < 115


def test_prefix_recurrence_tells_an_egress_pool_from_fresh_exits() -> None:
    day = 86400.0
    pool, exits = ProfileState(), ProfileState()
    for i in range(200):
        ts = i * 3 * 3600.0  # every three hours for 25 days
        pool.update({"ip": f"203.0.{i % 5}.{i % 250}"}, ts, None, False)
        exits.update({"ip": f"198.{i // 250}.{i % 250}.7"}, ts, None, False)
    assert pool.features()["prefix_recurrence"] == 1.0
    assert exits.features()["prefix_recurrence"] == 0.0
    first_day = ProfileState()
    for i in range(7):  # an egress pool on its first day: nothing could have come back yet
        first_day.update({"ip": f"203.0.{i}.1"}, i * 3600.0, None, False)
    assert first_day.features()["prefix_recurrence"] is None
    for i in range(7):  # its second morning: yesterday's exits have not had a whole day yet
        first_day.update({"ip": f"198.51.{i}.1"}, day + i * 600.0, None, False)
    assert first_day.features()["prefix_recurrence"] is None
    first_day.update({"ip": "203.0.0.1"}, 2 * day, None, False)  # a whole day later: one back
    assert first_day.features()["prefix_recurrence"] == pytest.approx(1 / 7)
    merged = ProfileState()
    merged.update({"ip": "203.0.0.1"}, 0.0, None, False)
    other = ProfileState()
    other.update({"ip": "203.0.0.9"}, 2 * day, None, False)
    merged.merge(other)  # the same /24 on two days, one in each state
    assert merged.features()["prefix_recurrence"] == 1.0
