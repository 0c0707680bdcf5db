"""Reading the text to test: a plain file, JSON Lines, or standard input.

A plain text file (or stdin) is one document. JSON Lines hold one document per line, read
from ``text``, from a traffic log v1 record's ``response.text``, from an OpenAI chat
completion's ``choices[].message.content``, or a bare JSON string — so logged answers,
sampled completions and simple corpora all work without conversion. Documents are kept
apart because a context window must not span two of them.
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson


class TextInputError(ValueError):
    """Input that holds no usable text, with the file and line."""


def is_jsonl(name: str) -> bool:
    return name.endswith((".jsonl", ".jsonl.gz", ".ndjson"))


def _text_of(record: Any) -> str | None:
    if isinstance(record, str):
        return record
    if not isinstance(record, dict):
        return None
    if isinstance(record.get("text"), str):
        return str(record["text"])
    response = record.get("response")
    if isinstance(response, dict) and isinstance(response.get("text"), str):
        return str(response["text"])
    choices = record.get("choices")
    if isinstance(choices, list):
        parts = [c.get("message", {}).get("content") for c in choices if isinstance(c, dict)]
        texts = [p for p in parts if isinstance(p, str)]
        return "\n".join(texts) if texts else None
    return None


def _records(lines: list[str], where: str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) of every non-blank line; bad JSON names file and line."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise TextInputError(f"{where}:{number}: not JSON ({exc})") from exc


def parse_jsonl(lines: list[str], where: str) -> list[str]:
    docs: list[str] = []
    for number, record in _records(lines, where):
        text = _text_of(record)
        if text is None:
            raise TextInputError(
                f"{where}:{number}: no text (expected 'text', 'response.text' "
                "or 'choices[].message.content')"
            )
        docs.append(text)
    return docs


def _read_raw(source: str) -> tuple[str, str]:
    """The text of ``source`` (a path, ``.gz`` allowed, or ``-`` for stdin) and its name."""
    if source == "-":
        data = sys.stdin.read()
        where = "<stdin>"
    else:
        path = Path(source)
        if not path.is_file():
            raise TextInputError(f"input not found: {source}")
        try:
            raw = path.read_bytes()
            data = (gzip.decompress(raw) if source.endswith(".gz") else raw).decode("utf-8")
        except (OSError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
            raise TextInputError(f"{source}: cannot read text ({exc})") from exc
        where = source
    return data, where


def read_texts(source: str, jsonl: bool = False) -> list[str]:
    """Documents from ``source`` (a path, or ``-`` for stdin)."""
    data, where = _read_raw(source)
    docs = parse_jsonl(data.splitlines(), where) if jsonl or is_jsonl(source) else [data]
    if not any(d.strip() for d in docs):
        raise TextInputError(f"{where}: no text to test")
    return docs


def read_token_ids(source: str) -> list[npt.NDArray[np.int64]]:
    """Token-id documents from JSON Lines: ``{"ids": [...]}`` or a bare list per line.

    For a provider's own logs, which can keep the ids the model produced: no tokenizer, no
    re-tokenisation drift, and detection at its full speed.
    """
    data, where = _read_raw(source)
    docs = []
    for number, record in _records(data.splitlines(), where):
        ids = record.get("ids", record.get("token_ids")) if isinstance(record, dict) else record
        if not isinstance(ids, list) or not all(isinstance(i, int) and i >= 0 for i in ids):
            raise TextInputError(f"{where}:{number}: expected 'ids', a list of token ids >= 0")
        docs.append(np.asarray(ids, dtype=np.int64))
    if not docs:
        raise TextInputError(f"{where}: no token ids to test")
    return docs
