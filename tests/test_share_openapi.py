"""Schemathesis fuzzes the TAXII server through its OpenAPI description: no server errors,
authenticated or not."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from distillwatch.share.server import create_app
from test_share_server import TAXII, config

#: one store per test process (pytest-xdist runs this module in several workers)
_DB = Path(tempfile.mkdtemp(prefix="share-openapi-")) / "hub.sqlite"
_APP = create_app(config(f"sqlite:///{_DB}", rate=1e6, burst=10**6))
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)
AUTH = "Basic " + base64.b64encode(b"member-a:secret").decode()


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    headers = {"Authorization": AUTH, "Accept": TAXII}
    if case.method == "POST":
        headers["Content-Type"] = TAXII
    case.call_and_validate(headers=headers, checks=[not_a_server_error])
