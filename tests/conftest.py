"""Shared fixtures: a sandbox on virtual time, and a webhook receiver that records what it
is sent.

Tests run the sandbox on a virtual clock: time stands still while the platform works and,
while a test waits (`wait_until`, `receiver.wait_for`), jumps straight to the next timer.
So durations are exact however loaded the machine is, and the waits' time-outs are in
seconds of call time, not of the wall clock.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from collections import defaultdict
from pathlib import Path

import jwt
import pytest
import requests
from flask import Flask, Response, request

import workshop_helpers.workshop
from workshop_helpers.sandbox import Sandbox
from workshop_helpers.serving import BackgroundServer

#: How long a test waits for something, in seconds of call time (free on a virtual clock).
PATIENCE = 120.0

#: Virtual-clock sandboxes started by `running_sandbox`, newest last: the waits drive the
#: newest one.
RUNNING: list[Sandbox] = []


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Never touch the real ~/.voice-workshop from a test."""
    monkeypatch.setenv("VOICE_WORKSHOP_HOME", str(tmp_path / "home"))


@pytest.fixture
def ws():
    """A workshop (sandbox mode) on a virtual clock, as a notebook would start it; stopped
    after the test. A phone that rings waits for the test to answer it."""
    workshop = workshop_helpers.workshop.start(clock="virtual")
    yield workshop
    workshop_helpers.workshop.stop()


@contextlib.contextmanager
def running_sandbox(state_dir, **options):
    """A started sandbox on a virtual clock (unless `clock` says otherwise)."""
    options.setdefault("clock", "virtual")
    with Sandbox(state_dir=state_dir, **options) as started:
        RUNNING.append(started)
        try:
            yield started
        finally:
            RUNNING.remove(started)


@pytest.fixture
def sandbox(tmp_path):
    with running_sandbox(tmp_path / "sandbox", seed=7) as running:
        yield running


def current_sandbox() -> Sandbox | None:
    """The virtual-clock sandbox a test's waits drive: the newest one, or the workshop's."""
    if RUNNING:
        return RUNNING[-1]
    workshop = workshop_helpers.workshop._running
    if workshop is not None and workshop.sandbox is not None and workshop.sandbox.clock.virtual:
        return workshop.sandbox
    return None


def sleep_until(sandbox: Sandbox, moment: float) -> None:
    """Let the sandbox's call time run to `moment` (as `clock.elapsed()` counts it)."""
    sandbox.sleep(max(0.0, moment - sandbox.clock.elapsed()))


#: Webhook timestamps have millisecond resolution; spans on the virtual clock are exact.
TICK = 0.0015


def assert_took(gap: float, seconds: float) -> None:
    """A span on the call's clock is exactly `seconds` (to a timestamp's millisecond)."""
    assert gap == pytest.approx(seconds, abs=TICK), (gap, seconds)


def poll_until(predicate, timeout: float = 10.0, interval: float = 0.01):
    """Wait, in real time, for something outside the platform (a widget's own thread, a
    test server) to catch up with what the platform has already done."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
    return value


def wait_until(predicate, timeout: float = PATIENCE, interval: float = 0.01):
    """Wait until predicate() is true; return its value. On a virtual clock the platform
    runs ahead meanwhile and stops the moment it is true (`timeout`: seconds of call
    time); otherwise this polls (`timeout`: real seconds)."""
    sandbox = current_sandbox()
    if sandbox is not None and sandbox.clock.virtual:
        try:
            return sandbox.wait_until(predicate, timeout)
        except TimeoutError:
            raise AssertionError(f"condition not met within {timeout} s of call time") from None
    return poll_until(predicate, timeout, interval)


@pytest.fixture
def client(sandbox):
    return sandbox.client()


class Receiver:
    """A webhook server: records every request, answers as each path is told to."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: dict[str, list] = defaultdict(list)
        self.default_answers: dict[str, object] = {}
        app = Flask("receiver")
        app.add_url_rule("/<path:path>", view_func=self._handle, methods=["GET", "POST"])
        self.server = BackgroundServer(app).start()

    def url(self, path: str) -> str:
        return f"{self.server.url}/{path.lstrip('/')}"

    def respond(self, path: str, *answers, always=None) -> None:
        """Queue answers for `path`: a JSON-able body, (status, body), a Response, or a
        callable(request_record) returning one of those. `always` answers every later call."""
        self.answers[path.strip("/")].extend(answers)
        if always is not None:
            self.default_answers[path.strip("/")] = always

    def _handle(self, path: str):
        record = {
            "path": path,
            "method": request.method,
            "args": request.args.to_dict(),
            "json": request.get_json(silent=True),
            "raw": request.get_data(),
            "headers": dict(request.headers),
            "time": time.monotonic(),
        }
        self.requests.append(record)
        queue = self.answers.get(path)
        answer = queue.pop(0) if queue else self.default_answers.get(path, "")
        if callable(answer) and not isinstance(answer, Response):
            answer = answer(record)
        if isinstance(answer, Response):
            return answer
        status, body = answer if isinstance(answer, tuple) else (200, answer)
        if body == "":
            return Response(status=status)
        return Response(json.dumps(body), status=status, mimetype="application/json")

    def payloads(self, path: str | None = None) -> list[dict]:
        """The data of each request (JSON body, or query for GET), in arrival order."""
        return [
            r["json"] if r["method"] == "POST" else r["args"]
            for r in list(self.requests)
            if path is None or r["path"] == path.strip("/")
        ]

    def wait_for(self, predicate, timeout: float = PATIENCE):
        """Wait until predicate(self) is true (see `wait_until`); fail the test with what
        arrived if not."""
        try:
            wait_until(lambda: predicate(self), timeout)
        except AssertionError as error:
            seen = json.dumps([(r["path"], r["json"] or r["args"]) for r in self.requests], indent=1)
            pytest.fail(f"{error}; the receiver got:\n{seen}")

    def statuses(self, path: str = "event", uuid: str | None = None) -> list[str]:
        return [
            p["status"] for p in self.payloads(path)
            if "status" in p and (uuid is None or p.get("uuid") == uuid)
        ]

    def wait_for_status(self, status: str, path: str = "event", uuid: str | None = None,
                        timeout: float = PATIENCE):
        self.wait_for(lambda r: status in r.statuses(path, uuid), timeout)
        return self.statuses(path, uuid)


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.server.stop()


def chromium_path() -> str:
    """Debian's chromium (what `make test` installs), or the browser CHROMIUM names."""
    candidates = [os.environ.get("CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                  shutil.which("google-chrome"), "/Applications/Chromium.app/Contents/MacOS/Chromium",
                  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("no Chromium found: run `make test` (it installs Debian's chromium), "
                "or set CHROMIUM=/path/to/chromium-or-chrome")


def post_webhook(ws, kind, payload, token=None, data=None):
    """POST a webhook to the workshop's server as the platform would (signed if given a
    token from webhook_token), or as anyone else could."""
    body = data if data is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    return requests.post(ws.webhook_url(kind), data=body, headers=headers,
                         proxies={"http": None, "https": None}, timeout=60)


def webhook_token(ws, payload, secret=None, body=None, **claims):
    """A webhook's Authorization token as the platform signs it (HS256, payload_hash of the
    body, a fresh jti); `claims` replace or add claims."""
    body = body if body is not None else json.dumps(payload).encode()
    claims = {"iat": int(time.time()), "jti": str(uuid.uuid4()), "iss": "Vonage",
              "payload_hash": hashlib.sha256(body).hexdigest(), **claims}
    return jwt.encode(claims, secret or ws.sandbox.application.signature_secret, algorithm="HS256")
