"""The sandbox's clock: real time (optionally accelerated) for people, virtual time for tests.

Everything in a call that takes time (ringing, speech, silence, timers) waits on this
clock. Two kinds:

- `Clock(speed)`: real time, `speed` times faster. A `speed` of 50 runs a 60-second call
  in just over a second, while every timestamp still reads as if the call took a minute.
  This is what people use: a phone rings for as long as it would, so you can answer it.
- `VirtualClock()`: time that moves only when it has to. While the platform has work to
  do, time stands still; when every task of the platform only waits for a timer and
  somebody waits for the platform (a test, `ws.wait_for`), the clock jumps straight to the
  next timer. A 30 s call runs in milliseconds and every duration the platform reports is
  exact, however loaded the machine is. This is what tests and notebook checks use.

How the virtual clock tells "idle until a timer" from "waiting for the outside world":
the platform says so, around every wait on something outside its loop.
- `with clock.request(seconds):` around a request whose answer the platform waits for
  (a webhook to your server, a `stream` download, a WebSocket handshake). Time stands
  still until the answer comes, so your server's speed never shows in call time; if no
  answer has come after the request's time-out (in real time, at `speed`), the request
  stops holding time, which moves on to the time-out's own timer: it fires at its exact
  moment of call time, as if the outside world had taken that long.
- `with clock.streaming():` while a WebSocket is open. Its server may speak at any moment,
  in real time, so time flows at `speed` like real time (never past a timer that is due).
- `await clock.in_thread(function, ...)` for work in a worker thread (espeak-ng, decoding,
  encoding): time stands still until it is done.
Only when none of these is under way may time jump. Code on the platform's own loop needs
nothing special: `asyncio.sleep`, `asyncio.wait(timeout=...)` and aiohttp's time-outs all
read the loop's time, which is the virtual clock.

The clock never passes a timer that is due: when time flows or jumps, it stops at the
next timer, which then runs at exactly its moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import selectors
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

CLOCKS = ("real", "virtual")

#: How often (real seconds) a virtual clock re-checks its waiters' conditions while the
#: outside world or a worker thread has the platform's attention.
LOOK_AGAIN = 0.01


class Clock:
    """Real time that runs `speed` times faster than the wall clock."""

    virtual = False

    def __init__(self, speed: float = 1.0):
        if not (isinstance(speed, (int, float)) and speed > 0):
            raise ValueError(f"speed must be a positive number, not {speed!r}")
        self.speed = float(speed)
        self._wall_start = datetime.now(timezone.utc)
        self._real_start = time.monotonic()

    @property
    def kind(self) -> str:
        return "virtual" if self.virtual else "real"

    def elapsed(self) -> float:
        """Virtual seconds since the clock started."""
        return (time.monotonic() - self._real_start) * self.speed

    def now(self) -> datetime:
        """The current virtual time, as an aware UTC datetime."""
        return self._wall_start + timedelta(seconds=self.elapsed())

    def real_seconds(self, seconds: float) -> float:
        """At most how long `seconds` of call time lasts on the wall clock."""
        return seconds / self.speed

    def loop_seconds(self, seconds: float) -> float:
        """`seconds` of call time in the platform loop's own time (what asyncio timers take)."""
        return seconds / self.speed

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the platform runs on: an ordinary one, on the wall clock."""
        return asyncio.new_event_loop()

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of call time."""
        await asyncio.sleep(self.loop_seconds(max(0.0, seconds)))

    async def wait_for(self, awaitable, seconds: float):
        """Await `awaitable` for at most `seconds` of call time; else TimeoutError.

        Unlike `asyncio.wait_for` on Python 3.10 and 3.11, a cancellation (a hangup) that
        arrives just as the awaitable finishes is never swallowed, and on time-out the
        awaitable is cancelled and has finished before this returns.
        """
        task = asyncio.ensure_future(awaitable)
        try:
            done, _ = await asyncio.wait({task}, timeout=self.loop_seconds(seconds))
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
        if task in done:
            return task.result()
        raise asyncio.TimeoutError

    async def until(self, condition: Callable[[], object], seconds: float):
        """On the loop: wait until `condition()` is true and return its value, or None
        once `seconds` of call time have passed. The real clock looks every 10 ms."""
        deadline = self.elapsed() + seconds
        while not (value := condition()):
            if self.elapsed() >= deadline:
                return None
            await asyncio.sleep(0.01)
        return value

    @contextlib.contextmanager
    def request(self, seconds: float):
        """Around a request to the outside world with a `seconds` time-out (real time
        needs nothing: the outside world takes the time it takes)."""
        yield

    @contextlib.contextmanager
    def streaming(self):
        """While an outside server may speak at any moment (a WebSocket is open)."""
        yield

    async def in_thread(self, function, *args):
        """Run slow work (speech, decoding, encoding) in a worker thread; return its result."""
        return await asyncio.to_thread(function, *args)


class VirtualClock(Clock):
    """Time that stands still while the platform works and jumps when it only waits.

    `speed` is how fast time flows while a WebSocket is open, and how fast an unanswered
    request's time-out runs out: 1 means as fast as real time.
    """

    virtual = True

    def __init__(self, speed: float = 1.0):
        super().__init__(speed)
        self._now = 0.0
        self._requests: dict[object, float] = {}  # requests under way: until when (real) they hold time
        self._streams = 0  # open WebSockets
        self._working = 0  # worker threads computing for the platform
        self._waiters: dict[asyncio.Future, Callable[[], object]] = {}

    def elapsed(self) -> float:
        return self._now

    def loop_seconds(self, seconds: float) -> float:
        return seconds  # the loop's time is this clock's time

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return _VirtualTimeLoop(self)

    async def until(self, condition: Callable[[], object], seconds: float):
        """On the loop: let time run until `condition()` is true and return its value, or
        None once `seconds` of call time have passed. The condition is checked each time
        the platform has nothing left to do, before the clock moves on, so time stops at
        the moment it became true."""
        if value := condition():
            return value
        met = asyncio.get_running_loop().create_future()
        self._waiters[met] = condition
        try:
            done, _ = await asyncio.wait({met}, timeout=seconds)
        finally:
            del self._waiters[met]
        return met.result() if met in done else (condition() or None)  # true just now?

    @contextlib.contextmanager
    def request(self, seconds: float):
        token = object()
        self._requests[token] = time.monotonic() + seconds / self.speed
        try:
            yield
        finally:
            del self._requests[token]

    @contextlib.contextmanager
    def streaming(self):
        self._streams += 1
        try:
            yield
        finally:
            self._streams -= 1

    async def in_thread(self, function, *args):
        self._working += 1
        try:
            return await asyncio.to_thread(function, *args)
        finally:
            self._working -= 1

    # -- what the loop asks while it has nothing to run (see _JumpingSelector) ------------
    def wake_waiters(self) -> bool:
        """Resolve every waiter whose condition holds (with its value); True if any did."""
        woke = False
        for met, condition in list(self._waiters.items()):
            if met.done():
                continue
            try:
                if value := condition():
                    met.set_result(value)
                    woke = True
            except Exception as error:  # a broken condition ends its wait, with the error
                met.set_exception(error)
                woke = True
        return woke

    def idle_step(self, timeout: float | None) -> tuple[float | None, float | None]:
        """The loop is idle with its next timer `timeout` seconds away (None: no timer).

        Returns (real seconds to wait for the outside world, or None for as long as it
        takes; how fast time flows meanwhile, or None if it stands still). A jump is done
        here, at once, and returns (0, None).
        """
        if self._working:
            return self._look_again(None), None  # a thread will call back: time stands still
        now = time.monotonic()
        answers_due = [deadline - now for deadline in self._requests.values() if deadline > now]
        if answers_due:  # an answer is on its way: stand still until it comes, or is late
            return self._look_again(min(answers_due)), None
        if self._streams:
            return self._look_again(None if timeout is None else timeout / self.speed), self.speed
        if timeout is not None and self._somebody_waits():
            self._now += timeout  # nothing can happen before the next timer: go there
            return 0.0, None
        return None, None  # nobody waits for time to pass: stand still until called

    def _look_again(self, wait: float | None) -> float | None:
        """While the outside world or a worker thread has the platform's attention, a
        waiter's condition may come true at any moment (a webhook reached your server
        before its answer came back): look again every LOOK_AGAIN real seconds."""
        if not self._somebody_waits():
            return wait
        return LOOK_AGAIN if wait is None else min(wait, LOOK_AGAIN)

    def _somebody_waits(self) -> bool:
        return any(not met.done() for met in self._waiters)

    def flowed(self, real_seconds: float, rate: float, timeout: float | None) -> None:
        """Time flowed for `real_seconds` while a WebSocket was open; never past the next
        timer."""
        step = real_seconds * rate
        self._now += step if timeout is None else min(step, timeout)


class _JumpingSelector(selectors.DefaultSelector):
    """The loop's I/O selector, asked "wait up to `timeout` for I/O" whenever the loop has
    nothing runnable: the one place where virtual time can move."""

    def __init__(self, clock: VirtualClock):
        super().__init__()
        self.clock = clock

    def select(self, timeout=None):
        if timeout is not None and timeout <= 0:
            return super().select(0)  # something is runnable: time stands still
        ready = super().select(0)  # a webhook answer, a call from another thread, ...
        if ready or self.clock.wake_waiters():
            return ready
        wait, rate = self.clock.idle_step(timeout)
        if wait == 0:
            return []  # jumped: the next timer is due now
        started = time.monotonic()
        ready = super().select(wait)
        if rate is not None:
            self.clock.flowed(time.monotonic() - started, rate, timeout)
        return ready


class _VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose time is a VirtualClock's."""

    def __init__(self, clock: VirtualClock):
        self._virtual_clock = clock
        super().__init__(selector=_JumpingSelector(clock))

    def time(self) -> float:
        return self._virtual_clock.elapsed()


#: The longest wait: a day of call time.
LONGEST_WAIT = 86400


def check_seconds(value, name: str = "seconds") -> float:
    """`value` if it is a wait the clock can do; else a ValueError that says what is."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= LONGEST_WAIT:
        raise ValueError(f"{name} must be a number of seconds of call time from 0 to "
                         f"{LONGEST_WAIT}, not {value!r}")
    return float(value)


def check_clock(name: str, setting: str = "clock") -> str:
    """`name` if it names a clock; else a ValueError that says which exist."""
    if name not in CLOCKS:
        raise ValueError(f"{setting} {name!r} is not a clock; use \"real\" or \"virtual\"")
    return name


def make_clock(clock: str = "real", speed: float = 1.0) -> Clock:
    """The clock called `clock` ("real" or "virtual"), at `speed`."""
    return VirtualClock(speed) if check_clock(clock) == "virtual" else Clock(speed)


def iso_millis(moment: datetime) -> str:
    """Webhook timestamps: ISO-8601 UTC with milliseconds, `2020-07-01T20:45:35.084Z`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def iso_seconds(moment: datetime) -> str:
    """Recording times are ISO-8601 without milliseconds, `2020-07-14T01:23:04Z`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
