"""The keyed pseudo-random function every scheme draws from, in vectorised NumPy.

Both schemes need one uniform number ``u(key, context, token)`` in (0, 1) for a token that
follows a window of ``k`` previous tokens. Generation needs it for every vocabulary entry at
one position; detection needs it for the token actually present at millions of positions.
It is computed in two stages so detection can de-duplicate before paying for the keys:

1. ``fingerprint(context, token)`` — a key-independent 64-bit identity of the (window,
   token) tuple. Repeated tuples have equal fingerprints, so ``np.unique`` on them is the
   "each n-gram counted once" rule that keeps p-values exact.
2. ``keyed_uniform(fingerprint, key)`` — two keyed rounds of the SplitMix64 finaliser.

SplitMix64 is a fast bijective mixer with full avalanche, not a cryptographic PRF; the key
itself is derived with HMAC-SHA256 (see ``keys``), and the two-round keyed mix keeps the
green lists unguessable without the key to anyone who only sees text, which is the threat
here. Uint64 arithmetic in NumPy wraps modulo 2**64, which is what the mixer relies on.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_TOKEN_MUL = np.uint64(0xD6E8FEB86659FD93)
_CTX_SEED = np.uint64(0x5851F42D4C957F2D)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_INV_2_53 = 1.0 / float(1 << 53)


def mix(z: U64) -> U64:
    """SplitMix64 finaliser (in place on a fresh array): a bijection with full avalanche."""
    z = z ^ (z >> _S30)
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


def _token_word(tokens: npt.ArrayLike) -> U64:
    return np.asarray(tokens, dtype=np.int64).astype(np.uint64) * _TOKEN_MUL + _GOLDEN


def window_fingerprints(windows: I64) -> U64:
    """Fingerprints of context windows, one per row (last column = the token just before)."""
    words = _token_word(windows)
    h = np.full(words.shape[0], _CTX_SEED, dtype=np.uint64)
    for j in range(1, words.shape[1] + 1):
        h = mix(h ^ words[:, -j])
    return h


def context_fingerprints(ids: I64, starts: I64, window: int) -> tuple[U64, I64]:
    """Fingerprints of the ``window`` tokens before every position that has a full window.

    ``ids`` is a flat array of token ids of several documents, ``starts`` the offset of each
    document (ascending, first 0). A position counts only when its whole window lies inside
    its own document. Returns ``(context fingerprint, position)`` for those positions.
    """
    if window < 1:
        raise ValueError(f"context window must be at least 1 token, got {window}")
    n = ids.shape[0]
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.diff(np.append(starts, n))
    in_doc = np.arange(n, dtype=np.int64) - np.repeat(starts, lengths)
    pos = np.flatnonzero(in_doc >= window)
    words = _token_word(ids)
    h = np.full(pos.shape[0], _CTX_SEED, dtype=np.uint64)
    for j in range(1, window + 1):
        h = mix(h ^ words[pos - j])
    return h, pos


def tuple_fingerprints(context_fp: U64, tokens: npt.ArrayLike) -> U64:
    """Key-independent identity of (window, token); broadcasts contexts against tokens."""
    return mix(np.asarray(context_fp, dtype=np.uint64) ^ _token_word(tokens))


def keyed_uniform(fingerprints: U64, key: tuple[int, int]) -> npt.NDArray[np.float64]:
    """``u`` in the open interval (0, 1) for each fingerprint under a 128-bit key."""
    k1, k2 = np.uint64(key[0]), np.uint64(key[1])
    z = mix(np.asarray(fingerprints, dtype=np.uint64) ^ k1)
    z += k2
    z = mix(z)
    return ((z >> _S11).astype(np.float64) + 0.5) * _INV_2_53


def vocab_uniforms(windows: I64, key: tuple[int, int], vocab_size: int) -> npt.NDArray[np.float64]:
    """``(rows, vocab)`` keyed uniforms of every next token after each row's window."""
    ctx = window_fingerprints(np.asarray(windows, dtype=np.int64))
    vocab = np.arange(vocab_size, dtype=np.int64)
    return keyed_uniform(tuple_fingerprints(ctx[:, None], vocab[None, :]), key)


def document_hashes(ids: I64, starts: I64) -> U64:
    """A 64-bit identity of each document's token sequence (equal sequences, equal hash).

    Lets identical documents count as one: a leaked set holding the same answer twice must
    not lose that answer's tuples for being "shared between documents".
    """
    n = ids.shape[0]
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.diff(np.append(starts, n))
    in_doc = np.arange(n, dtype=np.int64) - np.repeat(starts, lengths)
    per_token = mix(_token_word(ids) ^ mix(in_doc.astype(np.uint64) + _CTX_SEED))
    sums = np.zeros(starts.shape[0], dtype=np.uint64)
    full = lengths > 0
    if n:
        sums[full] = np.add.reduceat(per_token, starts[full])
    return mix(sums ^ (lengths.astype(np.uint64) * _GOLDEN))
