"""Fuzz the webhook server: how many of 10,000+ requests anyone could send got a 5xx.

    .venv/bin/python benchmarks/fuzz_webhooks.py [--cases 10000]

Prints figures, not pass/fail (the target is 0 5xx). The requests are the fuzz test's own
strategies (tests/webhook_requests.py: bodies, headers, tokens, some signed with the
server's secret, methods, paths), sent to one webhook server's Flask app, whose event
store is emptied every 500 requests; after each batch, the views of the store are read too
(a view that raises counts as a failure).
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from webhook_requests import requests, send, server  # noqa: E402


def fuzz(cases: int) -> tuple[collections.Counter, list[dict], int]:
    """Send `cases` requests; the statuses seen, the requests that got a 5xx, view failures."""
    statuses, failures, broken_views = collections.Counter(), [], 0
    with tempfile.TemporaryDirectory() as folder:
        webhooks = server(Path(folder) / "events.sqlite")
        client = webhooks.app.test_client()

        @settings(max_examples=cases, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck))
        @given(request=requests())
        def one(request):
            nonlocal broken_views
            status = send(client, request)
            statuses[status // 100 * 100] += 1
            if status >= 500:
                failures.append(request)
            if sum(statuses.values()) % 500 == 0:
                try:
                    webhooks.store.events(), webhooks.store.calls()
                except Exception:  # noqa: BLE001 (counted, not raised: this is a measurement)
                    broken_views += 1
                webhooks.store.clear()

        one()
        webhooks.store.close()
    return statuses, failures, broken_views


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    cases = parser.parse_args().cases
    started = time.perf_counter()
    statuses, failures, broken_views = fuzz(cases)
    seconds = time.perf_counter() - started
    run = sum(statuses.values())
    print(f"cases run: {run} in {seconds:.0f} s ({run / seconds:.0f}/s)")
    print("answers:   " + ", ".join(f"{code // 100}xx {count}" for code, count in sorted(statuses.items())))
    print(f"5xx seen:  {len(failures)} (target 0); views that raised: {broken_views} (target 0)")
    for request in failures[:5]:
        print(f"  5xx: {request}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
