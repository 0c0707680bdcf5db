"""Simulate one honest population alone: what a look-alike test needs, in one call."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from distillwatch.simulate import load_scenario, simulate
from distillwatch.simulate.engine import SimulationSummary
from distillwatch.simulate.scenario import PopulationSpec
from distillwatch.simulate.scenario_defaults import POPULATION_DEFAULTS


def simulate_only(
    population: str, out: Path, accounts: int, days: float, seed: int, **spec: Any
) -> SimulationSummary:
    """``accounts`` accounts of ``population`` alone (its defaults, then ``spec``), no attacks."""
    params = {**POPULATION_DEFAULTS[population], "share": 1.0, **spec}
    base = load_scenario(accounts=accounts, days=days, seed=seed, format="jsonl")
    sc = dataclasses.replace(
        base, populations=(PopulationSpec(population, 1.0, params),), campaigns=()
    )
    return simulate(sc, out)
