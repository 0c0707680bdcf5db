"""Prompt-template id: the same value for every rendering of one prompt template.

Enterprise batch jobs and extraction campaigns both render one template over many payloads
("Translate to French: <x>", "Q: <x>\\nA: Let's think step by step", a T0-style frame around
a passage). The id hashes the *skeleton*: quoted spans, code, URLs, numbers, bracketed
asides, the values of "Field: value" lines and long (payload) lines are masked, runs of
masks collapse, and only the first and last ``K`` tokens are kept, so the payload can change
while the frame and its id stay.

Known limit: a short payload *before* the instruction on the same line (e.g. "<review
sentence> What is the sentiment?") still leaks into the first tokens; the LSH bands catch
part of those.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import ClassVar, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch._native import load
from distillwatch.signals import rematch, text
from distillwatch.signals.base import RequestSignal
from distillwatch.signals.text import (
    Tokens,
    char_classes,
    mix64,
    re2_members,
    string_offsets,
    tokenize,
)
from distillwatch.signals.view import PromptView

K = 8
_U64 = np.uint64


# Byte marks: which characters a text contains, one bit each, from one pass over its bytes.
BACKTICK, DQUOTE, SQUOTE, PAREN, BRACKET, COLON, DIGIT, RARE = (1 << i for i in range(8))
_MARK_OF = {"`": BACKTICK, '"': DQUOTE, "'": SQUOTE, "(": PAREN, "[": BRACKET, "{": BRACKET}
_MARK_OF |= {":": COLON} | {d: DIGIT for d in "0123456789"}
#: Last bytes of “ « 「 『 and the full-width colon (other characters share them; a mark
#: only has to be present whenever the character is).
_RARE_BYTES = {"“".encode()[-1], "«".encode()[-1], "「".encode()[-1], "『".encode()[-1]}
_RARE_BYTES |= {"：".encode()[-1]}
_MARK_TABLE = bytes(
    _MARK_OF.get(chr(b), 0) if b < 0x80 else (RARE if b in _RARE_BYTES else 0) for b in range(256)
)


def marks(texts: pa.Array) -> np.ndarray:
    """uint8 per text: the OR of the marks of its bytes (see ``_MARK_TABLE``)."""
    offsets, data = string_offsets(texts)
    base = int(offsets[0])
    flags = np.frombuffer(data[base : int(offsets[-1])].tobytes().translate(_MARK_TABLE), np.uint8)
    out = np.zeros(len(offsets) - 1, dtype=np.uint8)
    nonempty = np.diff(offsets) > 0
    if nonempty.any():
        out[nonempty] = np.bitwise_or.reduceat(flags, offsets[:-1][nonempty] - base)
    return out


@dataclass(frozen=True)
class Mask:
    """One masking pass: an RE2 ``pattern`` and its ``replacement``, plus shortcuts.

    The shortcuts leave the result unchanged and only skip work:

    * ``needs``: byte marks (see :func:`marks`) of which a text must have one for the mask
      to change it; ``trigger``, a cheap pattern every such text matches (a literal, at
      memchr speed); ``min_bytes``, a length below which it cannot match. ``pattern`` runs
      only on the texts that pass all three (most prompts have no quotes, brackets or URLs).
      Marks are read once from the unmasked text: masks only remove these characters.
    * ``simple``: a cheaper pattern that gives the same result on texts without the marks
      ``exotic`` — the alternatives of ``pattern`` that need a rare opening character (“, «,
      [, {, the full-width colon) cannot match without it. RE2 is several times slower on
      the bounded repeats of a many-way alternation than on one of them alone.
    * ``python_too``: the exotic texts go through Python's ``re`` instead of RE2. Only for a
      pattern of literals, negated classes and bounded repeats, where both engines agree
      exactly (leftmost-first, repeats count code points): RE2 compiles such a pattern anew
      on every call (24 ms for the quotes mask), Python's ``re`` once per process.
    """

    pattern: str
    replacement: str
    needs: int = 0
    trigger: str = ""
    min_bytes: int = 0
    simple: str = ""
    exotic: int = 0
    python_too: bool = False


#: Masks applied in order to the lower-cased prompt.
MASKS: tuple[Mask, ...] = (
    Mask(r"(?s)```.*?(?:```|$)", " _c_ ", needs=BACKTICK, trigger="```"),
    Mask(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+", " _u_ ", trigger=r"://|www\.|@"),
    Mask(
        r"\"[^\"\n]{1,300}\"|“[^”\n]{1,300}”|«[^»\n]{1,300}»|「[^」\n]{1,300}」|『[^』\n]{1,300}』",
        " _q_ ",
        needs=DQUOTE | RARE,
        simple=r"\"[^\"\n]{1,300}\"",
        exotic=RARE,
        python_too=True,
    ),
    Mask(r"(^|[^\p{L}\p{N}])'[^'\n]{1,120}'", r"\1 _q_ ", needs=SQUOTE),
    Mask(
        r"\([^()\n]{0,120}\)|\[[^\[\]\n]{0,120}\]|\{[^{}\n]{0,120}\}",
        " _b_ ",
        needs=PAREN | BRACKET,
        simple=r"\([^()\n]{0,120}\)",
        exotic=BRACKET,
    ),
    Mask(
        r"(?m)^([^\n:：]{1,30})[:：][ \t]*\S[^\n]*",
        r"\1: _v_",
        needs=COLON | RARE,
        simple=r"(?m)^([^\n:]{1,30}):[ \t]*\S[^\n]*",
        exotic=RARE,
    ),
    Mask(r"(?m)^[^\n]{200,}$", " _p_ ", min_bytes=200),
    Mask(r"\d+(?:[.,:/-]\d+)*", " _n_ ", needs=DIGIT),
    Mask(r"(?:\b(_[a-z]_)\b[\s\p{P}]*){2,}", r"\1 ", trigger="_"),
)


_LONG_LINE = 6  # index of the long-line mask in MASKS
#: The compiled mask scanners, or None when not built or ``DISTILLWATCH_NATIVE=0``.
_NATIVE = load("masks") if os.environ.get("DISTILLWATCH_NATIVE", "1") != "0" else None


def _replace_where(texts: pa.Array, where: np.ndarray, pattern: str, replacement: str) -> pa.Array:
    """``texts`` with ``pattern`` replaced in the rows selected by the boolean ``where``."""
    hits = int(np.count_nonzero(where))
    if hits == 0:
        return texts
    if hits == len(texts):
        return rematch.replace(texts, pattern, replacement)
    selected = pa.array(where)
    changed = rematch.replace(texts.filter(selected), pattern, replacement)
    return pc.replace_with_mask(texts, selected, changed)


def apply_mask(texts: pa.Array, mask: Mask, text_marks: np.ndarray | None = None) -> pa.Array:
    """``texts`` with ``mask`` applied, running the costly pattern only where it is needed.

    ``text_marks`` are the :func:`marks` of these texts or of any earlier state of them
    (before other masks), computed here when not given.
    """
    if text_marks is None:
        text_marks = marks(texts)
    maybe = np.ones(len(texts), dtype=bool)
    if mask.needs:
        maybe &= (text_marks & mask.needs) != 0
    if mask.min_bytes:
        offsets, _ = string_offsets(texts)
        maybe &= np.diff(offsets) >= mask.min_bytes
    if mask.trigger and maybe.any():
        maybe &= rematch.match(texts, mask.trigger)
    if not mask.simple:
        return _replace_where(texts, maybe, mask.pattern, mask.replacement)
    exotic = (text_marks & mask.exotic) != 0
    texts = _replace_where(texts, maybe & ~exotic, mask.simple, mask.replacement)
    if mask.python_too and (maybe & exotic).any():
        return _python_replace_where(texts, maybe & exotic, mask.pattern, mask.replacement)
    return _replace_where(texts, maybe & exotic, mask.pattern, mask.replacement)


@cache
def _python_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _python_replace_where(
    texts: pa.Array, where: np.ndarray, pattern: str, replacement: str
) -> pa.Array:
    """:func:`_replace_where` with Python's ``re`` (compiled once per process), row by row."""
    selected = pa.array(where)
    compiled = _python_pattern(pattern)
    changed = [compiled.sub(replacement, text) for text in texts.filter(selected).to_pylist()]
    return pc.replace_with_mask(texts, selected, pa.array(changed, pa.string()))


@cache
def collapse_classes() -> np.ndarray:
    """1 for every code point of the collapse mask's ``[\\s\\p{P}]`` (uint8 per code point),
    read from RE2 itself like :func:`text.char_classes`, for the compiled collapse."""
    table = np.zeros(0x110000, dtype=np.uint8)
    table[re2_members(r"[^\s\p{P}]")] = 1
    return table


def skeleton(lowered: pa.Array, mask_long_lines: bool = True) -> pa.Array:
    """The masked instruction frame of every (lower-cased) prompt.

    With ``_native/masks.pyx`` built, every mask runs in one compiled call per batch
    (``masks.skeleton``: the masks in turn per text, the same result as RE2's passes);
    without it, each mask is a pass of its own through RE2 (the definition).
    """
    native = _NATIVE
    if native is not None:
        offsets, data = string_offsets(lowered)
        return cast(
            pa.Array,
            native.skeleton(offsets, data, char_classes(), collapse_classes(), mask_long_lines),
        )
    return skeleton_by_mask(lowered, mask_long_lines)


def skeleton_by_mask(lowered: pa.Array, mask_long_lines: bool = True) -> pa.Array:
    """:func:`skeleton` one mask at a time over the whole batch: the compiled scanner of a
    mask where ``_native.masks`` has one, else RE2's pass (without the module, every mask).
    """
    text_marks = marks(lowered)
    out = lowered
    native = _NATIVE
    for i, mask in enumerate(MASKS):
        if not mask_long_lines and i == _LONG_LINE:
            continue
        if native is not None and i in native.NATIVE_MASKS:
            offsets, data = string_offsets(out)
            out = native.apply(i, offsets, data, char_classes())
        else:
            out = apply_mask(out, mask, text_marks)
    return out


def _frame_parts(tokens: Tokens) -> tuple[np.ndarray, np.ndarray]:
    """Per prompt: the sum of its first and last ``K`` token contributions, and their count.

    Only those (at most 2K) tokens of a prompt are hashed.
    """
    counts = tokens.counts
    n = len(counts)
    row = tokens.row
    pos = np.arange(len(row)) - tokens.offsets[:-1][row]
    from_end = counts[row] - 1 - pos
    keep = (pos < K) | (from_end < K)
    code = np.where(pos < K, pos, 64 + from_end)[keep].astype(_U64)
    kept_per_row = np.bincount(row[keep], minlength=n)
    acc = np.zeros(n, dtype=_U64)
    if keep.any():
        with np.errstate(over="ignore"):
            contrib = mix64(tokens.hashes_of(keep) ^ mix64(code))
            nonempty = kept_per_row > 0
            starts = np.concatenate(([0], np.cumsum(kept_per_row)[:-1]))[nonempty]
            acc[nonempty] = np.add.reduceat(contrib, starts)
    return acc, kept_per_row


def frame_hash(lowered: pa.Array) -> np.ndarray:
    """uint64 id of each prompt's first and last ``K`` skeleton tokens (order-sensitive).

    A prompt whose skeleton would be *all* masks keeps its long lines instead: without that
    fallback every single-paragraph question (a word problem, a long chat message) would
    collapse into the same "<payload>" skeleton and look like one template.
    """
    if text._NATIVE is not None:
        return _native_frame_hash(text._NATIVE, lowered)
    tokens = tokenize(skeleton(lowered))
    real = ~tokens.is_mask()
    frameless = np.bincount(tokens.row[real], minlength=len(tokens.counts)) == 0
    acc, kept_per_row = _frame_parts(tokens)
    if frameless.any():
        redo = tokenize(skeleton(lowered.filter(pa.array(frameless)), mask_long_lines=False))
        acc[frameless], kept_per_row[frameless] = _frame_parts(redo)
    with np.errstate(over="ignore"):
        return mix64(acc ^ (kept_per_row.astype(_U64) * _U64(0xA24BAED4963EE407)))


def _native_frame_hash(native: ModuleType, lowered: pa.Array) -> np.ndarray:
    """:func:`frame_hash` with the skeleton's tokens, their hashes and the frame sums made
    in one compiled pass (``tokens.frame_parts``): the same values, no token arrays."""

    def parts(texts: pa.Array, long_lines: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        offsets, data = string_offsets(skeleton(texts, long_lines))
        return cast(
            tuple[np.ndarray, np.ndarray, np.ndarray],
            native.frame_parts(offsets, data, char_classes(), K),
        )

    acc, kept_per_row, frameless = parts(lowered, True)
    if frameless.any():
        redo_acc, redo_kept, _ = parts(lowered.filter(pa.array(frameless)), False)
        acc[frameless], kept_per_row[frameless] = redo_acc, redo_kept
    with np.errstate(over="ignore"):
        return mix64(acc ^ (kept_per_row.astype(_U64) * _U64(0xA24BAED4963EE407)))


class TemplateSignal(RequestSignal):
    """``template_id``: hash of the prompt's instruction skeleton."""

    name: ClassVar[str] = "template"
    inputs: ClassVar[tuple[str, ...]] = ("last_user",)
    outputs: ClassVar[dict[str, pa.DataType]] = {"template_id": pa.uint64()}

    def per_prompt(self, view: PromptView) -> dict[str, pa.Array]:
        return {"template_id": pa.array(frame_hash(view.lowered))}
