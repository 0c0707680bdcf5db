"""Shared prompt normalisation, tokenisation and hashing for every text signal.

Signals run at scan speed (hundreds of thousands of requests per second), so nothing here
loops over rows in Python: strings are handled by Arrow compute kernels (RE2 regexes, C++
lower-casing and splitting) and hashing is NumPy arithmetic over Arrow's raw buffers.

A :class:`PromptView` is built once per batch and handed to every signal:

* identical prompts are computed once (extraction campaigns and enterprise batch jobs repeat
  templates, so de-duplication is often the biggest speed-up), and
* long prompts are cut to a head and a tail (instructions such as "Let's think step by step"
  sit at either end; the middle is usually payload).

Hashes are our own (a polynomial string hash finished with SplitMix64), never Python's
``hash()``, so they are identical across processes, machines and versions — template ids
and LSH bands can be shared between providers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEAD_CHARS = 1200
TAIL_CHARS = 300
_MAX_TOKEN_BYTES = 64

#: Characters of scripts written without spaces; each becomes its own token.
_CJK = r"([\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}])"
_SPLIT = r"[^\p{L}\p{N}_]+"

_U64 = np.uint64
_P = _U64(0x100000001B3)  # FNV prime, odd: a fine multiplier for a polynomial hash


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: spreads the bits of a weak hash over all 64 bits (vectorised)."""
    with np.errstate(over="ignore"):
        z = x.astype(_U64, copy=True)
        z += _U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


_GROUP_BYTES = 1 << 20  # bytes hashed per NumPy pass; bounds temporary memory


def _powers(base: int, n: int) -> np.ndarray:
    out = np.full(max(n, 1), _U64(base), dtype=_U64)
    out[0] = 1
    with np.errstate(over="ignore"):
        return np.cumprod(out, dtype=_U64)


_POW = _powers(int(_P), _GROUP_BYTES)
_POW_INV = _powers(pow(int(_P), -1, 1 << 64), _GROUP_BYTES)


def string_offsets(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, data) of a string array with no nulls, as NumPy views of Arrow's buffers."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type == pa.large_string():
        arr = arr.cast(pa.string())
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets.astype(np.int64), data


def _raw_hashes(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """sum_j data[j] * P**(j - start) over [start, end) per string, for one byte group.

    Prefix sums over the whole group with global powers, then one multiplication by
    P**-start (P is odd, so it has an inverse mod 2**64): a few flat NumPy passes instead of
    per-byte gathers.
    """
    lo, hi = int(starts.min()), int(ends.max())
    buf = data[lo:hi].astype(_U64)
    with np.errstate(over="ignore"):
        prefix = np.zeros(hi - lo + 1, dtype=_U64)
        np.cumsum(buf * _POW[: hi - lo], out=prefix[1:])
        s, e = starts - lo, ends - lo
        return (prefix[e] - prefix[s]) * _POW_INV[s]


def hash_strings(arr: pa.Array, max_bytes: int = 4096) -> np.ndarray:
    """Deterministic 64-bit hash of every string (nulls hash like the empty string).

    Each byte b_j at position p within its string contributes b_j * P**p; the per-string sum
    (mod 2**64) is finished with SplitMix64 together with the length. Only the first
    ``max_bytes`` bytes of a string count.
    """
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    offsets, data = string_offsets(arr)
    lengths = np.minimum(np.diff(offsets), max_bytes)
    starts = offsets[:-1]
    ends = starts + lengths
    out = np.zeros(len(lengths), dtype=_U64)
    # group consecutive strings so that each group spans at most _GROUP_BYTES bytes
    i, n = 0, len(lengths)
    while i < n:
        limit = starts[i] + _GROUP_BYTES - max_bytes
        j = max(int(np.searchsorted(starts, limit, side="right")), i + 1)
        out[i:j] = _raw_hashes(data, starts[i:j], ends[i:j])
        i = j
    with np.errstate(over="ignore"):
        return mix64(out ^ (lengths.astype(_U64) * _U64(0x2545F4914F6CDD1D)))


def text_hash(s: str) -> int:
    """The :func:`hash_strings` value of one Python string (for tests and rule tables)."""
    return int(hash_strings(pa.array([s]))[0])


def head_tail(texts: pa.Array, head: int = HEAD_CHARS, tail: int = TAIL_CHARS) -> pa.Array:
    """Cut long texts to their first ``head`` and last ``tail`` characters."""
    lengths = pc.utf8_length(texts)
    long = pc.greater(lengths, head + tail)
    if not pc.any(long).as_py():
        return texts
    cut = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(texts, 0, head),
        pc.utf8_slice_codeunits(texts, -tail),
        "\n",
    )
    return pc.if_else(long, cut, texts)


@dataclass(frozen=True)
class Tokens:
    """Tokens of every unique prompt: a flat hash array plus per-prompt offsets."""

    hashes: np.ndarray  # uint64, one per token
    offsets: np.ndarray  # int64, len = n_unique + 1
    strings: pa.Array  # the token strings themselves (flattened)

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    @cached_property
    def row(self) -> np.ndarray:
        """Index of the prompt each token belongs to."""
        return np.repeat(np.arange(len(self.offsets) - 1), self.counts)


def tokenize(lowered: pa.Array) -> Tokens:
    """Split lower-cased texts into word tokens; CJK/Thai characters become single tokens."""
    spaced = pc.replace_substring_regex(lowered, _CJK, r" \1 ")
    parts = pc.split_pattern_regex(spaced, _SPLIT)
    if isinstance(parts, pa.ChunkedArray):
        parts = parts.combine_chunks()
    values = parts.values
    offsets = np.frombuffer(parts.buffers()[1], dtype=np.int32)[
        parts.offset : parts.offset + len(parts) + 1
    ].astype(np.int64)
    # Drop empty strings produced by leading/trailing separators.
    keep = pc.greater(pc.binary_length(values), 0).to_numpy(zero_copy_only=False)
    base = offsets[0]
    values = values.slice(base, offsets[-1] - base)
    keep = keep[base : offsets[-1]]
    cum = np.concatenate(([0], np.cumsum(keep)))
    new_offsets = cum[offsets - base]
    kept = values.filter(pa.array(keep))
    return Tokens(hash_strings(kept, _MAX_TOKEN_BYTES), new_offsets.astype(np.int64), kept)


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

    @classmethod
    def of(cls, batch: pa.RecordBatch, column: str = "last_user") -> PromptView:
        """Build the view of one batch (call once; every signal shares it)."""
        texts = batch.column(column) if column in batch.schema.names else None
        if texts is None:
            texts = pa.nulls(batch.num_rows, pa.string())
        if texts.type != pa.string():
            texts = texts.cast(pa.string())
        texts = pc.fill_null(texts, "")
        chars = pc.utf8_length(texts).to_numpy(zero_copy_only=False).astype(np.int32)
        enc = pc.dictionary_encode(texts)
        if isinstance(enc, pa.ChunkedArray):
            enc = enc.combine_chunks()
        unique = head_tail(enc.dictionary)
        return cls(unique, enc.indices.cast(pa.int32()), batch.num_rows, chars)

    @property
    def n_unique(self) -> int:
        return len(self.unique)

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

    def matches(self, pattern: str) -> np.ndarray:
        """Boolean per unique prompt: does the RE2 ``pattern`` match the lower-cased text?"""
        hit = pc.match_substring_regex(self.lowered, pattern)
        return hit.to_numpy(zero_copy_only=False).astype(bool)
