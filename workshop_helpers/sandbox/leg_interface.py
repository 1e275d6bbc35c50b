"""A call leg as the modules around the engine see it: the NCCO's actions, the REST
controls, the parties on the line (phones, websockets) and machine detection.

The engine's `Leg` implements `CallLeg`, and its `Platform` implements `PlatformServices`.
Those modules depend on these two descriptions instead of on the engine, so imports run
one way: engine.py imports them, never the other way round. Each member is listed with
who uses it, so this file is also the map of what the engine offers.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from .conversations import Participant

if TYPE_CHECKING:
    from .application import SandboxApplication
    from .calls import CallSetup
    from .conversations import Conversation
    from .ncco_state import NccoState
    from .recordings import Recorder
    from .streams import StreamCache
    from .transcript import TranscriptEntry
    from .webhooks import Outbox


class PlatformServices(Protocol):
    """What the platform does for a leg's NCCO and party, beyond the leg itself."""

    app: SandboxApplication  # the application's number (a connect's default caller ID)
    recorder: Recorder  # record, saveAudio
    streams: StreamCache  # stream, hold music, ringback tones
    conversations: dict[str, Conversation]  # by uuid: what a transfer action moves legs into

    async def say(self, text: str, language: str) -> tuple[str, float]:
        """Speak `text`: the key of its audio, and how long it lasts."""

    def named_conversation(self, name: str) -> Conversation:
        """The conversation action's room called `name`."""

    def connect(self, caller: CallLeg, setup: CallSetup) -> CallLeg:
        """Start a connect action's leg in `caller`'s conversation."""


class CallLeg(Participant, Protocol):
    """One leg of a call: who is on it, what they said and heard, and what the platform
    can do to it. Besides what its conversation uses (see `Participant`):"""

    setup: CallSetup  # how it was started (event URL, machine detection, a connect's caller)
    platform: PlatformServices
    transcript: list[TranscriptEntry]  # what its party said and heard
    dtmf: asyncio.Queue[str]  # keys its party pressed, for an input to take
    activity: asyncio.Event  # pulsed whenever its party makes a sound
    last_activity_end: float  # when on the call's clock that sound ends
    ncco_state: NccoState  # what its NCCO is doing (actions.py runs it)
    played: dict[str, asyncio.Task]  # REST talk/stream playing, by kind (call_control.py)
    task: asyncio.Task  # the leg's life: done once it has ended and sent its events
    joined: asyncio.Event  # a connect's leg: set once it joins its caller, or ends
    status_ncco: asyncio.Future | None  # a synchronous connect's answer to its failure
    outbox: Outbox  # its webhooks, delivered in order (a REST transfer's fetch waits its turn)

    @property
    def conversation_uuid(self) -> str: ...

    @property
    def from_number(self) -> str: ...

    @property
    def to_number(self) -> str: ...

    def base_payload(self) -> dict:
        """from, to, uuid, conversation_uuid: what most events start with."""

    def emit_error(self, reason: str, detail: str = "") -> None: ...

    async def send_event_for_ncco(self, payload: dict, url: str | None, method: str | None,
                                  kind: str) -> list | None:
        """Send an event whose answer may be the next NCCO (input, notify); wait for it."""

    def start_child(self, coroutine) -> asyncio.Task:
        """Run something alongside the NCCO, stopped when the leg ends."""

    # -- sounds ------------------------------------------------------------------------
    async def play(self, kind: str, text: str, seconds: float, audio: str | None = None,
                   since: float | None = None) -> None:
        """The platform plays a sound to the party."""

    def beep(self) -> None:
        """The platform beeps before it records."""

    async def next_beep(self, after: int) -> int: ...

    def speak(self, kind: str, text: str, seconds: float, audio: str | None = None,
              at: float | None = None) -> TranscriptEntry:
        """The party makes a sound, heard by whoever can hear it."""

    def receive_dtmf(self, digit: str) -> None: ...

    def receive_speech(self, phrase: str, seconds: float, audio: str | None = None,
                       since: float | None = None) -> None: ...

    def receive_beep(self) -> None: ...

    def transfer(self, ncco: list) -> None:
        """Replace whatever NCCO is running with `ncco` (REST transfer)."""

    # -- ending ------------------------------------------------------------------------
    def hang_up(self, by: str) -> None:
        """End the leg now (by the remote `user` or the `platform`)."""

    def disconnect(self, **extra) -> None:
        """The party left on its own (a websocket server closed the socket)."""
