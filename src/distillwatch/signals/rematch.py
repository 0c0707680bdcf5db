"""RE2 patterns over Arrow strings that stay cheap on small batches.

pyarrow's regex kernels compile their RE2 pattern anew on every call: 0.1-25 ms for the
alternations the signals use. On a scan's batches of thousands of prompts that is nothing;
on the gateway's micro-batches of a few dozen it was ~0.8 ms of CPU per request. Below
:data:`SMALL` texts the same patterns therefore run in RE2's own Python binding
(``google-re2``), compiled once per process: the same engine, so the same matches.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import re2

#: Fewer texts than this are matched one by one with a compiled pattern.
SMALL = 64


@cache
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern)


def match(texts: pa.Array, pattern: str) -> np.ndarray:
    """Boolean per text (false for a null): does ``pattern`` match anywhere in it?"""
    if len(texts) >= SMALL:
        return pc.match_substring_regex(texts, pattern).to_numpy(zero_copy_only=False).astype(bool)
    search = _compiled(pattern).search
    return np.array([t is not None and search(t) is not None for t in texts.to_pylist()], bool)


def replace(texts: pa.Array, pattern: str, replacement: str) -> pa.Array:
    """``texts`` with every match of ``pattern`` replaced (``\\1`` names a group, as in RE2)."""
    if len(texts) >= SMALL:
        return pc.replace_substring_regex(texts, pattern, replacement)
    sub = _compiled(pattern).sub
    return pa.array(
        [None if t is None else sub(replacement, t) for t in texts.to_pylist()], pa.string()
    )
