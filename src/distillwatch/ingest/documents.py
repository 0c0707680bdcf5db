"""Inputs that are one JSON document rather than JSON Lines.

LiteLLM's ``/spend/logs`` API (and the UI's export built on it) returns a JSON array of
SpendLogs rows; a pretty-printed OTLP export is one object over many lines. Neither can be cut
at newlines, so the document is parsed whole: each element of an array is one record, an
object is one record. ``line`` in quarantine and ``source_line`` then mean the element's
1-based position in the array. A document larger than :data:`DOCUMENT_LIMIT` is refused with
the advice to convert it to JSON Lines, rather than exhausting memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from distillwatch.ingest.errors import IngestError
from distillwatch.ingest.formats import detect
from distillwatch.ingest.formats.process import MappedChunk, RowsChunk
from distillwatch.ingest.readers import Positioned, read_chunks
from distillwatch.ingest.sources import Source, open_jsonl

#: Decompressed bytes of one JSON document read at most.
DOCUMENT_LIMIT = 512 << 20


def load_document(source: Source) -> list[Any] | None:
    """The records of a JSON document source, or None when the text is not one document.

    Text that only looked like a document (a log of JSON Lines whose first line is ``[``) is
    then read as JSON Lines, so each bad line is quarantined rather than the run stopped.
    """
    with open_jsonl(source) as (stream, _raw):
        data = stream.read(DOCUMENT_LIMIT + 1)
    if len(data) > DOCUMENT_LIMIT:
        raise IngestError(
            f"{source.name}: a JSON document over {DOCUMENT_LIMIT >> 20} MB; "
            "convert it to JSON Lines (jq -c '.[]') to read it in bounded memory",
            file=source.name,
        )
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return document if type(document) is list else [document]


def sniff_document(source: Source) -> tuple[str | None, str | None]:
    """The dialect of a document's first records, and why it is not traffic if none."""
    try:
        records = load_document(source)
    except IngestError as exc:
        return None, str(exc).split(": ", 1)[-1]
    if records is None:
        return None, "not valid JSON"
    for record in records[:8]:
        if (found := detect(record)) is not None:
            return found, None
    if not records:
        return None, None
    return None, "its first records are in no known log format"


def document_chunks(source: Source, rows_per_chunk: int) -> Iterator[Positioned]:
    """The document's records in chunks of ``rows_per_chunk``, mapped with the dialect."""
    records = load_document(source)
    if records is None:  # not one document after all: line by line, quarantining each
        from dataclasses import replace

        yield from read_chunks(replace(source, format="jsonl"))
        return
    total = max(len(records), 1)
    for start in range(0, len(records), rows_per_chunk):
        rows = records[start : start + rows_per_chunk]
        chunk = MappedChunk(RowsChunk(source.name, start + 1, rows), source.dialect)
        done = source.size * min(start + len(rows), total) // total
        yield Positioned(chunk, done)
