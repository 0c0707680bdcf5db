"""A tiny OpenAI-compatible model server, for trying the gateway, its tests and benchmarks.

It answers chat completions, completions and responses (streamed or not) by echoing the last
user message, with usage counts, like a real server would shape them. ``serve_in_thread``
runs any ASGI app on a loopback port in a background thread (tests); ``python -m
distillwatch.gateway.stub --port 8001`` runs the stub in its own process (benchmarks).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

#: A fixed ``created`` time, so a response through the gateway can be compared byte for byte.
CREATED = 1_700_000_000


def _last_user(payload: dict[str, Any]) -> str:
    """The text to echo: whatever the request's shape (the fuzz test sends odd ones)."""
    if isinstance(payload.get("prompt"), str):
        return str(payload["prompt"])
    if isinstance(payload.get("input"), str):
        return str(payload["input"])
    messages = payload.get("messages") or payload.get("input")
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else orjson.dumps(content).decode()
    return ""


def _delay(payload: dict[str, Any]) -> float:
    value = payload.get("stub_delay", 0)
    return min(float(value), 5.0) if isinstance(value, int | float) else 0.0


def _json(data: dict[str, Any]) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def _sse(
    events: list[dict[str, Any]], done: bool, delay: float = 0.0, log: list[str] | None = None
) -> StreamingResponse:
    """An event stream; ``delay`` seconds between events (``stub_delay`` in the request).

    ``log`` gets ``finished`` or ``cancelled`` when the stream ends: whether a client that
    went away made the server stop generating.
    """

    async def body() -> AsyncIterator[bytes]:
        outcome = "cancelled"
        try:
            for event in events:
                yield b"data: " + orjson.dumps(event) + b"\n\n"
                await asyncio.sleep(delay)
            if done:
                yield b"data: [DONE]\n\n"
            outcome = "finished"
        finally:
            if log is not None:
                log.append(outcome)

    return StreamingResponse(body(), media_type="text/event-stream")


async def chat(request: Request) -> Response:
    payload = await request.json()
    request.app.state.seen.append({"headers": dict(request.headers), "body": payload})
    text = "echo: " + _last_user(payload)
    words = text.split(" ")
    usage = {"prompt_tokens": 7, "completion_tokens": len(words), "total_tokens": 7 + len(words)}
    base = {"id": "chatcmpl-stub", "created": CREATED, "model": payload.get("model")}
    if not payload.get("stream"):
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
        }
        return _json({**base, "object": "chat.completion", "choices": [choice], "usage": usage})
    chunks = [
        {
            **base,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": w if i == 0 else " " + w}}],
        }
        for i, w in enumerate(words)
    ]
    last = {"index": 0, "delta": {}, "finish_reason": "stop"}
    chunks.append({**base, "object": "chat.completion.chunk", "choices": [last]})
    chunks.append({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
    delay = _delay(payload)
    return _sse(chunks, done=True, delay=delay, log=request.app.state.streams)


async def completions(request: Request) -> Response:
    payload = await request.json()
    request.app.state.seen.append({"headers": dict(request.headers), "body": payload})
    text = "echo: " + _last_user(payload)
    usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    base = {"id": "cmpl-stub", "object": "text_completion", "model": payload.get("model")}
    if not payload.get("stream"):
        choice = {"index": 0, "text": text, "finish_reason": "stop"}
        return _json({**base, "choices": [choice], "usage": usage})
    chunks = [{**base, "choices": [{"index": 0, "text": w + " "}]} for w in text.split(" ")]
    chunks[-1]["choices"][0]["finish_reason"] = "length"
    chunks[-1]["usage"] = usage
    return _sse(chunks, done=True, delay=_delay(payload))


async def responses(request: Request) -> Response:
    payload = await request.json()
    request.app.state.seen.append({"headers": dict(request.headers), "body": payload})
    text = "echo: " + _last_user(payload)
    usage = {
        "input_tokens": 4,
        "output_tokens": 2,
        "output_tokens_details": {"reasoning_tokens": 1},
    }
    whole = {
        "id": "resp-stub",
        "object": "response",
        "status": "completed",
        "output": [{"type": "message", "content": [{"type": "output_text", "text": text}]}],
        "usage": usage,
    }
    if not payload.get("stream"):
        return _json(whole)
    events: list[dict[str, Any]] = [{"type": "response.created", "response": {"id": "resp-stub"}}]
    events += [{"type": "response.output_text.delta", "delta": w} for w in (text[:5], text[5:])]
    events.append({"type": "response.completed", "response": whole})
    return _sse(events, done=False, delay=_delay(payload))


async def messages(request: Request) -> Response:
    """Anthropic messages (``/v1/messages``), as LiteLLM's proxy also serves them."""
    payload = await request.json()
    request.app.state.seen.append({"headers": dict(request.headers), "body": payload})
    text = "echo: " + _last_user(payload)
    usage = {"input_tokens": 6, "output_tokens": len(text.split(" "))}
    whole = {
        "id": "msg-stub",
        "type": "message",
        "role": "assistant",
        "model": payload.get("model"),
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "usage": usage,
    }
    if not payload.get("stream"):
        return _json(whole)
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {**whole, "content": [], "usage": usage}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}
        for t in (text[:5], text[5:])
    ]
    events.append({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": usage})
    return _sse(events, done=False, delay=_delay(payload))


async def models(request: Request) -> Response:
    return _json({"object": "list", "data": [{"id": "stub-model", "object": "model"}]})


async def model(request: Request) -> Response:
    """One model; ``moved`` answers with a redirect naming this server's own address."""
    name = request.path_params["name"]
    if name == "moved":
        return Response(status_code=307, headers={"location": str(request.url_for("models"))})
    return _json({"id": name, "object": "model"})


async def admin(request: Request) -> Response:
    """An admin route of the kind LiteLLM serves (``/model/info``): must never be reachable."""
    return _json({"data": [{"model_name": "stub-model", "litellm_params": {"api_base": "x"}}]})


def stub_app() -> Starlette:
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/completions", completions, methods=["POST"]),
            Route("/v1/responses", responses, methods=["POST"]),
            Route("/v1/messages", messages, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"], name="models"),
            Route("/v1/models/{name}", model, methods=["GET"]),
            Route("/model/info", admin, methods=["GET"]),
        ]
    )
    app.state.seen = []
    app.state.streams = []
    return app


def free_socket(host: str = "127.0.0.1") -> socket.socket:
    """A listening-ready TCP socket bound to a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Run an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", loop="asyncio", server_header=False, date_header=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the OpenAI-compatible stub server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(stub_app(), host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
