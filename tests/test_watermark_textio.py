"""Reading documents to test: JSON Lines split on ``\\n`` only, streamed, with clear errors.

``str.splitlines()`` also splits on U+2028, U+2029, U+0085 and other separators that
``json.dumps(..., ensure_ascii=False)`` leaves raw inside strings, so valid lines were cut
in half and reported as "not JSON". These tests write such files the way the project's own
``radioactive --save-samples`` does.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from distillwatch.watermark.textio import TextInputError, iter_pieces, read_texts, read_token_ids

#: separators that ``str.splitlines`` honours but JSON Lines does not
SEPARATORS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\r"]


def write_jsonl(path: Path, records: list[object]) -> None:
    lines = (json.dumps(r, ensure_ascii=False) for r in records)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


@pytest.mark.parametrize("name", ["docs.jsonl", "docs.jsonl.gz"])
def test_unicode_line_separators_inside_strings_are_text(tmp_path: Path, name: str) -> None:
    docs = [f"first{sep}second" for sep in SEPARATORS] + ["plain"]
    path = tmp_path / name
    write_jsonl(path, [{"text": d} for d in docs])
    assert read_texts(str(path)) == docs


def test_crlf_lines_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b'{"text": "a"}\r\n\r\n{"text": "b\\u2028c"}\r\n')
    assert read_texts(str(path)) == ["a", "b\u2028c"]


def test_token_ids_next_to_separators(tmp_path: Path) -> None:
    path = tmp_path / "ids.jsonl"
    write_jsonl(path, [{"ids": [1, 2], "note": "x\u2028y"}, [3, 4, 5]])
    assert [d.tolist() for d in read_token_ids(str(path))] == [[1, 2], [3, 4, 5]]


def test_bad_line_is_named_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine\u2028still fine"}\n{"text": \n', encoding="utf-8")
    with pytest.raises(TextInputError, match=r"bad\.jsonl:2: not JSON"):
        read_texts(str(path))


def test_an_overlong_line_is_refused_not_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distillwatch.watermark import textio

    monkeypatch.setattr(textio, "MAX_LINE_BYTES", 64)
    path = tmp_path / "long.jsonl"
    write_jsonl(path, [{"text": "short"}, {"text": "x" * 200}])
    with pytest.raises(TextInputError, match=r"long\.jsonl:2: line longer than 64 bytes"):
        read_texts(str(path))
    write_jsonl(path, [{"text": "y" * 51}])  # 64 bytes with its newline: accepted
    assert read_texts(str(path)) == ["y" * 51]


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.jsonl", ""), ("blank.txt", "   \n"), ("empty-text.jsonl", '{"text": " "}\n')],
)
def test_no_text_is_an_error(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(TextInputError, match="no text to test"):
        read_texts(str(path))
    with pytest.raises(TextInputError, match="no text to test"):
        list(iter_pieces(str(path)))


def test_no_token_ids_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "ids.jsonl"
    path.write_text("\n\n")
    with pytest.raises(TextInputError, match="no token ids to test"):
        read_token_ids(str(path))
