"""Compiled parts of the scan's text path (Cython, built by ``pip install`` / ``make install``).

Each module here replaces a Python loop that a library cannot do for us, and each has the
Python code it replaces kept as its definition: tests hold the two equal, and callers fall
back to the Python code when the extension is not built (:func:`load`).
"""

from __future__ import annotations

import importlib
from types import ModuleType


def load(name: str) -> ModuleType | None:
    """The compiled module ``distillwatch._native.<name>``, or None when it is not built."""
    try:
        return importlib.import_module(f"distillwatch._native.{name}")
    except ImportError:
        return None


__all__ = ["load"]
