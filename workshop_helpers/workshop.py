"""The workshop as one object: the platform, your webhook server, a client, your events.

    import workshop_helpers as wh
    ws = wh.start()              # sandbox mode: a local platform, no account needed
    ws = wh.start(mode="live")   # live mode: your Vonage account, via an ngrok tunnel

    @ws.answer
    def answer(call):
        return [Talk(text="Hello!")]

    ws.phone("447700900123").call(ws.number)
    ws.calls                      # one row per leg

`start()` brings up, in the background of the kernel, your webhook server and either the
sandbox platform or (live) a tunnel to it, and points the application's webhooks at that
server. Calling it again returns the running workshop; `stop()` frees every port, thread
and tunnel.
"""

from __future__ import annotations

import getpass
import logging
import time
from collections import deque

import pandas as pd
from vonage import Auth, HttpClientOptions, Vonage

from . import config, tunnel
from .events import EventStore, for_call, inputs, recordings
from .sandbox import PhoneHandle, Sandbox
from .server import WebhookServer
from .timeline import timeline as draw_timeline
from .vonage_app import point_webhooks

log = logging.getLogger("workshop_helpers")

MODES = ("sandbox", "live")


class Workshop:
    """A running workshop: see the module docstring for a tour."""

    def __init__(self, mode: str = "sandbox", speed: float = 1.0, port: int = 0,
                 ask=getpass.getpass):
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not a mode; use \"sandbox\" or \"live\"")
        self.mode = mode
        self.speed = speed
        self.port = port  # the webhook server's port; 0 picks a free one
        self._ask = ask  # how live mode asks for a missing setting
        self.credentials: config.LiveCredentials | None = None
        self.public_url: str | None = None
        self.changes: list[str] = []
        self._tunnel_config = None
        self.logs: deque[str] = deque(maxlen=1000)
        self._log_handler = _RecentLines(self.logs)
        self.sandbox: Sandbox | None = None
        self.server: WebhookServer | None = None
        self.store: EventStore | None = None
        self.client: Vonage | None = None

    # -- life --------------------------------------------------------------------------------
    def start(self) -> "Workshop":
        log.addHandler(self._log_handler)
        log.setLevel(logging.INFO)
        try:
            if self.mode == "sandbox":
                self._start_sandbox()
            else:
                self._start_live()
        except Exception:
            self.stop()
            raise
        log.info("workshop started in %s mode; webhooks go to %s", self.mode, self.url)
        return self

    def _start_sandbox(self) -> None:
        self.store = EventStore(config.home() / "events.sqlite")
        self.sandbox = Sandbox(speed=self.speed).start()
        self.server = WebhookServer(
            self.store, self.sandbox.application.signature_secret, port=self.port
        ).start()
        self.sandbox.application.set_webhooks(
            answer_url=self.server.webhook_url("answer"),
            event_url=self.server.webhook_url("event"),
            fallback_answer_url=self.server.webhook_url("fallback"),
        )
        self.client = self.sandbox.client()

    def _start_live(self) -> None:
        """Your server, a tunnel to it, an SDK client, and the application pointed at it."""
        self.credentials = credentials = config.live_credentials(ask=self._ask)
        self.store = EventStore(config.home() / "events.sqlite")
        self.server = WebhookServer(self.store, credentials.signature_secret, port=self.port).start()
        self._tunnel_config = tunnel.pyngrok_config(
            credentials.ngrok_authtoken, credentials.ngrok_path, config.home()
        )
        self.public_url = tunnel.open_tunnel(self.server.port, self._tunnel_config)
        self.client = Vonage(
            Auth(
                application_id=credentials.application_id,
                private_key=credentials.private_key(),
                api_key=credentials.api_key,
                api_secret=credentials.api_secret,
                signature_secret=credentials.signature_secret,
            ),
            HttpClientOptions(api_host=credentials.api_host),
        )
        self.changes = point_webhooks(self.client, credentials.application_id, self.public_url)
        print(f"Your webhook server is reachable at {self.public_url}")
        for change in self.changes or ["The application's webhooks already point here."]:
            print("  " + change)

    def stop(self) -> None:
        """Stop the webhook server and the platform, freeing their ports and threads."""
        if self._tunnel_config is not None:
            tunnel.close_tunnel(self._tunnel_config)
            self._tunnel_config = None
        for part in (self.server, self.sandbox):
            if part is not None:
                part.stop()
        if self.store is not None:
            self.store.close()
        self.server = self.sandbox = self.store = self.client = None
        log.removeHandler(self._log_handler)

    @property
    def running(self) -> bool:
        return self.server is not None

    def __repr__(self) -> str:
        if not self.running:
            return "<Workshop (stopped)>"
        return f"<Workshop {self.mode} mode: number {self.number}, webhooks at {self.url}>"

    # -- where things are ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL the platform uses to reach your webhook server."""
        return self.public_url or self.server.url

    @property
    def number(self) -> str:
        """The application's own number: calls to it reach your answer handler."""
        return self.credentials.number if self.mode == "live" else self.sandbox.number

    # -- your handlers (decorators) ------------------------------------------------------------
    def answer(self, function):
        """Handle the answer webhook: return the NCCO for a call that starts."""
        return self.server.handler("answer")(function)

    def on_event(self, function):
        return self.server.handler("event")(function)

    def on_input(self, function):
        """Handle input results (DTMF, speech): return the next NCCO."""
        return self.server.handler("input")(function)

    def on_notify(self, function):
        return self.server.handler("notify")(function)

    def on_recording(self, function):
        return self.server.handler("recording")(function)

    def on_fallback(self, function):
        return self.server.handler("fallback")(function)

    def webhook_url(self, kind: str) -> str:
        """The URL of one of your webhooks, for an action's `eventUrl`."""
        return f"{self.url}/webhooks/{kind}"

    # -- phones and what happened -------------------------------------------------------------
    def phone(self, number: str) -> PhoneHandle:
        """A virtual phone (sandbox mode): it can call you, press keys, speak."""
        if self.sandbox is None:
            raise RuntimeError(
                "virtual phones live in sandbox mode; in live mode, call "
                f"{self.number} from a real phone"
            )
        return self.sandbox.phone(number)

    @property
    def events(self) -> pd.DataFrame:
        """Every webhook received (and refused), in order."""
        return self.store.events()

    @property
    def calls(self) -> pd.DataFrame:
        """One row per call leg: from, to, direction, outcome, timings, duration."""
        return self.store.calls()

    @property
    def inputs(self) -> pd.DataFrame:
        """One row per input result: digits pressed, words said, per leg."""
        return inputs(self.store.events())

    @property
    def recordings(self) -> pd.DataFrame:
        """One row per recording, with its download URL."""
        return recordings(self.store.events())

    def call_events(self, uuid: str) -> pd.DataFrame:
        """Everything that happened on one leg (and its recordings), in order."""
        return for_call(self.store.events(), uuid)

    def wait_for(self, uuid: str, status: str = "completed", timeout: float = 60) -> pd.DataFrame:
        """Wait until leg `uuid` reports `status` (a webhook arrived); return its events."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.store.events()
            mine = events[(events["uuid"] == uuid) & events["verified"]]
            if status in set(mine["status"].dropna()):
                return mine.reset_index(drop=True)
            time.sleep(0.05)
        raise TimeoutError(f"call {uuid} did not report {status!r} within {timeout} s; see ws.events")

    def timeline(self, call: str | None = None):
        """A picture of a call (a leg's uuid or a conversation id; the latest by default)."""
        events = self.store.events()
        events = events[events["verified"]]
        calls = events[events["conversation_uuid"].notna()]
        if calls.empty:
            raise ValueError("no calls yet: make one, then ask for its timeline")
        conversation = call if call and call.startswith("CON-") else None
        if conversation is None:
            rows = calls[calls["uuid"] == call] if call else calls
            if rows.empty:
                raise ValueError(f"no events for call {call}")
            conversation = rows.iloc[-1]["conversation_uuid"]
        actions = {}
        if self.sandbox is not None:  # the platform's own record of each NCCO action
            for uuid in calls.loc[calls["conversation_uuid"] == conversation, "uuid"].dropna().unique():
                try:
                    transcript = self.sandbox.transcript(uuid)
                except KeyError:
                    continue  # a leg from an earlier run of the sandbox
                actions[uuid] = [(pd.Timestamp(e["time"]), e["text"]) for e in transcript if e["kind"] == "action"]
        return draw_timeline(events, conversation, actions)

    def clear_events(self) -> None:
        self.store.clear()


class _RecentLines(logging.Handler):
    """Keeps recent log lines in memory, for a log view, instead of printing them."""

    def __init__(self, lines: deque):
        super().__init__(logging.INFO)
        self.lines = lines
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


_running: Workshop | None = None


def start(mode: str = "sandbox", speed: float = 1.0, port: int = 0) -> Workshop:
    """Start the workshop (or return the one already running in this kernel).

    mode: "sandbox" (default) or "live"; speed: the sandbox clock's speed; port: your
    webhook server's port (0, the default, picks a free one).
    """
    global _running
    if _running is not None and _running.running:
        if _running.mode != mode:
            raise RuntimeError(
                f"the workshop is running in {_running.mode} mode; call wh.stop() first"
            )
        return _running
    _running = Workshop(mode, speed, port).start()
    return _running


def stop() -> None:
    """Stop the running workshop, if any."""
    global _running
    if _running is not None:
        _running.stop()
        _running = None
