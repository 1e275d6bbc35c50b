"""The workshop's life: `with wh.start() as ws:`, `wh.running()`, a start that fails part-way
undoing exactly what it did, and the TunnelError a refused tunnel gives (ngrok's code, and
pyngrok's error as its cause)."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import pytest
from conftest import NGROK_TOKEN
from pyngrok import process
from pyngrok.exception import PyngrokNgrokError, PyngrokNgrokHTTPError

import workshop_helpers as wh
import workshop_helpers.workshop as workshop_module
from workshop_helpers import tunnel

#: The threads a running sandbox-mode workshop has in the kernel.
THREADS = {"webhook-server", "sandbox-api", "sandbox-platform"}


@pytest.fixture(autouse=True)
def nothing_left_running():
    yield
    wh.stop()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def assert_free(*ports: int) -> None:
    """A new server can listen on each port again."""
    for port in ports:
        socket.create_server(("127.0.0.1", port)).close()


def workshop_threads() -> set[str]:
    return {thread.name for thread in threading.enumerate()} & THREADS


def test_a_with_block_stops_the_workshop_when_it_ends():
    with wh.start(clock="virtual") as ws:
        assert ws.running and wh.running() is ws
        ports = port_of(ws.url), port_of(ws.sandbox.api_host)
        assert workshop_threads() == THREADS
    assert not ws.running and wh.running() is None
    assert_free(*ports)
    assert workshop_threads() == set()
    with pytest.raises(RuntimeError, match="this workshop is stopped"):
        ws.phone("447700900123")


def test_a_with_block_that_raises_stops_the_workshop_and_lets_the_error_through():
    with pytest.raises(KeyError, match="a cell's own error"):
        with wh.start(clock="virtual") as ws:
            raise KeyError("a cell's own error")
    assert not ws.running and wh.running() is None and workshop_threads() == set()


def test_running_is_the_started_workshop_and_none_once_it_stops():
    assert wh.running() is None
    ws = wh.start(clock="virtual")
    assert wh.running() is ws and wh.start(clock="virtual") is ws  # re-running the cell
    wh.stop()
    assert wh.running() is None
    again = wh.Workshop(clock="virtual").start()  # started directly, it is the kernel's too
    assert wh.running() is again and again is not ws
    again.stop()
    assert wh.running() is None


def test_a_start_that_fails_part_way_undoes_exactly_what_it_did(monkeypatch, capsys):
    ws = wh.Workshop(clock="virtual")
    seen = {}

    def refused(client, application_id, base_url):  # the last step of a start
        seen["ports"] = port_of(base_url), port_of(ws.sandbox.api_host)
        seen["threads"] = workshop_threads()
        raise RuntimeError("the Application API said no")

    captured = logging.getLogger("workshop_helpers")
    propagate, handlers = captured.propagate, list(captured.handlers)
    with monkeypatch.context() as patched, pytest.raises(RuntimeError, match="the Application API said no"):
        patched.setattr(workshop_module, "point_webhooks", refused)
        ws.start()
    assert seen["threads"] == THREADS  # everything had started
    assert not ws.running and wh.running() is None
    assert (ws.sandbox, ws.server, ws.store, ws.client) == (None, None, None, None)
    assert_free(*seen["ports"])
    assert workshop_threads() == set()
    assert (captured.propagate, captured.handlers) == (propagate, handlers)  # the logs let go

    capsys.readouterr()
    with wh.start(clock="virtual") as again:  # nothing of the failed start is in the way
        assert again.running
    assert "Another kernel has this notebook's webhooks open" not in capsys.readouterr().out  # the store closed


def test_a_start_that_fails_before_anything_starts_leaves_nothing_to_undo(monkeypatch):
    def no_store(wanted):
        raise OSError("the disk is full")

    monkeypatch.setattr(workshop_module, "own_store", no_store)
    ws = wh.Workshop(clock="virtual")
    with pytest.raises(OSError, match="the disk is full"):
        ws.start()
    assert not ws.running and wh.running() is None and workshop_threads() == set()


class Part:
    """A server run beside the workshop (like a voice bot), that may fail to stop."""

    def __init__(self, fails: bool = False):
        self.fails, self.stopped = fails, False

    def stop(self) -> None:
        self.stopped = True
        if self.fails:
            raise RuntimeError("this part would not stop")

    def take_problems(self) -> list[str]:
        return []


def test_every_part_is_stopped_even_when_stopping_one_fails():
    ws = wh.start(clock="virtual")
    ports = port_of(ws.url), port_of(ws.sandbox.api_host)
    first, stubborn = Part(), Part(fails=True)
    ws.attach(first)
    ws.attach(stubborn)
    wh.stop()  # does not raise
    assert first.stopped and stubborn.stopped
    assert not ws.running and wh.running() is None
    assert_free(*ports)
    assert any("while stopping the workshop" in line and "this part would not stop" in line for line in ws.logs)


# -- the tunnel's errors -----------------------------------------------------------------------
@pytest.mark.parametrize("failure, code, cause", [
    ("4018", "ERR_NGROK_4018", PyngrokNgrokError),  # the agent stops at once
    ("108", "ERR_NGROK_108", PyngrokNgrokError),
    ("324", "ERR_NGROK_324", PyngrokNgrokHTTPError),  # the agent runs, and refuses the tunnel
    ("offline", None, PyngrokNgrokError),  # ngrok gives no code for this one
])
def test_a_tunnel_error_carries_ngroks_code_and_pyngroks_error_as_its_cause(
        sandbox, live_env, monkeypatch, caplog, failure, code, cause):
    monkeypatch.setenv("NGROK_STANDIN_FAIL", failure)
    with pytest.raises(tunnel.TunnelError) as error, caplog.at_level("ERROR"):
        wh.start(mode="live")
    assert error.value.code == code
    assert code is None or str(error.value).endswith(f"({code})")  # the fix, then the code
    assert isinstance(error.value.__cause__, cause)
    # It is logged too, with pyngrok's error chained below it.
    [record] = [r for r in caplog.records if "tunnel did not open" in r.getMessage()]
    assert (code or "ngrok gave no code") in record.getMessage() and record.exc_info[1] is error.value
    assert cause.__name__ in caplog.text and "direct cause" in caplog.text
    assert wh.running() is None
    assert not process.is_process_running(live_env["NGROK_PATH"])  # no agent is left behind


def test_a_wrong_authtoken_is_ngroks_105(sandbox, live_env):
    env_file = Path(".env")
    env_file.write_text(env_file.read_text().replace(NGROK_TOKEN, "wrong-token"))
    with pytest.raises(tunnel.TunnelError, match="does not recognise your authtoken") as error:
        wh.start(mode="live")
    assert error.value.code == "ERR_NGROK_105"
    assert tunnel.TunnelError("what to do").code is None  # one made without a code
