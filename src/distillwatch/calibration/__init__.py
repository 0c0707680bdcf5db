"""``calibrate``: the thresholds of ``scan`` and of the online policy, set on known-good accounts.

The provider names accounts it knows to be honest (and, from analyst feedback, some it knows
to be attackers) and the false-positive rate it accepts; :mod:`distillwatch.detect.
operating_point` reads the threshold off their scores. This module joins the labelled ids to a
scan (and a replay), runs that choice, and writes and reads ``calibration.toml`` -- the file
``scan --calibration`` and ``replay --calibration`` take, which also records what it rests on
(input hashes, counts, intervals) so a threshold can be audited months later.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from distillwatch.calibration.inputs import (
    CalibrationError,
    read_ids,
    read_replay,
    read_scan,
    read_verdicts,
    sha256,
)
from distillwatch.calibration.tomlfile import ONLINE_ACTIONS, read_calibration, write_calibration
from distillwatch.detect.operating_point import OperatingPoint, Scored, choose_threshold
from distillwatch.enforce.decision import Action
from distillwatch.enforce.policy import Policy

__all__ = [
    "Calibration",
    "CalibrationError",
    "apply_thresholds",
    "calibrate",
    "policy_thresholds",
    "read_calibration",
    "write_calibration",
]


@dataclass(frozen=True)
class Calibration:
    """The result of ``calibrate``: operating points and what they rest on."""

    target_fpr: float
    scan: OperatingPoint
    #: Thresholds per online action (``throttle``, ``challenge``, ``block``); empty without
    #: a replay.
    online: dict[str, float] = field(default_factory=dict)
    #: The throttle threshold's operating point on the known-good accounts' peak online scores.
    online_point: OperatingPoint | None = None
    #: Known-good accounts the replayed policy refused at least once (before calibration).
    refused_before: int | None = None
    #: Per input: path, sha256 and counts.
    inputs: dict[str, dict[str, str | int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    created: str = ""


def policy_thresholds(policy: Policy) -> dict[str, float]:
    """The lowest ``min_score`` of the policy's rules per online action: the floors that
    calibrated challenge and block thresholds keep."""
    out: dict[str, float] = {}
    for rule in policy.rules:
        if rule.min_score is not None and rule.action.value in ONLINE_ACTIONS:
            out[rule.action.value] = min(out.get(rule.action.value, 1.0), rule.min_score)
    return out


def apply_thresholds(policy: Policy, thresholds: Mapping[str, float], source: str) -> Policy:
    """``policy`` with every ``min_score`` rule moved to the calibrated threshold of its
    action; rules without ``min_score`` (indicators, cluster scores, tactics alone) and
    actions the calibration does not name stay as they were."""
    rules = tuple(
        dataclasses.replace(rule, min_score=thresholds[rule.action.value])
        if rule.min_score is not None and rule.action.value in thresholds
        else rule
        for rule in policy.rules
    )
    return dataclasses.replace(
        policy, rules=rules, source=f"{policy.source} + thresholds from {source}"
    )


def _online(
    scores: Mapping[str, float],
    good: set[str],
    bad: set[str],
    target_fpr: float,
    floors: Mapping[str, float],
    min_threshold: float,
) -> tuple[OperatingPoint, dict[str, float]]:
    """Throttle at the lowest score the known-good accounts' peaks allow; challenge and
    block no lower than it, nor than the policy's own thresholds (an online flag is a peak,
    reached once, so it needs the same care as a scan flag)."""
    point = choose_threshold(
        [Scored(scores[a]) for a in sorted(good)],
        target_fpr,
        [Scored(scores[a]) for a in sorted(bad)],
        min_threshold=min_threshold,
    )
    throttle = point.threshold
    thresholds = {Action.THROTTLE.value: throttle}
    for action, default in ((Action.CHALLENGE, 0.75), (Action.BLOCK, 0.9)):
        thresholds[action.value] = max(floors.get(action.value, default), throttle)
    return point, thresholds


def calibrate(
    scan_dir: Path,
    target_fpr: float,
    *,
    known_good: Path | None = None,
    verdicts: Path | None = None,
    replay_dir: Path | None = None,
    policy: Policy | None = None,
    min_threshold: float = 0.0,
    today: dt.date | None = None,
) -> Calibration:
    """Read the inputs, choose the scan (and online) thresholds, say what they rest on.

    Known good = the ``known_good`` ids plus dismissed verdicts; known bad = confirmed
    verdicts, which win over a known-good listing (an analyst looked at that account).
    Ids absent from the scan are counted, and only an error when none is present.
    """
    if known_good is None and verdicts is None:
        raise CalibrationError("give --known-good and/or --verdicts: nothing to calibrate on")
    scan = read_scan(scan_dir)
    inputs: dict[str, dict[str, str | int]] = {
        "scan": _input(scan_dir / "accounts.jsonl", accounts=len(scan)),
    }
    warnings: list[str] = []
    good: set[str] = set()
    bad: set[str] = set()
    if known_good is not None:
        ids = set(read_ids(known_good))
        found = ids & scan.keys()
        inputs["known_good"] = _input(
            known_good, ids=len(ids), matched=len(found), missing=len(ids - found)
        )
        good |= found
    if verdicts is not None:
        given = read_verdicts(verdicts)
        dismissed, confirmed = given.dismissed & scan.keys(), given.confirmed & scan.keys()
        inputs["verdicts"] = _input(
            verdicts,
            dismissed=len(given.dismissed),
            confirmed=len(given.confirmed),
            matched=len(dismissed) + len(confirmed),
            missing=len(given.dismissed | given.confirmed) - len(dismissed) - len(confirmed),
        )
        conflicts = good & confirmed
        if conflicts:
            warnings.append(
                f"{len(conflicts)} known-good account(s) confirmed as attackers by an analyst: "
                f"counted as known bad (e.g. {sorted(conflicts)[0]})"
            )
        good = (good | dismissed) - confirmed
        bad = set(confirmed)
    for row in inputs.values():
        if row.get("missing"):
            warnings.append(
                f"{row['missing']:,} account id(s) of {row['path']} are not in the scan"
            )
    if not good:
        raise CalibrationError(
            f"none of the known-good account ids is in the scan {scan_dir}: "
            "check that the ids and the scan come from the same system"
        )
    point = choose_threshold(
        [scan[a] for a in sorted(good)],
        target_fpr,
        [scan[a] for a in sorted(bad)],
        min_threshold=min_threshold,
    )
    result = Calibration(
        target_fpr=target_fpr,
        scan=point,
        inputs=inputs,
        created=(today or dt.datetime.now(dt.UTC).date()).isoformat(),
    )
    if replay_dir is not None:
        result = _with_replay(result, replay_dir, good, bad, policy, min_threshold, warnings)
    return dataclasses.replace(result, warnings=tuple(warnings))


def _with_replay(
    result: Calibration,
    replay_dir: Path,
    good: set[str],
    bad: set[str],
    policy: Policy | None,
    min_threshold: float,
    warnings: list[str],
) -> Calibration:
    scores, refused = read_replay(replay_dir)
    online_good, online_bad = good & scores.keys(), bad & scores.keys()
    if not online_good:
        raise CalibrationError(
            f"none of the known-good accounts is in the replay {replay_dir}: "
            "was it replayed over the same logs as the scan?"
        )
    if len(online_good) < len(good):
        warnings.append(f"{len(good) - len(online_good):,} known-good account(s) not in the replay")
    floors = policy_thresholds(policy) if policy is not None else {}
    point, thresholds = _online(
        scores, online_good, online_bad, result.target_fpr, floors, min_threshold
    )
    inputs = dict(result.inputs)
    path = replay_dir / "replay-accounts.jsonl"
    inputs["replay"] = {"path": str(replay_dir), "accounts": len(scores), "sha256": sha256(path)}
    return dataclasses.replace(
        result,
        online=thresholds,
        online_point=point,
        refused_before=len(online_good & refused),
        inputs=inputs,
    )


def _input(path: Path, **counts: int) -> dict[str, str | int]:
    return {"path": str(path), "sha256": sha256(path), **counts}
