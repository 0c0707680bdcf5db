"""``Holdings.share`` against the sets it stands for: random holdings, random pairs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from distillwatch.detect.holdings import BUDGET, Holdings


@st.composite
def holdings_and_pairs(draw: st.DrawFn) -> tuple[Holdings, list[set[int]], np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 12))
    groups = draw(st.integers(1, 40))
    held = [draw(st.sets(st.integers(0, groups - 1), max_size=groups)) for _ in range(n)]
    rows = sorted((a, g) for a, gs in enumerate(held) for g in gs)
    acc = np.asarray([a for a, _ in rows], dtype=np.int32)
    grp = np.asarray([g for _, g in rows], dtype=np.int32)
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=30))
    a = np.asarray([p[0] for p in pairs], dtype=np.int64)
    b = np.asarray([p[1] for p in pairs], dtype=np.int64)
    return Holdings.from_rows(n, acc, grp, groups), held, a, b


@settings(max_examples=300, deadline=None)
@given(holdings_and_pairs(), st.integers(1, 4), st.sampled_from([BUDGET, 3]))
def test_share_is_whether_the_sets_meet_at_least_so_often(
    case: tuple[Holdings, list[set[int]], np.ndarray, np.ndarray], at_least: int, budget: int
) -> None:
    holdings, held, a, b = case
    expected = [len(held[x] & held[y]) >= at_least for x, y in zip(a, b, strict=True)]
    assert holdings.share(a, b, budget, at_least).tolist() == expected
