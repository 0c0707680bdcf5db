"""Write tests/fixtures/ingest/otel-genai.jsonl with the real OpenTelemetry SDK.

Spans are made by ``opentelemetry-sdk`` with GenAI semantic-convention attributes and events,
encoded by ``opentelemetry-exporter-otlp-proto-common`` (the encoder the OTLP exporters use)
and written the way the Collector's ``file`` exporter writes them: one
ExportTraceServiceRequest per line in OTLP/JSON (hex ids, integer enums, 64-bit integers as
strings). The trace mixes what a real one holds: an HTTP server span around each call
(passed over), chat spans in the three content styles the conventions have used, an
embeddings span, a tool-execution span (passed over), and one span whose token count is not a
number (quarantined). Run: ``.venv/bin/python scripts/make_otel_fixture.py``.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ingest" / "otel-genai.jsonl"
START = 1_790_000_000 * 10**9  # 2026-09-21, in nanoseconds
ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _hex_ids(node: Any) -> Any:
    """protobuf's JSON writes bytes as base64; OTLP/JSON writes trace and span ids as hex."""
    if isinstance(node, dict):
        return {
            key: base64.b64decode(value).hex() if key in ID_KEYS and value else _hex_ids(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids(item) for item in node]
    return node


class OtlpJsonFileExporter(SpanExporter):
    """The Collector file exporter's output format, one export request per line."""

    def __init__(self, path: Path) -> None:
        self.handle = path.open("w", encoding="utf-8")

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        request = encode_spans(spans)
        data = json_format.MessageToDict(request, use_integers_for_enums=True)
        self.handle.write(json.dumps(_hex_ids(data), separators=(",", ":")) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.handle.close()


PROMPTS = [
    "Solve 17*23 and explain your reasoning step by step.",
    "Translate 'the cat sleeps' into French, German and Japanese.",
    "Write a Python function that checks whether a string is a palindrome.",
    "Rate this answer from 1 to 10 and justify the grade: 'Paris is in Spain.'",
]


def chat_span(tracer: Any, t: int, account: str, i: int, style: str) -> None:
    prompt = PROMPTS[i % len(PROMPTS)]
    answer = f"Answer {i}: step 1, step 2, done."
    with tracer.start_as_current_span(
        "POST /v1/chat/completions",
        kind=SpanKind.SERVER,
        start_time=t,
        attributes={
            "http.request.method": "POST",
            "url.path": "/v1/chat/completions",
            "http.response.status_code": 200,
        },
        end_on_exit=False,
    ) as http:
        span = tracer.start_span(
            "chat gpt-4o-mini",
            kind=SpanKind.CLIENT,
            start_time=t + 1_000_000,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.request.temperature": 0.2 + (i % 3) / 10,
                "gen_ai.request.max_tokens": 512,
                "gen_ai.response.id": f"chatcmpl-{i}",
                "gen_ai.response.finish_reasons": ["stop"],
                "gen_ai.usage.input_tokens": 40 + i,
                "gen_ai.usage.output_tokens": 12 + i,
                "user.id": account,
                "client.address": f"203.0.113.{10 + i % 5}",
                "user_agent.original": "python-httpx/0.28",
            },
        )
        if style == "attributes":  # semantic conventions 1.37+
            span.set_attribute(
                "gen_ai.system_instructions",
                json.dumps([{"type": "text", "content": "You are a careful tutor."}]),
            )
            span.set_attribute(
                "gen_ai.input.messages",
                json.dumps([{"role": "user", "parts": [{"type": "text", "content": prompt}]}]),
            )
            span.set_attribute(
                "gen_ai.output.messages",
                json.dumps(
                    [
                        {
                            "role": "assistant",
                            "parts": [{"type": "text", "content": answer}],
                            "finish_reason": "stop",
                        }
                    ]
                ),
            )
        elif style == "events":  # per-message events (conventions 1.28-1.36)
            span.add_event(
                "gen_ai.system.message",
                {"content": "You are a careful tutor."},
                timestamp=t + 1_100_000,
            )
            span.add_event("gen_ai.user.message", {"content": prompt}, timestamp=t + 1_100_000)
            span.add_event(
                "gen_ai.choice",
                {"index": 0, "finish_reason": "stop", "message": json.dumps({"content": answer})},
                timestamp=t + 900_000_000,
            )
        else:  # OpenLLMetry's indexed attributes
            span.set_attribute("gen_ai.prompt.0.role", "user")
            span.set_attribute("gen_ai.prompt.0.content", prompt)
            span.set_attribute("gen_ai.completion.0.role", "assistant")
            span.set_attribute("gen_ai.completion.0.content", answer)
        span.end(end_time=t + 950_000_000)
        http.end(end_time=t + 960_000_000)


def main() -> int:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    exporter = OtlpJsonFileExporter(OUT)
    provider = TracerProvider(resource=Resource.create({"service.name": "inference-gateway"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("distillwatch.fixture", "1.0")
    styles = ("attributes", "events", "indexed")
    for i in range(12):
        account = f"acct_{i % 4}"
        chat_span(tracer, START + i * 60 * 10**9, account, i, styles[i % 3])
    emb = tracer.start_span(
        "embeddings text-embedding-3-small",
        start_time=START + 10**12,
        attributes={
            "gen_ai.operation.name": "embeddings",
            "gen_ai.request.model": "text-embedding-3-small",
            "gen_ai.usage.input_tokens": 9,
            "user.id": "acct_1",
        },
    )
    emb.end(end_time=START + 10**12 + 50_000_000)
    tool = tracer.start_span(
        "execute_tool get_weather",
        start_time=START + 2 * 10**12,
        attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather"},
    )
    tool.end(end_time=START + 2 * 10**12 + 10**6)
    bad = tracer.start_span(
        "chat gpt-4o-mini",
        start_time=START + 3 * 10**12,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": "lots",
            "user.id": "acct_2",
        },
    )
    bad.set_status(Status(StatusCode.ERROR, "upstream timeout"))
    bad.end(end_time=START + 3 * 10**12 + 10**6)
    provider.shutdown()
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
