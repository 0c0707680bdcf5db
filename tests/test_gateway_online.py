"""The gateway with the online engine behind it (``--assessor
distillwatch.online.deferred:for_gateway``): a chain-of-thought harvester is refused once
the engine has learned its requests, an ordinary user is not."""

from __future__ import annotations

from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from builders import CASUAL, SWEEP  # noqa: E402
from distillwatch.gateway import GatewayConfig, build_gateway  # noqa: E402
from distillwatch.gateway.stub import serve_in_thread, stub_app  # noqa: E402
from distillwatch.online.deferred import DeferredAssessor  # noqa: E402

KEYS = """
[[key]]
id = "key_h"
account = "acct_harvester"
key = "sk-harvester"

[[key]]
id = "key_u"
account = "acct_user"
key = "sk-user"
"""
COT = " Explain your reasoning step by step before giving the final answer."


def test_online_engine_behind_the_gateway(tmp_path: Path) -> None:
    (tmp_path / "keys.toml").write_text(KEYS)
    with serve_in_thread(stub_app()) as upstream:
        config = GatewayConfig(
            upstream=upstream + "/v1",
            keys=tmp_path / "keys.toml",
            log_dir=tmp_path / "logs",
            assessor="distillwatch.online.deferred:for_gateway",
        )
        gw = build_gateway(config)
        assert isinstance(gw.assessor, DeferredAssessor)
        with serve_in_thread(gw.app) as url:

            def ask(key: str, text: str) -> int:
                body = {"model": "m", "messages": [{"role": "user", "content": text}]}
                headers = {"authorization": f"Bearer {key}"}
                return httpx.post(url + "/v1/chat/completions", json=body, headers=headers,
                                  timeout=10).status_code  # fmt: skip

            codes = [ask("sk-harvester", SWEEP[i % len(SWEEP)] + COT) for i in range(60)]
            codes += [ask("sk-user", CASUAL[i % len(CASUAL)]) for i in range(30)]
            assert all(c == 200 for c in codes[:10])  # nothing is judged on 10 requests
            gw.assessor.flush()
            assert ask("sk-harvester", SWEEP[0] + COT) in (403, 428, 429)
            assert ask("sk-user", CASUAL[0]) == 200
        gw.assessor.close()
