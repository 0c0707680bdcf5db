"""Scenario: what a simulation run contains, loaded from TOML and validated with clear errors.

A scenario is layered: the packaged ``scenarios/default.toml`` first, then the user's file
(tables merge key by key; a user ``[[campaigns]]`` list replaces the default list), then the
command-line overrides. Every population and tactic declares its keys and their defaults
here, in one place, so a typo ("max_request_per_hour") is an error that names the key and
lists the known ones instead of a silently ignored setting.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from distillwatch.simulate.scenario_defaults import (
    CHOICES,
    MODELS_DEFAULTS,
    POPULATION_DEFAULTS,
    SIMULATION_DEFAULTS,
    TACTIC_DEFAULTS,
    TRAFFIC_DEFAULTS,
)

FORMATS = ("jsonl", "jsonl.gz", "jsonl.zst")


class ScenarioError(ValueError):
    """A scenario file or override that cannot run; the message names the bad key."""


@dataclass(frozen=True)
class PopulationSpec:
    """One benign population: its share of benign accounts and behaviour parameters."""

    name: str
    share: float
    params: Mapping[str, Any]


@dataclass(frozen=True)
class CampaignSpec:
    """One attack campaign: a tactic, its size and parameters."""

    campaign_id: str
    tactic: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Scenario:
    """A fully resolved scenario; ``to_toml()`` writes it back so a run can be reproduced."""

    seed: int
    accounts: int
    days: float
    start: datetime
    corpora: str
    format: str
    models: tuple[str, ...]
    new_model: str
    release_hour: float
    adoption_hours: float
    error_rate: float
    throttle_rate: float
    populations: tuple[PopulationSpec, ...]
    campaigns: tuple[CampaignSpec, ...] = field(default_factory=tuple)
    origin: str = ""  # where it came from (a family draw); a comment atop ``to_toml()``

    @property
    def start_ts(self) -> float:
        return self.start.timestamp()

    @property
    def end_ts(self) -> float:
        return self.start_ts + self.days * 86400.0

    @property
    def release_ts(self) -> float:
        """Epoch seconds at which ``new_model`` becomes available."""
        return self.start_ts + self.release_hour * 3600.0

    def to_toml(self) -> str:
        """The resolved scenario as TOML (loadable by ``load_scenario``)."""
        sim = {
            "seed": self.seed,
            "accounts": self.accounts,
            "days": self.days,
            "start": _iso(self.start),
            "corpora": self.corpora,
            "format": self.format,
        }
        models = {
            "available": list(self.models),
            "new_model": self.new_model,
            "release_hour": self.release_hour,
            "adoption_hours": self.adoption_hours,
        }
        traffic = {"error_rate": self.error_rate, "throttle_rate": self.throttle_rate}
        parts = [_table("simulation", sim), _table("models", models), _table("traffic", traffic)]
        parts += [_table(f"populations.{p.name}", dict(p.params)) for p in self.populations]
        for c in self.campaigns:
            body = {"id": c.campaign_id, "tactic": c.tactic, **dict(c.params)}
            parts.append("[[campaigns]]\n" + _table("", body).split("\n", 1)[1])
        head = "".join(f"# {line}\n" for line in self.origin.splitlines())
        return head + "\n".join(parts)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _table(name: str, values: Mapping[str, Any]) -> str:
    return f"[{name}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in values.items())


def _check_keys(
    where: str, given: Mapping[str, Any], defaults: Mapping[str, Any], extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Merge ``given`` over ``defaults``; unknown keys and wrong types raise ScenarioError."""
    out = dict(defaults)
    for key, value in given.items():
        if key in extra:
            continue
        if key not in defaults:
            known = ", ".join(sorted([*defaults, *extra]))
            raise ScenarioError(f"[{where}] unknown key {key!r}; known keys: {known}")
        want = defaults[key]
        ok = (
            isinstance(value, bool)
            if isinstance(want, bool)
            else isinstance(value, int | float) and not isinstance(value, bool)
            if isinstance(want, float)
            else isinstance(value, type(want)) and not isinstance(value, bool)
        )
        if not ok:
            raise ScenarioError(
                f"[{where}] key {key!r} must be {type(want).__name__}, got {value!r}"
            )
        if isinstance(want, float) and isinstance(value, int):
            value = float(value)
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and value < 0
            and key not in ("end_hour", "release_hour")
        ):
            raise ScenarioError(f"[{where}] key {key!r} must not be negative, got {value!r}")
        if key.endswith("_share") and value > 1:
            raise ScenarioError(f"[{where}] key {key!r} must be at most 1, got {value!r}")
        if key in CHOICES and value not in CHOICES[key]:
            raise ScenarioError(
                f"[{where}] key {key!r} must be one of {', '.join(CHOICES[key])}, got {value!r}"
            )
        out[key] = value
    return out


def _load_default() -> dict[str, Any]:
    text = resources.files("distillwatch.simulate").joinpath("scenarios/default.toml")
    return tomllib.loads(text.read_text(encoding="utf-8"))


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"scenario file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None


def load_scenario(path: str | Path | None = None, **overrides: Any) -> Scenario:
    """Resolve default.toml + the file at ``path`` + overrides (``None`` values are ignored).

    Overrides are keys of ``[simulation]``: ``seed``, ``accounts``, ``days``, ``start``,
    ``corpora``, ``format``.
    """
    return resolve_scenario(_read(Path(path)) if path is not None else None, **overrides)


def resolve_scenario(
    user: Mapping[str, Any] | None, *, origin: str = "", **overrides: Any
) -> Scenario:
    """Resolve default.toml + the parsed scenario ``user`` + overrides (see ``load_scenario``).

    ``origin`` (e.g. the family and draw a scenario came from) heads ``to_toml()`` as a comment.
    """
    raw = _load_default()
    if user is not None:
        unknown = set(user) - {"simulation", "models", "traffic", "populations", "campaigns"}
        if unknown:
            raise ScenarioError(f"unknown top-level table(s): {', '.join(sorted(unknown))}")
        for table in ("simulation", "models", "traffic"):
            raw[table] = {**raw.get(table, {}), **user.get(table, {})}
        pops = dict(raw.get("populations", {}))
        for name, values in user.get("populations", {}).items():
            pops[name] = {**pops.get(name, {}), **values}
        raw["populations"] = pops
        if "campaigns" in user:
            raw["campaigns"] = user["campaigns"]
    sim_in = {**raw.get("simulation", {}), **{k: v for k, v in overrides.items() if v is not None}}
    sim = _check_keys("simulation", sim_in, SIMULATION_DEFAULTS)
    models = _check_keys("models", raw.get("models", {}), MODELS_DEFAULTS)
    traffic = _check_keys("traffic", raw.get("traffic", {}), TRAFFIC_DEFAULTS)
    sc = _build(sim, models, traffic, raw.get("populations", {}), raw.get("campaigns", []))
    return replace(sc, origin=origin) if origin else sc


def _build(
    sim: dict[str, Any],
    models: dict[str, Any],
    traffic: dict[str, Any],
    pops_raw: Mapping[str, Any],
    camps_raw: list[Any],
) -> Scenario:
    if sim["accounts"] < 1:
        raise ScenarioError("[simulation] key 'accounts' must be at least 1")
    if sim["days"] <= 0:
        raise ScenarioError("[simulation] key 'days' must be positive")
    if sim["format"] not in FORMATS:
        raise ScenarioError(f"[simulation] key 'format' must be one of {', '.join(FORMATS)}")
    try:
        start = datetime.fromisoformat(sim["start"].replace("Z", "+00:00"))
    except ValueError:
        raise ScenarioError(f"[simulation] key 'start' is not RFC 3339: {sim['start']!r}") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    span_h = sim["days"] * 24.0
    release = models["release_hour"]
    if release < 0:
        release = float(round(span_h * 0.55))
    if not 0 < release < span_h:
        raise ScenarioError(
            f"[models] key 'release_hour' must lie inside the run (0..{span_h:g}"
            f" hours), got {release:g}"
        )
    if not models["available"] or not all(isinstance(m, str) for m in models["available"]):
        raise ScenarioError("[models] key 'available' must be a non-empty list of names")
    pops = []
    for name, values in pops_raw.items():
        if name not in POPULATION_DEFAULTS:
            raise ScenarioError(
                f"unknown population [populations.{name}]; known: {', '.join(POPULATION_DEFAULTS)}"
            )
        params = _check_keys(f"populations.{name}", values, POPULATION_DEFAULTS[name])
        pops.append(PopulationSpec(name, float(params["share"]), params))
    if not any(p.share > 0 for p in pops):
        raise ScenarioError("[populations] at least one population needs a positive share")
    camps = []
    for i, values in enumerate(camps_raw):
        tactic = values.get("tactic") if isinstance(values, dict) else None
        if tactic not in TACTIC_DEFAULTS:
            raise ScenarioError(
                f"[[campaigns]] #{i + 1}: key 'tactic' must be one of "
                f"{', '.join(TACTIC_DEFAULTS)}, got {tactic!r}"
            )
        where = f"campaigns #{i + 1} ({tactic})"
        params = _check_keys(where, values, TACTIC_DEFAULTS[tactic], extra=("tactic", "id"))
        if params["accounts"] and params["share"]:
            raise ScenarioError(f"[{where}] give either 'accounts' or 'share', not both")
        cid = str(values.get("id") or f"campaign-{i + 1:02d}-{tactic}")
        camps.append(CampaignSpec(cid, tactic, params))
    if len({c.campaign_id for c in camps}) != len(camps):
        raise ScenarioError("[[campaigns]] campaign ids must be unique")
    return Scenario(
        seed=sim["seed"],
        accounts=sim["accounts"],
        days=float(sim["days"]),
        start=start,
        corpora=sim["corpora"],
        format=sim["format"],
        models=tuple(models["available"]),
        new_model=models["new_model"],
        release_hour=float(release),
        adoption_hours=models["adoption_hours"],
        error_rate=traffic["error_rate"],
        throttle_rate=traffic["throttle_rate"],
        populations=tuple(pops),
        campaigns=tuple(camps),
    )
