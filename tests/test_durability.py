"""Nothing answered is lost, nothing is stored twice: a burst of 10,000 signed webhooks, the
webhook server's process killed (SIGKILL) in the middle of it, restarted on the same event
store, and every webhook sent again, as a platform retries what it is not sure arrived.
Afterwards every request that got a 2xx, before the kill or after, is in the store once.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from conftest import webhook_token

ROOT = Path(__file__).resolve().parent.parent
SECRET = "a-signature-secret-for-the-durability-test"
BURST = 10_000
KILL_AFTER = 3_000  # answered requests before the kill

#: A webhook server in a process of its own, on the store the test names; it prints its port.
SERVER = """
import sys, threading
from pathlib import Path
from workshop_helpers.events import own_store
from workshop_helpers.server import WebhookServer
server = WebhookServer(own_store(Path(sys.argv[1])), sys.argv[2]).start()
print(server.port, flush=True)
threading.Event().wait()
"""


def start_server(store: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(store), SECRET], stdout=subprocess.PIPE,
                               text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    port = process.stdout.readline().strip()
    assert port, "the webhook server did not start"
    return process, f"http://127.0.0.1:{port}/webhooks/event"


def webhook(n: int) -> tuple[bytes, dict]:
    """Webhook number n, signed as the platform signs it (each with its own jti)."""
    body = json.dumps({"uuid": f"leg-{n}", "status": "answered", "n": n}).encode()
    token = webhook_token(secret=SECRET, body=body, jti=str(uuid.UUID(int=n)))
    return body, {"Authorization": "Bearer " + token, "Content-Type": "application/json"}


def send_all(url: str, signed: list, answered: set, stop_after: int | None = None,
             process: subprocess.Popen | None = None) -> None:
    """Send every webhook from 8 threads; note which got a 2xx. With stop_after, kill the
    server once that many were answered (the sending goes on into a dead server)."""
    lock, killed = threading.Lock(), threading.Event()

    where = urlsplit(url)

    def one(n: int) -> None:
        body, headers = signed[n]
        connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        try:  # (http.client, not requests: a lighter client leaves the CPU to the server)
            connection.request("POST", where.path, body=body, headers=headers)
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException):
            return  # not answered: the platform would retry it
        finally:
            connection.close()
        if 200 <= status < 300:
            with lock:
                answered.add(n)
                if stop_after and len(answered) >= stop_after and not killed.is_set():
                    killed.set()
                    process.send_signal(signal.SIGKILL)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(len(signed))))


def stored_numbers(store: Path) -> list[int]:
    import sqlite3
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT payload FROM events WHERE verified = 1").fetchall()
    return [json.loads(payload)["n"] for (payload,) in rows]


def test_a_killed_server_loses_no_answered_webhook_and_stores_none_twice(tmp_path):
    store = tmp_path / "events.sqlite"
    signed = [webhook(n) for n in range(BURST)]
    answered: set[int] = set()

    first, url = start_server(store)
    try:
        send_all(url, signed, answered, stop_after=KILL_AFTER, process=first)
    finally:
        first.kill()
        first.wait(timeout=30)
    before_the_kill = set(answered)
    assert KILL_AFTER <= len(before_the_kill) < BURST  # killed mid-burst

    second, url = start_server(store)
    try:
        send_all(url, signed, answered)  # everything again: replays of the answered ones are refused
    finally:
        second.kill()
        second.wait(timeout=30)

    numbers = stored_numbers(store)
    assert len(numbers) == len(set(numbers)), "a webhook was stored twice"
    assert before_the_kill <= set(numbers), "a webhook answered before the kill was lost"
    assert answered <= set(numbers)
    # And every webhook is stored in the end (one the first server stored but could not
    # answer before it died is refused as a replay the second time: stored once).
    assert set(numbers) == set(range(BURST))
