"""MinHash / LSH sketch of the prompt: which prompts are near-duplicates of each other?

Extraction campaigns spread one prompt recipe over thousands of accounts, with light
paraphrases or changed payloads; two requests that share an LSH band are likely
near-duplicates (word-bigram Jaccard ≥ ~0.5), which links accounts that share nothing else.

Bigrams made only of function words are left out (unless a prompt has nothing else), so
short unrelated questions that share "what are the" do not collide. The sketch is computed
in NumPy over the shared token hashes: word bigrams (shingles) are
hashed, K = BANDS * ROWS cheap bijective permutations (xor a salt, multiply by an odd
constant) are applied, the per-prompt minimum is taken with ``np.minimum.reduceat``, and
every band of ROWS minima is folded into one uint64. With 4 bands of 2 rows a pair at
Jaccard 0.5 shares a band with probability 1 - (1 - 0.5**2)**4 ≈ 0.68, at 0.7 ≈ 0.89,
at 0.9 ≈ 0.99, and at 0.2 only ≈ 0.15 — per request; account-level features aggregate
many requests, which sharpens it. Empty prompts get bands equal to 0 ("no sketch").
"""

from __future__ import annotations

from typing import ClassVar, cast

import numpy as np
import pyarrow as pa

from distillwatch.signals import text
from distillwatch.signals.base import RequestSignal
from distillwatch.signals.language import is_stopword, stopword_positions
from distillwatch.signals.text import Tokens, mix64
from distillwatch.signals.view import PromptView

BANDS = 4
ROWS = 2
_U64 = np.uint64
_SALTS = mix64(np.arange(1, BANDS * ROWS + 1, dtype=_U64) * _U64(0x9E3779B97F4A7C15))
_MULTS = mix64(_SALTS + _U64(7)) | _U64(1)
_SHINGLE = _U64(0xC2B2AE3D27D4EB4F)


def shingles(tokens: Tokens, stop: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Word-bigram hashes of every prompt (a lone word is its own shingle) and their offsets.

    One compiled pass over the tokens when ``_native.tokens`` is built, else
    :func:`shingles_numpy` (the definition; the same values). ``stop``: the
    :func:`is_stopword` flags of the tokens, if already known."""
    native = text._NATIVE
    if native is None:
        return shingles_numpy(tokens)
    if stop is None:
        stop = is_stopword(tokens.hashes)
    stop = np.ascontiguousarray(stop, np.bool_).view(np.uint8)
    offsets = np.ascontiguousarray(tokens.offsets, np.int64)
    return cast(
        tuple[np.ndarray, np.ndarray],
        native.shingles(tokens.hashes, offsets, stop, int(_SHINGLE)),
    )


def shingles_numpy(tokens: Tokens) -> tuple[np.ndarray, np.ndarray]:
    """:func:`shingles` in NumPy passes."""
    h, row, counts = tokens.hashes, tokens.row, tokens.counts
    with np.errstate(over="ignore"):
        pair = mix64(h[:-1] * _SHINGLE + h[1:]) if len(h) > 1 else np.zeros(0, _U64)
    same = row[:-1] == row[1:] if len(h) > 1 else np.zeros(0, bool)
    if len(same):
        # Bigrams of two function words ("what are", "of the") make unrelated short prompts
        # look alike; drop them unless a prompt has nothing else.
        stop = is_stopword(h)
        content = same & ~(stop[:-1] & stop[1:])
        has_content = np.bincount(row[:-1][content], minlength=len(counts)) > 0
        same = content | (same & ~has_content[row[:-1]])
    single = counts == 1
    # bigrams of multi-token prompts, plus the token itself for one-token prompts
    first_of_row = tokens.offsets[:-1]
    lone = first_of_row[single]
    values = np.concatenate((pair[same], mix64(h[lone])))
    rows = np.concatenate((row[:-1][same], row[lone]))
    order = np.argsort(rows, kind="stable")
    n_per = np.bincount(rows, minlength=len(counts))
    offsets = np.concatenate(([0], np.cumsum(n_per)))
    return values[order], offsets


def view_shingles(view: PromptView) -> tuple[np.ndarray, np.ndarray]:
    """:func:`shingles` of the view's tokens, computed once per view (sketch and capability)."""
    return view.shared("shingles", lambda: shingles(view.tokens, stopword_positions(view) >= 0))


def minhash(values: np.ndarray, offsets: np.ndarray, k: int = BANDS * ROWS) -> np.ndarray:
    """(n_prompts, k) MinHash signature; rows without shingles are all zeros.

    One compiled pass when ``_native.tokens`` is built (the same minima), else NumPy passes.
    """
    native = text._NATIVE
    if native is not None and len(offsets) and offsets[0] == 0 and offsets[-1] == len(values):
        return cast(
            np.ndarray,
            native.minhash(
                np.ascontiguousarray(values, _U64),
                np.ascontiguousarray(offsets, np.int64),
                _SALTS[:k],
                _MULTS[:k],
            ),
        )
    n = len(offsets) - 1
    sig = np.zeros((n, k), dtype=_U64)
    nonempty = np.diff(offsets) > 0
    if not nonempty.any():
        return sig
    starts = offsets[:-1][nonempty]
    with np.errstate(over="ignore"):
        for j in range(k):
            permuted = (values ^ _SALTS[j]) * _MULTS[j]
            sig[nonempty, j] = np.minimum.reduceat(permuted, starts)
    return sig


def bands(sig: np.ndarray) -> np.ndarray:
    """Fold each band of ROWS minima into one uint64 per band: shape (n_prompts, BANDS)."""
    out = np.zeros((sig.shape[0], BANDS), dtype=_U64)
    empty = ~sig.any(axis=1)
    with np.errstate(over="ignore"):
        for b in range(BANDS):
            acc = np.full(sig.shape[0], _U64(b + 1) * _U64(0xD6E8FEB86659FD93), dtype=_U64)
            for r in range(ROWS):
                acc = mix64(acc ^ sig[:, b * ROWS + r])
            out[:, b] = acc
    out[empty] = 0
    return out


class SketchSignal(RequestSignal):
    """``lsh_0`` … ``lsh_3``: LSH band hashes of the prompt's MinHash sketch."""

    name: ClassVar[str] = "sketch"
    inputs: ClassVar[tuple[str, ...]] = ("last_user",)
    outputs: ClassVar[dict[str, pa.DataType]] = {f"lsh_{b}": pa.uint64() for b in range(BANDS)}

    def per_prompt(self, view: PromptView) -> dict[str, pa.Array]:
        values, offsets = view_shingles(view)
        banded = bands(minhash(values, offsets))
        return {f"lsh_{b}": pa.array(banded[:, b]) for b in range(BANDS)}
