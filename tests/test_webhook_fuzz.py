"""A fuzz of the webhook server: whatever anyone sends it (bodies, headers, tokens, some
signed with its own secret, methods, paths), it answers, never with a 5xx, and every view
of what it stored still works. (benchmarks/fuzz_webhooks.py runs 10,000 and more.)"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from webhook_requests import requests, send, server


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_no_request_gets_a_5xx_or_breaks_a_view(tmp_path, request):
    webhooks = server(tmp_path / "events.sqlite")
    try:
        status = send(webhooks.app.test_client(), request)
        assert status < 500, request
        store = webhooks.store
        store.events(), store.calls()  # the views of whatever was stored
    finally:
        webhooks.store.close()
