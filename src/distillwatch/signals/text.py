"""Shared tokenisation and hashing for every text signal (the prompts they read are a
:class:`~distillwatch.signals.view.PromptView`, in :mod:`signals.view`).

Signals run at scan speed (hundreds of thousands of requests per second), so nothing here
loops over rows in Python: strings are handled by Arrow compute kernels (RE2 regexes, C++
lower-casing and splitting) and hashing is NumPy arithmetic over Arrow's raw buffers, or
one compiled pass (``_native/tokens.pyx``; :data:`_NATIVE` is the switch the NumPy
definitions are tested against).

Hashes are our own (a polynomial string hash finished with SplitMix64), never Python's
``hash()``, so they are identical across processes, machines and versions — template ids
and LSH bands can be shared between providers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch._native import load

#: The compiled tokenizer and span hash (``_native/tokens.pyx``), or None when not built or
#: turned off with ``DISTILLWATCH_NATIVE=0``.
_NATIVE = load("tokens") if os.environ.get("DISTILLWATCH_NATIVE", "1") != "0" else None

_MAX_TOKEN_BYTES = 64


_U64 = np.uint64
_P = _U64(0x100000001B3)  # FNV prime, odd: a fine multiplier for a polynomial hash


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: spreads the bits of a weak hash over all 64 bits (vectorised)."""
    with np.errstate(over="ignore"):
        z = x.astype(_U64, copy=True)
        z += _U64(0x9E3779B97F4A7C15)
        t = z >> _U64(30)  # in place from here on: one temporary instead of six
        z ^= t
        z *= _U64(0xBF58476D1CE4E5B9)
        np.right_shift(z, _U64(27), out=t)
        z ^= t
        z *= _U64(0x94D049BB133111EB)
        np.right_shift(z, _U64(31), out=t)
        z ^= t
        return z


_GROUP_BYTES = 1 << 20  # bytes hashed per NumPy pass; bounds temporary memory


def _powers(base: int, n: int) -> np.ndarray:
    out = np.full(max(n, 1), _U64(base), dtype=_U64)
    out[0] = 1
    with np.errstate(over="ignore"):
        return np.cumprod(out, dtype=_U64)


@cache
def _group_powers() -> tuple[np.ndarray, np.ndarray]:
    """P**j and P**-j for j < ``_GROUP_BYTES``: made on first use (16 MB, 0.02 CPU s), as only
    :func:`hash_spans_numpy` needs them and with ``_native.tokens`` built nothing calls it."""
    return _powers(int(_P), _GROUP_BYTES), _powers(pow(int(_P), -1, 1 << 64), _GROUP_BYTES)


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
    powers, inverses = _group_powers()
    with np.errstate(over="ignore"):
        prefix = np.zeros(hi - lo + 1, dtype=_U64)
        np.multiply(buf, powers[: hi - lo], out=buf)
        np.cumsum(buf, out=prefix[1:])
        s, e = starts - lo, ends - lo
        return (prefix[e] - prefix[s]) * inverses[s]


def hash_spans(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The :func:`hash_strings` value of the byte spans ``data[start:end]`` (starts ascending).

    One compiled loop over the bytes when ``_native.tokens`` is built, else
    :func:`hash_spans_numpy` (the definition; the same values).
    """
    if _NATIVE is not None:
        return cast(
            np.ndarray,
            _NATIVE.hash_spans(
                data, np.ascontiguousarray(starts, np.int64), np.ascontiguousarray(ends, np.int64)
            ),
        )
    return hash_spans_numpy(data, starts, ends)


def hash_spans_numpy(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """:func:`hash_spans` in NumPy passes.

    Spans are hashed in groups of consecutive spans covering at most ``_GROUP_BYTES`` bytes,
    which bounds the temporary prefix-sum arrays whatever the size of ``data``.
    """
    lengths = ends - starts
    out = np.zeros(len(lengths), dtype=_U64)
    i, n = 0, len(lengths)
    longest = int(lengths.max()) if n else 0
    while i < n:
        limit = starts[i] + max(_GROUP_BYTES - longest, 1)
        j = max(int(np.searchsorted(starts, limit, side="right")), i + 1)
        out[i:j] = _raw_hashes(data, starts[i:j], ends[i:j])
        i = j
    with np.errstate(over="ignore"):
        return mix64(out ^ (lengths.astype(_U64) * _U64(0x2545F4914F6CDD1D)))


def hash_strings(arr: pa.Array, max_bytes: int = 4096) -> np.ndarray:
    """Deterministic 64-bit hash of every string (nulls hash like the empty string).

    Each byte b_j at position p within its string contributes b_j * P**p; the per-string sum
    (mod 2**64) is finished with SplitMix64 together with the length. Only the first
    ``max_bytes`` bytes of a string count.
    """
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    offsets, data = string_offsets(arr)
    starts = offsets[:-1]
    return hash_spans(data, starts, starts + np.minimum(np.diff(offsets), max_bytes))


def text_hash(s: str) -> int:
    """The :func:`hash_strings` value of one Python string (for tests and rule tables)."""
    return int(hash_strings(pa.array([s]))[0])


@dataclass(frozen=True)
class HashIndex:
    """Position of 64-bit hashes in a small fixed key set, looked up for millions at once.

    A direct-mapped table: each key sits alone in the slot named by some bits of its hash
    (the bit window is chosen so that no two keys share a slot), so a lookup is two gathers
    and a compare instead of a binary search per token.
    """

    keys: np.ndarray  # uint64 per slot
    index: np.ndarray  # int32 per slot: position of the key, -1 if the slot is empty
    shift: int
    mask: int

    @classmethod
    def of(cls, hashes: np.ndarray) -> HashIndex:
        """The index of ``hashes`` (distinct); lookups return positions into it."""
        bits = max(len(hashes).bit_length() + 8, 10)
        for shift in range(0, 64 - bits + 1):
            slots = (hashes >> _U64(shift)) & _U64((1 << bits) - 1)
            if len(np.unique(slots)) == len(hashes):
                break
        else:  # pragma: no cover - needs 2**bits colliding windows, never seen
            raise ValueError("no collision-free bit window for the key set")
        keys = np.zeros(1 << bits, dtype=_U64)
        index = np.full(1 << bits, -1, dtype=np.int32)
        keys[slots] = hashes
        index[slots] = np.arange(len(hashes), dtype=np.int32)
        return cls(keys, index, shift, (1 << bits) - 1)

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """Position of every hash among the keys, or -1 (int32, one per hash): one compiled
        pass when ``_native.tokens`` is built, else NumPy passes (the same positions)."""
        if _NATIVE is not None:
            found = np.ascontiguousarray(hashes, _U64)
            return cast(
                np.ndarray, _NATIVE.hash_find(found, self.keys, self.index, self.shift, self.mask)
            )
        slots = (hashes >> _U64(self.shift)) & _U64(self.mask)
        return np.where(self.keys[slots] == hashes, self.index[slots], -1)


@dataclass(frozen=True)
class Tokens:
    """Tokens of every unique prompt: byte spans, per-prompt offsets and (lazily) hashes.

    Token ``k`` is the bytes ``data[starts[k]:ends[k]]``; the tokens of prompt ``i`` are
    ``offsets[i]:offsets[i + 1]``.
    """

    offsets: np.ndarray  # int64, len = n_unique + 1
    data: np.ndarray  # uint8, the UTF-8 bytes the spans point into
    starts: np.ndarray  # int64, one per token
    ends: np.ndarray  # int64, one per token
    #: The hashes when the tokenizer made them in its pass (else computed when asked for).
    known_hashes: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    @cached_property
    def row(self) -> np.ndarray:
        """Index of the prompt each token belongs to."""
        return np.repeat(np.arange(len(self.offsets) - 1), self.counts)

    @cached_property
    def hashes(self) -> np.ndarray:
        """uint64 hash of every token (its first 64 bytes), as :func:`hash_strings` gives."""
        if self.known_hashes is not None:
            return self.known_hashes
        return self.hashes_of(slice(None))

    def hashes_of(self, which: slice | np.ndarray) -> np.ndarray:
        """Hashes of the selected tokens only (a slice, indices or a boolean mask)."""
        starts = self.starts[which]
        return hash_spans(
            self.data, starts, np.minimum(self.ends[which], starts + _MAX_TOKEN_BYTES)
        )

    def is_mask(self) -> np.ndarray:
        """Boolean per token: is it a mask placeholder such as ``_q_`` (``^_[a-z]_$``)?"""
        data, starts = self.data, self.starts
        three = (self.ends - starts) == 3
        cand = starts[three]
        middle = data[cand + 1]
        out = np.zeros(len(starts), dtype=bool)
        out[three] = (
            (data[cand] == ord("_")) & (data[cand + 2] == ord("_"))
            & (middle >= ord("a")) & (middle <= ord("z"))
        )  # fmt: skip
        return out


_WORD, _SINGLE = 1, 2  # character classes: part of a word / a one-character word (CJK, Thai)


@cache
def char_classes() -> np.ndarray:
    """Class of every code point: 0 separator, 1 word character, 2 one-character word.

    Word characters are letters, numbers and ``_``; one-character words are the word
    characters of the Han, Hiragana, Katakana and Thai scripts (written without spaces). The
    table is read from RE2 itself (the engine of every other pattern here, and of the regex
    tokenizer this replaced), once per process, so the classes are exactly RE2's.
    """
    table = np.zeros(0x110000, dtype=np.uint8)
    table[re2_members(_NOT_WORD)] = _WORD
    single = re2_members(_NOT_CJK)
    table[single[table[single] == _WORD]] = _SINGLE
    return table


def re2_members(negated: str) -> np.ndarray:
    """Every code point (surrogates aside) that RE2's one-character class ``negated`` does
    *not* match, ascending (uint32): RE2 removes the rest from a string of all of them
    (a run at a time: 0.25 -> 0.07 CPU s for the two classes of :func:`char_classes`)."""
    points = np.arange(0x110000, dtype=np.uint32)
    points = points[(points < 0xD800) | (points > 0xDFFF)]
    every = pa.array([points.tobytes().decode("utf-32-le")])
    # runs of the class removed at once: the same text left, a tenth of the replacements
    kept = pc.replace_substring_regex(every, f"(?:{negated})+", "")[0].as_py()
    return np.frombuffer(kept.encode("utf-32-le"), dtype=np.uint32)


_NOT_WORD = r"[^\p{L}\p{N}_]"
_NOT_CJK = r"[^\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}]"
#: ``bytes.translate`` table: 1 for an ASCII word byte, 0 for everything else.
_ASCII_WORD = bytes(
    1 if chr(b).isascii() and (chr(b).isalnum() or chr(b) == "_") else 0 for b in range(256)
)


def _word_bytes(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per byte, 1 if it belongs to a word character; and where one-character words are.

    ASCII bytes are classed by ``bytes.translate`` (one C pass); only multi-byte characters
    are decoded to code points (most prompt text is ASCII, so that is a small subset).
    Returns (word as int8 per byte, start byte and end byte of every one-character word).
    """
    word = np.frombuffer(buf.tobytes().translate(_ASCII_WORD), dtype=np.int8).copy()
    lead = np.flatnonzero(buf >= 0xC0)
    none = np.zeros(0, dtype=np.int64)
    if not len(lead):
        return word, none, none
    padded = np.concatenate((buf, np.zeros(3, dtype=np.uint8)))
    b0 = buf[lead].astype(np.uint32)
    b1 = padded[lead + 1].astype(np.uint32) & 0x3F
    b2 = padded[lead + 2].astype(np.uint32) & 0x3F
    b3 = padded[lead + 3].astype(np.uint32) & 0x3F
    two, three = b0 < 0xE0, b0 < 0xF0
    point = np.where(
        two,
        ((b0 & 0x1F) << 6) | b1,
        np.where(
            three,
            ((b0 & 0x0F) << 12) | (b1 << 6) | b2,
            ((b0 & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3,
        ),
    )
    char = char_classes()[point]
    size = np.where(two, 2, np.where(three, 3, 4))
    is_word = (char != 0).astype(np.int8)
    for k in range(4):
        part = size > k
        word[lead[part] + k] = is_word[part]
    single = char == _SINGLE
    return word, lead[single], lead[single] + size[single]


def tokenize(lowered: pa.Array) -> Tokens:
    """Split texts into word tokens; CJK/Thai characters are single tokens.

    Tokens are runs of word characters (see :func:`char_classes`), as byte spans of the
    texts; their hashes (over the first 64 bytes) are computed when first asked for. One
    compiled pass over the characters when ``_native.tokens`` is built, which also hashes
    every token, else :func:`tokenize_numpy` (the definition; the same tokens and hashes).
    """
    if isinstance(lowered, pa.ChunkedArray):
        lowered = lowered.combine_chunks()
    lowered = pc.fill_null(lowered, "") if lowered.null_count else lowered
    offsets, data = string_offsets(lowered)
    if _NATIVE is None:
        return tokenize_numpy(offsets, data)
    token_offsets, starts, ends, hashes = _NATIVE.tokenize_hashed(offsets, data, char_classes())
    return Tokens(token_offsets, data, starts, ends, hashes)


def tokenize_numpy(offsets: np.ndarray, data: np.ndarray) -> Tokens:
    """:func:`tokenize` of the texts ``data[offsets[i]:offsets[i + 1]]`` in NumPy passes (no
    regex, no token strings): the rising and falling edges of the per-byte "is a word
    character" flag give the runs, and the few runs that cross a text boundary or contain a
    one-character word are cut there.
    """
    base, top = int(offsets[0]), int(offsets[-1])
    buf = data[base:top]
    word, single_start, single_end = _word_bytes(buf)
    n = len(word)
    edges = np.diff(word, prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    # Cut runs that continue across a text boundary or into/out of a one-character word.
    cuts = np.concatenate((offsets[1:-1] - base, single_start, single_end))
    cuts = cuts[(cuts > 0) & (cuts < n)]
    cuts = cuts[(word[cuts - 1] == 1) & (word[cuts] == 1)]
    if len(cuts):
        # Two sorted runs each: timsort ("stable") merges them in linear time.
        cuts = np.sort(cuts, kind="stable")
        cuts = cuts[np.concatenate(([True], cuts[1:] != cuts[:-1]))]
        starts = np.sort(np.concatenate((starts, cuts)), kind="stable")
        ends = np.sort(np.concatenate((ends, cuts)), kind="stable")
    counts = np.diff(np.searchsorted(starts, offsets - base))
    token_offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return Tokens(token_offsets, data, starts + base, ends + base)
