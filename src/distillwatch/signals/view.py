"""The prompts of a batch as every text signal reads them: de-duplicated, cut, lower-cased.

A :class:`PromptView` is built once per batch and handed to every signal:

* identical prompts are computed once (extraction campaigns and enterprise batch jobs repeat
  templates, so de-duplication is often the biggest speed-up), and
* long prompts are cut to a head and a tail (instructions such as "Let's think step by step"
  sit at either end; the middle is usually payload).

Its tokens and hashes come from :mod:`signals.text`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.signals import rematch
from distillwatch.signals.text import Tokens, hash_strings, tokenize

if TYPE_CHECKING:
    from distillwatch.signals.multimatch import Hits, PatternSet

T = TypeVar("T")
#: Key of a view's pattern set in its memo (see :meth:`PromptView.use_patterns`).
_PATTERN_SET = "pattern_set"

HEAD_CHARS = 1200
TAIL_CHARS = 300
#: Bytes that a truncated prompt can have (head + tail characters, 4 bytes each, + separator).
_KEY_BYTES = 4 * (HEAD_CHARS + TAIL_CHARS) + 1


def head_tail(
    texts: pa.Array,
    head: int = HEAD_CHARS,
    tail: int = TAIL_CHARS,
    lengths: pa.Array | None = None,
) -> pa.Array:
    """Cut long texts to their first ``head`` and last ``tail`` characters (``lengths``:
    their ``utf8_length``, when the caller has it)."""
    if lengths is None:
        lengths = pc.utf8_length(texts)
    long = pc.greater(lengths, head + tail)
    if not pc.any(long).as_py():
        return texts
    longer = texts.filter(long)  # slice only the long ones (usually a few percent)
    cut = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(longer, 0, head),
        pc.utf8_slice_codeunits(longer, -tail),
        "\n",
    )
    return pc.replace_with_mask(texts, long, cut)


def first_chars(texts: pa.Array, n: int) -> pa.Array:
    """The first ``n`` characters of every text, slicing only texts longer than ``n`` bytes
    (a text of at most ``n`` bytes has at most ``n`` characters)."""
    long = pc.greater(pc.binary_length(texts), n)
    if not pc.any(long).as_py():
        return texts
    return pc.replace_with_mask(texts, long, pc.utf8_slice_codeunits(texts.filter(long), 0, n))


@dataclass(frozen=True)
class PromptView:
    """The last user turn of every request, de-duplicated and cut to head + tail.

    ``unique`` holds each distinct prompt once; ``index[i]`` is the position in ``unique``
    of request ``i``. Signals compute over ``unique`` and :meth:`expand` back to rows.
    """

    unique: pa.Array  # string, no nulls
    index: pa.Array  # int32, one per request
    n_rows: int
    chars: np.ndarray  # int32 length (characters) of every *original* prompt, per row
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def shared(self, key: str, make: Callable[[], T]) -> T:
        """``make()``, computed once per view: for results several signals use (shingles)."""
        if key not in self._memo:
            self._memo[key] = make()
        return cast(T, self._memo[key])

    @classmethod
    def of(cls, batch: pa.RecordBatch, column: str = "last_user") -> PromptView:
        """Build the view of one batch (call once; every signal shares it)."""
        texts = batch.column(column) if column in batch.schema.names else None
        if texts is None:
            texts = pa.nulls(batch.num_rows, pa.string())
        if texts.type != pa.string():
            texts = texts.cast(pa.string())
        texts = pc.fill_null(texts, "")
        enc = pc.dictionary_encode(texts)
        if isinstance(enc, pa.ChunkedArray):
            enc = enc.combine_chunks()
        # lengths of the distinct texts only, spread to the rows: a row's length is its
        # text's, and head_tail needs the same lengths
        lengths = pc.utf8_length(enc.dictionary)
        indices = enc.indices.cast(pa.int32())
        chars = lengths.take(indices).to_numpy(zero_copy_only=False).astype(np.int32)
        unique = head_tail(enc.dictionary, lengths=lengths)
        return cls(unique, indices, batch.num_rows, chars)

    @property
    def n_unique(self) -> int:
        return len(self.unique)

    def keys(self) -> np.ndarray:
        """A 64-bit hash of every whole unique (truncated) prompt: what signals see of it."""
        return hash_strings(self.unique, max_bytes=_KEY_BYTES)

    def subset(self, which: np.ndarray) -> PromptView:
        """A view of the unique prompts selected by the boolean mask ``which``, one row each
        (for computing the prompts a memo does not hold yet)."""
        unique = self.unique.filter(pa.array(which))
        n = len(unique)
        view = PromptView(unique, pa.array(np.arange(n, dtype=np.int32)), n, self.chars[:0])
        if _PATTERN_SET in self._memo:
            view.use_patterns(self._memo[_PATTERN_SET])
        return view

    def use_patterns(self, patterns: PatternSet) -> PromptView:
        """Answer :meth:`matches` for the patterns of ``patterns`` from one scan of every
        prompt (``signals.multimatch``) instead of one RE2 pass per pattern; returns self."""
        self._memo[_PATTERN_SET] = patterns
        return self

    def _set_hits(self, patterns: tuple[str, ...]) -> list[np.ndarray] | None:
        """The one-scan answers for ``patterns`` if the view's pattern set holds them all."""
        found: PatternSet | None = self._memo.get(_PATTERN_SET)
        if found is None or not all(p in found for p in patterns):
            return None
        hits: Hits = self.shared("pattern_hits", lambda: found.scan(self.lowered))
        return [cast(np.ndarray, hits.get(p)) for p in patterns]

    def expand(self, values: pa.Array | np.ndarray) -> pa.Array:
        """Spread per-unique-prompt values back to one value per request."""
        arr = pa.array(values) if isinstance(values, np.ndarray) else values
        return arr.take(self.index)

    @cached_property
    def lowered(self) -> pa.Array:
        return pc.utf8_lower(self.unique)

    @cached_property
    def tokens(self) -> Tokens:
        return tokenize(self.lowered)

    def matches_any(self, patterns: tuple[str, ...]) -> np.ndarray:
        """Boolean per unique prompt: does any of the RE2 ``patterns`` match?

        Each later pattern runs only on the prompts no earlier one matched.
        """
        known = self._set_hits(patterns)
        if known is not None:
            return np.logical_or.reduce(known) if known else np.zeros(self.n_unique, bool)
        hit = np.zeros(self.n_unique, dtype=bool)
        for pattern in patterns:
            rest = ~hit
            if not rest.any():
                break
            if rest.all():
                hit = self.matches(pattern)
            else:
                hit[rest] = rematch.match(self.lowered.filter(pa.array(rest)), pattern)
        return hit

    def matches(self, pattern: str) -> np.ndarray:
        """Boolean per unique prompt: does the RE2 ``pattern`` match the lower-cased text?"""
        known = self._set_hits((pattern,))
        if known is not None:
            return known[0].copy()  # callers may change it in place
        return rematch.match(self.lowered, pattern)
