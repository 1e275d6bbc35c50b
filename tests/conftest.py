"""What the tests share: fixtures (pytest finds them here, so no test imports one) and
helpers (tests import them: `from conftest import wait_until`). A family of helpers that
only a few tests use has a module of its own, named for what it holds (api_requests.py,
sandbox_requests.py, standalone_sandbox.py, webhook_requests.py, notebook_cells.py). No test module imports
another: tests/test_test_helpers.py checks.

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
import socket
import stat
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import jwt
import pytest
import requests
from flask import Flask, Response, request
from pyngrok import ngrok
from vonage_voice import Talk

import workshop_helpers.workshop
from workshop_helpers import config, tunnel
from workshop_helpers.ncco import validate_ncco
from workshop_helpers.sandbox import Sandbox
from workshop_helpers.serving import BackgroundServer

# -- the workshop, and sandboxes on a virtual clock ------------------------------------------------
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


@pytest.fixture
def client(sandbox):
    return sandbox.client()


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


# -- waiting for the platform (a wait that gives up says what it saw) ------------------------------
#: How much of a failed wait's last value its message shows (a transcript can be long).
SHOWN = 400


class Watched:
    """A wait's condition that remembers what it last returned, so that a wait that gives
    up can say what it saw instead of only that it saw nothing good."""

    def __init__(self, predicate):
        self.predicate = predicate
        self.checks = 0
        self.last = None

    def __call__(self):
        self.last = self.predicate()
        self.checks += 1
        return self.last

    def failure(self, waited: str, description: str = "") -> str:
        """The message of a wait that gave up after `waited` (e.g. "120 s of call time")."""
        what = f" for {description}" if description else ""
        if not self.checks:
            return f"condition not met within {waited}{what}: it was never checked"
        shown = repr(self.last)
        if len(shown) > SHOWN:
            shown = f"{shown[:SHOWN]}... ({len(shown)} characters)"
        times = "once" if self.checks == 1 else f"{self.checks} times"
        return f"condition not met within {waited}{what}; checked {times}, it last returned {shown}"


def poll_until(predicate, timeout: float = 10.0, interval: float = 0.01, description: str = ""):
    """Wait, in real time, for something outside the platform (a widget's own thread, a
    test server) to catch up with what the platform has already done."""
    condition = Watched(predicate)
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() >= deadline:
            raise AssertionError(condition.failure(f"{timeout} s", description))
        time.sleep(interval)
    return value


def wait_until(predicate, timeout: float = PATIENCE, interval: float = 0.01, description: str = ""):
    """Wait until predicate() is true; return its value. On a virtual clock the platform
    runs ahead meanwhile and stops the moment it is true (`timeout`: seconds of call
    time); otherwise this polls (`timeout`: real seconds). A failure says what
    predicate() last returned, and `description` if given."""
    sandbox = current_sandbox()
    if sandbox is not None and sandbox.clock.virtual:
        condition = Watched(predicate)
        try:
            return sandbox.wait_until(condition, timeout)
        except TimeoutError:
            raise AssertionError(condition.failure(f"{timeout} s of call time", description)) from None
    return poll_until(predicate, timeout, interval, description)


# -- calls placed through the SDK's HTTP client, recordings fetched as a client would --------------
#: The application's number: calls placed by `place` come from it.
APP_NUMBER = "447700900100"


def place(client, receiver, number, ncco=None, **extra):
    """Create a call through the SDK's HTTP client (its CreateCallRequest model has no
    `wait` action, so NCCOs go as plain dicts)."""
    request = {
        "to": [{"type": "phone", "number": number}],
        "from": {"type": "phone", "number": APP_NUMBER},
        "event_url": [receiver.url("event")],
        **extra,
    }
    if "answer_url" not in extra:
        request["ncco"] = validate_ncco(ncco or [Talk(text="Hello")])
    http = client.http_client
    return http.post(http.api_host, "/v1/calls", request)["uuid"]


def download(sandbox, client, url):
    """GET a recording URL (https://api.nexmo.com/v1/files/...) as any client given the
    sandbox's environment would: through its proxy, trusting its CA."""
    session = requests.Session()
    session.trust_env = False
    session.proxies = {"https": sandbox.proxy_url}
    token = client.http_client.auth.create_jwt_auth_string()
    return session.get(url, headers={"Authorization": token}, verify=str(sandbox.tls.ca_path))


# -- a webhook receiver that records what it is sent -----------------------------------------------
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


# -- webhooks to the workshop's own server, signed as the platform signs them or not ---------------
def post_webhook(ws, kind, payload, token=None, data=None):
    """POST a webhook to the workshop's server as the platform would (signed if given a
    token from webhook_token), or as anyone else could."""
    body = data if data is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    return requests.post(ws.webhook_url(kind), data=body, headers=headers,
                         proxies={"http": None, "https": None}, timeout=60)


def webhook_token(ws=None, payload=None, secret=None, body=None, **claims):
    """A webhook's Authorization token as the platform signs it (HS256, payload_hash of the
    body, a fresh jti); `claims` replace or add claims. With no workshop `ws`, give the
    `secret` and the `body`."""
    body = body if body is not None else json.dumps(payload).encode()
    claims = {"iat": int(time.time()), "jti": str(uuid.uuid4()), "iss": "Vonage",
              "payload_hash": hashlib.sha256(body).hexdigest(), **claims}
    return jwt.encode(claims, secret or ws.sandbox.application.signature_secret, algorithm="HS256")


# -- live mode with no internet: the ngrok stand-in (ngrok_standin.py), the sandbox as Vonage ------
#: The authtoken the ngrok stand-in accepts.
NGROK_TOKEN = "standin-authtoken-0123456789"


@pytest.fixture
def ngrok_path(tmp_path, monkeypatch):
    """An executable `ngrok` that runs the stand-in; no proxies, a known good token."""
    path = tmp_path / "bin" / "ngrok"
    path.parent.mkdir()
    standin = Path(__file__).with_name("ngrok_standin.py")
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{standin}" "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("NGROK_STANDIN_TOKEN", NGROK_TOKEN)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    yield path
    ngrok.kill(tunnel.pyngrok_config(NGROK_TOKEN, str(path), config.home()))


@pytest.fixture
def live_env(sandbox, ngrok_path, tmp_path, monkeypatch):
    """A .env for live mode whose 'Vonage' is the sandbox; the SDK trusts the sandbox CA."""
    info = sandbox.info()
    settings = {
        "VONAGE_APPLICATION_ID": info["application_id"],
        "VONAGE_PRIVATE_KEY_PATH": info["private_key_path"],
        "VONAGE_API_KEY": info["api_key"],
        "VONAGE_API_SECRET": info["api_secret"],
        "VONAGE_SIGNATURE_SECRET": info["signature_secret"],
        "VONAGE_NUMBER": info["number"],
        "VONAGE_API_HOST": info["host"],
        "VONAGE_REST_HOST": info["host"],  # the sandbox serves the Numbers API too
        "NGROK_AUTHTOKEN": NGROK_TOKEN,
        "NGROK_PATH": str(ngrok_path),
    }
    workdir = tmp_path / "notebooks"
    workdir.mkdir()
    (workdir / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", info["ca_bundle_path"])
    yield settings
    workshop_helpers.stop()


# -- ports and file modes ---------------------------------------------------------------------------
def free_port() -> int:
    """A port nothing listens on now (the system's pick), for a server a test starts later."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mode(path) -> int:
    """A file's or folder's permission bits, as 0o600 or 0o700 reads."""
    return stat.S_IMODE(os.stat(path).st_mode)


# -- browsers --------------------------------------------------------------------------------------
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
