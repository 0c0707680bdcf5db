"""Shared test helpers: a complete, valid traffic log v1 record to vary per test."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

_RECORD: dict[str, Any] = {
    "ts": "2026-02-01T12:00:00.250Z",
    "account_id": "acct_1",
    "request_id": "req_1",
    "key_id": "key_1",
    "org_id": "org_1",
    "ip": "198.51.100.7",
    "user_agent": "openai-python/1.54.0",
    "country": "DE",
    "asn": 3320,
    "account_created": "2025-12-24T08:00:00+01:00",
    "payment_fingerprint": "pf_9",
    "email_domain": "example.org",
    "model": "frontier-large",
    "endpoint": "chat",
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"},
    ],
    "params": {"temperature": 0.7, "max_tokens": 256, "n": 1, "stream": False},
    "response": {"text": "6", "finish_reason": "stop"},
    "usage": {"input_tokens": 31, "output_tokens": 1},
    "status": 200,
    "latency_ms": 412.5,
}


@pytest.fixture
def make_record() -> Callable[..., dict[str, Any]]:
    """``make_record(i, **changes)``: a valid record with request id ``req_<i>``, then changes.

    A change whose value is ``...`` deletes the field.
    """

    def build(i: int = 1, **changes: Any) -> dict[str, Any]:
        record = copy.deepcopy(_RECORD)
        record["request_id"] = f"req_{i}"
        for key, value in changes.items():
            if value is ...:
                record.pop(key, None)
            else:
                record[key] = value
        return record

    return build


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep ``--dist loadgroup`` (``make test``) sending each ``xdist_group`` to one worker.

    pytest-xdist 3.8 groups tests by appending ``@group`` to ``item._nodeid`` in the workers;
    pytest 9.2 builds ``nodeid`` from a structured id instead, so the suffix is lost and the
    groups are spread over the workers (pytest-dev/pytest-xdist#1386): the Spark tests
    started a JVM in each worker. The same suffix is put where pytest reads it; nothing is
    done where xdist's own took effect (older pytest, a fixed xdist) or without loadgroup.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # pytest before 9.2: xdist's suffix works
        return
    for item in items:
        names = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        nodeid = item.nodeid
        if names and nodeid.rfind("@") <= nodeid.rfind("]"):
            item._id = NodeId.parse(f"{nodeid}@{'_'.join(sorted(names))}")
