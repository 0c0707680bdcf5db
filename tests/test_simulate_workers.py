"""Rendering the log on worker processes: the same bytes as in one process, and a worker that
dies is an error rather than a hang."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from distillwatch.simulate import engine, load_scenario, simulate


def _die_on_second_chunk(c0: int) -> bytes:
    if c0 == engine.CHUNK:
        os._exit(137)  # as the kernel's out-of-memory killer leaves it
    return _render(c0)


_render = engine._render_chunk


def test_workers_write_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = load_scenario(accounts=120, days=2, seed=3, format="jsonl")
    one = simulate(sc, tmp_path / "one").files["traffic"].read_bytes()
    monkeypatch.setattr(engine, "PARALLEL_FROM", 0)
    two = simulate(sc, tmp_path / "two").files["traffic"].read_bytes()
    assert len(one) > 3 * 10**6 and one == two


def test_a_worker_that_dies_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "PARALLEL_FROM", 0)
    monkeypatch.setattr(engine, "CHUNK", 2000)
    monkeypatch.setattr(engine, "_render_chunk", _die_on_second_chunk)
    sc = load_scenario(accounts=120, days=2, seed=3, format="jsonl")

    def hung(*_: object) -> None:
        raise TimeoutError("simulate waited for a dead worker")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(300)  # a pool that waits for a dead worker would wait for ever
    try:
        with pytest.raises(RuntimeError, match="died"):
            simulate(sc, tmp_path / "dead")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
