"""The two table shapes every stage agrees on.

* **Traffic log v1** is what users hand us (see ``DESIGN.md`` and the JSON Schema in
  ``schemas/traffic-log-v1.schema.json``). It is nested and loosely typed, as real logs are.
* **Requests v1** is what ``ingest`` turns each record into: one flat, typed row per request,
  stored as Parquet. Signals, state and detection read only this shape, never raw logs, so a
  new input format is a new reader and nothing else.

The columns are declared once, here, as a PyArrow schema, so that DuckDB, Polars and a future
Spark back end all see the same names and types.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import pyarrow as pa

TRAFFIC_LOG_VERSION = "1"
REQUESTS_VERSION = "1"

#: Fields a traffic log v1 record must carry.
REQUIRED_FIELDS: tuple[str, ...] = ("ts", "account_id", "request_id")

#: Values allowed in the ``endpoint`` field.
ENDPOINTS: tuple[str, ...] = ("chat", "completion", "responses", "embedding")

#: Keys of the ``params`` object that the contract names.
PARAM_FIELDS: tuple[str, ...] = (
    "temperature",
    "top_p",
    "max_tokens",
    "n",
    "logprobs",
    "top_logprobs",
    "stream",
    "reasoning_effort",
)

_TS = pa.timestamp("us", tz="UTC")

#: The flat, typed row that ``ingest`` writes for every valid record.
REQUESTS_SCHEMA = pa.schema(
    [
        # identity and time
        pa.field("ts", _TS, nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("key_id", pa.string()),
        pa.field("org_id", pa.string()),
        # infrastructure and account metadata
        pa.field("ip", pa.string()),
        pa.field("user_agent", pa.string()),
        pa.field("country", pa.string()),
        pa.field("asn", pa.int64()),
        pa.field("account_created", _TS),
        pa.field("payment_fingerprint", pa.string()),
        pa.field("email_domain", pa.string()),
        # what was asked
        pa.field("model", pa.string()),
        pa.field("endpoint", pa.string()),
        pa.field("system_prompt", pa.string()),
        pa.field("last_user", pa.string()),
        pa.field("n_messages", pa.int32()),
        pa.field("n_user_turns", pa.int32()),
        pa.field("n_assistant_turns", pa.int32()),
        pa.field("n_tool_results", pa.int32()),
        pa.field("n_tools", pa.int32()),
        # sampling parameters
        pa.field("temperature", pa.float64()),
        pa.field("top_p", pa.float64()),
        pa.field("max_tokens", pa.int64()),
        pa.field("n", pa.int32()),
        pa.field("logprobs", pa.bool_()),
        pa.field("top_logprobs", pa.int32()),
        pa.field("stream", pa.bool_()),
        pa.field("reasoning_effort", pa.string()),
        # what came back
        pa.field("response_chars", pa.int64()),
        pa.field("finish_reason", pa.string()),
        pa.field("n_tool_calls", pa.int32()),
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("reasoning_tokens", pa.int64()),
        pa.field("status", pa.int32()),
        pa.field("latency_ms", pa.float64()),
        # provenance, so any row can be traced back to its line
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_line", pa.int64(), nullable=False),
    ],
    metadata={"distillwatch.requests_version": REQUESTS_VERSION},
)

REQUEST_COLUMNS: tuple[str, ...] = tuple(REQUESTS_SCHEMA.names)


def traffic_log_json_schema() -> dict[str, Any]:
    """The published JSON Schema of one traffic log v1 record."""
    import json

    text = (
        resources.files("distillwatch")
        .joinpath("schemas/traffic-log-v1.schema.json")
        .read_text(encoding="utf-8")
    )
    result: dict[str, Any] = json.loads(text)
    return result
