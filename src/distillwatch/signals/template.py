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

from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.signals.base import RequestSignal
from distillwatch.signals.text import PromptView, Tokens, mix64, tokenize

K = 8
_U64 = np.uint64

#: (RE2 pattern, replacement) applied in order to the lower-cased prompt.
MASKS: tuple[tuple[str, str], ...] = (
    (r"(?s)```.*?(?:```|$)", " _c_ "),
    (r"(?:https?://|www\.)\S+|\S+@\S+\.\w+", " _u_ "),
    (
        r"\"[^\"\n]{1,300}\"|“[^”\n]{1,300}”|«[^»\n]{1,300}»|「[^」\n]{1,300}」|『[^』\n]{1,300}』",
        " _q_ ",
    ),
    (r"(^|[^\p{L}\p{N}])'[^'\n]{1,120}'", r"\1 _q_ "),
    (r"\([^()\n]{0,120}\)|\[[^\[\]\n]{0,120}\]|\{[^{}\n]{0,120}\}", " _b_ "),
    (r"(?m)^([^\n:：]{1,30})[:：][ \t]*\S[^\n]*", r"\1: _v_"),
    (r"(?m)^[^\n]{200,}$", " _p_ "),
    (r"\d+(?:[.,:/-]\d+)*", " _n_ "),
    (r"(?:\b(_[a-z]_)\b[\s\p{P}]*){2,}", r"\1 "),
)


_LONG_LINE = 6  # index of the long-line mask in MASKS


def skeleton(lowered: pa.Array, mask_long_lines: bool = True) -> pa.Array:
    """The masked instruction frame of every (lower-cased) prompt."""
    out = lowered
    for i, (pattern, repl) in enumerate(MASKS):
        if mask_long_lines or i != _LONG_LINE:
            out = pc.replace_substring_regex(out, pattern, repl)
    return out


def skeleton_tokens(lowered: pa.Array) -> Tokens:
    """Skeleton tokens; a prompt that would be *all* masks keeps its long lines instead.

    Without the fallback every single-paragraph question (a word problem, a long chat
    message) would collapse into the same "<payload>" skeleton and look like one template.
    """
    tokens = tokenize(skeleton(lowered))
    real = ~pc.match_substring_regex(tokens.strings, "^_[a-z]_$").to_numpy(zero_copy_only=False)
    frameless = np.bincount(tokens.row[real], minlength=len(tokens.counts)) == 0
    if not frameless.any():
        return tokens
    redo = tokenize(skeleton(lowered.filter(pa.array(frameless)), mask_long_lines=False))
    counts = tokens.counts.copy()
    counts[frameless] = redo.counts
    keep_old = ~frameless[tokens.row]
    rows = np.concatenate((tokens.row[keep_old], np.flatnonzero(frameless)[redo.row]))
    order = np.argsort(rows, kind="stable")
    hashes = np.concatenate((tokens.hashes[keep_old], redo.hashes))[order]
    strings = pa.concat_arrays([tokens.strings.filter(pa.array(keep_old)), redo.strings])
    return Tokens(hashes, np.concatenate(([0], np.cumsum(counts))), strings.take(pa.array(order)))


def frame_hash(lowered: pa.Array) -> np.ndarray:
    """uint64 id of each prompt's first and last ``K`` skeleton tokens (order-sensitive)."""
    tokens = skeleton_tokens(lowered)
    counts = tokens.counts
    n = len(counts)
    pos = np.arange(len(tokens.hashes)) - tokens.offsets[:-1][tokens.row]
    from_end = counts[tokens.row] - 1 - pos
    keep = (pos < K) | (from_end < K)
    code = np.where(pos < K, pos, 64 + from_end)[keep].astype(_U64)
    with np.errstate(over="ignore"):
        contrib = mix64(tokens.hashes[keep] ^ mix64(code))
        kept_per_row = np.bincount(tokens.row[keep], minlength=n)
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

    def compute(self, batch: pa.RecordBatch, view: PromptView) -> dict[str, pa.Array]:
        return {"template_id": view.expand(pa.array(frame_hash(view.lowered)))}
