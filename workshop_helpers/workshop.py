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
server. Calling it again returns the running workshop (`running()` too, or None); `stop()`
frees every port, thread and tunnel. In a script, `with wh.start() as ws:` stops it when
the block ends.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import time
from collections import deque

import pandas as pd
from vonage import Vonage

from . import config, live_setup, problems, tunnel
from .events import EventStore, own_store
from .sandbox import PhoneHandle, Sandbox
from .sandbox.clock import check_clock
from .sandbox.engine import check_status
from .server import WebhookServer
from .sounds import SOUNDS
from .timeline import timeline as draw_timeline
from .vonage_app import live_client, point_live_webhooks, point_webhooks, unlinked_number

log = logging.getLogger("workshop_helpers")

MODES = ("sandbox", "live")

#: Loggers whose messages (from background threads too) go to ws.logs, not to a cell.
CAPTURED_LOGGERS = ("workshop_helpers", "vonage", "pyngrok", "werkzeug")


class Workshop:
    """A running workshop: see the module docstring for a tour."""

    def __init__(self, mode: str = "sandbox", speed: float = 1.0, port: int = 0,
                 ask=input, ask_secret=getpass.getpass, clock: str = "real"):
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not a mode; use \"sandbox\" or \"live\"")
        self.mode = mode
        self.speed = speed
        self.clock = check_clock(clock)  # the sandbox's: "real" or "virtual" (sandbox/clock.py)
        self.port = port  # the webhook server's port; 0 picks a free one
        self._ask, self._ask_secret = ask, ask_secret  # how live mode asks for a missing setting
        self.credentials: config.LiveCredentials | None = None
        self.public_url: str | None = None
        self.changes: list[str] = []
        self._tunnel_config = None
        self._log_lines: deque[str] = deque(maxlen=1000)
        self._log_handler = _RecentLines(self._log_lines)
        self.sandbox: Sandbox | None = None
        self.server: WebhookServer | None = None
        self.store: EventStore | None = None
        self.client: Vonage | None = None
        self._told: set[tuple[str, str]] = set()  # (call, problem) already printed
        self._refusals_told = 0  # refused requests already said (see _new_refusals)
        self._attached: list = []  # servers run beside the workshop (voice bots): see attach()
        self._stack = contextlib.ExitStack()  # how to stop each part that started: see start()
        self._propagate: dict[str, bool] = {}  # the captured loggers' own setting, while captured

    # -- life --------------------------------------------------------------------------------
    # Each step of a start puts how to undo it on a stack (contextlib.ExitStack), so a start
    # that fails part-way undoes exactly the steps it did, newest first, and stop() is the
    # same stack closed.
    def start(self) -> "Workshop":
        """Start every part; if any part fails (or you press stop), stop what started."""
        if self.running:
            return self
        try:
            with contextlib.ExitStack() as stack:  # unwinds only if a step raises (Ctrl-C too)
                stack.callback(self._forget_parts)  # the last undo: a stopped workshop holds no parts
                self._capture_logs(stack)
                if self.mode == "sandbox":
                    self._start_sandbox(stack)
                else:
                    self._start_live(stack)
                self._stack = stack.pop_all()  # every step done: now stop() undoes them
        except tunnel.TunnelError as error:
            # Logged once the logs are released, so a program's own logging shows it with
            # pyngrok's error chained; a notebook shows the message alone.
            log.error("the tunnel did not open (%s)", error.code or "ngrok gave no code", exc_info=error)
            raise
        _set_running(self)
        log.info("workshop started in %s mode; webhooks go to %s", self.mode, self.url)
        return self

    def _start_sandbox(self, stack: contextlib.ExitStack) -> None:
        self.store = self._open_store(stack)
        self.sandbox = Sandbox(speed=self.speed, clock=self.clock).start()
        stack.callback(_stop_quietly, self.sandbox.stop)
        for notice in self.sandbox.application.notices + self.sandbox.tls.notices:
            print(notice)  # a key or certificate the sandbox had to make again, and what it means
        self.server = self._start_server(stack, self.sandbox.application.signature_secret)
        self.client = self.sandbox.client()
        # The same Application API call as live mode: it also repairs methods and signing.
        self.changes = point_webhooks(self.client, self.sandbox.application.id, self.server.url)

    def _start_live(self, stack: contextlib.ExitStack) -> None:
        """Your server, a tunnel to it, an SDK client, and the application pointed at it."""
        credentials = self.credentials = self._live_credentials()
        config.preflight(credentials, self.port)  # before anything starts
        self.store = self._open_store(stack)
        self.server = self._start_server(stack, credentials.signature_secret)
        self.public_url = self._open_tunnel(stack, credentials)
        self.client = live_client(credentials)
        self.changes = point_live_webhooks(self.client, credentials, self.public_url)
        unlinked = unlinked_number(self.client, credentials)
        print(f"Your webhook server is reachable at {self.public_url}")
        for change in self.changes or ["The application's webhooks already point here."]:
            print("  " + change)
        if unlinked:
            print(unlinked)
        print(live_setup.COST_AND_SAFETY)

    def _live_credentials(self) -> config.LiveCredentials:
        """Live mode's settings, from the .env and the environment; asked for when missing."""
        if config.on_binder():
            raise config.ConfigError(config.ON_BINDER)
        try:
            return config.live_credentials()
        except config.ConfigError:  # settings missing: ask for them (and offer to keep them)
            if self._ask is None:
                raise
        # (asked here, not in the except: one error at a time)
        given = live_setup.setup(ask=self._ask, ask_secret=self._ask_secret)
        return config.live_credentials(given=given)

    def _open_store(self, stack: contextlib.ExitStack) -> EventStore:
        """This notebook's own event store (config.events_path), or, if another kernel has
        that one open, a new one: two kernels never share their calls."""
        wanted = config.events_path()
        store = own_store(wanted)
        stack.callback(_stop_quietly, store.close)
        if store.path != wanted:
            print(f"Another kernel has this notebook's webhooks open ({wanted.name}); "
                  f"this kernel keeps its own in {store.path}.")
        return store

    def _start_server(self, stack: contextlib.ExitStack, signature_secret: str) -> WebhookServer:
        server = WebhookServer(self.store, signature_secret, port=self.port).start()
        stack.callback(_stop_quietly, server.stop)
        return server

    def _open_tunnel(self, stack: contextlib.ExitStack, credentials: config.LiveCredentials) -> str:
        """The tunnel's public URL. Its undo is on the stack before it opens: ngrok's agent
        may start and then refuse the tunnel, and it must not be left running."""
        self._tunnel_config = tunnel.pyngrok_config(
            credentials.ngrok_authtoken, credentials.ngrok_path, config.home()
        )
        stack.callback(_stop_quietly, tunnel.close_tunnel, self._tunnel_config)
        return tunnel.open_tunnel(self.server.port, self._tunnel_config)

    def stop(self) -> None:
        """Stop the platform, the tunnel and the webhook server, freeing ports and threads:
        every part that started, the newest first.

        Each part is stopped even if stopping another fails.
        """
        if self.sandbox is not None:
            # The platform first, though: calls still up end at once, so no webhook is on its
            # way to a server that has gone. (Its own undo, on the stack, then does nothing.)
            _stop_quietly(self.sandbox.stop)
        self._stack.close()
        _set_running(None, if_current=self)

    def _forget_parts(self) -> None:
        self.server = self.sandbox = self.store = self.client = None
        self._tunnel_config = self.public_url = None
        self._attached = []

    def __enter__(self) -> "Workshop":
        """`with wh.start() as ws:` stops the workshop when the block ends, however it ends."""
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _capture_logs(self, stack: contextlib.ExitStack) -> None:
        """Send the kit's and its libraries' log messages to ws.logs, never to a cell."""
        self._propagate = {}
        stack.callback(self._release_logs)
        for name in CAPTURED_LOGGERS:
            logger = logging.getLogger(name)
            self._propagate[name] = logger.propagate
            logger.addHandler(self._log_handler)
            logger.propagate = False
        logging.getLogger("workshop_helpers").setLevel(logging.INFO)

    def _release_logs(self) -> None:
        for name, propagate in self._propagate.items():
            logger = logging.getLogger(name)
            logger.removeHandler(self._log_handler)
            logger.propagate = propagate
        self._propagate = {}

    def _require_running(self) -> None:
        if not self.running:
            raise RuntimeError("this workshop is stopped; run ws = wh.start() to start again")

    def attach(self, part) -> None:
        """Run `part` (a server of yours, like a voice bot) with the workshop: it stops
        when the workshop stops, and what went wrong in it (`part.take_problems()`) is
        said under the next cell that waits on a call."""
        self._require_running()
        self._attached.append(part)
        self._stack.callback(_stop_quietly, part.stop)

    @property
    def logs(self) -> list[str]:
        """The latest log lines (handler errors with tracebacks, refusals, ...), oldest first."""
        with self._log_handler.lock:  # a snapshot: background threads keep logging
            return list(self._log_lines)

    def show_logs(self, last: int = 20) -> None:
        """Print the latest log lines, tracebacks and all."""
        print("\n".join(self.logs[-last:]) or "(no log lines yet)")

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
        self._require_running()
        return self.public_url or self.server.url

    @property
    def number(self) -> str:
        """The application's own number: calls to it reach your answer handler."""
        self._require_running()
        return self.credentials.number if self.mode == "live" else self.sandbox.number

    # -- your handlers (decorators) ------------------------------------------------------------
    def answer(self, function):
        """Handle the answer webhook: return the NCCO for a call that starts."""
        return self._handler("answer", function)

    def on_event(self, function):
        return self._handler("event", function)

    def on_input(self, function):
        """Handle input results (DTMF, speech): return the next NCCO."""
        return self._handler("input", function)

    def on_notify(self, function):
        return self._handler("notify", function)

    def on_recording(self, function):
        return self._handler("recording", function)

    def on_fallback(self, function):
        return self._handler("fallback", function)

    def _handler(self, kind: str, function):
        self._require_running()
        return self.server.handler(kind)(function)

    def webhook_url(self, kind: str) -> str:
        """The URL of one of your webhooks, for an action's `eventUrl`."""
        return f"{self.url}/webhooks/{kind}"

    @property
    def hold_music_url(self) -> str:
        """Hold music your own server serves, for `musicOnHoldUrl` or `stream` (8 s)."""
        return self.sound_url("hold")

    def sound_url(self, name: str) -> str:
        """A sound your own server serves, for `stream`: "hold" (music, 8 s), "beep" or
        "announcement" (a spoken sentence). They work offline, and live through the tunnel."""
        if name not in SOUNDS:
            raise ValueError(f"there is no sound {name!r}; choose one of {', '.join(map(repr, SOUNDS))}")
        return f"{self.url}/audio/{name}.wav"

    # -- phones and what happened -------------------------------------------------------------
    def phone(self, number: str) -> PhoneHandle:
        """A virtual phone (sandbox mode): it can call you, press keys, speak."""
        self._require_running()
        if self.sandbox is None:
            raise RuntimeError(
                "virtual phones live in sandbox mode; in live mode, call "
                f"{self.number} from a real phone"
            )
        return self.sandbox.phone(number)

    # The views are the store's own (events.EventStore): each stored row is parsed once,
    # so they cost about what the rows that arrived since the last look cost.
    @property
    def events(self) -> pd.DataFrame:
        """Every webhook received (and refused), in order."""
        self._require_running()
        return self.store.events()

    @property
    def calls(self) -> pd.DataFrame:
        """One row per call leg: from, to, direction, outcome, timings, duration."""
        self._require_running()
        return self.store.calls()

    @property
    def inputs(self) -> pd.DataFrame:
        """One row per input result: digits pressed, words said, per leg."""
        self._require_running()
        return self.store.inputs()

    @property
    def recordings(self) -> pd.DataFrame:
        """One row per recording, with its download URL."""
        self._require_running()
        return self.store.recordings()

    def call_events(self, uuid: str) -> pd.DataFrame:
        """Everything that happened on one leg (and its recordings), in order."""
        self._require_running()
        return self.store.call_events(uuid)

    def wait_for(self, uuid: str, status: str = "completed", timeout: float = 60,
                 tell: bool = True) -> pd.DataFrame:
        """Wait until leg `uuid` reports `status` (a webhook arrived; for `completed`, in
        the sandbox, every webhook of the leg, recordings too); return its events.
        `completed`, the default, means the call is over: a rejected call ends with its
        `rejected` event, and has no `completed` one.

        On the sandbox's virtual clock, waiting is what moves the call on: it runs ahead
        until the webhook has arrived, and `timeout` is in seconds of call time.
        """
        self._require_running()
        check_status(status)
        reached = self._reached(uuid, status, timeout)
        if tell:  # (an exercise's check says them itself, once for all its calls)
            self.tell_problems(uuid)
        if not reached:
            raise TimeoutError(f"call {uuid} did not report {status!r} within {timeout} s "
                               "(pass a longer timeout for a longer call); see ws.events")
        return self.store.call_events(uuid, conversation=False)

    def sleep(self, seconds: float) -> None:
        """Let `seconds` of call time pass while calls go on (on the sandbox's virtual
        clock at once; otherwise in real time)."""
        self._require_running()
        if self.sandbox is not None:
            self.sandbox.sleep(seconds)
        else:
            time.sleep(seconds)

    def tell_problems(self, uuid: str, quiet: bool = False) -> list[str]:
        """Print, under the cell that waited, what went wrong on call `uuid` that has not
        been said yet (a handler that raised or returned no NCCO, an NCCO refused, a
        webhook that failed, the platform's error events, a stream it could not fetch);
        return all of it. `quiet` only returns it (and counts it as said)."""
        deliveries, noted = [], []
        if self.sandbox is not None:
            deliveries = self.sandbox.webhooks(uuid)
            try:
                noted = [e["text"] for e in self.sandbox.transcript(uuid)
                         if e["who"] == "platform" and e["kind"] == "error"]
            except KeyError:  # a call from before a restart: only the store has it
                pass
        # The store finds the call's rows by its leg: no table is built or searched.
        found = problems.problems(self.store.call_events(uuid), deliveries, noted)
        found += self._new_refusals()
        found += [problem for part in self._attached for problem in part.take_problems()]
        new = [problem for problem in found if (uuid, problem) not in self._told]
        self._told.update((uuid, problem) for problem in new)
        if new and not quiet:
            print(problems.report(new, f"call {uuid}"))
        return found

    def _new_refusals(self) -> list[str]:
        """Requests your server refused since the last time this was said (a refused
        webhook carries no call, so it is said under whichever call is waited on next)."""
        count, new = self.store.refusals(self._refusals_told)
        if count < self._refusals_told:  # the events were cleared
            count, new = self.store.refusals(0)
        self._refusals_told = count
        return [problems.refused(len(new), sorted(set(new)), self.mode)] if new else []

    def _reached(self, uuid: str, status: str, timeout: float) -> bool:
        condition = self._reported(uuid, status)
        if self.sandbox is not None and self.sandbox.clock.virtual:
            try:
                return bool(self.sandbox.wait_until(condition, timeout))
            except TimeoutError:
                return False
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def _reported(self, uuid: str, status: str):
        """A quick check that leg `uuid` has reported `status` (a virtual clock runs it on
        the platform's thread, before each step of time)."""
        # "completed": the call is over. A rejected call ends there, with no completed event.
        statuses = ("completed", "rejected") if status == "completed" else (status,)

        def stored() -> bool:
            return self.store.has_status(uuid, *statuses)

        if self.sandbox is None:
            return stored
        platform = self.sandbox.platform
        if not platform.run(lambda: uuid in platform.legs):
            if not self.store.has_status(uuid, "started"):
                raise ValueError(f"no call {uuid} in this workshop: use the uuid that "
                                 "phone.call() or ws.client.voice.create_call() gave you")
            return stored  # a call from before the sandbox restarted
        if status != "completed":
            return stored
        # The platform knows when the leg's last webhook (a recording, say) was answered.
        return lambda: platform.run(lambda: platform.leg_done(uuid)) and stored()

    def timeline(self, call: str | None = None):
        """A picture of a call (a leg's uuid or a conversation id; the latest by default)."""
        self._require_running()
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


def _stop_quietly(stop_part, *args) -> None:
    """Stop one part, logging (not raising) what goes wrong: the other parts stop too, and a
    start that failed shows its own error."""
    try:
        stop_part(*args)
    except Exception:
        log.exception("while stopping the workshop")


_running: Workshop | None = None  # the kernel's running workshop: ask running()


def running() -> Workshop | None:
    """The workshop running in this kernel (the one wh.start() returns again), or None."""
    if _running is not None and _running.running:
        return _running
    return None


def _set_running(workshop: Workshop | None, if_current: Workshop | None = None) -> None:
    """Remember the kernel's running workshop (so wh.start() can return it)."""
    global _running
    if if_current is None or _running is if_current:
        _running = workshop


def start(mode: str = "sandbox", speed: float = 1.0, port: int = 0,
          clock: str | None = None) -> Workshop:
    """Start the workshop (or return the one already running in this kernel).

    mode: "sandbox" (default) or "live"; speed: the sandbox clock's speed; port: your
    webhook server's port (0, the default, picks a free one); clock: the sandbox's clock,
    "real" (calls take as long as they would) or "virtual" (time jumps ahead while you
    wait for a call: exact and fast, what the kit's own checks use). The default is the
    VOICE_WORKSHOP_CLOCK environment variable, else "real".
    """
    clock = clock or check_clock(config.sandbox_clock(), "VOICE_WORKSHOP_CLOCK")
    current = running()
    if current is None:
        return Workshop(mode, speed, port, clock=clock).start()
    now = (current.mode, current.speed, current.clock, current.port)
    if now != (mode, speed, clock, port) and not (now[:3] == (mode, speed, clock) and port == 0):
        raise RuntimeError(
            f"the workshop is already running (mode={now[0]!r}, speed={now[1]}, "
            f"clock={now[2]!r}, port={now[3]}); run wh.stop() first to start it differently"
        )
    return current


def stop() -> None:
    """Stop the running workshop, if any."""
    if _running is not None:
        _running.stop()
