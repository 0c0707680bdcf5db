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

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.signals.base import RequestSignal
from distillwatch.signals.text import PromptView, mix64, tokenize

K = 8
_U64 = np.uint64


@dataclass(frozen=True)
class Mask:
    """One masking pass: an RE2 ``pattern`` and its ``replacement``, plus two shortcuts.

    Both shortcuts leave the result unchanged and only skip work:

    * ``trigger``: a cheap pattern (a literal or a character class, matched at memchr/DFA
      speed) that every text the mask can change contains, and ``min_bytes``, a length below
      which it cannot match; ``pattern`` runs only on the texts that pass both (most prompts
      have no quotes, brackets or URLs).
    * ``simple``: a cheaper pattern that gives the same result on texts with no match of
      ``exotic`` — the alternatives of ``pattern`` that need a rare opening character (“, «,
      [, {, the full-width colon) cannot match without it. RE2 is several times slower on
      the bounded repeats of a many-way alternation than on one of them alone.
    """

    pattern: str
    replacement: str
    trigger: str
    min_bytes: int = 0
    simple: str = ""
    exotic: str = ""


#: Masks applied in order to the lower-cased prompt.
MASKS: tuple[Mask, ...] = (
    Mask(r"(?s)```.*?(?:```|$)", " _c_ ", "```"),
    Mask(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+", " _u_ ", r"://|www\.|@"),
    Mask(
        r"\"[^\"\n]{1,300}\"|“[^”\n]{1,300}”|«[^»\n]{1,300}»|「[^」\n]{1,300}」|『[^』\n]{1,300}』",
        " _q_ ",
        '["“«「『]',
        simple=r"\"[^\"\n]{1,300}\"",
        exotic="[“«「『]",
    ),
    Mask(r"(^|[^\p{L}\p{N}])'[^'\n]{1,120}'", r"\1 _q_ ", "'"),
    Mask(
        r"\([^()\n]{0,120}\)|\[[^\[\]\n]{0,120}\]|\{[^{}\n]{0,120}\}",
        " _b_ ",
        r"[(\[{]",
        simple=r"\([^()\n]{0,120}\)",
        exotic=r"[\[{]",
    ),
    Mask(
        r"(?m)^([^\n:：]{1,30})[:：][ \t]*\S[^\n]*",
        r"\1: _v_",
        "[:：]",
        simple=r"(?m)^([^\n:]{1,30}):[ \t]*\S[^\n]*",
        exotic="：",
    ),
    Mask(r"(?m)^[^\n]{200,}$", " _p_ ", "", min_bytes=200),
    Mask(r"\d+(?:[.,:/-]\d+)*", " _n_ ", "[0-9]"),
    Mask(r"(?:\b(_[a-z]_)\b[\s\p{P}]*){2,}", r"\1 ", "_"),
)


_LONG_LINE = 6  # index of the long-line mask in MASKS


def _replace_where(texts: pa.Array, where: pa.Array, pattern: str, replacement: str) -> pa.Array:
    """``texts`` with ``pattern`` replaced in the rows selected by the boolean ``where``."""
    hits = pc.sum(where).as_py() or 0
    if hits == 0:
        return texts
    if hits == len(texts):
        return pc.replace_substring_regex(texts, pattern, replacement)
    changed = pc.replace_substring_regex(texts.filter(where), pattern, replacement)
    return pc.replace_with_mask(texts, where, changed)


def apply_mask(texts: pa.Array, mask: Mask) -> pa.Array:
    """``texts`` with ``mask`` applied, running the costly pattern only where it is needed."""
    maybe = (
        pc.match_substring_regex(texts, mask.trigger)
        if mask.trigger
        else pa.array(np.ones(len(texts), dtype=bool))
    )
    if mask.min_bytes:
        maybe = pc.and_(maybe, pc.greater_equal(pc.binary_length(texts), mask.min_bytes))
    if not mask.simple:
        return _replace_where(texts, maybe, mask.pattern, mask.replacement)
    exotic = pc.match_substring_regex(texts, mask.exotic)
    texts = _replace_where(texts, pc.and_(maybe, pc.invert(exotic)), mask.simple, mask.replacement)
    return _replace_where(texts, pc.and_(maybe, exotic), mask.pattern, mask.replacement)


def skeleton(lowered: pa.Array, mask_long_lines: bool = True) -> pa.Array:
    """The masked instruction frame of every (lower-cased) prompt."""
    out = lowered
    for i, mask in enumerate(MASKS):
        if mask_long_lines or i != _LONG_LINE:
            out = apply_mask(out, mask)
    return out


def skeleton_tokens(lowered: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Skeleton token hashes and per-prompt offsets; a prompt that would be *all* masks keeps
    its long lines instead.

    Without the fallback every single-paragraph question (a word problem, a long chat
    message) would collapse into the same "<payload>" skeleton and look like one template.
    """
    tokens = tokenize(skeleton(lowered))
    real = ~tokens.is_mask()
    frameless = np.bincount(tokens.row[real], minlength=len(tokens.counts)) == 0
    if not frameless.any():
        return tokens.hashes, tokens.offsets
    redo = tokenize(skeleton(lowered.filter(pa.array(frameless)), mask_long_lines=False))
    counts = tokens.counts.copy()
    counts[frameless] = redo.counts
    keep_old = ~frameless[tokens.row]
    rows = np.concatenate((tokens.row[keep_old], np.flatnonzero(frameless)[redo.row]))
    order = np.argsort(rows, kind="stable")
    hashes = np.concatenate((tokens.hashes[keep_old], redo.hashes))[order]
    return hashes, np.concatenate(([0], np.cumsum(counts)))


def frame_hash(lowered: pa.Array) -> np.ndarray:
    """uint64 id of each prompt's first and last ``K`` skeleton tokens (order-sensitive)."""
    token_hashes, offsets = skeleton_tokens(lowered)
    counts = np.diff(offsets)
    n = len(counts)
    row = np.repeat(np.arange(n), counts)
    pos = np.arange(len(token_hashes)) - offsets[:-1][row]
    from_end = counts[row] - 1 - pos
    keep = (pos < K) | (from_end < K)
    code = np.where(pos < K, pos, 64 + from_end)[keep].astype(_U64)
    with np.errstate(over="ignore"):
        contrib = mix64(token_hashes[keep] ^ mix64(code))
        kept_per_row = np.bincount(row[keep], minlength=n)
        acc = np.zeros(n, dtype=_U64)
        nonempty = kept_per_row > 0
        starts = np.concatenate(([0], np.cumsum(kept_per_row)[:-1]))[nonempty]
        if len(contrib):
            acc[nonempty] = np.add.reduceat(contrib, starts)
        return mix64(acc ^ (kept_per_row.astype(_U64) * _U64(0xA24BAED4963EE407)))


class TemplateSignal(RequestSignal):
    """``template_id``: hash of the prompt's instruction skeleton."""

    name: ClassVar[str] = "template"
    inputs: ClassVar[tuple[str, ...]] = ("last_user",)
    outputs: ClassVar[dict[str, pa.DataType]] = {"template_id": pa.uint64()}

    def per_prompt(self, view: PromptView) -> dict[str, pa.Array]:
        return {"template_id": pa.array(frame_hash(view.lowered))}
