"""``calibration.toml``: written by ``calibrate``, read by ``scan`` and ``replay``.

Only ``[scan] threshold`` and ``[online] throttle/challenge/block`` are read back; everything
else (rates, intervals, input hashes, date) is there for the person who has to say, later,
why the detector flagged at that score. The file is small and flat, so it is written by hand
(the standard library reads TOML but does not write it).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distillwatch.calibration.inputs import CalibrationError
from distillwatch.detect.operating_point import OperatingPoint

if TYPE_CHECKING:
    from distillwatch.calibration import Calibration

CALIBRATION_VERSION = "1"
ONLINE_ACTIONS = ("throttle", "challenge", "block")


@dataclass(frozen=True)
class CalibrationFile:
    """What ``scan --calibration`` and ``replay --calibration`` use from the file."""

    path: Path
    scan_threshold: float
    #: Per online action; empty when the calibration had no replay.
    online: dict[str, float]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 8))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # JSON strings are TOML basic strings


def _table(name: str, values: dict[str, Any]) -> Iterable[str]:
    yield f"\n[{name}]"
    for key, value in values.items():
        if value is not None:
            yield f"{key} = {_value(value)}"


def point_fields(point: OperatingPoint) -> dict[str, Any]:
    """An operating point as flat TOML keys (also the ``--json``-style view for reports)."""
    recall = point.recall
    return {
        "target_met": point.target_met,
        "known_good": point.known_good,
        "known_good_flaggable": point.flaggable,
        "false_positives": point.fpr.hits,
        "fpr": point.fpr.value,
        "fpr_ci95": [point.fpr.low, point.fpr.high],
        "min_supported_fpr": point.min_supported_fpr,
        "known_good_needed": point.needed_known_good,
        "known_bad": recall.total if recall else 0,
        "recall": recall.value if recall else None,
        "recall_ci95": [recall.low, recall.high] if recall else None,
        "warnings": list(point.warnings),
    }


def write_calibration(calibration: Calibration, path: Path) -> None:
    lines = [
        "# distillwatch calibration: thresholds set on known-good accounts (docs/calibration.md).",
        "# Used by `scan --calibration` ([scan] threshold) and `replay --calibration` ([online]).",
        f'calibration_version = "{CALIBRATION_VERSION}"',
        f'created = "{calibration.created}"',
        f"target_fpr = {_value(calibration.target_fpr)}",
        f"warnings = {_value(list(calibration.warnings))}",
    ]
    lines += _table(
        "scan", {"threshold": calibration.scan.threshold, **point_fields(calibration.scan)}
    )
    if calibration.online and calibration.online_point is not None:
        online = {
            **calibration.online,
            "known_good_refused_before": calibration.refused_before,
            **point_fields(calibration.online_point),
        }
        lines += _table("online", online)
    for name, values in calibration.inputs.items():
        lines += _table(f"inputs.{name}", values)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _fraction(data: dict[str, Any], key: str, where: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise CalibrationError(f"{where}: '{key}' must be a number within 0..1, got {value!r}")
    return float(value)


def read_calibration(path: Path) -> CalibrationFile:
    """The thresholds of a calibration file; errors name the file and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationError(f"{path}: no such calibration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CalibrationError(f"{path}: not valid TOML: {exc}") from None
    version = data.get("calibration_version")
    if version != CALIBRATION_VERSION:
        raise CalibrationError(
            f"{path}: calibration_version {version!r} is not {CALIBRATION_VERSION!r}"
        )
    scan = data.get("scan")
    if not isinstance(scan, dict):
        raise CalibrationError(f"{path}: no [scan] table")
    threshold = _fraction(scan, "threshold", f"{path} [scan]")
    online_table = data.get("online", {})
    if not isinstance(online_table, dict):
        raise CalibrationError(f"{path}: [online] must be a table")
    online = {
        action: _fraction(online_table, action, f"{path} [online]")
        for action in ONLINE_ACTIONS
        if online_table
    }
    ordered = [online[a] for a in ONLINE_ACTIONS if a in online]
    if ordered != sorted(ordered):
        raise CalibrationError(
            f"{path} [online]: thresholds must not decrease from throttle to block, got {online}"
        )
    return CalibrationFile(path, threshold, online)
