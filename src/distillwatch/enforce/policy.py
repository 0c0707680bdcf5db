"""The enforcement policy: which assessments get which action, read from a TOML file.

A policy is data, not code, so a trust-and-safety team can change thresholds without a
release, review the change like any config, and keep one file per environment. The file is
checked strictly (unknown keys, bad actions and bad durations are errors naming the file and
the key) because a typo in an enforcement policy silently lets a campaign through. See
``docs/gateway.md`` for the format and ``default-policy.toml`` beside this module for an
annotated example, which is also the policy used when none is given.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from distillwatch.enforce.decision import Action

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the key."""


def parse_duration(value: object, where: str = "duration") -> float:
    """Seconds from ``90``, ``"30s"``, ``"5m"``, ``"1h"``, ``"2d"`` or ``"250ms"``."""
    if isinstance(value, bool):
        raise PolicyError(f"{where}: expected a duration like '30s' or '1h', got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise PolicyError(f"{where}: expected a duration like '30s' or '1h', got {value!r}")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise PolicyError(f"{where}: a duration must be positive, got {value!r}")
    return seconds


@dataclass(frozen=True)
class Rule:
    """Fires when every condition it names holds; conditions it leaves out always hold."""

    name: str
    action: Action
    min_score: float | None = None
    min_cluster_score: float | None = None
    #: Any of these tactics.
    tactics: frozenset[str] = frozenset()
    #: Any reason containing any of these substrings (case-insensitive).
    reasons: tuple[str, ...] = ()
    #: Fires on any imported indicator (of these kinds / from these members, when given).
    indicators: bool = False
    indicator_kinds: frozenset[str] = frozenset()
    indicator_sources: frozenset[str] = frozenset()
    #: How long the action sticks to the account (None: decided again on every request).
    ttl: float | None = None
    #: ``cluster``: the sticky action applies to every account of the cluster.
    scope: str = "account"
    retry_after: float | None = None
    #: ``distinctive`` (the default for score rules): fires only on accounts with evidence
    #: honest customers rarely produce; ``any``: on the score alone.
    evidence: str = "distinctive"


@dataclass(frozen=True)
class ClusterLimit:
    """One token bucket per cluster: every linked account draws from the same budget."""

    rate: float  # tokens (requests) per second
    burst: float  # bucket size
    min_cluster_score: float = 0.0
    action: Action = Action.THROTTLE
    #: Idle buckets are forgotten after this long (Redis key TTL).
    idle_ttl: float = 3600.0


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...] = ()
    default_action: Action = Action.ALLOW
    allow_accounts: frozenset[str] = frozenset()
    allow_clusters: frozenset[str] = frozenset()
    cluster_limit: ClusterLimit | None = None
    #: Retry-After for a throttle rule that names none.
    throttle_retry_after: float = 60.0
    #: Where a challenged user re-verifies (put in the 428 body); optional.
    challenge_url: str | None = None
    source: str = field(default="<built-in>", compare=False)


_TOP_KEYS = {
    "default_action", "throttle_retry_after", "challenge_url", "allowlist", "cluster_limit",
    "rule",
}  # fmt: skip
_RULE_KEYS = {
    "name", "action", "min_score", "min_cluster_score", "tactics", "reasons", "indicators",
    "indicator_kinds", "indicator_sources", "ttl", "scope", "retry_after", "evidence",
}  # fmt: skip
_LIMIT_KEYS = {"rate", "burst", "min_cluster_score", "action", "idle_ttl"}
_ALLOW_KEYS = {"accounts", "clusters"}


def load_policy(path: Path | None = None) -> Policy:
    """Read a policy file; ``None`` gives the built-in default policy."""
    if path is None:
        text = resources.files("distillwatch.enforce").joinpath("default-policy.toml").read_text()
        return parse_policy(text, "<built-in default-policy.toml>")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc.strerror or exc}") from exc
    return parse_policy(text, str(path))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
    _check_keys(data, _TOP_KEYS, source)
    rules = tuple(
        _rule(raw, f"{source}: rule #{i + 1}")
        for i, raw in enumerate(_tables(data, "rule", source))
    )
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise PolicyError(f"{source}: rule names must be unique, got {names}")
    allow = _table(data, "allowlist", source)
    _check_keys(allow, _ALLOW_KEYS, f"{source}: [allowlist]")
    limit = _table(data, "cluster_limit", source)
    return Policy(
        rules=rules,
        default_action=_action(data.get("default_action", "allow"), source),
        allow_accounts=frozenset(_strings(allow, "accounts", f"{source}: [allowlist]")),
        allow_clusters=frozenset(_strings(allow, "clusters", f"{source}: [allowlist]")),
        cluster_limit=_cluster_limit(limit, f"{source}: [cluster_limit]") if limit else None,
        throttle_retry_after=parse_duration(
            data.get("throttle_retry_after", 60), f"{source}: throttle_retry_after"
        ),
        challenge_url=data.get("challenge_url"),
        source=source,
    )


def _rule(raw: dict[str, Any], where: str) -> Rule:
    _check_keys(raw, _RULE_KEYS, where)
    if "action" not in raw:
        raise PolicyError(f"{where}: every rule needs an 'action'")
    name = str(raw.get("name") or where.rsplit("#", 1)[-1])
    where = f"{where} ({name})"
    scope = str(raw.get("scope", "account"))
    if scope not in ("account", "cluster"):
        raise PolicyError(f"{where}: scope must be 'account' or 'cluster', got {scope!r}")
    evidence = str(raw.get("evidence", "distinctive"))
    if evidence not in ("distinctive", "any"):
        raise PolicyError(f"{where}: evidence must be 'distinctive' or 'any', got {evidence!r}")
    return Rule(
        name=name,
        action=_action(raw["action"], f"{where}: action"),
        min_score=_fraction(raw, "min_score", where),
        min_cluster_score=_fraction(raw, "min_cluster_score", where),
        tactics=frozenset(_strings(raw, "tactics", where)),
        reasons=tuple(s.lower() for s in _strings(raw, "reasons", where)),
        indicators=bool(raw.get("indicators", False))
        or bool(raw.get("indicator_kinds") or raw.get("indicator_sources")),
        indicator_kinds=frozenset(_strings(raw, "indicator_kinds", where)),
        indicator_sources=frozenset(_strings(raw, "indicator_sources", where)),
        ttl=parse_duration(raw["ttl"], f"{where}: ttl") if "ttl" in raw else None,
        scope=scope,
        evidence=evidence,
        retry_after=(
            parse_duration(raw["retry_after"], f"{where}: retry_after")
            if "retry_after" in raw
            else None
        ),
    )


def _cluster_limit(raw: dict[str, Any], where: str) -> ClusterLimit:
    _check_keys(raw, _LIMIT_KEYS, where)
    for key in ("rate", "burst"):
        if not isinstance(raw.get(key), int | float) or raw[key] <= 0:
            raise PolicyError(f"{where}: '{key}' must be a positive number, got {raw.get(key)!r}")
    action = _action(raw.get("action", "throttle"), f"{where}: action")
    if action is Action.ALLOW:
        raise PolicyError(f"{where}: the action of an exhausted budget cannot be 'allow'")
    return ClusterLimit(
        rate=float(raw["rate"]),
        burst=float(raw["burst"]),
        min_cluster_score=_fraction(raw, "min_cluster_score", where) or 0.0,
        action=action,
        idle_ttl=parse_duration(raw.get("idle_ttl", 3600), f"{where}: idle_ttl"),
    )


def _action(value: object, where: str) -> Action:
    try:
        return Action.parse(str(value), where)
    except ValueError as exc:
        raise PolicyError(str(exc)) from None


def _check_keys(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {unknown} (allowed: {sorted(allowed)})")


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: [{key}] must be a table")
    return value


def _tables(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise PolicyError(f"{where}: rules are written as [[{key}]] tables")
    return value


def _strings(data: dict[str, Any], key: str, where: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where}: '{key}' must be a list of strings, got {value!r}")
    return value


def _fraction(data: dict[str, Any], key: str, where: str) -> float | None:
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise PolicyError(f"{where}: '{key}' must be a number within 0..1, got {value!r}")
    return float(value)
