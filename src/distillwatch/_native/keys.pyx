# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The signal memo's index (``signals/memo.py``): 64-bit prompt keys to rows, looked up for a
whole batch in one call.

A Python dict costs a Python int and a lookup per key, and the dict of a full memo (250,000
keys) misses the caches on most of them. Here keys and rows sit in two flat arrays, open
addressing with linear probing, at most half full. It behaves as the dict it replaces: a key
added again takes its new row. ``memo.PromptMemo`` keeps the dict when this is not built;
``tests/test_native_skeleton.py`` holds the two equal.
"""

import numpy as np

from libc.stdint cimport int64_t, uint64_t


cdef class KeyIndex:
    """Rows of up to ``capacity`` distinct uint64 keys."""

    cdef uint64_t[::1] keys
    cdef int64_t[::1] rows
    cdef uint64_t mask
    cdef public Py_ssize_t capacity
    cdef Py_ssize_t size

    def __cinit__(self, Py_ssize_t capacity):
        cdef Py_ssize_t slots = 16
        if capacity < 0:
            raise ValueError("capacity must not be negative")
        while slots < 2 * capacity:
            slots *= 2
        self.keys = np.zeros(slots, dtype=np.uint64)
        self.rows = np.full(slots, -1, dtype=np.int64)
        self.mask = <uint64_t>(slots - 1)
        self.capacity = capacity
        self.size = 0

    def __len__(self):
        return self.size

    cdef inline Py_ssize_t _slot(self, uint64_t key) noexcept nogil:
        """The slot holding ``key``, or the empty slot where it would go."""
        cdef uint64_t at = (key ^ (key >> 29)) & self.mask
        while self.rows[at] >= 0 and self.keys[at] != key:
            at = (at + 1) & self.mask
        return <Py_ssize_t>at

    def find(self, const uint64_t[::1] keys):
        """Row of every key, or -1 (int64, one per key). The GIL is held throughout, so a
        lookup never sees half of an :meth:`add` from another thread (as with a dict)."""
        cdef Py_ssize_t n = keys.shape[0], i
        out = np.empty(n, dtype=np.int64)
        cdef int64_t[::1] o = out
        for i in range(n):
            o[i] = self.rows[self._slot(keys[i])]
        return out

    def add(self, const uint64_t[::1] keys, int64_t start):
        """Give ``keys[i]`` row ``start + i`` (a key already held takes its new row)."""
        cdef Py_ssize_t n = keys.shape[0], i, at
        for i in range(n):
            at = self._slot(keys[i])
            if self.rows[at] < 0:
                if self.size >= self.capacity:
                    raise OverflowError(f"more than {self.capacity} keys")
                self.size += 1
                self.keys[at] = keys[i]
            self.rows[at] = start + i

    def clear(self):
        """Forget every key."""
        self.rows[:] = -1
        self.size = 0
