"""Shared fixtures: a fast sandbox, and a webhook receiver that records what it is sent."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import pytest
from flask import Flask, Response, request

from workshop_helpers.sandbox import Sandbox
from workshop_helpers.serving import BackgroundServer

#: Tests run the clock 20 times faster: a 1 s ring takes 50 ms, which leaves room for
#: scheduling jitter on a busy machine in tests that assert exact durations.
SPEED = 20


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Never touch the real ~/.voice-workshop from a test."""
    monkeypatch.setenv("VOICE_WORKSHOP_HOME", str(tmp_path / "home"))


@pytest.fixture
def sandbox(tmp_path):
    with Sandbox(state_dir=tmp_path / "sandbox", speed=SPEED, seed=7) as running:
        yield running


@pytest.fixture
def client(sandbox):
    return sandbox.client()


class Receiver:
    """A webhook server: records every request, answers as each path is told to."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: dict[str, list] = defaultdict(list)
        self.default_answers: dict[str, object] = {}
        self._changed = threading.Condition()
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
        with self._changed:
            self.requests.append(record)
            self._changed.notify_all()
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

    def wait_for(self, predicate, timeout: float = 10.0):
        """Wait until predicate(self) is true; fail the test with what arrived if not."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = json.dumps([(r["path"], r["json"] or r["args"]) for r in self.requests], indent=1)
                    pytest.fail(f"timed out waiting; the receiver got:\n{seen}")
                self._changed.wait(remaining)

    def statuses(self, path: str = "event", uuid: str | None = None) -> list[str]:
        return [
            p["status"] for p in self.payloads(path)
            if "status" in p and (uuid is None or p.get("uuid") == uuid)
        ]

    def wait_for_status(self, status: str, path: str = "event", uuid: str | None = None, timeout=10.0):
        self.wait_for(lambda r: status in r.statuses(path, uuid), timeout)
        return self.statuses(path, uuid)


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.server.stop()


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
