"""How fast your webhook server takes events, beside a bare Flask endpoint: a benchmark.

    .venv/bin/python benchmarks/webhook_server.py [--requests N] [--threads T]

Prints figures, not pass/fail. A child process serves two apps on the same server type
(`workshop_helpers.serving.BackgroundServer`, werkzeug threaded):
- **bare**: a Flask route that answers 200 and does nothing else;
- **toolkit**: the kit's `WebhookServer`, checking each request's HS256 signature and
  payload hash, storing it durably in SQLite, and calling an event handler.
This process posts signed `completed` events to each with `--threads` threads, in rounds
that alternate bare, toolkit, bare, toolkit (so drifting machine load hits both alike),
and prints events per second, p50/p99 latency, and the toolkit/bare throughput ratio
(target: at least 0.8). Everything stays on 127.0.0.1; every loop is bounded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import jwt
import requests

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-signature-secret-of-a-good-length"


def serve(state_dir: str) -> None:
    """The child: start both servers, print their URLs, serve until stdin closes."""
    sys.path.insert(0, str(ROOT))
    from flask import Flask, Response

    from workshop_helpers.events import EventStore
    from workshop_helpers.server import WebhookServer
    from workshop_helpers.serving import BackgroundServer

    bare_app = Flask("bare")
    bare_app.add_url_rule("/webhooks/event", "event", lambda: Response(status=200), methods=["POST"])
    bare = BackgroundServer(bare_app).start()

    toolkit = WebhookServer(EventStore(Path(state_dir) / "events.sqlite"), SECRET).start()
    seen = []
    toolkit.handler("event")(lambda event: seen.append(event["status"]))

    print(json.dumps({"bare": bare.url, "toolkit": toolkit.url}), flush=True)
    sys.stdin.read()  # the parent closes stdin to stop us
    bare.stop()
    toolkit.stop()


def signed_request(index: int) -> tuple[bytes, dict]:
    payload = {
        "from": "447700900100", "to": "447700900000", "uuid": str(uuid.uuid4()),
        "conversation_uuid": "CON-" + str(uuid.uuid4()), "status": "completed",
        "direction": "outbound", "timestamp": "2026-11-24T07:00:00.000Z", "duration": str(index % 60),
    }
    body = json.dumps(payload).encode()
    claims = {"iat": int(time.time()), "jti": str(uuid.uuid4()), "iss": "Vonage",
              "payload_hash": hashlib.sha256(body).hexdigest()}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    return body, {"Authorization": "Bearer " + token, "Content-Type": "application/json"}


def load(url: str, requests_total: int, threads: int, prepared: list) -> dict:
    """Post `requests_total` events from `threads` threads; return rate and latencies."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    per_thread = requests_total // threads

    def worker(offset: int) -> None:
        nonlocal failures
        session = requests.Session()
        session.trust_env = False
        mine = []
        for i in range(per_thread):
            body, headers = prepared[(offset + i) % len(prepared)]
            began = time.perf_counter()
            response = session.post(url + "/webhooks/event", data=body, headers=headers, timeout=30)
            mine.append(time.perf_counter() - began)
            if response.status_code != 200:
                with lock:
                    failures += 1
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=worker, args=(n * per_thread,)) for n in range(threads)]
    began = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "rate": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "failures": failures,
        "count": len(latencies),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1500, help="events per round (default 1500)")
    parser.add_argument("--threads", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of bare+toolkit (default 2)")
    parser.add_argument("--serve", metavar="STATE_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0

    with tempfile.TemporaryDirectory() as state_dir:
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", state_dir],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        try:
            urls = json.loads(child.stdout.readline())
            prepared = [signed_request(i) for i in range(args.requests)]
            load(urls["bare"], 200, args.threads, prepared)  # warm up both
            load(urls["toolkit"], 200, args.threads, prepared)
            results = {"bare": [], "toolkit": []}
            for _ in range(args.rounds):
                for name in ("bare", "toolkit"):
                    results[name].append(load(urls[name], args.requests, args.threads, prepared))
        finally:
            child.stdin.close()
            child.wait(timeout=30)

    print(f"{args.rounds} rounds of {args.requests} signed events per server, {args.threads} client threads")
    print(f"{'server':<10}{'events/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'failed':>8}")
    summary = {}
    for name, rounds in results.items():
        rate = statistics.mean(r["rate"] for r in rounds)
        p50 = statistics.mean(r["p50"] for r in rounds)
        p99 = statistics.mean(r["p99"] for r in rounds)
        failed = sum(r["failures"] for r in rounds)
        summary[name] = rate
        print(f"{name:<10}{rate:>12.0f}{p50:>10.1f}{p99:>10.1f}{failed:>8}")
    ratio = summary["toolkit"] / summary["bare"]
    print(f"toolkit / bare throughput: {ratio:.2f} (target: at least 0.80)")
    print("toolkit = signature and payload-hash check + durable SQLite insert + handler call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
