# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Template masks (``signals/template.py``) as hand-written scanners over UTF-8 bytes.

Each function here gives exactly what RE2 gives for one mask's pattern and replacement with
``pc.replace_substring_regex`` (leftmost-first matches, scanning on after each match, RE2's
ASCII ``\\s``/``\\d``, repeats counted in code points), without RE2's per-call compilation
and its automaton per byte: a mask that cannot apply to a text (none of the characters it
needs) costs one copy. ``template.MASKS`` keeps the patterns, the definition;
``tests/test_native_masks.py`` holds every scanner equal to RE2 on generated texts.
"""

import numpy as np
import pyarrow as pa

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t
from libc.stdlib cimport free, realloc
from libc.string cimport memchr, memcmp, memcpy


cdef class _Out:
    """A growing UTF-8 buffer with int32 offsets (an Arrow string array being written)."""

    cdef char* data
    cdef Py_ssize_t size, cap
    cdef object offsets

    def __cinit__(self, Py_ssize_t n_texts, Py_ssize_t hint):
        self.cap = hint + 64
        self.data = <char*>realloc(NULL, self.cap)
        if self.data == NULL:
            raise MemoryError()
        self.size = 0
        self.offsets = np.zeros(n_texts + 1, dtype=np.int32)

    def __dealloc__(self):
        free(self.data)

    cdef int put(self, const uint8_t* s, Py_ssize_t n) except -1:
        cdef Py_ssize_t cap = self.cap
        cdef char* p
        if self.size + n > cap:
            while self.size + n > cap:
                cap *= 2
            if cap > 2147483647:
                raise OverflowError("masked texts larger than 2 GB")
            p = <char*>realloc(self.data, cap)
            if p == NULL:
                raise MemoryError()
            self.data, self.cap = p, cap
        memcpy(self.data + self.size, s, n)
        self.size += n
        return 0

    cdef object array(self, Py_ssize_t n_texts):
        data = pa.py_buffer(bytes(<char[:self.size]>self.data) if self.size else b"")
        offsets = pa.py_buffer(self.offsets)
        return pa.Array.from_buffers(pa.string(), n_texts, [None, offsets, data])


cdef inline Py_ssize_t _char_len(uint8_t b) noexcept nogil:
    if b < 0xC0:
        return 1
    if b < 0xE0:
        return 2
    if b < 0xF0:
        return 3
    return 4


cdef inline bint _space(uint8_t b) noexcept nogil:
    """RE2's ``\\s``: ``[\\t\\n\\f\\r ]`` (no vertical tab)."""
    return b == 32 or b == 9 or b == 10 or b == 12 or b == 13


cdef inline bint _digit(uint8_t b) noexcept nogil:
    return 48 <= b <= 57


cdef inline bint _word(uint8_t b) noexcept nogil:
    """RE2's ``\\w``: ``[0-9A-Za-z_]``."""
    return _digit(b) or (65 <= b <= 90) or (97 <= b <= 122) or b == 95


cdef const uint8_t* _U = b" _u_ "
cdef const uint8_t* _Q = b" _q_ "
cdef const uint8_t* _B = b" _b_ "
cdef const uint8_t* _V = b": _v_"
cdef const uint8_t* _P = b" _p_ "
cdef const uint8_t* _N = b" _n_ "
cdef const uint8_t* _C = b" _c_ "


cdef int _code(_Out out, const uint8_t* s, Py_ssize_t n) except -1:
    """```` (?s)```.*?(?:```|$) ```` -> `` _c_ ``."""
    cdef Py_ssize_t i = 0, p, q
    while i < n:
        p = i
        while p + 2 < n and not (s[p] == 96 and s[p + 1] == 96 and s[p + 2] == 96):
            p += 1
        if p + 2 >= n:
            return out.put(s + i, n - i)
        out.put(s + i, p - i)
        q = p + 3
        while q + 2 < n and not (s[q] == 96 and s[q + 1] == 96 and s[q + 2] == 96):
            q += 1
        out.put(_C, 5)
        i = q + 3 if q + 2 < n else n
    return 0


cdef Py_ssize_t _closed(
    const uint8_t* s, Py_ssize_t n, Py_ssize_t q, const uint8_t* close, Py_ssize_t close_len,
    const uint8_t* also, Py_ssize_t also_len, Py_ssize_t low, Py_ssize_t high
) noexcept nogil:
    """End of ``[^close also \\n]{low,high}close`` matched at ``q`` (after an opener), or -1."""
    cdef Py_ssize_t count = 0, size
    while q < n:
        if q + close_len <= n and s[q] == close[0] and (close_len == 1 or (
            s[q + 1] == close[1] and (close_len == 2 or s[q + 2] == close[2])
        )):
            return q + close_len if count >= low else -1
        if s[q] == 10:
            return -1
        if also_len and q + also_len <= n and s[q] == also[0] and (also_len == 1 or (
            s[q + 1] == also[1] and (also_len == 2 or s[q + 2] == also[2])
        )):
            return -1
        size = _char_len(s[q])
        count += 1
        if count > high:
            return -1
        q += size
    return -1


cdef int _quotes(_Out out, const uint8_t* s, Py_ssize_t n) except -1:
    """``"[^"\\n]{1,300}"`` and the “”, «», 「」, 『』 pairs -> `` _q_ ``."""
    cdef Py_ssize_t i = 0, done = 0, end, size
    while i < n:
        end = -1
        size = _char_len(s[i])
        if s[i] == 34:
            end = _closed(s, n, i + 1, b'"', 1, NULL, 0, 1, 300)
        elif size == 3 and i + 3 <= n and s[i] == 0xE2 and s[i + 1] == 0x80 and s[i + 2] == 0x9C:
            end = _closed(s, n, i + 3, b"\xe2\x80\x9d", 3, NULL, 0, 1, 300)
        elif size == 2 and i + 2 <= n and s[i] == 0xC2 and s[i + 1] == 0xAB:
            end = _closed(s, n, i + 2, b"\xc2\xbb", 2, NULL, 0, 1, 300)
        elif size == 3 and i + 3 <= n and s[i] == 0xE3 and s[i + 1] == 0x80 and s[i + 2] == 0x8C:
            end = _closed(s, n, i + 3, b"\xe3\x80\x8d", 3, NULL, 0, 1, 300)
        elif size == 3 and i + 3 <= n and s[i] == 0xE3 and s[i + 1] == 0x80 and s[i + 2] == 0x8E:
            end = _closed(s, n, i + 3, b"\xe3\x80\x8f", 3, NULL, 0, 1, 300)
        if end >= 0:
            out.put(s + done, i - done)
            out.put(_Q, 5)
            i = done = end
        else:
            i += size
    return out.put(s + done, n - done)


cdef int _brackets(_Out out, const uint8_t* s, Py_ssize_t n) except -1:
    """``\\([^()\\n]{0,120}\\)`` and the [] and {} pairs -> `` _b_ ``."""
    cdef Py_ssize_t i = 0, done = 0, end
    while i < n:
        end = -1
        if s[i] == 40:
            end = _closed(s, n, i + 1, b")", 1, b"(", 1, 0, 120)
        elif s[i] == 91:
            end = _closed(s, n, i + 1, b"]", 1, b"[", 1, 0, 120)
        elif s[i] == 123:
            end = _closed(s, n, i + 1, b"}", 1, b"{", 1, 0, 120)
        if end >= 0:
            out.put(s + done, i - done)
            out.put(_B, 5)
            i = done = end
        else:
            i += 1  # every opener is ASCII: stepping bytes never starts inside a character
    return out.put(s + done, n - done)


cdef inline bint _colon_at(const uint8_t* s, Py_ssize_t n, Py_ssize_t q) noexcept nogil:
    return s[q] == 58 or (q + 3 <= n and s[q] == 0xEF and s[q + 1] == 0xBC and s[q + 2] == 0x9A)


cdef inline Py_ssize_t _line_end(const uint8_t* s, Py_ssize_t n, Py_ssize_t line) noexcept nogil:
    """Position of the first newline at or after ``line``, or ``n``."""
    cdef const void* hit = memchr(s + line, 10, n - line) if line < n else NULL
    return n if hit == NULL else <const uint8_t*>hit - s


cdef int _fields(_Out out, const uint8_t* s, Py_ssize_t n) except -1:
    """``(?m)^([^\\n:：]{1,30})[:：][ \\t]*\\S[^\\n]*`` -> ``\\1: _v_``, line by line."""
    cdef Py_ssize_t line = 0, q, count, r, stop
    while line <= n:
        stop = _line_end(s, n, line)
        q, count = line, 0
        while q < stop and count <= 30 and not _colon_at(s, n, q):  # no match past 30
            q += _char_len(s[q])
            count += 1
        if q < stop and 1 <= count <= 30 and _colon_at(s, n, q):
            r = q + (1 if s[q] == 58 else 3)
            while r < stop and (s[r] == 32 or s[r] == 9):
                r += 1
            if r < stop and not _space(s[r]):
                out.put(s + line, q - line)
                out.put(_V, 5)
                if stop < n:
                    out.put(s + stop, 1)
                line = stop + 1
                continue
        out.put(s + line, stop - line + (1 if stop < n else 0))
        line = stop + 1
    return 0


cdef int _long_lines(_Out out, const uint8_t* s, Py_ssize_t n) except -1:
    """``(?m)^[^\\n]{200,}$`` -> `` _p_ ``: every line of 200 characters or more."""
    cdef Py_ssize_t line = 0, stop, count, q
    while line <= n:
        stop = _line_end(s, n, line)
        count = 0
        if stop - line >= 200:  # fewer bytes than 200 cannot hold 200 characters
            for q in range(line, stop):
                if s[q] < 0x80 or s[q] >= 0xC0:
                    count += 1
        if count >= 200:
            out.put(_P, 5)
        else:
            out.put(s + line, stop - line)
        if stop < n:
            out.put(s + stop, 1)
        line = stop + 1
    return 0


cdef int _numbers(_Out out, const uint8_t* s, Py_ssize_t n) except -1:
    """``\\d+(?:[.,:/-]\\d+)*`` -> `` _n_ ``."""
    cdef Py_ssize_t i = 0, done = 0, q
    cdef uint8_t c
    while i < n:
        if not _digit(s[i]):
            i += 1
            continue
        q = i
        while q < n and _digit(s[q]):
            q += 1
        while q + 1 < n:
            c = s[q]
            if not (c == 46 or c == 44 or c == 58 or c == 47 or c == 45) or not _digit(s[q + 1]):
                break
            q += 1
            while q < n and _digit(s[q]):
                q += 1
        out.put(s + done, i - done)
        out.put(_N, 5)
        i = done = q
    return out.put(s + done, n - done)


cdef inline uint32_t _code_point(const uint8_t* s, Py_ssize_t size) noexcept nogil:
    cdef uint32_t cp
    cdef Py_ssize_t j
    if size == 1:
        return s[0]
    cp = s[0] & (0x1F if size == 2 else (0x0F if size == 3 else 0x07))
    for j in range(1, size):
        cp = (cp << 6) | (s[j] & 0x3F)
    return cp


cdef int _single_quotes(
    _Out out, const uint8_t* s, Py_ssize_t n, const uint8_t[::1] classes
) except -1:
    """``(^|[^\p{L}\p{N}])'[^'\n]{1,120}'`` -> ``\1 _q_ ``. ``classes``: ``text.char_classes``
    (non-zero for the letters, numbers and ``_``), so letters and numbers are exactly RE2's."""
    cdef Py_ssize_t i = 0, done = 0, end, size
    cdef uint32_t cp
    cdef bint other
    if n and s[0] == 39:  # the text starts with the quote: the ^ alternative first
        end = _closed(s, n, 1, b"'", 1, NULL, 0, 1, 120)
        if end >= 0:
            out.put(_Q, 5)
            i = done = end
    while i < n:
        size = _char_len(s[i])
        if i + size > n:
            size = n - i
        if i + size < n and s[i + size] == 39:
            cp = _code_point(s + i, size)
            other = cp == 95 or cp >= <uint32_t>classes.shape[0] or classes[cp] == 0
            if other:
                end = _closed(s, n, i + size + 1, b"'", 1, NULL, 0, 1, 120)
                if end >= 0:
                    out.put(s + done, i + size - done)
                    out.put(_Q, 5)
                    i = done = end
                    continue
        i += size
    return out.put(s + done, n - done)


cdef inline bint _at(const uint8_t* s, Py_ssize_t n, Py_ssize_t p, const char* word, int k) noexcept nogil:
    return p + k <= n and memcmp(s + p, word, k) == 0


cdef int _urls(_Out out, const uint8_t* s, Py_ssize_t n) except -1:
    """``(?:https?://|www\.)\S+|\S+@\S+\.\w+`` -> `` _u_ ``.

    Within a run of ``\S`` from the scan position ``p`` (to ``run``): the first alternative
    takes the rest of the run; the second, by RE2's priorities (each ``+`` as long as the
    rest allows), ends after the ``\w`` run that follows the run's last ``.``+``\w`` (at
    ``dot``), with its ``@`` the last one at or before ``dot - 2`` and after ``p``. If the
    second fails at ``p`` it fails at every later start in the run (it has fewer ``@``)."""
    cdef Py_ssize_t p = 0, done = 0, run = -1, dead = -1, end, q, dot, at
    while p < n:
        if _space(s[p]):
            p += 1
            continue
        if p >= run:  # a new run of \S
            run = p
            while run < n and not _space(s[run]):
                run += 1
        end = -1
        if _at(s, n, p, "https://", 8) and p + 8 < run:
            end = run
        elif _at(s, n, p, "http://", 7) and p + 7 < run:
            end = run
        elif _at(s, n, p, "www.", 4) and p + 4 < run:
            end = run
        elif dead != run:
            dot = -1
            for q in range(p, run - 1):
                if s[q] == 46 and _word(s[q + 1]):
                    dot = q
            at = -1
            if dot >= 0:
                q = dot - 2
                while q >= p + 1:
                    if s[q] == 64:
                        at = q
                        break
                    q -= 1
            if at >= 0:
                end = dot + 1
                while end < run and _word(s[end]):
                    end += 1
            else:
                dead = run
        if end >= 0:
            out.put(s + done, p - done)
            out.put(_U, 5)
            p = done = end
        else:
            p += _char_len(s[p])
    return out.put(s + done, n - done)


#: Scanners by their mask's position in ``template.MASKS``.
NATIVE_MASKS = {
    0: "code", 1: "urls", 2: "quotes", 3: "single quotes", 4: "brackets", 5: "fields", 6: "long lines",
    7: "numbers",
}


def apply(
    int which, const int64_t[::1] offsets, const uint8_t[::1] data, const uint8_t[::1] classes
):
    """The texts ``data[offsets[i]:offsets[i + 1]]`` with mask ``which`` (a key of
    :data:`NATIVE_MASKS`) applied, as a new Arrow string array. ``classes``: the character
    classes of ``text.char_classes`` (read by the single-quote mask)."""
    if which not in NATIVE_MASKS:
        raise ValueError(f"no scanner for mask {which}")
    return _each_text(which, offsets, data, classes)


cdef object _each_text(
    int which, const int64_t[::1] offsets, const uint8_t[::1] data, const uint8_t[::1] table
):
    """Scanner ``which`` (0-7, or 8: the collapse, :func:`_collapse`, with ``table`` its
    ``spaces``) over every text, into a new Arrow string array."""
    cdef Py_ssize_t n = offsets.shape[0] - 1, i
    cdef int64_t start, stop
    if n < 0:
        raise ValueError("no offsets")
    out = _Out(n, (offsets[n] - offsets[0]) if n > 0 else 0)
    cdef int32_t[::1] ends = out.offsets
    cdef const uint8_t* base = &data[0] if data.shape[0] else <const uint8_t*>b""
    for i in range(n):
        start, stop = offsets[i], offsets[i + 1]
        if start < 0 or stop < start or stop > data.shape[0]:
            raise IndexError(f"text {i} [{start}, {stop}) is outside the data")
        if which == 8:
            _collapse(out, base + start, stop - start, table)
        else:
            _mask(which, out, base + start, stop - start, table)
        ends[i + 1] = <int32_t>out.size
    return out.array(n)

cdef inline bint _has(const uint8_t* s, Py_ssize_t n, uint8_t b) noexcept nogil:
    return n > 0 and memchr(s, b, n) != NULL


cdef bint _has_seq(const uint8_t* s, Py_ssize_t n, const char* seq, Py_ssize_t k) noexcept nogil:
    """Whether the ``k`` bytes ``seq`` occur in ``s`` (memchr for the first byte)."""
    cdef const uint8_t* p = s
    cdef const uint8_t* end = s + n
    while end - p >= k:
        p = <const uint8_t*>memchr(p, <uint8_t>seq[0], end - p - k + 1)
        if p == NULL:
            return False
        if memcmp(p, seq, k) == 0:
            return True
        p += 1
    return False


cdef bint _may_change(int which, const uint8_t* s, Py_ssize_t n) noexcept nogil:
    """False only when mask ``which`` leaves ``s`` as it is: the text lacks every character
    the mask's pattern needs (its scanner would copy the text unchanged)."""
    cdef Py_ssize_t i
    if which == 0:
        return _has_seq(s, n, "```", 3)
    if which == 1:
        return _has(s, n, 64) or _has_seq(s, n, "://", 3) or _has_seq(s, n, "www.", 4)
    if which == 2:  # '"' or the lead byte of one of the other four openers
        return _has(s, n, 34) or _has(s, n, 0xC2) or _has(s, n, 0xE2) or _has(s, n, 0xE3)
    if which == 3:
        return _has(s, n, 39)
    if which == 4:
        return _has(s, n, 40) or _has(s, n, 91) or _has(s, n, 123)
    if which == 5:  # ':' or the lead byte of the full-width colon
        return _has(s, n, 58) or _has(s, n, 0xEF)
    if which == 6:
        return n >= 200
    for i in range(n):
        if _digit(s[i]):
            return True
    return False


cdef int _mask(int which, _Out out, const uint8_t* s, Py_ssize_t n, const uint8_t[::1] classes) except -1:
    if which == 0:
        return _code(out, s, n)
    if which == 1:
        return _urls(out, s, n)
    if which == 2:
        return _quotes(out, s, n)
    if which == 3:
        return _single_quotes(out, s, n, classes)
    if which == 4:
        return _brackets(out, s, n)
    if which == 5:
        return _fields(out, s, n)
    if which == 6:
        return _long_lines(out, s, n)
    return _numbers(out, s, n)


cdef inline bint _ascii_word(const uint8_t* s, Py_ssize_t n, Py_ssize_t p) noexcept nogil:
    """Whether the byte at ``p`` is an ASCII word byte (false outside the text)."""
    return 0 <= p < n and _word(s[p])


cdef inline bint _mask_token(const uint8_t* s, Py_ssize_t n, Py_ssize_t p) noexcept nogil:
    """``\\b_[a-z]_\\b`` at ``p`` (RE2's ASCII word boundaries)."""
    return (
        p + 3 <= n and s[p] == 95 and 97 <= s[p + 1] <= 122 and s[p + 2] == 95
        and not _ascii_word(s, n, p - 1) and not _ascii_word(s, n, p + 3)
    )


cdef inline Py_ssize_t _run_end(
    const uint8_t* s, Py_ssize_t n, Py_ssize_t p, const uint8_t[::1] spaces
) noexcept nogil:
    """End of the greedy ``[\\s\\p{P}]*`` from ``p`` (``spaces[code point]`` non-zero for its
    characters; a character cut off by the end of the text is not one of them)."""
    cdef Py_ssize_t size
    cdef uint32_t cp
    while p < n:
        size = _char_len(s[p])
        if p + size > n:
            return p
        cp = _code_point(s + p, size)
        if cp >= <uint32_t>spaces.shape[0] or not spaces[cp]:
            return p
        p += size
    return p


cdef int _collapse(_Out out, const uint8_t* s, Py_ssize_t n, const uint8_t[::1] spaces) except -1:
    """``(?:\\b(_[a-z]_)\\b[\\s\\p{P}]*){2,}`` -> ``\\1 ``, as RE2 (leftmost-first) matches it.

    From a start where a mask token stands, the star first takes all it can; with one token
    so far the next must follow, so the star gives back characters until a token starts
    (none: no match here); from two tokens on the star keeps all it took and one more token
    is tried there, the match ending where none is (``\\1`` is the last token)."""
    cdef Py_ssize_t i = 0, done = 0, q, last, end
    while i < n:
        if not _mask_token(s, n, i):
            i += 1  # a match starts with '_' (ASCII): stepping bytes is enough
            continue
        end = _run_end(s, n, i + 3, spaces)
        q = end
        last = -1
        while q >= i + 3:
            if _mask_token(s, n, q):
                last = q
                break
            q -= 1
        if last < 0:
            i += 1
            continue
        end = _run_end(s, n, last + 3, spaces)
        while _mask_token(s, n, end):
            last = end
            end = _run_end(s, n, last + 3, spaces)
        out.put(s + done, i - done)
        out.put(s + last, 3)
        out.put(<const uint8_t*>b" ", 1)
        i = done = end
    return out.put(s + done, n - done)


def skeleton(
    const int64_t[::1] offsets,
    const uint8_t[::1] data,
    const uint8_t[::1] classes,
    const uint8_t[::1] spaces,
    bint long_lines=True,
):
    """``template.skeleton`` in one call: per text, masks 0-7 (the long-line mask only with
    ``long_lines``) applied in turn through two scratch buffers, a mask skipped where the
    text lacks the characters it needs (:func:`_may_change`), then the collapse of mask
    runs (mask 8; ``spaces``: ``template.collapse_classes``). The same texts as applying
    the masks one by one, without an Arrow array per mask. ``classes``: as :func:`apply`."""
    cdef Py_ssize_t n = offsets.shape[0] - 1, i, size
    cdef int64_t start, stop
    cdef int which
    cdef const uint8_t* cur
    if n < 0:
        raise ValueError("no offsets")
    out = _Out(n, (offsets[n] - offsets[0]) if n > 0 else 0)
    cdef _Out a = _Out(0, 4096)
    cdef _Out b = _Out(0, 4096)
    cdef _Out t
    cdef int32_t[::1] ends = out.offsets
    cdef const uint8_t* base = &data[0] if data.shape[0] else <const uint8_t*>b""
    for i in range(n):
        start, stop = offsets[i], offsets[i + 1]
        if start < 0 or stop < start or stop > data.shape[0]:
            raise IndexError(f"text {i} [{start}, {stop}) is outside the data")
        cur = base + start
        size = stop - start
        for which in range(8):
            if (which == 6 and not long_lines) or not _may_change(which, cur, size):
                continue
            b.size = 0
            _mask(which, b, cur, size, classes)
            cur, size = <const uint8_t*>b.data, b.size
            t = a
            a = b
            b = t
        _collapse(out, cur, size, spaces)
        ends[i + 1] = <int32_t>out.size
    return out.array(n)



def collapse(const int64_t[::1] offsets, const uint8_t[::1] data, const uint8_t[::1] spaces):
    """Mask 8 alone (:func:`_collapse`) over the texts, as a new Arrow string array: for
    tests against RE2 (:func:`skeleton` runs it after the other masks)."""
    return _each_text(8, offsets, data, spaces)
