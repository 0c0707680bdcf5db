"""Indicators imported from the sharing group, checked on every request.

The sharing stage writes a block list (``distillwatch share pull`` → a JSON file) and provides
the matcher (:mod:`distillwatch.share.match`); this module keeps one matcher for the gateway
and swaps in a new one when the file changes, so a block published by another provider takes
effect within a second without a restart. Matches become ``IndicatorMatch`` values in the
assessment, which policy rules with ``indicators``/``indicator_kinds`` act on.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from distillwatch.enforce.assessment import IndicatorLike

log = logging.getLogger("distillwatch.gateway")


class BlocklistMatcher:
    """An :class:`~distillwatch.enforce.assessment.IndicatorMatcher` over a block list file."""

    #: How often (seconds) the file is checked for a newer version.
    POLL = 1.0

    def __init__(self, path: Path, key_file: Path | None = None) -> None:
        from distillwatch.share.keyed import GroupKey, GroupKeyError, load_key

        self.path = Path(path)
        self.key: GroupKey | None
        try:  # hashed indicators need the group key; plain ones do not
            self.key = load_key(key_file)
        except GroupKeyError:
            if key_file is not None:
                raise
            self.key = None
        self._mtime = -1
        self._checked = 0.0
        self._matcher: Any = None
        self._reload()  # a broken file at start-up is an error, not a silent empty list

    def match(self, record: Mapping[str, Any]) -> Sequence[IndicatorLike]:
        clock = time.monotonic()
        if clock - self._checked >= self.POLL:
            self._checked = clock
            try:
                self._reload()
            except (OSError, ValueError) as exc:  # keep the last good list
                log.warning("block list %s not reloaded: %s", self.path, exc)
        return self._matcher.match(record)

    def _reload(self) -> None:
        from distillwatch.share.match import Matcher

        mtime = os.stat(self.path).st_mtime_ns
        if mtime != self._mtime:
            self._matcher = Matcher.from_file(self.path, self.key)
            self._mtime = mtime
            log.info("block list %s: %d indicators", self.path, self._matcher.size)
