"""Mixpanel's own ingestion OpenAPI, fuzzed by schemathesis against ``mpsim.serve`` (issue 10 item 5).

Every generated request (bounded: ``EXAMPLES`` per operation, so CI stays fast) gets an answer below
500 and the server records no internal error. The spec lives in ``../shared/spec/openapi`` (Mixpanel's
files, MIT); the test skips, saying so, where it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import mpsim
from mpsim.mixpanel.control import openapi_document

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install -e '.[test]')")
from hypothesis import HealthCheck, settings  # noqa: E402

SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "openapi" / "ingestion.openapi.yaml"
EXAMPLES = 20

if not SPEC.exists():
    pytest.skip(f"Mixpanel's ingestion OpenAPI is not at {SPEC}", allow_module_level=True)

schema = schemathesis.openapi.from_path(str(SPEC))


@pytest.fixture(scope="module")
def live():
    # token=None: every token and /import without credentials are accepted, so the generated records
    # reach validation and storage instead of stopping at authentication
    with mpsim.serve(mpsim.Simulator()) as server:
        yield server


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(case, live):
    response = case.call(base_url=live.url, timeout=10)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    assert live.errors == []


control_schema = schemathesis.openapi.from_dict(openapi_document())


@control_schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_control_api_survives_its_own_document(case, live):
    response = case.call(base_url=live.url, timeout=10)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    assert live.errors == []
