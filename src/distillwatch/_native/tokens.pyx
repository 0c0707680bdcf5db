# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Word tokens and span hashes of the signals (``signals/text.py``) in one pass over the bytes.

``text.tokenize`` finds word runs with a dozen NumPy passes over every byte of a batch (class
per byte, edges, cuts, sorts) and ``text.hash_spans`` hashes spans with prefix sums over
64-bit copies of the bytes; both allocate several arrays the size of the text. Here one loop
reads each character once. The definitions stay in ``text.py`` (used when this module is
not built); ``tests/test_native_tokens.py`` holds the two equal.
"""

import numpy as np

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint64_t

cdef uint64_t _P = 0x100000001B3ULL
cdef uint64_t _LEN = 0x2545F4914F6CDD1DULL


cdef inline uint64_t mix64(uint64_t z) noexcept nogil:
    """SplitMix64's finaliser, as ``text.mix64``."""
    z += 0x9E3779B97F4A7C15ULL
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


def hash_spans(const uint8_t[::1] data, const int64_t[::1] starts, const int64_t[::1] ends):
    """``text.hash_spans``: per span, sum of byte * P**position (mod 2**64), mixed with its
    length (uint64 array, one per span)."""
    cdef Py_ssize_t n = starts.shape[0], i
    cdef int64_t s, e
    cdef const uint8_t* base = &data[0] if data.shape[0] else <const uint8_t*>b""
    out = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] o = out
    if ends.shape[0] != n:
        raise ValueError("starts and ends differ in length")
    for i in range(n):
        s, e = starts[i], ends[i]
        if s < 0 or e < s or e > data.shape[0]:
            raise IndexError(f"span {i} [{s}, {e}) is outside the data")
        o[i] = mix64(_poly(base + s, e - s) ^ (<uint64_t>(e - s) * _LEN))
    return out


cdef uint64_t _P2 = _P * _P
cdef uint64_t _P3 = _P2 * _P
cdef uint64_t _P4 = _P2 * _P2


cdef inline uint64_t _poly(const uint8_t* s, int64_t n) noexcept nogil:
    """sum of ``s[j] * P**j`` (mod 2**64) over ``j < n``, in four interleaved sums (bytes
    ``j % 4`` apart, each from its own power): the same value as one running sum, without a
    multiplication chain through every byte."""
    cdef uint64_t h0 = 0, h1 = 0, h2 = 0, h3 = 0, p = 1
    cdef int64_t j = 0
    while j + 4 <= n:
        h0 += s[j] * p
        h1 += s[j + 1] * p
        h2 += s[j + 2] * p
        h3 += s[j + 3] * p
        p *= _P4
        j += 4
    h0 += h1 * _P + h2 * _P2 + h3 * _P3
    while j < n:
        h0 += s[j] * p
        p *= _P
        j += 1
    return h0


cdef uint8_t[128] _ASCII_WORD
for _b in range(128):
    _ASCII_WORD[_b] = 1 if (chr(_b).isalnum() or chr(_b) == "_") else 0
#: Per byte: 1 for an ASCII word byte, 2 for an ASCII separator, 0 for a non-ASCII byte
#: (one lookup decides whether a tight loop over a run goes on).
cdef uint8_t[256] _ASCII_KIND
for _b in range(256):
    _ASCII_KIND[_b] = 0 if _b >= 128 else (1 if _ASCII_WORD[_b] else 2)


cdef uint64_t[8] _PW  # P**0 .. P**7
_PW[0] = 1
for _b in range(1, 8):
    _PW[_b] = _PW[_b - 1] * _P


cdef inline uint64_t _span_hash(const uint8_t* s, int64_t n, bint padded) noexcept nogil:
    """``hash_spans`` of one token as ``Tokens.hashes`` takes it: its first 64 bytes.

    ``padded``: 8 bytes from ``s`` may be read (whatever the token's length); a token of at
    most 8 bytes then takes eight independent products, bytes past its end weighted 0,
    instead of loops whose lengths the branch predictor cannot know (same value)."""
    cdef uint64_t h
    if n > 64:
        n = 64
    if padded and n <= 8:
        h = (
            (<uint64_t>(n > 0)) * s[0] * _PW[0] + (<uint64_t>(n > 1)) * s[1] * _PW[1]
            + (<uint64_t>(n > 2)) * s[2] * _PW[2] + (<uint64_t>(n > 3)) * s[3] * _PW[3]
            + (<uint64_t>(n > 4)) * s[4] * _PW[4] + (<uint64_t>(n > 5)) * s[5] * _PW[5]
            + (<uint64_t>(n > 6)) * s[6] * _PW[6] + (<uint64_t>(n > 7)) * s[7] * _PW[7]
        )
    else:
        h = _poly(s, n)
    return mix64(h ^ (<uint64_t>n * _LEN))


def tokenize(const int64_t[::1] offsets, const uint8_t[::1] data, const uint8_t[::1] classes):
    """``text.tokenize`` over the UTF-8 texts ``data[offsets[i]:offsets[i + 1]]``: runs of word
    characters (``classes[code point]`` 1), each one-character word (class 2) its own token,
    never across texts. Returns (token offsets per text, token starts, token ends), int64."""
    token_offsets, starts, ends, _ = _tokens(offsets, data, classes, False)
    return token_offsets, starts, ends


def tokenize_hashed(
    const int64_t[::1] offsets, const uint8_t[::1] data, const uint8_t[::1] classes
):
    """:func:`tokenize` and, in the same pass, every token's hash as ``Tokens.hashes`` gives
    it (``hash_spans`` of its first 64 bytes): (token offsets, starts, ends, hashes)."""
    return _tokens(offsets, data, classes, True)


cdef tuple _tokens(
    const int64_t[::1] offsets, const uint8_t[::1] data, const uint8_t[::1] classes, bint hashed
):
    """The tokenizer: ASCII bytes (most text) are read in tight loops over a run of word or
    of separator bytes; every other byte takes the general step (its character's class)."""
    cdef Py_ssize_t n = offsets.shape[0] - 1, i, k = 0, cap
    cdef int64_t pos, stop, cur, size, j
    cdef uint64_t b0, cp
    cdef int cls
    cdef Py_ssize_t n_bytes = data.shape[0], n_classes = classes.shape[0]
    cdef const uint8_t* d = &data[0] if n_bytes else <const uint8_t*>b""
    if n < 0:
        raise ValueError("no offsets")
    cap = (offsets[n] - offsets[0]) // 4 + 16 if n > 0 else 16
    token_offsets = np.empty(n + 1, dtype=np.int64)
    starts = np.empty(cap, dtype=np.int64)
    ends = np.empty(cap, dtype=np.int64)
    cdef int64_t[::1] to = token_offsets
    cdef int64_t[::1] st = starts
    cdef int64_t[::1] en = ends
    for i in range(n):
        to[i] = k
        pos, stop = offsets[i], offsets[i + 1]
        if pos < 0 or stop < pos or stop > n_bytes:
            raise IndexError(f"text {i} [{pos}, {stop}) is outside the data")
        cur = -1
        while pos < stop:
            if k + 2 > cap:  # room for a closed run and a one-character word
                cap *= 2
                starts = np.resize(starts, cap)
                ends = np.resize(ends, cap)
                st = starts
                en = ends
            b0 = d[pos]
            if b0 < 0x80:
                if _ASCII_WORD[b0]:
                    if cur < 0:
                        cur = pos
                    pos += 1
                    while pos < stop and _ASCII_KIND[d[pos]] == 1:
                        pos += 1
                else:
                    if cur >= 0:
                        st[k] = cur
                        en[k] = pos
                        k += 1
                        cur = -1
                    pos += 1
                    while pos < stop and _ASCII_KIND[d[pos]] == 2:
                        pos += 1
                continue
            if b0 < 0xC0:  # a stray continuation byte (not in valid UTF-8): a separator
                cls = 0
                size = 1
            else:
                if b0 < 0xE0:
                    size = 2
                    cp = b0 & 0x1F
                elif b0 < 0xF0:
                    size = 3
                    cp = b0 & 0x0F
                else:
                    size = 4
                    cp = b0 & 0x07
                for j in range(1, size):
                    cp = (cp << 6) | ((d[pos + j] if pos + j < n_bytes else 0) & 0x3F)
                cls = classes[cp] if cp < <uint64_t>n_classes else 0
                if pos + size > stop:
                    size = stop - pos
            if cls == 1:
                if cur < 0:
                    cur = pos
            else:
                if cur >= 0:
                    st[k] = cur
                    en[k] = pos
                    k += 1
                    cur = -1
                if cls == 2:
                    st[k] = pos
                    en[k] = pos + size
                    k += 1
            pos += size
        if cur >= 0:  # the last step wrote nothing (it extended this run): room is left
            st[k] = cur
            en[k] = stop
            k += 1
    to[n] = k
    hashes = None
    cdef uint64_t[::1] h
    if hashed:
        hashes = np.empty(k, dtype=np.uint64)
        h = hashes
        with nogil:
            for j in range(k):
                h[j] = _span_hash(d + st[j], en[j] - st[j], st[j] + 8 <= n_bytes)
    # views, not copies: the unused tail is a few MB at most, a copy costs page faults
    return token_offsets, starts[:k], ends[:k], hashes


def frame_parts(
    const int64_t[::1] offsets, const uint8_t[::1] data, const uint8_t[::1] classes, int keep
):
    """``template._frame_parts`` of the tokens of the (skeleton) texts, and which texts have
    no token but mask placeholders (``^_[a-z]_$``). Per text: the wrapping uint64 sum of
    ``mix64(hash ^ mix64(code))`` over its first and last ``keep`` tokens (code: the position
    from the start, or 64 + the position from the end), their count, and that flag. Returns
    (sums uint64, counts int64, maskonly bool)."""
    token_offsets, starts, ends, _ = _tokens(offsets, data, classes, False)
    cdef Py_ssize_t n = offsets.shape[0] - 1, i
    cdef int64_t a, b, j, pos, back, s, c
    cdef uint64_t acc, code
    cdef bint real
    cdef const uint8_t* d = &data[0] if data.shape[0] else <const uint8_t*>b""
    cdef int64_t[::1] to = token_offsets
    cdef int64_t[::1] st = starts
    cdef int64_t[::1] en = ends
    cdef Py_ssize_t n_bytes = data.shape[0]
    sums = np.zeros(max(n, 0), dtype=np.uint64)
    counts = np.zeros(max(n, 0), dtype=np.int64)
    maskonly = np.zeros(max(n, 0), dtype=np.bool_)
    cdef uint64_t[::1] o = sums
    cdef int64_t[::1] kc = counts
    cdef uint8_t[::1] m = maskonly.view(np.uint8)
    with nogil:
        for i in range(n):
            a, b = to[i], to[i + 1]
            acc = 0
            c = 0
            real = False
            for j in range(a, b):
                s = st[j]
                if not (en[j] - s == 3 and d[s] == 95 and d[s + 2] == 95 and 97 <= d[s + 1] <= 122):
                    real = True
                pos = j - a
                back = b - 1 - j
                if pos < keep or back < keep:
                    code = <uint64_t>pos if pos < keep else <uint64_t>(64 + back)
                    # only the kept tokens are hashed (most of a long text's are not)
                    acc += mix64(_span_hash(d + s, en[j] - s, s + 8 <= n_bytes) ^ mix64(code))
                    c += 1
            o[i] = acc
            kc[i] = c
            m[i] = not real
    return sums, counts, maskonly


cdef inline int _add_row(
    float* y, const float[:, ::1] weights, uint64_t h, Py_ssize_t n_classes, uint64_t mask
) noexcept nogil:
    cdef Py_ssize_t c, bucket = <Py_ssize_t>(mix64(h) & mask)
    for c in range(n_classes):
        y[c] += weights[bucket, c]
    return 0


def hashed_sums(
    const float[:, ::1] weights,
    const uint64_t[::1] token_hashes,
    const int64_t[::1] token_offsets,
    const uint64_t[::1] bigrams,
    const int64_t[::1] bigram_offsets,
    uint64_t bigram_salt,
    const uint8_t[:, ::1] cues,
    const uint64_t[::1] cue_hashes,
):
    """The capability model's sparse product without building it (``capability.features``
    then ``LinearModel.logits``): per prompt, the float32 sum of the weight rows of its
    features' buckets (``mix64(hash) % buckets``), in the order the sparse product adds them
    (its tokens, its bigrams xor the salt, then each cue it matches), and its feature count.
    Returns (sums: float32 (prompts, classes), counts: int64 per prompt)."""
    cdef Py_ssize_t n = token_offsets.shape[0] - 1, n_classes = weights.shape[1]
    cdef Py_ssize_t n_buckets = weights.shape[0], n_cues = cue_hashes.shape[0], i, j
    cdef uint64_t mask = <uint64_t>(n_buckets - 1)
    if n_buckets & (n_buckets - 1) or bigram_offsets.shape[0] != n + 1:
        raise ValueError("buckets must be a power of two; offsets of every prompt")
    if cues.shape[0] != n or cues.shape[1] != n_cues:
        raise ValueError("one cue flag per prompt and cue")
    if token_offsets[n] > token_hashes.shape[0] or bigram_offsets[n] > bigrams.shape[0]:
        raise IndexError("offsets past the hashes")
    sums = np.zeros((n, n_classes), dtype=np.float32)
    counts = np.zeros(n, dtype=np.int64)
    cdef float[:, ::1] s = sums
    cdef int64_t[::1] k = counts
    cdef float* y
    with nogil:
        for i in range(n):
            y = &s[i, 0] if n_classes else NULL
            for j in range(token_offsets[i], token_offsets[i + 1]):
                _add_row(y, weights, token_hashes[j], n_classes, mask)
            for j in range(bigram_offsets[i], bigram_offsets[i + 1]):
                _add_row(y, weights, bigrams[j] ^ bigram_salt, n_classes, mask)
            k[i] = (token_offsets[i + 1] - token_offsets[i]) + (
                bigram_offsets[i + 1] - bigram_offsets[i]
            )
            for j in range(n_cues):
                if cues[i, j]:
                    _add_row(y, weights, cue_hashes[j], n_classes, mask)
                    k[i] += 1
    return sums, counts


def script_counts(
    const int64_t[::1] offsets,
    const uint8_t[::1] data,
    const int8_t[:, ::1] table,
    int classes,
    int64_t max_chars=-1,
):
    """``language.script_counts``: per text, over its first ``max_chars`` characters (all
    when negative; characters counted as the bytes that do not continue one, as Arrow's
    ``utf8_slice_codeunits`` counts valid UTF-8), how many bytes fall in each script class,
    the class of a byte being ``table[byte, next byte]``. The next byte of a cut text's
    last one is what follows it once the texts are cut: the first byte of the next
    non-empty text, 0 after the last. Returns int64 (texts, classes)."""
    cdef Py_ssize_t n = offsets.shape[0] - 1, i
    cdef int64_t p, top, nxt, end, chars, after
    cdef int cls
    if n < 0 or table.shape[0] != 256 or table.shape[1] != 256:
        raise ValueError("offsets of every text and a 256 x 256 table")
    counts = np.zeros((n, classes), dtype=np.int64)
    if n == 0:
        return counts
    cdef int64_t[:, ::1] c = counts
    top = offsets[n]
    if offsets[0] < 0 or top > data.shape[0]:
        raise IndexError("offsets outside the data")
    following = np.zeros(n, dtype=np.int64)  # first byte of the next non-empty text
    cdef int64_t[::1] follow = following
    after = 0
    for i in range(n - 1, -1, -1):
        if offsets[i + 1] < offsets[i]:
            raise ValueError("offsets must not decrease")
        follow[i] = after
        if offsets[i + 1] > offsets[i]:
            after = data[offsets[i]]
    for i in range(n):
        end = offsets[i + 1]
        if 0 <= max_chars < end - offsets[i]:
            chars = 0
            for p in range(offsets[i], end):
                if data[p] & 0xC0 != 0x80:
                    if chars == max_chars:
                        end = p
                        break
                    chars += 1
        for p in range(offsets[i], end):
            nxt = data[p + 1] if p + 1 < end else follow[i]
            cls = table[data[p], nxt]
            if cls < 0 or cls >= classes:
                raise ValueError(f"script class {cls} outside [0, {classes})")
            c[i, cls] += 1
    return counts


def shingles(
    const uint64_t[::1] hashes,
    const int64_t[::1] token_offsets,
    const uint8_t[::1] stop,
    uint64_t shingle,
):
    """``sketch.shingles`` per prompt, in prompt order: the bigram values ``mix64(h[j] *
    shingle + h[j + 1])`` of its consecutive tokens, leaving out pairs of two stopwords
    (``stop``) unless every pair is one; a one-token prompt gives ``mix64(h)``. Returns
    (values uint64, offsets int64 per prompt)."""
    cdef Py_ssize_t n = token_offsets.shape[0] - 1, i, k = 0
    cdef int64_t a, b, j
    cdef bint content
    if n < 0 or token_offsets[n] > hashes.shape[0] or stop.shape[0] != hashes.shape[0]:
        raise ValueError("offsets past the hashes, or not one stop flag per token")
    cdef int64_t total = token_offsets[n] - token_offsets[0] if n > 0 else 0
    values = np.empty(max(total, 1), dtype=np.uint64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    cdef uint64_t[::1] v = values
    cdef int64_t[::1] o = offsets
    with nogil:
        for i in range(n):
            a, b = token_offsets[i], token_offsets[i + 1]
            if b - a == 1:
                v[k] = mix64(hashes[a])
                k += 1
            elif b - a > 1:
                content = False
                for j in range(a, b - 1):
                    if not (stop[j] and stop[j + 1]):
                        content = True
                        break
                for j in range(a, b - 1):
                    if not content or not (stop[j] and stop[j + 1]):
                        v[k] = mix64(hashes[j] * shingle + hashes[j + 1])
                        k += 1
            o[i + 1] = k
    return values[:k], offsets


def word_scores(
    const int32_t[::1] word,
    const int64_t[::1] token_offsets,
    const uint8_t[::1] rows,
    const double[:, ::1] weights,
):
    """``language._latin``'s vote: for every selected prompt (``rows``), the float64 sum of
    the weight rows of its tokens found in the word table (``word`` >= 0), added in token
    order as ``np.bincount`` adds them. Returns (prompts, languages) float64."""
    cdef Py_ssize_t n = token_offsets.shape[0] - 1, m = weights.shape[1], i, c
    cdef int64_t j
    cdef int32_t w
    if n < 0 or rows.shape[0] != n or token_offsets[n] > word.shape[0]:
        raise ValueError("one flag per prompt and offsets within the tokens")
    scores = np.zeros((n, m), dtype=np.float64)
    cdef double[:, ::1] s = scores
    with nogil:
        for i in range(n):
            if not rows[i]:
                continue
            for j in range(token_offsets[i], token_offsets[i + 1]):
                w = word[j]
                if w < 0:
                    continue
                if w >= weights.shape[0]:
                    with gil:
                        raise IndexError(f"word {w} outside the table")
                for c in range(m):
                    s[i, c] += weights[w, c]
    return scores


def hash_find(
    const uint64_t[::1] hashes,
    const uint64_t[::1] keys,
    const int32_t[::1] index,
    int shift,
    uint64_t mask,
):
    """``text.HashIndex.find`` in one pass: per hash, ``index[slot]`` where ``keys[slot]``
    is that hash (slot: the hash's bits ``shift`` up, ``& mask``), else -1 (int32)."""
    cdef Py_ssize_t n = hashes.shape[0], i
    cdef uint64_t h, slot
    if keys.shape[0] != index.shape[0] or mask >= <uint64_t>keys.shape[0] or not 0 <= shift < 64:
        raise ValueError("a slot table of mask + 1 keys and positions")
    out = np.empty(n, dtype=np.int32)
    cdef int32_t[::1] o = out
    with nogil:
        for i in range(n):
            h = hashes[i]
            slot = (h >> shift) & mask
            o[i] = index[slot] if keys[slot] == h else -1
    return out


def minhash(
    const uint64_t[::1] values,
    const int64_t[::1] offsets,
    const uint64_t[::1] salts,
    const uint64_t[::1] mults,
):
    """``sketch.minhash``: per prompt and permutation ``j``, the least ``(value ^ salts[j])
    * mults[j]`` (mod 2**64) over its values; zeros for a prompt without any. Returns uint64
    (prompts, permutations)."""
    cdef Py_ssize_t n = offsets.shape[0] - 1, k = salts.shape[0], i, j
    cdef int64_t t
    cdef uint64_t low, p, salt, mult
    if n < 0 or mults.shape[0] != k or (n and offsets[n] > values.shape[0]):
        raise ValueError("offsets within the values; one multiplier per salt")
    sig = np.zeros((max(n, 0), k), dtype=np.uint64)
    cdef uint64_t[:, ::1] s = sig
    with nogil:
        for i in range(n):
            if offsets[i + 1] <= offsets[i]:
                continue
            for j in range(k):
                salt, mult = salts[j], mults[j]
                low = 0xFFFFFFFFFFFFFFFFULL
                for t in range(offsets[i], offsets[i + 1]):
                    p = (values[t] ^ salt) * mult
                    if p < low:
                        low = p
                s[i, j] = low
    return sig
