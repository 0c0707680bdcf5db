"""Hypothesis against the gateway: odd paths and hostile bodies, sent byte for byte.

Whatever is sent: the gateway itself never answers 5xx, and every request it let through to
the upstream is in the traffic log, readable by ``scan`` (the ingest check, then a strict
ingest of the whole log) — no answered request is missing from detection's view.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("uvicorn")

from distillwatch.gateway.stub import serve_in_thread, stub_app
from distillwatch.ingest import iter_batches
from distillwatch.ingest.normalize import check_record
from gateway_kit import ALICE, raw_request, records, running

ROUTES = ["/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings",
          "/v1/messages", "/chat/completions", "/v1/models", "/model/info"]  # fmt: skip
#: Characters a request line may carry (the HTTP parser refuses the rest before the gateway).
PIECES = st.sampled_from([*"/._-~%2Fv1:@+?=&abcXYZ", "..", "//", "%2e", "%00", "/v1", "/chat"])
tails = st.lists(PIECES, max_size=8).map("".join)
routes = st.sampled_from(ROUTES)
paths = st.one_of(
    routes,
    routes,
    routes,
    st.builds(lambda route, tail: route + tail, routes, tails),
    tails.map(lambda tail: "/" + tail),
)
KEYS = [
    "model", "messages", "role", "content", "text", "type", "prompt", "input", "system",
    "instructions", "n", "temperature", "top_p", "max_tokens", "max_completion_tokens",
    "logprobs", "top_logprobs", "stream", "tools", "reasoning_effort", "reasoning", "user",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["user", "assistant", "system", "tool", "0.7", "true", "hot", "text"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=20,
)
message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system"]),
     "content": st.one_of(st.text(max_size=40), st.text(max_size=40), values)}
)  # fmt: skip
chat = st.fixed_dictionaries(
    {"model": values, "messages": st.lists(st.one_of(message, message, values), max_size=3)},
    optional={k: values for k in KEYS[6:]},
)
bodies = st.one_of(
    chat.map(orjson.dumps),
    chat.map(orjson.dumps),
    st.dictionaries(st.sampled_from(KEYS), values, max_size=6).map(orjson.dumps),
    values.map(orjson.dumps),
    st.binary(max_size=64),
    chat.map(orjson.dumps).map(lambda b: b[: len(b) // 2]),
)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    where: Path = tmp_path_factory.mktemp("fuzz")
    with serve_in_thread(stub_app()) as upstream, running(where, upstream) as (gw, url):
        yield gw, url


# derandomize: the same 250 examples every run, so the coverage check below cannot fail by
# chance (a random run under load reached only 4 answered requests; this one reaches 5).
@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.function_scoped_fixture])  # fmt: skip
@given(method=st.sampled_from(["POST", "POST", "POST", "GET"]), path=paths, body=bodies)
def one_request(gateway, method: str, path: str, body: bytes) -> None:
    """One fuzzed request: no 5xx; an enforced route's request is logged, readable."""
    gw, url = gateway
    directory = gw.config.log_dir / "traffic"
    before = len(records(directory))
    headers = {**ALICE, "content-type": "application/json"}
    status, answer_headers, _ = raw_request(url, method, path, headers, body)
    assert status < 500, (method, path, body, status)
    logged = records(directory)[before:]
    request_id = answer_headers.get("x-distillwatch-request-id")
    if request_id is None:  # not an enforced route: refused before anything was served
        assert status in (404, 405) or path.lstrip("/").startswith(("v1/models", "models"))
        assert logged == []
        return
    (record,) = logged
    assert record["request_id"] == request_id and record["status"] == status
    assert check_record(record) is None, (record, check_record(record))


def test_no_5xx_and_every_answer_is_in_scans_view(gateway) -> None:
    one_request(gateway)  # the Hypothesis search: every example checked as it is sent
    gw, _ = gateway
    directory = gw.config.log_dir / "traffic"
    logged = records(directory)
    statuses = Counter(r["status"] for r in logged)
    # the search reached both sides. How many examples reach an enforced route varies with
    # what ran before in the process (alone: 5 answered, 26 refused; after other suites'
    # tests: 13 / 8 and 30 / 37), so the bounds say "both", not "this many"
    assert statuses[200] >= 3 and statuses[400] >= 5, statuses
    rows = sum(b.num_rows for b in iter_batches([directory], strict=True))
    assert rows == len(logged)  # a strict ingest reads every record
