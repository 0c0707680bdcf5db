"""Language of the prompt: ISO 639-1 code, or ``und`` when there is no text to judge.

Campaigns sweep many languages systematically (multilingual capability harvesting), while a
translation app or a regional customer is steady in one or two. Exact language ID matters
less than being fast and consistent, so the signal is two vectorised steps with no model
download: (1) the script, read from UTF-8 lead bytes of the first characters (Han, kana,
Hangul, Cyrillic, Arabic, Greek, Hebrew, Devanagari, Thai, ...), and (2) for Latin script,
weighted hits of distinctive function words (``patterns/stopwords.py``) on the shared token
hashes.
"""

from __future__ import annotations

from functools import cache
from typing import ClassVar, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.signals import rematch, text
from distillwatch.signals.base import RequestSignal
from distillwatch.signals.patterns.stopwords import STOPWORDS
from distillwatch.signals.text import HashIndex, hash_strings, string_offsets
from distillwatch.signals.view import PromptView, first_chars

SCRIPT_CHARS = 400
# script classes; index 0 is "other / not a letter"
_SCRIPTS = (
    "other",
    "latin",
    "greek",
    "cyrillic",
    "hebrew",
    "arabic",
    "devanagari",
    "bengali",
    "tamil",
    "thai",
    "kana",
    "han",
    "hangul",
)
_SCRIPT_LANG = {
    "greek": "el",
    "cyrillic": "ru",
    "hebrew": "he",
    "arabic": "ar",
    "devanagari": "hi",
    "bengali": "bn",
    "tamil": "ta",
    "thai": "th",
    "kana": "ja",
    "han": "zh",
    "hangul": "ko",
}
# a CJK character carries about as much as a short Latin word
_WEIGHT = np.array([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3], dtype=np.float64)


def _lead_table() -> np.ndarray:
    """Script class of a (lead byte, next byte) pair, as a 256 x 256 lookup table."""
    t = np.zeros((256, 256), dtype=np.int8)
    s = {name: i for i, name in enumerate(_SCRIPTS)}
    t[ord("a") : ord("z") + 1, :] = s["latin"]
    t[0xC3:0xCA, :] = s["latin"]  # Latin-1 supplement, Extended-A/B
    t[0xE1, 0xB8:0xBC] = s["latin"]  # Latin Extended Additional (Vietnamese)
    t[0xCD, 0xB0:] = s["greek"]
    t[0xCE:0xD0, :] = s["greek"]
    t[0xD0:0xD4, :] = s["cyrillic"]
    t[0xD7, :] = s["hebrew"]
    t[0xD8:0xDC, :] = s["arabic"]
    t[0xE0, 0xA4:0xA6] = s["devanagari"]
    t[0xE0, 0xA6:0xA8] = s["bengali"]
    t[0xE0, 0xAE:0xB0] = s["tamil"]
    t[0xE0, 0xB8:0xBA] = s["thai"]
    t[0xE3, 0x81:0x84] = s["kana"]
    t[0xE4:0xEA, :] = s["han"]
    t[0xEA, 0xB0:] = s["hangul"]
    t[0xEB:0xED, :] = s["hangul"]
    t[0xED, :0xA0] = s["hangul"]
    return t


_TABLE = _lead_table()
_UKRAINIAN = (b"\xd1\x96", b"\xd1\x97", b"\xd1\x94", b"\xd2\x91")  # і ї є ґ
_PERSIAN = (b"\xd9\xbe", b"\xda\x86", b"\xda\xaf", b"\xdb\x8c")  # پ چ گ ی


@cache
def _stopword_table() -> tuple[HashIndex, np.ndarray, tuple[str, ...]]:
    """Word-hash index and a (word x language) weight matrix (shared words split)."""
    langs = tuple(STOPWORDS)
    words = sorted({w for ws in STOPWORDS.values() for w in ws})
    position = {w: i for i, w in enumerate(words)}
    weights = np.zeros((len(words), len(langs)), dtype=np.float64)
    for j, lang in enumerate(langs):
        for w in STOPWORDS[lang]:
            weights[position[w], j] = 1.0
    weights /= weights.sum(axis=1, keepdims=True)
    return HashIndex.of(hash_strings(pa.array(words))), weights, langs


def stopword_positions(view: PromptView) -> np.ndarray:
    """Position of every token of ``view`` in the stopword table, or -1 (int32; looked up
    once per view for the language vote and the sketch's shingles)."""

    def find() -> np.ndarray:
        found = _stopword_table()[0].find(view.tokens.hashes)
        return np.ascontiguousarray(found, np.int32)

    return view.shared("stopword_positions", find)


def is_stopword(token_hashes: np.ndarray) -> np.ndarray:
    """Boolean per token hash: is it a function word of any Latin-script language?"""
    return np.asarray(_stopword_table()[0].find(token_hashes) >= 0)


def script_counts(texts: pa.Array) -> np.ndarray:
    """(n, len(_SCRIPTS)) count of letters per script in the first characters of each text."""
    if text._NATIVE is not None:  # one compiled pass that also cuts: the same counts
        offsets, data = string_offsets(texts)
        counts = text._NATIVE.script_counts(offsets, data, _TABLE, len(_SCRIPTS), SCRIPT_CHARS)
        return cast(np.ndarray, counts)
    head = first_chars(texts, SCRIPT_CHARS)
    offsets, data = string_offsets(head)
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    start = offsets[0]
    buf = data[start : offsets[-1]]
    nxt = np.empty_like(buf)
    nxt[:-1] = buf[1:]
    if len(buf):
        nxt[-1] = 0
    cls = _TABLE[buf, nxt]
    row = np.repeat(np.arange(n), lengths)
    counts = np.bincount(row * len(_SCRIPTS) + cls, minlength=n * len(_SCRIPTS))
    return counts.reshape(n, len(_SCRIPTS))  # (0, k) for no text, as the compiled pass


def _contains_any(texts: pa.Array, needles: tuple[bytes, ...]) -> np.ndarray:
    pattern = "|".join(n.decode() for n in needles)
    return rematch.match(texts, pattern)


def detect(view: PromptView) -> np.ndarray:
    """Language code of every unique prompt in ``view`` (object array of str)."""
    counts = script_counts(view.lowered).astype(np.float64) * _WEIGHT
    letters = counts.sum(axis=1)
    best = counts.argmax(axis=1)
    out = np.full(view.n_unique, "und", dtype=object)
    for idx, name in enumerate(_SCRIPTS):
        if name in _SCRIPT_LANG:
            out[(best == idx) & (letters > 0)] = _SCRIPT_LANG[name]
    # Japanese text mixes kanji with kana: any real kana share means Japanese.
    kana = counts[:, _SCRIPTS.index("kana")]
    out[(kana >= 3) & (kana >= 0.1 * letters) & (out == "zh")] = "ja"
    for lang, base, marks in (("uk", "ru", _UKRAINIAN), ("fa", "ar", _PERSIAN)):
        cand = out == base
        if cand.any():
            cand[cand] = _contains_any(view.lowered.filter(pa.array(cand)), marks)
            out[cand] = lang
    latin = (best == _SCRIPTS.index("latin")) & (letters > 0)
    if latin.any():
        out[latin] = _latin(view, latin)
    return out


def _latin(view: PromptView, rows: np.ndarray) -> np.ndarray:
    """Stopword vote for the Latin-script prompts selected by the boolean mask ``rows``."""
    _, weights, langs = _stopword_table()
    tok = view.tokens
    word = stopword_positions(view)
    if text._NATIVE is not None:  # one compiled pass, the same sums in the same order
        offsets = np.ascontiguousarray(tok.offsets, np.int64)
        flags = np.ascontiguousarray(rows, np.bool_).view(np.uint8)
        scores = text._NATIVE.word_scores(word, offsets, flags, weights)
    else:
        hit = (word >= 0) & rows[tok.row]
        hit_rows, hit_words = tok.row[hit], word[hit]
        scores = np.zeros((view.n_unique, len(langs)))
        for j in np.flatnonzero(weights.any(axis=0)):
            scores[:, j] = np.bincount(hit_rows, weights[hit_words, j], minlength=view.n_unique)
    best = scores.argmax(axis=1)
    result = np.array(langs, dtype=object)[best]
    # No function word at all: plain ASCII is almost always English (code, keywords).
    none = rows & (scores.max(axis=1) == 0)  # only these rows are returned
    if none.any():
        texts = view.unique.filter(pa.array(none))
        ascii_only = pc.equal(pc.utf8_length(texts), pc.binary_length(texts))
        result[none] = np.where(ascii_only.to_numpy(zero_copy_only=False), "en", "und")
    return result[rows]


class LanguageSignal(RequestSignal):
    """``language``: ISO 639-1 code of the last user turn, ``und`` if undetermined."""

    name: ClassVar[str] = "language"
    inputs: ClassVar[tuple[str, ...]] = ("last_user",)
    outputs: ClassVar[dict[str, pa.DataType]] = {"language": pa.string()}

    def per_prompt(self, view: PromptView) -> dict[str, pa.Array]:
        return {"language": pa.array(detect(view), pa.string())}
