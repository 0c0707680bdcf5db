"""Reading the sharing stage's TOML files (hub config, trust settings) with one kind of error."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def read_toml(path: Path, what: str, error: type[ValueError]) -> dict[str, Any]:
    """The parsed document, or ``error`` naming the file and what went wrong."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read the {what} {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML ({exc})") from exc
