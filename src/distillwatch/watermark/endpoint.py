"""Sample a suspect model through an OpenAI-compatible chat completions endpoint.

The radioactivity test needs a lot of the suspect's own text (tens of thousands of distinct
tuples). Most self-hosted and commercial servers speak the OpenAI ``/v1/chat/completions``
protocol, so that is what this client talks, with the standard library only: one prompt per
request, ``n`` completions each. The API key, when needed, is read from an environment
variable, never from the command line (it would land in shell history).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass


class EndpointError(RuntimeError):
    """The endpoint could not be reached or answered something unusable."""


@dataclass(frozen=True)
class EndpointConfig:
    url: str
    model: str
    max_tokens: int = 256
    temperature: float = 1.0
    n: int = 1
    api_key_env: str | None = "OPENAI_API_KEY"
    timeout: float = 60.0

    @property
    def chat_url(self) -> str:
        base = self.url.rstrip("/")
        if base.endswith("/chat/completions"):
            return base
        return base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")


def _request(cfg: EndpointConfig, prompt: str) -> list[str]:
    body = {
        "model": cfg.model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": cfg.max_tokens,
        "temperature": cfg.temperature,
        "n": cfg.n,
    }
    headers = {"Content-Type": "application/json"}
    api_key = os.environ.get(cfg.api_key_env) if cfg.api_key_env else None
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    req = urllib.request.Request(
        cfg.chat_url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=cfg.timeout) as resp:
            data = json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise EndpointError(f"{cfg.chat_url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise EndpointError(f"{cfg.chat_url}: cannot connect ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise EndpointError(f"{cfg.chat_url}: answer is not JSON ({exc})") from exc
    try:
        return [str(c["message"]["content"] or "") for c in data["choices"]]
    except (KeyError, TypeError) as exc:
        raise EndpointError(f"{cfg.chat_url}: answer has no choices[].message.content") from exc


def sample_endpoint(
    cfg: EndpointConfig,
    prompts: Sequence[str],
    on_progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Completions for every prompt (``n`` each), in prompt order."""
    texts: list[str] = []
    for i, prompt in enumerate(prompts):
        texts.extend(_request(cfg, prompt))
        if on_progress is not None:
            on_progress(i + 1)
    return texts
