"""No request makes the sandbox fail: whatever arrives, its answer is a 2xx, 3xx or 4xx.

Hypothesis makes requests to every REST and control route: methods, paths (known calls,
unknown ids, long or odd segments), query strings, headers, credentials (valid JWTs, JWTs
whose claims have odd types or values, other keys and algorithms, Basic auth) and bodies
(well-formed requests with odd fields, any JSON, bytes that are not JSON or not UTF-8).
A 5xx is a bug; so is an error that is not in the sandbox's one error shape.

The requests go to the sandbox's own Flask app in-process (fast enough for thousands of
cases); one test sends a sample over real HTTPS as well. `benchmarks/fuzz_sandbox.py`
runs the same strategies for 10,000+ cases.
"""

from __future__ import annotations

import pytest
import requests
from conftest import Receiver, running_sandbox
from hypothesis import HealthCheck, assume, given, settings
from sandbox_requests import Target, fuzz_requests, problem


# -- the tests -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def target(tmp_path_factory):
    receiver = Receiver()
    try:
        with running_sandbox(tmp_path_factory.mktemp("fuzz") / "sandbox", seed=11) as sandbox:
            yield Target(sandbox, receiver)
    finally:
        receiver.server.stop()


FUZZ_SETTINGS = settings(
    max_examples=800, deadline=None, database=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@FUZZ_SETTINGS
@given(request=fuzz_requests())
def test_no_request_makes_the_sandbox_fail_or_answer_outside_its_error_shape(target, request):
    status, body, content_type = target.send(request)
    found = problem(request, status, body, content_type)
    assert found is None, f"{found}\nfor {request.describe()}"


@settings(FUZZ_SETTINGS, max_examples=60)
@given(request=fuzz_requests())
def test_no_request_over_https_makes_the_sandbox_fail(target, request):
    session = requests.Session()
    session.trust_env = False
    session.verify = str(target.sandbox.tls.ca_path)
    with session:
        answer = target.send_https(request, session)
    assume(answer is not None)
    found = problem(request, *answer)
    assert found is None, f"{found}\nfor {request.describe()}"
