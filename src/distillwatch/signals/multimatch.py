"""Every flag and cue pattern of the signals in one pass over each prompt (Hyperscan).

The signals ask about 20 yes/no regex questions of every prompt (chain-of-thought phrases,
judge phrases, rewrite and sensitive-subject phrases, nine capability cue lists). Asked one
at a time, as Arrow's RE2 kernels do, each is a pass over all the text plus a fresh compile
of the pattern per call: about half of the signals' time. Here they are compiled once per
process into one Hyperscan database, and each distinct prompt is scanned once for all of
them (``HS_FLAG_SINGLEMATCH``: one report per pattern at most, the scan needs no more).

**Same answers as RE2.** RE2 stays the definition of every pattern; Hyperscan (PCRE syntax)
may only take a pattern whose meaning is the same in both engines for "is there a match
anywhere". :func:`portable` admits only patterns built from literals, ``.``, character
classes without POSIX or Unicode properties, ``\\b \\w \\d`` and their negations (ASCII in
both without ``HS_FLAG_UCP``), ``^`` (start of text in both), groups ``(?:...)``,
alternation and repeats. It refuses ``\\s`` (PCRE's includes ``\\v``), ``$`` (PCRE's also
matches before a final newline), ``\\p{..}`` (Unicode tables of two versions), inline flags
and every escape it does not know. A refused pattern, or one Hyperscan cannot compile,
runs through RE2 exactly as before; so does everything when the ``hyperscan`` package
cannot be imported. ``tests/test_signals_multimatch.py`` compares both engines on the
corpus, the simulator's prompts and generated adversarial text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from distillwatch.signals import hscache
from distillwatch.signals.text import string_offsets

try:  # pragma: no cover - the wheel exists for the platforms the project runs on
    import hyperscan
except ImportError:  # pragma: no cover
    hyperscan = None  # type: ignore[assignment]

#: Escapes whose meaning RE2 and PCRE share (``\\b`` inside a class is a backspace in both).
_SAFE_ESCAPES = frozenset("bBwWdD.\\/-+*?()[]{}|^$#&~ \"'`:;,!<>=@%_n t r f")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def portable(pattern: str) -> bool:
    """Whether ``pattern`` finds a match in exactly the same texts under RE2 and Hyperscan.

    Conservative: a ``False`` only costs speed (the pattern runs through RE2).
    """
    if not all(escaped in _SAFE_ESCAPES for escaped in _ESCAPE.findall(pattern)):
        return False
    bare = _ESCAPE.sub("e", pattern)  # escapes as a letter: what is left is syntax
    if "$" in bare or "[[:" in bare or "[]" in bare or "[^]" in bare or "{," in bare:
        return False
    if "(?" in bare.replace("(?:", ""):  # inline flags, named groups, lookarounds
        return False
    return re.search(r"[*+?}]\+", bare) is None  # possessive repeats


@dataclass(frozen=True)
class Hits:
    """Which of a pattern set's patterns match each text: a boolean column per pattern."""

    column_of: dict[str, int]
    table: np.ndarray  # bool, (texts, patterns)

    def get(self, pattern: str) -> np.ndarray | None:
        """The column of ``pattern``, or None if it was not in the set."""
        at = self.column_of.get(pattern)
        return None if at is None else self.table[:, at]


class PatternSet:
    """The portable patterns of a list, compiled into one Hyperscan database."""

    def __init__(self, patterns: Iterable[str]) -> None:
        wanted = tuple(dict.fromkeys(p for p in patterns if portable(p)))
        self._database = _database_of(wanted)
        if self._database is None and wanted:  # some pattern refused: find it, go without
            wanted = tuple(p for p in wanted if _database_of((p,)) is not None)
            self._database = _database_of(wanted)
        self.patterns: tuple[str, ...] = wanted if self._database is not None else ()
        self.column_of = {p: i for i, p in enumerate(self.patterns)}

    def __contains__(self, pattern: str) -> bool:
        return pattern in self.column_of

    def scan(self, texts: pa.Array) -> Hits:
        """One Hyperscan pass over every text of a string array with no nulls."""
        table = np.zeros((len(texts), len(self.patterns)), dtype=bool)
        if self._database is None or not len(texts):
            return Hits(self.column_of, table)
        offsets, data = string_offsets(texts)
        raw = memoryview(data.tobytes())  # slices of it are views: no copy per text
        rows: list[int] = []
        found: list[int] = []

        def on_match(pattern: int, _start: int, _end: int, _flags: int, row: int) -> None:
            rows.append(row)
            found.append(pattern)

        # The Python call per text is most of the cost: nothing else is done per text (the
        # hits are written into the table once, at the end).
        scan = self._database.scan
        bounds = offsets.tolist()
        for row in range(len(texts)):
            scan(raw[bounds[row] : bounds[row + 1]], on_match, context=row)
        table[rows, found] = True
        return Hits(self.column_of, table)


_FLAGS = 0 if hyperscan is None else hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_SINGLEMATCH
_FLAGS |= 0 if hyperscan is None else hyperscan.HS_FLAG_ALLOWEMPTY


def _database_of(patterns: tuple[str, ...]) -> Any:
    """One block-mode database of ``patterns`` (ids = positions), or None if Hyperscan
    refuses one of them (or is missing, or there are none). Compiling takes ~0.7 s for the
    signals' patterns: done once per process, and kept on disk (:mod:`signals.hscache`) so
    that the next process loads it instead."""
    if hyperscan is None or not patterns:
        return None
    expressions = [p.encode() for p in patterns]
    flags = [_FLAGS] * len(patterns)

    def compile_database() -> Any:
        database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        database.compile(
            expressions=expressions,
            ids=list(range(len(patterns))),
            elements=len(patterns),
            flags=flags,
        )
        return database

    try:
        return hscache.compiled(
            hyperscan, expressions, flags, hyperscan.HS_MODE_BLOCK, compile_database
        )
    except hyperscan.error:
        return None
