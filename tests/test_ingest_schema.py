"""The published JSON Schema and the ingest validator agree on what a valid record is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import orjson
import pytest

from distillwatch.ingest import check_record
from distillwatch.schema import REQUIRED_FIELDS, traffic_log_json_schema
from test_ingest_quarantine import BAD

Record = dict[str, Any]

#: Cases the schema cannot express (calendar validity), so only the validator rejects them.
VALIDATOR_ONLY = {"impossible date"}

VALID: dict[str, dict[str, Any]] = {
    "complete": {},
    "epoch ts": {"ts": 1769904000},
    "fractional epoch ts": {"ts": 1769904000.25},
    "offset ts": {"ts": "2026-02-01T12:00:00.123+05:30"},
    "space separator, no offset": {"ts": "2026-02-01 12:00:00"},
    "integer ids": {"account_id": 17, "request_id": 99},
    "content parts": {"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]},
    "system as parts": {"system": [{"type": "text", "text": "be brief"}]},
    "image part": {
        "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]
    },
    "null content": {"messages": [{"role": "assistant", "content": None}]},
    "lowercase country": {"country": "jp"},
    "empty country": {"country": ""},
    "integral float": {"params": {"max_tokens": 64.0}},
    "nulls everywhere": {"params": None, "usage": None, "response": None, "endpoint": None},
    "unknown fields": {"x_trace": {"a": [1, 2]}, "params": {"seed": 3}},
    "only required": {
        key: ... for key in ("key_id", "org_id", "ip", "messages", "params", "response", "usage")
    },
}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = traffic_log_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_requires_the_contract_fields() -> None:
    schema = traffic_log_json_schema()
    assert tuple(schema["required"]) == REQUIRED_FIELDS
    assert schema["additionalProperties"] is True


@pytest.mark.parametrize("name", list(VALID))
def test_valid_records_pass_both(
    validator: jsonschema.Draft202012Validator, make_record: Callable[..., Record], name: str
) -> None:
    record = make_record(**VALID[name])
    assert list(validator.iter_errors(record)) == []
    assert check_record(record) is None


@pytest.mark.parametrize("name", [n for n in BAD if isinstance(BAD[n][0], dict)])
def test_broken_records_fail_both(
    validator: jsonschema.Draft202012Validator, make_record: Callable[..., Record], name: str
) -> None:
    case = BAD[name][0]
    assert isinstance(case, dict)
    record = make_record(**case)
    problem = check_record(record)
    assert problem is not None and problem.reason == BAD[name][1]
    schema_says_valid = validator.is_valid(record)
    assert schema_says_valid is (name in VALIDATOR_ONLY)


def test_non_objects_fail_both(validator: jsonschema.Draft202012Validator) -> None:
    for value in ([1, 2], "text", 3, None):
        assert not validator.is_valid(value)
        assert check_record(value) is not None


def test_raw_bad_lines_are_not_records(validator: jsonschema.Draft202012Validator) -> None:
    for name, (case, _reason, _field) in BAD.items():
        if isinstance(case, bytes):
            try:
                parsed = orjson.loads(case)
            except orjson.JSONDecodeError:
                continue  # not JSON at all: neither schema nor validator gets a value
            assert not validator.is_valid(parsed), name
