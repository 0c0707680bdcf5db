# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Rows of the requests table written straight into Arrow column buffers.

The Python fast path (``ingest/fast.py``) builds a tuple per record and then ``pa.array`` of
every column from Python objects; both, and freeing them, cost more than the JSON parsing.
Here each decoded ``fast.Record`` (msgspec's typed struct) is read field by field into
growing C buffers, one per column (values, validity bits, string offsets and bytes), and the
buffers become Arrow arrays without any Python object per value. Timestamps in the common
RFC 3339 shapes and country codes are converted in C; every other shape goes to the Python
rule (``validate.timestamp_us`` / ``country_code``), which gives the value or the error.

Exactness: a record either lands whole or not at all (a row that raises is rolled back), so
a refused record takes the per-line path as before; rows of the per-line path are appended
from their tuples with the same conversions ``pa.array`` makes. ``tests/test_native_columns.py``
holds the batches equal to the Python path's.
"""

from cpython.buffer cimport PyBuffer_FillInfo
from cpython.ref cimport PyObject
from cpython.unicode cimport PyUnicode_GET_LENGTH
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memchr, memcpy, memset

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object unicode, Py_ssize_t* size) except NULL

from types import MemberDescriptorType

import pyarrow as pa

cdef enum:
    K_I64 = 0
    K_I32 = 1
    K_F64 = 2
    K_BOOL = 3
    K_STR = 4

cdef int64_t INT32_MAX_ = 2147483647
cdef int64_t US = 1000000


cdef class Column:
    """One growing Arrow column: validity bits, values (or int32 offsets + bytes)."""

    cdef int kind
    cdef Py_ssize_t n, cap, nulls, data_len, data_cap
    cdef uint8_t* valid
    cdef uint8_t* bits
    cdef char* values
    cdef char* data

    def __cinit__(self, int kind):
        self.kind = kind
        self.valid = self.bits = NULL
        self.values = self.data = NULL
        self._start()

    cdef int _start(self) except -1:
        """Empty, with fresh buffers (the pointers are NULL: freed or handed over)."""
        self.n = self.cap = self.nulls = self.data_len = self.data_cap = 0
        self._grow()
        if self.kind == K_STR:
            (<int32_t*>self.values)[0] = 0
        return 0

    def __dealloc__(self):
        free(self.valid)
        free(self.bits)
        free(self.values)
        free(self.data)

    cdef int _grow(self) except -1:
        cdef Py_ssize_t old = self.cap
        cdef Py_ssize_t cap = 1024 if old == 0 else 2 * old
        cdef Py_ssize_t old_bytes = (old + 7) // 8, new_bytes = (cap + 7) // 8
        cdef void* p = realloc(self.valid, new_bytes)
        if p == NULL:
            raise MemoryError()
        self.valid = <uint8_t*>p
        memset(self.valid + old_bytes, 0, new_bytes - old_bytes)
        if self.kind == K_BOOL:
            p = realloc(self.bits, new_bytes)
            if p == NULL:
                raise MemoryError()
            self.bits = <uint8_t*>p
            memset(self.bits + old_bytes, 0, new_bytes - old_bytes)
        else:
            p = realloc(self.values, (cap + 1) * 8)
            if p == NULL:
                raise MemoryError()
            self.values = <char*>p
        self.cap = cap
        return 0

    cdef inline int _room(self) except -1:
        if self.n >= self.cap:
            self._grow()
        return 0

    cdef inline void _set_valid(self):
        self.valid[self.n >> 3] |= <uint8_t>(1 << (self.n & 7))

    cdef int null(self) except -1:
        self._room()
        if self.kind == K_STR:
            (<int32_t*>self.values)[self.n + 1] = <int32_t>self.data_len
        elif self.kind == K_I64 or self.kind == K_F64:
            (<int64_t*>self.values)[self.n] = 0
        elif self.kind == K_I32:
            (<int32_t*>self.values)[self.n] = 0
        self.nulls += 1
        self.n += 1
        return 0

    cdef int i64(self, int64_t v) except -1:
        self._room()
        (<int64_t*>self.values)[self.n] = v
        self._set_valid()
        self.n += 1
        return 0

    cdef int i32(self, int64_t v) except -1:
        if v > INT32_MAX_ or v < -INT32_MAX_ - 1:
            raise OverflowError("value out of range for int32")
        self._room()
        (<int32_t*>self.values)[self.n] = <int32_t>v
        self._set_valid()
        self.n += 1
        return 0

    cdef int f64(self, double v) except -1:
        self._room()
        (<double*>self.values)[self.n] = v
        self._set_valid()
        self.n += 1
        return 0

    cdef int boolean(self, bint v) except -1:
        self._room()
        if v:
            self.bits[self.n >> 3] |= <uint8_t>(1 << (self.n & 7))
        self._set_valid()
        self.n += 1
        return 0

    cdef int extend(self, const char* s, Py_ssize_t size) except -1:
        """Append bytes to the string being written (not yet a row: see ``close``)."""
        cdef Py_ssize_t need = self.data_len + size
        cdef Py_ssize_t cap
        cdef void* p
        if need > INT32_MAX_:
            raise OverflowError("string column larger than 2 GB")
        if need > self.data_cap:
            cap = self.data_cap * 2 if self.data_cap else 65536
            while cap < need:
                cap *= 2
            p = realloc(self.data, cap)
            if p == NULL:
                raise MemoryError()
            self.data = <char*>p
            self.data_cap = cap
        if size:
            memcpy(self.data + self.data_len, s, size)
        self.data_len = need
        return 0

    cdef int close(self) except -1:
        """End the string written by ``extend`` calls: it becomes the next row."""
        self._room()
        (<int32_t*>self.values)[self.n + 1] = <int32_t>self.data_len
        self._set_valid()
        self.n += 1
        return 0

    cdef int text(self, str s) except -1:
        cdef Py_ssize_t size
        cdef const char* p = PyUnicode_AsUTF8AndSize(s, &size)
        self.extend(p, size)
        return self.close()

    cdef int opt_text(self, object s) except -1:
        if s is None:
            return self.null()
        return self.text(<str?>s)

    cdef void truncate(self, Py_ssize_t m):
        """Drop the rows from ``m`` on (the half-written row of a refused record)."""
        cdef Py_ssize_t i
        for i in range(m, self.n):
            if not (self.valid[i >> 3] >> (i & 7)) & 1:
                self.nulls -= 1
            self.valid[i >> 3] &= <uint8_t>~(1 << (i & 7))
            if self.kind == K_BOOL:
                self.bits[i >> 3] &= <uint8_t>~(1 << (i & 7))
        if self.kind == K_STR and m < self.n:
            self.data_len = (<int32_t*>self.values)[m]
        if m < self.n:
            self.n = m

    def to_arrow(self, kind_type):
        """The Arrow array of the rows written (``kind_type``: its Arrow type). The buffers
        are handed to Arrow as they are (no copy): the column is empty again afterwards."""
        cdef Py_ssize_t nbytes = (self.n + 7) // 8, n = self.n, nulls = self.nulls
        cdef Py_ssize_t width = 4 if self.kind == K_I32 else 8, data_len = self.data_len
        cdef void* valid_p = self.valid
        cdef void* bits_p = self.bits
        cdef void* values_p = self.values
        cdef void* data_p = self.data
        self.valid = self.bits = NULL  # from here on each pointer has one owner
        self.values = self.data = NULL
        self._start()
        valid = None
        if nulls:
            valid = _handed(valid_p, nbytes)
        else:
            free(valid_p)
        if self.kind == K_STR:
            buffers = [valid, _handed(values_p, (n + 1) * 4), _handed(data_p, data_len)]
        elif self.kind == K_BOOL:
            free(values_p)
            buffers = [valid, _handed(bits_p, nbytes)]
        else:
            buffers = [valid, _handed(values_p, n * width)]
        return pa.Array.from_buffers(kind_type, n, buffers, null_count=nulls)


cdef class _Memory:
    """Memory from ``malloc`` seen as a read-only buffer, freed with the last view of it."""

    cdef void* ptr
    cdef Py_ssize_t size

    def __dealloc__(self):
        free(self.ptr)

    def __getbuffer__(self, Py_buffer* buffer, int flags):
        PyBuffer_FillInfo(buffer, self, self.ptr, self.size, 1, flags)

    def __releasebuffer__(self, Py_buffer* buffer):
        pass


cdef object _handed(void* ptr, Py_ssize_t size):
    """An Arrow buffer of the first ``size`` bytes at ``ptr``, which it now owns (cut to
    that size first: the column grew it by doubling)."""
    cdef _Memory memory = _Memory.__new__(_Memory)
    cdef void* cut = realloc(ptr, size if size > 0 else 1)
    memory.ptr = cut if cut != NULL else ptr
    memory.size = size
    return pa.py_buffer(memory)


# --- timestamps ---------------------------------------------------------------------------

cdef inline int _digits(const char* s, int n) noexcept:
    """The value of ``n`` ASCII digits, or -1 if one is not a digit."""
    cdef int v = 0, i
    cdef char c
    for i in range(n):
        c = s[i]
        if c < 48 or c > 57:
            return -1
        v = v * 10 + (c - 48)
    return v


cdef inline int64_t _days_from_civil(int64_t y, int64_t m, int64_t d) noexcept:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    cdef int64_t era = (y if y >= 0 else y - 399) // 400
    cdef int64_t yoe = y - era * 400
    cdef int64_t doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    cdef int64_t doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef int[13] _MONTH_DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


cdef bint rfc3339_us(const char* s, Py_ssize_t n, int64_t* out) noexcept:
    """UTC microseconds of the plainest RFC 3339 shapes, as ``validate.timestamp_us`` gives
    them: ``YYYY-MM-DD[T ]HH:MM:SS``, then nothing, ``.fff`` or ``.ffffff``, then nothing,
    ``Z`` or ``±HH:MM``; every field in range, year 2..9998. Returns False for anything else
    (the Python rule then decides: it accepts or raises)."""
    cdef int year, month, day, hour, minute, second, frac = 0, off = 0, oh, om, dim
    cdef Py_ssize_t i = 19
    if n < 19 or s[4] != 45 or s[7] != 45 or s[13] != 58 or s[16] != 58:
        return False
    if s[10] != 84 and s[10] != 32:  # 'T' or ' '
        return False
    year = _digits(s, 4)
    month = _digits(s + 5, 2)
    day = _digits(s + 8, 2)
    hour = _digits(s + 11, 2)
    minute = _digits(s + 14, 2)
    second = _digits(s + 17, 2)
    if year < 2 or year > 9998 or month < 1 or month > 12 or day < 1:
        return False
    if hour < 0 or hour > 23 or minute < 0 or minute > 59 or second < 0 or second > 59:
        return False
    dim = _MONTH_DAYS[month]
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        dim = 29
    if day > dim:
        return False
    if i < n and s[i] == 46:  # '.'
        if n >= i + 7 and _digits(s + i + 1, 6) >= 0 and (n == i + 7 or s[i + 7] < 48 or s[i + 7] > 57):
            frac = _digits(s + i + 1, 6)
            i += 7
        elif n >= i + 4 and _digits(s + i + 1, 3) >= 0 and (n == i + 4 or s[i + 4] < 48 or s[i + 4] > 57):
            frac = _digits(s + i + 1, 3) * 1000
            i += 4
        else:
            return False
    if i < n:
        if s[i] == 90 and n == i + 1:  # 'Z'
            i += 1
        elif (s[i] == 43 or s[i] == 45) and n == i + 6 and s[i + 3] == 58:
            oh = _digits(s + i + 1, 2)
            om = _digits(s + i + 4, 2)
            if oh < 0 or oh > 23 or om < 0 or om > 59:
                return False
            off = (oh * 3600 + om * 60) * (1 if s[i] == 43 else -1)
            i += 6
        else:
            return False
    if i != n:
        return False
    out[0] = (
        (_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - off) * US
        + frac
    )
    return True


def rfc3339_or_none(str value):
    """:func:`rfc3339_us` for tests: the microseconds, or None where Python decides."""
    cdef Py_ssize_t size
    cdef const char* p = PyUnicode_AsUTF8AndSize(value, &size)
    cdef int64_t us
    if rfc3339_us(p, size, &us):
        return us
    return None


# --- records ------------------------------------------------------------------------------

# --- struct fields read by offset ----------------------------------------------------------
#
# ``rec.ts`` on a msgspec struct is a generic attribute lookup (type dict, descriptor, member
# getter): about a tenth of the decode stage for ~40 fields per record. The fields of
# ``fast.Record`` and its parts are slots; their offsets are read once from the member
# descriptors (:func:`bind`), and each field is then one load. Only an object whose type is
# exactly the bound struct is read this way; a record of another type is refused (it takes
# the per-line path), as is an unset slot.

cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member

cdef enum:
    F_TS, F_ACCOUNT, F_REQUEST, F_KEY, F_ORG, F_IP, F_UA, F_COUNTRY, F_ASN, F_CREATED, F_PAYMENT,
    F_EMAIL, F_MODEL, F_ENDPOINT, F_SYSTEM, F_MESSAGES, F_TOOLS, F_PARAMS, F_RESPONSE, F_USAGE,
    F_STATUS, F_LATENCY,
    F_ROLE, F_CONTENT, F_PART_TEXT,
    F_TEMPERATURE, F_TOP_P, F_MAX_TOKENS, F_N, F_LOGPROBS, F_TOP_LOGPROBS, F_STREAM, F_EFFORT,
    F_TEXT, F_FINISH, F_CALLS, F_INPUT, F_OUTPUT, F_REASONING,
    N_FIELDS

#: (struct, field names in F_ order): what :func:`bind` reads the offsets of.
_LAYOUT = (
    ("record", ("ts", "account_id", "request_id", "key_id", "org_id", "ip", "user_agent",
                "country", "asn", "account_created", "payment_fingerprint", "email_domain",
                "model", "endpoint", "system", "messages", "tools", "params", "response",
                "usage", "status", "latency_ms")),
    ("message", ("role", "content")),
    ("part", ("text",)),
    ("params", ("temperature", "top_p", "max_tokens", "n", "logprobs", "top_logprobs",
                "stream", "reasoning_effort")),
    ("response", ("text", "finish_reason", "tool_calls")),
    ("usage", ("input_tokens", "output_tokens", "reasoning_tokens")),
)
cdef Py_ssize_t _OFFSET[N_FIELDS]
cdef object _RECORD = None, _MESSAGE = None, _PART = None
cdef object _PARAMS = None, _RESPONSE = None, _USAGE = None


def bind(**structs):
    """Read the slot offsets of ``fast``'s structs (keyword per ``_LAYOUT`` entry); until
    this is called every record is refused (and takes the per-line path)."""
    global _RECORD, _MESSAGE, _PART, _PARAMS, _RESPONSE, _USAGE
    cdef Py_ssize_t at = 0
    offsets = []
    for name, fields in _LAYOUT:
        cls = structs[name]
        for field in fields:
            descriptor = cls.__dict__.get(field)
            if type(descriptor) is not MemberDescriptorType:
                raise TypeError(f"{cls.__name__}.{field} is not a slot")
            offsets.append((<PyMemberDescrObject*><PyObject*>descriptor).d_member.offset)
    for at in range(N_FIELDS):
        _OFFSET[at] = offsets[at]
    _RECORD, _MESSAGE, _PART = structs["record"], structs["message"], structs["part"]
    _PARAMS, _RESPONSE, _USAGE = structs["params"], structs["response"], structs["usage"]


cdef inline object _get(object obj, object kind, int field):
    """``obj.<field>`` for an object whose type is exactly ``kind`` (a bound struct)."""
    cdef PyObject* value
    if type(obj) is not kind or kind is None:
        raise TypeError("not the struct the offsets were read from")
    value = (<PyObject**>((<char*><PyObject*>obj) + _OFFSET[field]))[0]
    if value == NULL:
        raise AttributeError("an unset field")
    return <object>value


cdef class Rows:
    """Column builders of ``REQUESTS_SCHEMA`` (without the two provenance columns) plus the
    line numbers; fed with decoded records (:meth:`add_record`) or per-line rows
    (:meth:`add_row`), in line order, then turned into one record batch (:meth:`batch`)."""

    cdef list cols
    cdef Column line_no
    cdef object kinds, types, timestamp_us, country_code
    cdef Py_ssize_t width

    def __init__(self, types, timestamp_us, country_code):
        """``types``: the Arrow types of the row's columns, in order; ``timestamp_us`` and
        ``country_code``: the Python rules (``validate``) for the shapes left to them."""
        self.types = list(types)
        self.kinds = [_kind_of(t) for t in self.types]
        self.cols = [Column(k) for k in self.kinds]
        self.width = len(self.cols)
        self.line_no = Column(K_I64)
        self.timestamp_us = timestamp_us
        self.country_code = country_code

    @property
    def num_rows(self):
        return self.line_no.n

    cdef inline Column c(self, Py_ssize_t i):
        return <Column>self.cols[i]

    cdef int _rollback(self, Py_ssize_t m):
        cdef Py_ssize_t i
        for i in range(self.width):
            self.c(i).truncate(m)
        return 0

    def add_row(self, tuple row, int64_t line_no):
        """Append one ``normalize.flatten`` row (the per-line path's)."""
        cdef Py_ssize_t m = self.line_no.n, i
        cdef Column col
        if len(row) != self.width:
            raise ValueError(f"a row has {len(row)} values, expected {self.width}")
        try:
            for i in range(self.width):
                col = self.c(i)
                value = row[i]
                if value is None:
                    col.null()
                elif col.kind == K_STR:
                    col.text(value)
                elif col.kind == K_BOOL:
                    col.boolean(_exact_bool(value))
                elif col.kind == K_F64:
                    col.f64(value)
                elif col.kind == K_I32:
                    col.i32(_exact_int(value))
                else:
                    col.i64(_exact_int(value))
        except BaseException:
            self._rollback(m)
            raise
        self.line_no.i64(line_no)

    def add_record(self, rec, int64_t line_no):
        """Append the row of one decoded ``fast.Record``; raises (appending nothing) for a
        record the Python rules refuse."""
        cdef Py_ssize_t m = self.line_no.n
        try:
            self._record(rec)
        except BaseException:
            self._rollback(m)
            raise
        self.line_no.i64(line_no)

    cdef int _ts(self, Column col, object value, str field) except -1:
        cdef Py_ssize_t size
        cdef const char* p
        cdef int64_t us
        if type(value) is str:
            p = PyUnicode_AsUTF8AndSize(value, &size)
            if rfc3339_us(p, size, &us):
                return col.i64(us)
        return col.i64(self.timestamp_us(value, field))

    cdef int _content(self, Column col, object content) except -1:
        """``fast._text(content)``: a string, or the non-null texts of parts joined by \\n."""
        cdef Py_ssize_t size
        cdef const char* p
        cdef bint first = True
        if content is None:
            return col.null()
        if type(content) is str:
            return col.text(content)
        for part in <list?>content:
            text = part if type(part) is str else _get(part, _PART, F_PART_TEXT)
            if text is None:
                continue
            if not first:
                col.extend(b"\n", 1)
            p = PyUnicode_AsUTF8AndSize(<str?>text, &size)
            col.extend(p, size)
            first = False
        if first:
            return col.null()
        return col.close()

    cdef int _record(self, rec) except -1:
        cdef list cols = self.cols
        cdef Column col
        cdef Py_ssize_t i
        cdef Py_ssize_t n_user = 0, n_assistant = 0, n_tools = 0
        cdef bint system_seen = False
        cdef const char* p
        cdef Py_ssize_t size
        cdef char cc[2]
        self._ts(<Column>cols[0], _get(rec, _RECORD, F_TS), "ts")
        (<Column>cols[1]).text(_get(rec, _RECORD, F_ACCOUNT))
        (<Column>cols[2]).text(_get(rec, _RECORD, F_REQUEST))
        (<Column>cols[3]).opt_text(_get(rec, _RECORD, F_KEY))
        (<Column>cols[4]).opt_text(_get(rec, _RECORD, F_ORG))
        (<Column>cols[5]).opt_text(_get(rec, _RECORD, F_IP))
        (<Column>cols[6]).opt_text(_get(rec, _RECORD, F_UA))
        country = _get(rec, _RECORD, F_COUNTRY)
        col = <Column>cols[7]
        if country is None:
            col.null()
        else:
            p = PyUnicode_AsUTF8AndSize(<str?>country, &size)
            if size == 2 and _letter(p[0]) and _letter(p[1]):
                cc[0] = p[0] & ~32
                cc[1] = p[1] & ~32
                col.extend(cc, 2)
                col.close()
            else:
                col.opt_text(self.country_code(country))
        _opt_i64(<Column>cols[8], _get(rec, _RECORD, F_ASN))
        created = _get(rec, _RECORD, F_CREATED)
        if created is None:
            (<Column>cols[9]).null()
        else:
            self._ts(<Column>cols[9], created, "account_created")
        (<Column>cols[10]).opt_text(_get(rec, _RECORD, F_PAYMENT))
        (<Column>cols[11]).opt_text(_get(rec, _RECORD, F_EMAIL))
        (<Column>cols[12]).opt_text(_get(rec, _RECORD, F_MODEL))
        (<Column>cols[13]).opt_text(_get(rec, _RECORD, F_ENDPOINT))
        messages = _get(rec, _RECORD, F_MESSAGES)
        system_content = None
        last_user = None
        if messages is None:
            (<Column>cols[15]).null()
            for i in range(16, 20):
                (<Column>cols[i]).null()
        else:
            for message in <list?>messages:
                role = _get(message, _MESSAGE, F_ROLE)
                if role == "user":
                    n_user += 1
                    last_user = _get(message, _MESSAGE, F_CONTENT)
                elif role == "assistant":
                    n_assistant += 1
                elif role == "tool" or role == "function":
                    n_tools += 1
                elif (role == "system" or role == "developer") and not system_seen:
                    system_seen = True
                    system_content = _get(message, _MESSAGE, F_CONTENT)
            self._content(<Column>cols[15], last_user)
            (<Column>cols[16]).i32(len(<list>messages))
            (<Column>cols[17]).i32(n_user)
            (<Column>cols[18]).i32(n_assistant)
            (<Column>cols[19]).i32(n_tools)
        system = _get(rec, _RECORD, F_SYSTEM)
        self._content(<Column>cols[14], system_content if system is None else system)
        tools = _get(rec, _RECORD, F_TOOLS)
        (<Column>cols[20]).i32(0 if tools is None else len(<list?>tools))
        params = _get(rec, _RECORD, F_PARAMS)
        if params is None:
            for i in range(21, 29):
                (<Column>cols[i]).null()
        else:
            _opt_f64(<Column>cols[21], _get(params, _PARAMS, F_TEMPERATURE))
            _opt_f64(<Column>cols[22], _get(params, _PARAMS, F_TOP_P))
            _opt_i64(<Column>cols[23], _get(params, _PARAMS, F_MAX_TOKENS))
            _opt_i32(<Column>cols[24], _get(params, _PARAMS, F_N))
            _opt_bool(<Column>cols[25], _get(params, _PARAMS, F_LOGPROBS))
            _opt_i32(<Column>cols[26], _get(params, _PARAMS, F_TOP_LOGPROBS))
            _opt_bool(<Column>cols[27], _get(params, _PARAMS, F_STREAM))
            (<Column>cols[28]).opt_text(_get(params, _PARAMS, F_EFFORT))
        response = _get(rec, _RECORD, F_RESPONSE)
        if response is None:
            (<Column>cols[29]).null()
            (<Column>cols[30]).null()
            (<Column>cols[31]).null()
        else:
            text = _get(response, _RESPONSE, F_TEXT)
            if text is None:
                (<Column>cols[29]).null()
            else:
                (<Column>cols[29]).i64(PyUnicode_GET_LENGTH(<str?>text))
            (<Column>cols[30]).opt_text(_get(response, _RESPONSE, F_FINISH))
            calls = _get(response, _RESPONSE, F_CALLS)
            (<Column>cols[31]).i32(0 if calls is None else len(<list?>calls))
        usage = _get(rec, _RECORD, F_USAGE)
        if usage is None:
            for i in range(32, 35):
                (<Column>cols[i]).null()
        else:
            _opt_i64(<Column>cols[32], _get(usage, _USAGE, F_INPUT))
            _opt_i64(<Column>cols[33], _get(usage, _USAGE, F_OUTPUT))
            _opt_i64(<Column>cols[34], _get(usage, _USAGE, F_REASONING))
        _opt_i32(<Column>cols[35], _get(rec, _RECORD, F_STATUS))
        _opt_f64(<Column>cols[36], _get(rec, _RECORD, F_LATENCY))
        return 0

    def columns(self):
        """The Arrow arrays of the row columns and of the line numbers (in that order); the
        buffers go to Arrow without a copy, and the rows are empty afterwards."""
        arrays = [self.c(i).to_arrow(self.types[i]) for i in range(self.width)]
        arrays.append(self.line_no.to_arrow(pa.int64()))
        return arrays


cdef inline bint _letter(char c) noexcept:
    return (65 <= c <= 90) or (97 <= c <= 122)


cdef inline int64_t _exact_int(object v) except? -1:
    if type(v) is bool:  # pa.array refuses a bool in an integer column too
        raise TypeError("a boolean in an integer column")
    return v


cdef inline bint _exact_bool(object v) except -1:
    if type(v) is not bool:
        raise TypeError("a non-boolean in a boolean column")
    return v is True


cdef inline int _opt_i64(Column col, object v) except -1:
    if v is None:
        return col.null()
    return col.i64(v)


cdef inline int _opt_i32(Column col, object v) except -1:
    if v is None:
        return col.null()
    return col.i32(v)


cdef inline int _opt_f64(Column col, object v) except -1:
    if v is None:
        return col.null()
    return col.f64(v)


cdef inline int _opt_bool(Column col, object v) except -1:
    if v is None:
        return col.null()
    return col.boolean(v is True)


cdef int _kind_of(t) except -1:
    if pa.types.is_string(t):
        return K_STR
    if pa.types.is_boolean(t):
        return K_BOOL
    if pa.types.is_float64(t):
        return K_F64
    if pa.types.is_int32(t):
        return K_I32
    if pa.types.is_int64(t) or pa.types.is_timestamp(t):
        return K_I64
    raise TypeError(f"no native column for {t}")



cdef inline bint _blank(const char* s, Py_ssize_t n) noexcept:
    """``bytes.isspace()`` or empty: every byte is ASCII whitespace."""
    cdef Py_ssize_t i
    cdef char c
    for i in range(n):
        c = s[i]
        if c != 32 and not (9 <= c <= 13):
            return False
    return True


def decode_lines(
    Rows rows, bytes data, object suspects, int64_t first_line, object decode, object slow
):
    """Feed every line of ``data`` (split at ``\n``, as ``batches._parse_jsonl`` does) to
    ``rows``, in order, and return the number of lines. Lines not in ``suspects`` (None: no
    line may) go to ``decode`` (msgspec's typed decoder, given a view of the line: no copy);
    the others, and those ``decode`` or the rules refuse, to ``slow(raw, line_no)``, the
    per-line path, which returns the row or None (it quarantined the line). Blank lines are
    skipped."""
    cdef const char* base = data
    cdef Py_ssize_t size = len(data), start = 0, end, index = 0
    cdef const char* hit
    cdef int64_t line_no
    cdef bint screened = suspects is not None
    cdef bint any_suspect = screened and len(suspects) > 0
    view = memoryview(data)
    while start < size:
        hit = <const char*>memchr(base + start, 10, size - start)
        end = size if hit == NULL else hit - base
        line_no = first_line + index
        if not _blank(base + start, end - start):
            if screened and not (any_suspect and index in suspects):
                try:
                    rows.add_record(decode(view[start:end]), line_no)
                    start = end + 1
                    index += 1
                    continue
                except Exception:  # any doubt: the per-line path decides
                    pass
            row = slow(data[start:end], line_no)
            if row is not None:
                rows.add_row(row, line_no)
        start = end + 1
        index += 1
    return index
