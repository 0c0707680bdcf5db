"""The compiled template-mask scanners (``_native/masks.pyx``) equal RE2 on every text.

RE2's ``replace_substring_regex`` with the mask's pattern and replacement (``template.MASKS``)
is the definition. Texts are generated from an alphabet of exactly the characters the masks
turn on (quotes of five kinds, brackets, colons of two widths, digits and separators,
backticks, every kind of line and space break RE2 tells apart) plus long runs that cross the
patterns' bounds (30, 120, 200 and 300 characters). The module must be built (``pip install
-e .``): these tests fail, not skip, without it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillwatch.signals import template
from distillwatch.signals.template import MASKS, apply_mask, marks
from distillwatch.signals.text import char_classes, string_offsets

NATIVE = template._NATIVE
PIECES = [*"ab1 2.,:/-_\"“”«»「」『』()[]{}`\n\t\r\x0b\x0cé日：'٣½@", "```", "x" * 29, "y" * 119]
URL_PIECES = [*"hts:/w.@a_1 \n\t\x0b\x0cé-", "http://", "https://", "www.", "a@b.c", ".x"]
texts = st.lists(
    st.lists(st.sampled_from(PIECES), max_size=40).map("".join), min_size=1, max_size=6
)
url_texts = st.lists(
    st.lists(st.sampled_from(URL_PIECES), max_size=40).map("".join), min_size=1, max_size=6
)


def scanned(which: int, arr: pa.Array) -> pa.Array:
    assert NATIVE is not None, "distillwatch._native.masks is not built (pip install -e .)"
    offsets, data = string_offsets(arr)
    out = NATIVE.apply(which, offsets, data, char_classes())
    out.validate(full=True)
    return out


def test_the_scanners_are_built_and_cover_the_costly_masks() -> None:
    assert NATIVE is not None
    assert set(NATIVE.NATIVE_MASKS) == {0, 1, 2, 3, 4, 5, 6, 7}


@pytest.mark.parametrize("which", [0, 1, 2, 3, 4, 5, 6, 7])
@settings(max_examples=250, deadline=None)
@given(texts=texts)
def test_each_scanner_equals_re2(which: int, texts: list[str]) -> None:
    arr = pa.array(texts, pa.string())
    mask = MASKS[which]
    want = pc.replace_substring_regex(arr, mask.pattern, mask.replacement)
    assert scanned(which, arr).equals(want)
    assert scanned(which, arr).equals(apply_mask(arr, mask, marks(arr)))


@settings(max_examples=500, deadline=None)
@given(texts=url_texts)
def test_the_url_scanner_equals_re2_on_addresses_and_links(texts: list[str]) -> None:
    arr = pa.array(texts, pa.string())
    mask = MASKS[1]
    assert scanned(1, arr).equals(pc.replace_substring_regex(arr, mask.pattern, mask.replacement))


@pytest.mark.parametrize("which", [0, 1, 2, 3, 4, 5, 6, 7])
def test_each_scanner_on_bounds_and_odd_arrays(which: int) -> None:
    mask = MASKS[which]
    cases = [
        "", "\n", "\n\n", '"' + "q" * 300 + '"', '"' + "q" * 301 + '"', "(" + "é" * 120 + ")",
        "(" + "é" * 121 + ")", "k" * 30 + ": v", "k" * 31 + ": v", "日" * 200, "日" * 199,
        "a" * 199 + "\n" + "b" * 200 + "\n", "1.2.3-4/5:6,7.", "```a``` b ```c", "`````",
        "key：value\nk:\x0bv\nk: \x0cv\n: x\nk:", "«ok» “no\n” 「x」『』", "[a]{b}(c)",
        "'a'", "''a'", "x'a' 'b'", "_'a'", "é'a'", "½'a'", " '" + "q" * 120 + "'",
        " '" + "q" * 121 + "'", "'\n'x'", "it's a 'test'", "see https://x.org/a?b=1 now",
        "http:// x", "https://", "mail a.b@c.d.e_f/g me", "a@b.c@d", "@a.b", "a@.b", "a@b.",
        "xwww.a", "hhttp://a", "a@b.c/http://d",
    ]  # fmt: skip
    arr = pa.array([*cases, None], pa.string()).slice(1)  # an offset and a null
    filled = pc.fill_null(arr, "")
    want = pc.replace_substring_regex(filled, mask.pattern, mask.replacement)
    assert scanned(which, filled).equals(want)
    assert scanned(which, pa.array([], pa.string())).equals(pa.array([], pa.string()))


def test_skeletons_equal_with_and_without_the_scanners() -> None:
    prompts = [
        'Translate to French: "the cat" (quickly) at 12:30 on 2024-01-02',
        "```python\nprint(1)\n```\nExplain the code above.",
        "Q: " + "word " * 60 + "\nA: Let's think step by step.",
        "Review: «great» phone [5 stars]\nSentiment: positive\nWhat is the sentiment?",
        "",
    ]
    lowered = pc.utf8_lower(pa.array(prompts * 20))
    native = template.frame_hash(lowered)
    saved, template._NATIVE = template._NATIVE, None
    try:
        assert np.array_equal(native, template.frame_hash(lowered))
    finally:
        template._NATIVE = saved
