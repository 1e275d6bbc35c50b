"""What the NCCO running on a leg is doing right now.

The NCCO runner (actions.py) keeps its state here rather than on the leg: the task running
the NCCO and a REST transfer's NCCO waiting to replace it, a `bargeIn` prompt still
playing, an asynchronous `input` and where its keys go, and whether an input is listening
now. The leg, the REST controls (call_control.py) and the phones use the methods below, so
each change has one name and one place.
"""

from __future__ import annotations

import asyncio


class NccoState:
    """One leg's running NCCO: its task, prompt, inputs and their listeners. On the loop."""

    def __init__(self):
        self.task: asyncio.Task | None = None  # the task running the current NCCO
        self._next: list | None = None  # a REST transfer's NCCO, to run next
        self.prompt: asyncio.Task | None = None  # a bargeIn talk/stream still playing
        self._async_input: asyncio.Task | None = None  # an asynchronous input's listener
        self._key_listener: tuple[str, str] | None = None  # PUT .../input/dtmf: (url, method)
        self._listening = False  # while an input action waits for the caller
        self._listening_for_keys = False  # and whether that input takes keys (not speech only)
        self._inputs_started = 0  # how many input actions have started listening
        self._input_started = asyncio.Event()  # pulsed when one does

    # -- which NCCO runs ---------------------------------------------------------------
    def run_next(self, ncco: list) -> None:
        """Run `ncco` next, unless a transfer already chose one (during the answer webhook)."""
        self._next = self._next or ncco

    def take_next(self) -> list | None:
        """The NCCO to run now, if any; it is taken."""
        ncco, self._next = self._next, None
        return ncco

    def replace(self, ncco: list) -> None:
        """A REST transfer: stop the running NCCO; `ncco` runs instead."""
        self._next = ncco
        for running in (self.task, self.prompt, self._async_input):
            if running is not None:
                running.cancel()  # the old NCCO's prompt and listener go with it

    # -- prompts -----------------------------------------------------------------------
    def play_prompt(self, playing: asyncio.Task) -> None:
        """A bargeIn prompt plays on while the next action starts."""
        self.prompt = playing

    def barge_in(self) -> None:
        """The caller pressed a key or spoke: a bargeIn prompt stops."""
        if self.prompt is not None:
            self.prompt.cancel()

    async def finish_prompt(self) -> None:
        """Let a bargeIn prompt finish (or be interrupted) before going on."""
        if self.prompt is not None:
            await asyncio.wait({self.prompt})
            self.prompt = None

    # -- inputs ------------------------------------------------------------------------
    def stop_async_input(self) -> None:
        """One listener for keys at a time: a new input replaces an asynchronous one."""
        if self._async_input is not None:
            self._async_input.cancel()

    def start_async_input(self, listener: asyncio.Task) -> None:
        self._async_input = listener

    def start_listening(self, keys: bool = True) -> None:
        """A synchronous input waits for the caller (for keys too, unless speech only)."""
        self._inputs_started += 1
        self._listening_for_keys = keys
        self._listening = True
        self._input_started.set()
        self._input_started.clear()

    def stop_listening(self) -> None:
        self._listening = False

    @property
    def hears_keys(self) -> bool:
        """Whether a key pressed now reaches an input: a synchronous one that takes keys
        (also while its bargeIn prompt plays), or an asynchronous one, which takes every key
        until the call ends or another input replaces it. Any other key is lost."""
        asynchronous = self._async_input is not None and not self._async_input.done()
        return asynchronous or (self._listening and self._listening_for_keys)

    async def next_input(self, after: int) -> int:
        """Wait until an input numbered above `after` listens; return its number."""
        while not (self._listening and self._inputs_started > after):
            await self._input_started.wait()
        return self._inputs_started

    def send_keys_to(self, url: str | None, method: str = "POST") -> None:
        """Where an asynchronous input's keys go from now on (None: back to its eventUrl)."""
        self._key_listener = (url, method) if url else None

    def keys_destination(self, url: str | None, method: str | None) -> tuple[str | None, str | None]:
        """Where an asynchronous input sends a key: the REST listener's URL if one was
        set (PUT .../input/dtmf), else the input's own `url` and `method`."""
        return self._key_listener or (url, method)
