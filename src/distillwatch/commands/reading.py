"""The options every command that reads logs shares: ``--from``, ``--mapping``, ``--query``.

``ingest``, ``scan`` and ``replay`` read logs the same way (``docs/readers.md``), so they take
the same three options, declared once here.
"""

from __future__ import annotations

from pathlib import Path

import typer

from distillwatch.ingest import IngestError
from distillwatch.ingest.formats import DIALECTS, Dialect
from distillwatch.ingest.formats.mapping import NO_MAPPING, load_mapping

LOGS_HELP = (
    "Log files (.jsonl/.json/.ndjson, optionally .gz/.zst, or .parquet) or directories holding "
    "them, object-store URLs (s3://bucket/prefix/, any fsspec URL), or a postgresql:// DSN."
)

FROM_OPTION = typer.Option(
    "auto",
    "--from",
    help="Log format: auto (per file, where unambiguous), v1, litellm (SpendLogs), otel "
    "(OTLP JSON GenAI spans), openai-log (request/response JSON Lines). See docs/readers.md.",
)
MAPPING_OPTION = typer.Option(
    None, "--mapping", help="TOML file naming where a log keeps fields (docs/readers.md)."
)
QUERY_OPTION = typer.Option(
    None,
    "--query",
    help="SQL for postgresql:// inputs (default for litellm: the whole SpendLogs table).",
)


def dialect_option(name: str, mapping: Path | None) -> Dialect | None:
    """The ``--from`` choice as a dialect (None: detect per file), with its mapping file."""
    if name not in DIALECTS:
        raise IngestError(f"--from {name!r}: expected one of {', '.join(DIALECTS)}")
    fields = NO_MAPPING if mapping is None else load_mapping(mapping)
    if name == "auto":
        if fields.fields:
            raise IngestError("--mapping needs --from: a mapping is written for one format")
        return None
    return Dialect(name, fields)
