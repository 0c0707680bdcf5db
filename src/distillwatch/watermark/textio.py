"""Reading the text to test: a plain file, JSON Lines, or standard input — streamed.

A plain text file (or stdin) is one document. JSON Lines hold one document per line, read
from ``text``, from a traffic log v1 record's ``response.text``, from an OpenAI chat
completion's ``choices[].message.content``, or a bare JSON string — so logged answers,
sampled completions and simple corpora all work without conversion. Documents are kept
apart because a context window must not span two of them.

JSON Lines are split on ``\\n`` only. ``str.splitlines()`` also splits on U+2028, U+2029,
U+0085 and a few control characters, which ``json.dumps(..., ensure_ascii=False)`` leaves
raw inside strings: valid lines would be cut and rejected. Everything is read
incrementally (binary lines, or blocks of a plain file cut at a newline) so that a large
input never has to fit in memory at once.
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson

#: characters of plain text handed on at a time (a piece ends at a newline when it can)
PIECE_BYTES = 1 << 20
#: longest JSON Lines line (one document) accepted; a longer one is refused, never read whole
MAX_LINE_BYTES = 64 << 20


class _Binary(Protocol):
    """What the readers need of an input: blocks and ``\n``-terminated lines of bytes."""

    def read(self, n: int = -1, /) -> bytes: ...

    def readline(self, n: int = -1, /) -> bytes: ...


class TextInputError(ValueError):
    """Input that holds no usable text, with the file and line."""


@dataclass(frozen=True)
class Piece:
    """Text of one document, or a consecutive part of a long one.

    ``doc`` numbers documents from 0 in input order; ``line`` is the JSON Lines line the
    document came from (0 for plain text), so results can point back into the file.
    """

    doc: int
    line: int
    text: str


def is_jsonl(name: str) -> bool:
    return name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"))


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


@contextmanager
def _open(source: str) -> Iterator[tuple[_Binary, str]]:
    """A binary stream of ``source`` (a path, ``.gz`` allowed, or ``-`` for stdin)."""
    if source == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:  # a text-only stdin (embedded use): re-encode as it comes
            yield _Encoded(sys.stdin), "<stdin>"
        else:
            yield stdin, "<stdin>"
        return
    path = Path(source)
    if not path.is_file():
        raise TextInputError(f"input not found: {source}")
    try:
        with gzip.open(path, "rb") if source.endswith(".gz") else path.open("rb") as fh:
            yield fh, source
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise TextInputError(f"{source}: cannot read ({exc})") from exc


class _Encoded:
    """Minimal binary view of a text stream (``read`` and line iteration)."""

    def __init__(self, text: IO[str]) -> None:
        self.text = text

    def read(self, n: int = -1) -> bytes:
        return self.text.read(n).encode("utf-8")

    def readline(self, n: int = -1) -> bytes:
        return self.text.readline(n).encode("utf-8")


def _lines(fh: _Binary, where: str) -> Iterator[tuple[int, bytes]]:
    """(line number, content) for every line, split on ``\\n`` only (``\\r\\n`` too)."""
    number = 0
    while raw := fh.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise TextInputError(
                f"{where}:{number}: line longer than {MAX_LINE_BYTES:,} bytes (one document)"
            )
        yield number, raw.rstrip(b"\r\n")


def _records(fh: _Binary, where: str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) of every non-blank line; bad JSON names file and line."""
    for number, line in _lines(fh, where):
        if not line.strip():
            continue
        try:
            yield number, orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise TextInputError(f"{where}:{number}: not JSON ({exc})") from exc


def _jsonl_pieces(fh: _Binary, where: str, _: int = 0) -> Iterator[Piece]:
    for doc, (number, record) in enumerate(_records(fh, where)):
        text = _text_of(record)
        if text is None:
            raise TextInputError(
                f"{where}:{number}: no text (expected 'text', 'response.text' "
                "or 'choices[].message.content')"
            )
        yield Piece(doc, number, text)


def _cut(block: bytes) -> int:
    """Where to end a piece of plain text: after the last newline, else before the last
    space (BPE attaches a space to the word after it), else at a UTF-8 character boundary.
    Cutting where the tokenizer would split anyway keeps the ids those of the whole text."""
    at = block.rfind(b"\n")
    if at >= 0:
        return at + 1
    at = block.rfind(b" ")
    if at > 0:
        return at
    end = len(block)
    while end > 0 and block[end - 1] & 0xC0 == 0x80:
        end -= 1
    return end - 1 if end > 0 and block[end - 1] >= 0xC0 else len(block)


def _plain_pieces(fh: _Binary, where: str, piece_bytes: int) -> Iterator[Piece]:
    rest = b""
    while True:
        block = fh.read(piece_bytes)
        data = rest + block
        if not block:
            if data:
                yield Piece(0, 0, _decode(data, where))
            return
        at = _cut(data) or len(data)
        rest = data[at:]
        yield Piece(0, 0, _decode(data[:at], where))


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TextInputError(f"{where}: cannot read text ({exc})") from exc


def iter_pieces(
    source: str, jsonl: bool = False, piece_bytes: int = PIECE_BYTES
) -> Iterator[Piece]:
    """Documents of ``source`` in order, a long plain-text document in several pieces.

    Raises ``TextInputError`` at the end when no piece held anything but whitespace.
    """
    seen = False
    with _open(source) as (fh, where):
        read = _jsonl_pieces if jsonl or is_jsonl(source) else _plain_pieces
        for piece in read(fh, where, piece_bytes):
            seen = seen or bool(piece.text.strip())
            yield piece
        if not seen:
            raise TextInputError(f"{where}: no text to test")


def read_texts(source: str, jsonl: bool = False) -> list[str]:
    """All documents of ``source`` (a path, or ``-`` for stdin), in memory."""
    docs: list[list[str]] = []
    for piece in iter_pieces(source, jsonl):
        if piece.doc == len(docs):
            docs.append([])
        docs[piece.doc].append(piece.text)
    return ["".join(parts) for parts in docs]


def iter_token_ids(source: str) -> Iterator[tuple[int, npt.NDArray[np.int64]]]:
    """(line number, ids) of token-id documents: ``{"ids": [...]}`` or a bare list per line.

    For a provider's own logs, which can keep the ids the model produced: no tokenizer, no
    re-tokenisation drift, and detection at its full speed.
    """
    seen = False
    with _open(source) as (fh, where):
        for number, record in _records(fh, where):
            ids = record.get("ids", record.get("token_ids")) if isinstance(record, dict) else record
            if not isinstance(ids, list) or not all(isinstance(i, int) and i >= 0 for i in ids):
                raise TextInputError(f"{where}:{number}: expected 'ids', a list of token ids >= 0")
            seen = True
            yield number, np.asarray(ids, dtype=np.int64)
        if not seen:
            raise TextInputError(f"{where}: no token ids to test")


def read_token_ids(source: str) -> list[npt.NDArray[np.int64]]:
    """All token-id documents of ``source``, in memory."""
    return [ids for _, ids in iter_token_ids(source)]


def read_lines(source: str) -> list[str]:
    """Non-blank lines of a plain text file (prompts, account ids), split on ``\\n`` only."""
    with _open(source) as (fh, where):
        lines = [_decode(line, f"{where}:{n}") for n, line in _lines(fh, where)]
    return [line for line in lines if line.strip()]
