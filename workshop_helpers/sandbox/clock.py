"""The sandbox's clock: real time by default, or accelerated for tests and CI.

Everything in a call that takes time (ringing, speech, silence, timers) waits on this
clock, so a `speed` of 50 runs a 60-second call in just over a second while every
timestamp the platform reports still reads as if the call took a minute.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone


class Clock:
    """Virtual time that runs `speed` times faster than the wall clock."""

    def __init__(self, speed: float = 1.0):
        if not speed > 0:
            raise ValueError(f"speed must be a positive number, not {speed!r}")
        self.speed = float(speed)
        self._wall_start = datetime.now(timezone.utc)
        self._real_start = time.monotonic()

    def elapsed(self) -> float:
        """Virtual seconds since the clock started."""
        return (time.monotonic() - self._real_start) * self.speed

    def now(self) -> datetime:
        """The current virtual time, as an aware UTC datetime."""
        return self._wall_start + timedelta(seconds=self.elapsed())

    def real_seconds(self, seconds: float) -> float:
        """How long `seconds` of virtual time lasts on the wall clock."""
        return seconds / self.speed

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of virtual time."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    async def wait_for(self, awaitable, seconds: float):
        """Await `awaitable` for at most `seconds` of virtual time; else TimeoutError.

        Unlike `asyncio.wait_for` on Python 3.10 and 3.11, a cancellation (a hangup) that
        arrives just as the awaitable finishes is never swallowed, and on time-out the
        awaitable is cancelled and has finished before this returns.
        """
        task = asyncio.ensure_future(awaitable)
        try:
            done, _ = await asyncio.wait({task}, timeout=self.real_seconds(seconds))
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
        if task in done:
            return task.result()
        raise asyncio.TimeoutError


def iso_millis(moment: datetime) -> str:
    """Webhook timestamps: ISO-8601 UTC with milliseconds, `2020-07-01T20:45:35.084Z`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def iso_seconds(moment: datetime) -> str:
    """Recording times are ISO-8601 without milliseconds, `2020-07-14T01:23:04Z`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
