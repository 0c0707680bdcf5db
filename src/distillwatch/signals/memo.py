"""Per-prompt signal values kept across batches, so a prompt seen before is not recomputed.

Traffic repeats prompts far beyond one batch: a campaign replays its recipe for days, a
batch job renders one template over and over, evaluation runs resend a benchmark. In the
simulated week of ``distillwatch simulate`` 41% of the requests carry a distinct prompt
over the whole log, but 60% within a 32k-row batch. Every text signal depends on the
(truncated) prompt alone (:meth:`RequestSignal.per_prompt`), so its values can be kept.

A :class:`PromptMemo` maps a 64-bit hash of the truncated prompt to one row of per-prompt
values. It is bounded: when it would exceed ``max_prompts`` it starts again empty (simple,
and a recurring prompt is back after one computation). Two different prompts with the same
64-bit hash would share values — about one chance in 10^8 for a memo of 500,000 prompts.
The memo is a plain cache, owned by its caller; nothing here is global.
"""

from __future__ import annotations

import os
from itertools import repeat
from typing import Any

import numpy as np
import pyarrow as pa

from distillwatch._native import load

#: Default bound: about 60 bytes of values plus ~100 bytes of index per prompt.
MAX_PROMPTS = 250_000
#: Parts appended before they are merged into one table (bounds ``take`` overhead).
_MERGE_PARTS = 16


#: The compiled key index (``_native/keys.pyx``), or None when not built or turned off with
#: ``DISTILLWATCH_NATIVE=0`` (then a dict, the same rows).
_NATIVE = load("keys") if os.environ.get("DISTILLWATCH_NATIVE", "1") != "0" else None


class DictIndex:
    """Rows of uint64 keys in a dict: the definition of ``_native.keys.KeyIndex``."""

    def __init__(self) -> None:
        self._position: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._position)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Row of every key, or -1 (int64, one per key)."""
        # map() calls dict.get from C: no Python frame per key (a generator costs ~3x more)
        return np.fromiter(
            map(self._position.get, keys.tolist(), repeat(-1)), dtype=np.int64, count=len(keys)
        )

    def add(self, keys: np.ndarray, start: int) -> None:
        """Give ``keys[i]`` row ``start + i`` (a key already held takes its new row)."""
        self._position.update(zip(keys.tolist(), range(start, start + len(keys)), strict=True))

    def clear(self) -> None:
        self._position.clear()


def key_index(capacity: int) -> Any:
    """An empty index for up to ``capacity`` distinct keys: compiled when built, else a dict."""
    return DictIndex() if _NATIVE is None else _NATIVE.KeyIndex(capacity)


class PromptMemo:
    """Per-prompt signal values by prompt hash, bounded to ``max_prompts`` entries."""

    def __init__(self, max_prompts: int = MAX_PROMPTS) -> None:
        self.max_prompts = max_prompts
        # never more distinct keys than rows, and never more rows than max_prompts
        self._position = key_index(max_prompts)
        self._parts: list[pa.Table] = []
        self._size = 0
        self.hits = 0
        self.misses = 0
        #: Whether :meth:`add` keeps what it adds for :meth:`take_fresh` (``memoshare``).
        self.keep_fresh = False
        self._fresh: list[tuple[np.ndarray, pa.Table]] = []

    def __len__(self) -> int:
        return self._size

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Row of every key in the memo, or -1 (int64, one per key)."""
        found: np.ndarray = self._position.find(np.ascontiguousarray(keys, np.uint64))
        hits = int(np.count_nonzero(found >= 0))
        self.hits += hits
        self.misses += len(keys) - hits
        return found

    def take(self, rows: np.ndarray) -> pa.Table:
        """The values at ``rows`` (as given by :meth:`find`, all >= 0)."""
        if len(self._parts) > 1:
            self._parts = [pa.concat_tables(self._parts).combine_chunks()]
        return self._parts[0].take(pa.array(rows))

    def add(self, keys: np.ndarray, values: pa.Table) -> None:
        """Keep ``values`` (one row per key); a full memo is emptied first."""
        if self.keep_fresh and len(keys):
            self._fresh.append((keys, values))
        self._keep(keys, values)

    def take_fresh(self) -> list[tuple[np.ndarray, pa.Table]]:
        """What :meth:`add` was given since the last call (with :attr:`keep_fresh` set)."""
        fresh, self._fresh = self._fresh, []
        return fresh

    def merge(self, keys: np.ndarray, values: pa.Table) -> int:
        """Keep the rows of ``values`` whose keys are not held yet (values computed by
        another process) as far as there is room: they never empty a full memo, which
        only this process's own prompts do. Not counted as hits or misses, nor kept as
        fresh. Returns how many were kept; none when their columns are not the memo's."""
        if self._parts and not values.schema.equals(self._parts[0].schema):
            return 0
        new = np.flatnonzero(self._position.find(np.ascontiguousarray(keys, np.uint64)) < 0)
        new = new[: max(self.max_prompts - self._size, 0)]
        if len(new):
            whole = len(new) == len(keys)
            self._keep(keys[new], values if whole else values.take(pa.array(new)))
        return len(new)

    def _keep(self, keys: np.ndarray, values: pa.Table) -> None:
        if self._size + len(keys) > self.max_prompts:
            self.clear()
        if len(keys) > self.max_prompts or not len(keys):
            return
        start = self._size
        self._position.add(np.ascontiguousarray(keys, np.uint64), start)
        self._parts.append(values)
        self._size += len(keys)
        if len(self._parts) >= _MERGE_PARTS:
            self._parts = [pa.concat_tables(self._parts).combine_chunks()]

    def clear(self) -> None:
        """Forget everything (the hit and miss counts stay)."""
        self._position.clear()
        self._parts = []
        self._size = 0
