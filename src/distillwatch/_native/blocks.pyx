# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Whole-line blocks of a stream read straight into the ``bytes`` they are handed on as.

The reader cuts a decompressed stream into chunks of whole lines. With ``read`` each chunk
cost two buffers of tens of MB: the block ``read`` returns, then the chunk made of the line
carried over from the block before plus this block up to its last newline (a join: a copy
of the whole block and page faults on fresh memory). On the demo log that join was 0.4 CPU s
of the scan's reading process, half of what decompression costs. Here the carried line is
copied to the start of one new ``bytes`` object, the stream's ``readinto`` fills the rest,
and the object is cut at its last newline in place (``_PyBytes_Resize`` of an object nobody
else has seen yet); only the short unterminated rest is copied, as the next carry.

The stream writes through :class:`_Window`, a buffer exporter that holds the ``bytes`` it
points into: a stream that kept a view past ``readinto`` (none of ours do) keeps the memory
alive, and then the block is not cut in place but copied, as before.
``ingest/readers.py`` keeps the ``read`` loop as the definition and the fallback (streams
without ``readinto``, ``DISTILLWATCH_NATIVE=0``, this module not built);
``tests/test_native_blocks.py`` holds the two to the same chunks.
"""

from cpython.buffer cimport PyBuffer_FillInfo
from cpython.bytes cimport PyBytes_AS_STRING
from cpython.ref cimport PyObject, Py_DECREF
from libc.string cimport memcpy

cdef extern from "Python.h":
    PyObject* PyBytes_FromStringAndSize_raw "PyBytes_FromStringAndSize" (
        const char* v, Py_ssize_t size
    ) except NULL
    int _PyBytes_Resize(PyObject** obj, Py_ssize_t size) except -1
    Py_ssize_t Py_REFCNT(PyObject* obj)

cdef extern from "string.h":
    void* memrchr(const void* s, int c, size_t n)


cdef class _Window:
    """A writable view of ``size`` bytes at ``ptr`` inside ``owner`` (kept alive)."""

    cdef object owner
    cdef char* ptr
    cdef Py_ssize_t size
    cdef Py_ssize_t exports

    def __getbuffer__(self, Py_buffer* buffer, int flags):
        PyBuffer_FillInfo(buffer, self, self.ptr, self.size, 0, flags)
        self.exports += 1

    def __releasebuffer__(self, Py_buffer* buffer):
        self.exports -= 1


cdef Py_ssize_t _fill(object readinto, object owner, char* start, Py_ssize_t size) except -1:
    """Call ``readinto`` on windows over ``start[:size]`` until it is full or the stream
    ends; the number of bytes read. -2 when the stream kept a view (the memory must stay)."""
    cdef Py_ssize_t filled = 0, got
    cdef _Window window
    cdef bint kept = False
    while filled < size:
        window = _Window.__new__(_Window)
        window.owner = owner
        window.ptr = start + filled
        window.size = size - filled
        view = memoryview(window)
        result = readinto(view)
        view = None  # a stream that kept it keeps the window exported: seen just below
        if window.exports or Py_REFCNT(<PyObject*>window) > 1:
            kept = True  # it holds on to our memory: leave it the owner, never resize
        else:
            window.owner = None
        if result is None:
            raise OSError("the stream has no data now (non-blocking): cannot read it whole")
        got = result
        if got < 0 or got > size - filled:
            raise OSError(f"readinto returned {got} for a buffer of {size - filled} bytes")
        if got == 0:
            break
        filled += got
    return -2 - filled if kept else filled


def next_block(object readinto, bytes carry, Py_ssize_t size):
    """``(lines, carry, ended)``: ``carry`` and up to ``size`` more bytes of the stream,
    cut after their last newline; ``lines`` is None when the new bytes hold no newline
    (then all of them are the new carry). ``ended``: the stream gave nothing more (the
    caller yields the carry, if any, as the last block). As ``readers._blocks_by_read``."""
    cdef Py_ssize_t kept = len(carry), filled, total, cut
    cdef PyObject* raw
    cdef char* base
    cdef const char* hit
    cdef bint stuck
    if size < 1:
        raise ValueError("a block must have room for at least one byte")
    raw = PyBytes_FromStringAndSize_raw(NULL, kept + size)
    try:
        base = PyBytes_AS_STRING(<object>raw)
        if kept:
            memcpy(base, PyBytes_AS_STRING(carry), kept)
        filled = _fill(readinto, <object>raw, base + kept, size)
    except BaseException:
        Py_DECREF(<object>raw)
        raise
    stuck = filled < -1
    if stuck:
        filled = -2 - filled
    total = kept + filled
    if filled == 0:
        Py_DECREF(<object>raw)
        return None, carry, True
    hit = <const char*>memrchr(base + kept, 10, filled)
    cut = total if hit == NULL else hit - base + 1
    if stuck:  # the stream still sees this memory: copy out of it, leave it be
        lines = base[:cut]
        rest = base[cut:total]
        Py_DECREF(<object>raw)
    else:
        rest = base[cut:total]
        _PyBytes_Resize(&raw, cut)  # in place: nobody else holds it (frees it on failure)
        lines = <object>raw
        Py_DECREF(<object>raw)
    if hit == NULL:
        return None, lines, False
    return lines, rest, False
