"""The gateway with the online engine behind it (the default, and ``--assessor online``): a
chain-of-thought harvester is refused once the engine has learned its requests, an ordinary
user is not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from builders import CASUAL, SWEEP  # noqa: E402
from distillwatch.enforce.assessment import Assessment  # noqa: E402
from distillwatch.enforce.combined import CombinedAssessor, combine  # noqa: E402
from distillwatch.gateway import GatewayConfig, build_gateway  # noqa: E402
from distillwatch.gateway.stub import serve_in_thread, stub_app  # noqa: E402
from distillwatch.online.deferred import DeferredAssessor  # noqa: E402

HARVESTERS = 4
KEYS = (
    "".join(
        f"""
[[key]]
id = "key_h{i}"
account = "acct_harvester_{i}"
key = "sk-harvester-{i}"
email_domain = "mailinator.com"   # throw-away sign-ups, all the same day
created = "{{created}}"
"""
        for i in range(HARVESTERS)
    )
    + """
[[key]]
id = "key_u"
account = "acct_user"
key = "sk-user"
"""
)
COT = " Explain your reasoning step by step before giving the final answer."


@pytest.mark.parametrize("choice", ["online", None])
def test_online_engine_behind_the_gateway(tmp_path: Path, choice: str | None) -> None:
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT00:00:00Z")
    (tmp_path / "keys.toml").write_text(KEYS.replace("{created}", today))
    with serve_in_thread(stub_app()) as upstream:
        config = GatewayConfig(
            upstream=upstream + "/v1",
            keys=tmp_path / "keys.toml",
            log_dir=tmp_path / "logs",
            assessor=choice,
        )
        gw = build_gateway(config)
        if choice is None:  # the default: the online engine and the decayed rates
            assert isinstance(gw.assessor, CombinedAssessor)
            online = gw.assessor.parts[0]
        else:
            online = gw.assessor
        assert isinstance(online, DeferredAssessor)
        with serve_in_thread(gw.app) as url:

            def ask(key: str, text: str) -> int:
                body = {"model": "m", "messages": [{"role": "user", "content": text}]}
                headers = {"authorization": f"Bearer {key}"}
                return httpx.post(url + "/v1/chat/completions", json=body, headers=headers,
                                  timeout=10).status_code  # fmt: skip

            # a small hydra: keys of fresh throw-away accounts sharing one client and network
            # (one such account alone is what some phone-app users are: not acted on)
            codes = [
                ask(f"sk-harvester-{i % HARVESTERS}", SWEEP[i % len(SWEEP)] + COT)
                for i in range(80)
            ]
            codes += [ask("sk-user", CASUAL[i % len(CASUAL)]) for i in range(30)]
            assert all(c == 200 for c in codes[:10])  # nothing is judged on 10 requests
            online.flush()
            assert ask("sk-harvester-0", SWEEP[0] + COT) in (403, 428, 429)
            assert ask("sk-user", CASUAL[0]) == 200
        online.close()


def test_combined_assessment_keeps_the_strongest_of_each_side() -> None:
    rates = Assessment("a", cluster_id="keys-cluster", score=0.2, cluster_score=0.6,
                       reasons=("900 requests/min recently",))  # fmt: skip
    engine = Assessment("a", score=0.8, reasons=("93% of prompts elicit step-by-step",),
                        tactics=("cot_harvesting",), distinctive=True)  # fmt: skip
    both = combine([rates, engine])
    assert both.score == 0.8 and both.cluster_id == "keys-cluster" and both.cluster_score == 0.6
    assert both.reasons == ("93% of prompts elicit step-by-step", "900 requests/min recently")
    assert both.tactics == ("cot_harvesting",) and both.distinctive
    with pytest.raises(ValueError, match="at least one"):
        CombinedAssessor([])


def test_the_signal_worker_yields_the_core_to_the_request_path(tmp_path: Path) -> None:
    import os

    with serve_in_thread(stub_app()) as upstream:
        gw = build_gateway(GatewayConfig(upstream=upstream, assessor="online"))
        with serve_in_thread(gw.app):  # start-up lowers the worker's priority
            workers = list(gw.assessor.enricher._processes)  # type: ignore[attr-defined]
            assert workers
            assert all(os.getpriority(os.PRIO_PROCESS, pid) >= 10 for pid in workers)
            assert os.getpriority(os.PRIO_PROCESS, 0) < 10  # the gateway itself is untouched
        gw.assessor.close()  # type: ignore[attr-defined]
