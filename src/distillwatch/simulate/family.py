"""Scenario families: a scenario file whose numbers are ranges, drawn per run.

A detector tuned on one scenario learns its constants. A family describes many scenarios:
it is shaped like a scenario file (``[simulation]``, ``[models]``, ``[traffic]``,
``[populations.X]``, ``[[campaigns]]``), but any value may instead be

- a range ``[lo, hi]`` of numbers: drawn uniformly, or log-uniformly when ``lo > 0`` and
  ``hi / lo >= 4`` (so ``[5, 500]`` is as often 5-50 as 50-500); keys whose default is an
  integer draw integers;
- a choice ``{choice = [a, b, c]}`` (optionally ``weights = [...]``): one of the values.

Each population table and each campaign may carry ``present = p``: the probability that it is
in a draw (an absent population gets share 0, an absent campaign is dropped). A ``[family]``
table names the family (``name``, default the file name), may describe it
(``description``) and may place the new model's release at a fraction of the run
(``release_at = [0.2, 0.8]``).

:func:`draw_scenario` resolves draw ``k`` into a concrete scenario, deterministically from
(family name, draw, key): every key has its own random stream, so adding a key or a
campaign does not change the other keys of a draw. Unless the family fixes ``seed``, the
traffic seed is drawn too. The concrete scenario goes through the same validation as a
scenario file (:func:`~distillwatch.simulate.scenario.resolve_scenario`); list every
population in a family, since populations it leaves out keep the packaged defaults.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from distillwatch.simulate import scenario_defaults as defaults
from distillwatch.simulate.scenario import Scenario, ScenarioError, resolve_scenario

_TABLES = ("family", "simulation", "models", "traffic", "populations", "campaigns")
_FAMILY_DEFAULTS: dict[str, Any] = {"name": "", "description": "", "release_at": 0.5}
_PLAIN = {
    "simulation": defaults.SIMULATION_DEFAULTS,
    "models": defaults.MODELS_DEFAULTS,
    "traffic": defaults.TRAFFIC_DEFAULTS,
}


class _Bad(Exception):
    """A malformed value; the caller adds file, table and key."""


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_fixed(value: Any, want: Any) -> None:
    if _is_num(want):
        ok = _is_num(value) and (isinstance(want, float) or isinstance(value, int))
    elif isinstance(want, list):
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, type(want))
    if not ok:
        raise _Bad(f"must be {type(want).__name__}, a range or a choice; got {value!r}")


def _check_spec(value: Any, want: Any) -> None:
    """A fixed value of the default's type, a range [lo, hi] of numbers, or a choice."""
    if isinstance(value, dict):
        if set(value) - {"choice", "weights"} or not isinstance(value.get("choice"), list):
            raise _Bad(f"a choice is {{choice = [...]}} (optionally weights), got {value!r}")
        opts, weights = value["choice"], value.get("weights")
        if not opts:
            raise _Bad("choice is empty")
        for opt in opts:
            _check_fixed(opt, want)
        if weights is not None and (
            not isinstance(weights, list)
            or len(weights) != len(opts)
            or not all(_is_num(w) and w >= 0 for w in weights)
            or sum(weights) <= 0
        ):
            raise _Bad(f"weights must be {len(opts)} non-negative numbers, got {weights!r}")
    elif isinstance(value, list) and _is_num(want):
        if len(value) != 2 or not all(_is_num(v) for v in value):
            raise _Bad(f"a range is [lo, hi] of two numbers, got {value!r}")
        if isinstance(want, int) and not all(isinstance(v, int) for v in value):
            raise _Bad(f"range of an integer key must hold integers, got {value!r}")
        if value[0] > value[1]:
            raise _Bad(f"range [lo, hi] has lo > hi: {value!r}")
    else:
        _check_fixed(value, want)


def _check_table(path: Path, where: str, table: Any, known: Mapping[str, Any]) -> None:
    if not isinstance(table, dict):
        raise ScenarioError(f"{path}: [{where}] must be a table")
    for key, value in table.items():
        if key not in known:
            raise ScenarioError(
                f"{path}: [{where}] unknown key {key!r}; known keys: {', '.join(sorted(known))}"
            )
        try:
            if key in ("present", "name", "description", "id", "tactic"):
                _check_fixed(value, known[key])  # plain values, never drawn
            else:
                _check_spec(value, known[key])
            if key == "present" and not 0 <= value <= 1:
                raise _Bad(f"must be a probability in 0..1, got {value!r}")
            opts = value["choice"] if isinstance(value, dict) else [value]
            if key in defaults.CHOICES and any(o not in defaults.CHOICES[key] for o in opts):
                raise _Bad(f"must be one of {', '.join(defaults.CHOICES[key])}, got {value!r}")
        except _Bad as exc:
            raise ScenarioError(f"{path}: [{where}] key {key!r}: {exc}") from None


def _campaign_keys(path: Path, i: int, camp: Any) -> tuple[str, dict[str, Any]]:
    """(stream key, known keys) of campaign ``i``."""
    tactic = camp.get("tactic") if isinstance(camp, dict) else None
    if tactic not in defaults.TACTIC_DEFAULTS:
        raise ScenarioError(
            f"{path}: [[campaigns]] #{i + 1}: key 'tactic' must be one of "
            f"{', '.join(defaults.TACTIC_DEFAULTS)}, got {tactic!r}"
        )
    cid = camp.get("id")
    if cid is not None and not isinstance(cid, str):
        raise ScenarioError(f"{path}: [[campaigns]] #{i + 1}: key 'id' must be a string")
    return cid or f"#{i + 1}", {
        **defaults.TACTIC_DEFAULTS[tactic],
        "tactic": "",
        "id": "",
        "present": 1.0,
    }


def load_family(path: str | Path) -> dict[str, Any]:
    """Read and validate a family file (every key and range is checked, none drawn)."""
    path = Path(path)
    try:
        fam = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"family file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(fam) - set(_TABLES)
    if unknown:
        raise ScenarioError(f"{path}: unknown top-level table(s): {', '.join(sorted(unknown))}")
    _check_table(path, "family", fam.get("family", {}), _FAMILY_DEFAULTS)
    release = fam.get("family", {}).get("release_at")
    if release is not None:
        lo, hi = release if isinstance(release, list) else (release, release)
        if isinstance(release, dict) or not 0 < lo <= hi < 1:
            raise ScenarioError(f"{path}: [family] key 'release_at' must lie in (0, 1)")
        if "release_hour" in fam.get("models", {}):
            raise ScenarioError(
                f"{path}: give [family] release_at or [models] release_hour, not both"
            )
    for table, known in _PLAIN.items():
        _check_table(path, table, fam.get(table, {}), known)
    pops = fam.get("populations", {})
    if not isinstance(pops, dict):
        raise ScenarioError(f"{path}: [populations] must be a table of populations")
    for name, table in pops.items():
        if name not in defaults.POPULATION_DEFAULTS:
            raise ScenarioError(
                f"{path}: unknown population [populations.{name}]; "
                f"known: {', '.join(defaults.POPULATION_DEFAULTS)}"
            )
        known = {**defaults.POPULATION_DEFAULTS[name], "present": 1.0}
        _check_table(path, f"populations.{name}", table, known)
    camps = fam.get("campaigns", [])
    if not isinstance(camps, list):
        raise ScenarioError(f"{path}: campaigns must be an array of tables ([[campaigns]])")
    keys = []
    for i, camp in enumerate(camps):
        key, known = _campaign_keys(path, i, camp)
        _check_table(path, f"campaigns {key}", camp, known)
        keys.append(key)
    if len(set(keys)) != len(keys):
        raise ScenarioError(f"{path}: [[campaigns]] ids must be unique")
    return fam


def _rng(name: str, draw: int, key: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{name}\x00{draw}\x00{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def _value(spec: Any, want: Any, rng: np.random.Generator) -> Any:
    """Resolve one value: a choice, a range (of ``want``'s type) or a fixed value."""
    if isinstance(spec, dict):
        opts, w = spec["choice"], spec.get("weights")
        p = None if w is None else np.asarray(w, dtype=float) / sum(w)
        return opts[int(rng.choice(len(opts), p=p))]
    if not (isinstance(spec, list) and _is_num(want)):
        return spec
    lo, hi = spec
    integer = isinstance(want, int)
    if lo == hi:
        return lo if integer else float(lo)
    top = hi + 1 if integer else hi
    if lo > 0 and hi / lo >= 4:
        x = math.exp(rng.uniform(math.log(lo), math.log(top)))
    else:
        x = rng.uniform(lo, top)
    if integer:
        return int(min(hi, math.floor(x)))
    return float(min(hi, max(lo, float(f"{x:.4g}"))))


def _resolve_table(
    table: Mapping[str, Any], known: Mapping[str, Any], name: str, draw: int, where: str
) -> dict[str, Any]:
    return {
        k: _value(v, known[k], _rng(name, draw, f"{where}.{k}"))
        for k, v in table.items()
        if k != "present"
    }


def _present(table: Mapping[str, Any], name: str, draw: int, where: str) -> bool:
    p = table.get("present", 1.0)
    return p >= 1 or bool(_rng(name, draw, f"{where}.present").random() < p)


def family_name(fam: Mapping[str, Any], path: Path) -> str:
    return str(fam.get("family", {}).get("name") or path.stem)


def draw_raw(fam: Mapping[str, Any], name: str, draw: int) -> dict[str, Any]:
    """The concrete scenario (as a parsed scenario file) of draw ``draw`` of family ``fam``."""
    raw: dict[str, Any] = {}
    for table, known in _PLAIN.items():
        raw[table] = _resolve_table(fam.get(table, {}), known, name, draw, table)
    if "seed" not in raw["simulation"]:
        raw["simulation"]["seed"] = int(_rng(name, draw, "simulation.seed").integers(2**31))
    pops: dict[str, Any] = {}
    for pop, table in fam.get("populations", {}).items():
        where = f"populations.{pop}"
        values = _resolve_table(table, defaults.POPULATION_DEFAULTS[pop], name, draw, where)
        if not _present(table, name, draw, where):
            values["share"] = 0.0
        pops[pop] = values
    raw["populations"] = pops
    if "campaigns" in fam:
        camps = []
        for i, camp in enumerate(fam["campaigns"]):
            key = camp.get("id") or f"#{i + 1}"
            where = f"campaigns.{key}"
            if _present(camp, name, draw, where):
                known = {**defaults.TACTIC_DEFAULTS[camp["tactic"]], "tactic": "", "id": ""}
                camps.append(_resolve_table(camp, known, name, draw, where))
        raw["campaigns"] = camps
    return raw


def draw_scenario(family_path: str | Path, draw: int, **overrides: Any) -> Scenario:
    """Draw ``draw`` (an integer >= 0) of the family at ``family_path``, as a Scenario.

    ``overrides`` are ``[simulation]`` keys (``seed``, ``accounts``, ``days``, ``start``,
    ``corpora``, ``format``; ``None`` is ignored) applied after drawing, as for
    ``load_scenario``.
    """
    path = Path(family_path)
    if isinstance(draw, bool) or not isinstance(draw, int) or draw < 0:
        raise ScenarioError(f"{path}: draw must be an integer >= 0, got {draw!r}")
    fam = load_family(path)
    name = family_name(fam, path)
    raw = draw_raw(fam, name, draw)
    release = fam.get("family", {}).get("release_at")
    if release is not None:
        frac = _value(release, 0.5, _rng(name, draw, "family.release_at"))
        days = overrides.get("days") or raw["simulation"].get(
            "days", defaults.SIMULATION_DEFAULTS["days"]
        )
        raw["models"]["release_hour"] = round(frac * float(days) * 24.0, 2)
    origin = (
        f"scenario family {name!r} ({path}), draw {draw}\n"
        "this file is the resolved draw: `distillwatch simulate --scenario` on it reproduces it"
    )
    try:
        return resolve_scenario(raw, origin=origin, **overrides)
    except ScenarioError as exc:
        raise ScenarioError(f"{path} (draw {draw}): {exc}") from None
