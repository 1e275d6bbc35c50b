"""`PhoneHandle`: a virtual phone you can drive from any thread (a notebook cell, a test).

`sandbox.phone(number)` returns one. It holds a phone's number and asks the backend's
phone operations (backend.py) for everything, as the control API's /sandbox/phones routes
do, so a phone does the same thing whoever drives it. Its errors are PhoneError (and
SandboxError, when the platform itself refuses), with messages that say what to do.
"""

from __future__ import annotations

from .backend import SandboxBackend
from .phones import Behaviour, PhoneError
from .transcript import by_own_party


class PhoneHandle:
    """A virtual phone you can drive from any thread (a notebook cell, a test)."""

    def __init__(self, backend: SandboxBackend, number: str):
        self._backend = backend
        self._phone = backend.phone(number)
        self.number = self._phone.number

    def __repr__(self) -> str:
        return f"<virtual phone {self.number}: {self._phone.behaviour.description or self._phone.behaviour.on_ring}>"

    def describe(self) -> dict:
        return self._backend.phone_describe(self.number)

    def script(self, on_ring: str = "answer", answer_after: float = 1.0,
               script: list | None = None, answered_by: str = "human") -> "PhoneHandle":
        """Set what this phone does when it rings and once it has answered
        (`answered_by="machine"` makes it a voicemail box: a greeting, then a beep)."""
        return self.set_behaviour(Behaviour.from_dict({
            "on_ring": on_ring, "answer_after": answer_after, "script": script or [],
            "answered_by": answered_by,
        }))

    def set_behaviour(self, behaviour: Behaviour) -> "PhoneHandle":
        """Give this phone a whole `Behaviour` (PhoneError for a magic number: its is fixed)."""
        self._backend.phone_script(self.number, behaviour)
        return self

    def call(self, to: str | None = None) -> str:
        """Call the application's number (an inbound call); return the new leg's uuid."""
        return self._backend.phone_call(self.number, to)

    def answer(self) -> None:
        self._backend.phone_answer(self.number)

    def reject(self) -> None:
        self._backend.phone_reject(self.number)

    def hangup(self) -> None:
        self._backend.phone_hangup(self.number)

    def press(self, digits: str) -> None:
        """Press keys on the current call (each takes a fifth of a second)."""
        self._backend.phone_press(self.number, digits)

    def say(self, phrase: str) -> None:
        """Say a phrase on the current call (0.4 s a word); returns when it is said."""
        self._backend.phone_say(self.number, phrase)

    @property
    def calls(self) -> list[str]:
        return self._backend.phone_call_uuids(self.number)

    def heard(self, call_uuid: str | None = None) -> list[dict]:
        """What this phone heard on a call (the latest by default): the platform's
        prompts and music, and what the other parties in the conversation said."""
        return [e for e in self.transcript(call_uuid) if not by_own_party(e)]

    def transcript(self, call_uuid: str | None = None) -> list[dict]:
        """Everything on a call (the latest by default) from this phone's side."""
        return self._backend.phone_transcript(self.number, call_uuid)

    def audio(self, call_uuid: str | None = None) -> bytes:
        """A WAV of the call (the latest by default) as this phone heard it; play it in a
        notebook with `IPython.display.Audio(phone.audio())`."""
        legs = self.calls
        if not legs and call_uuid is None:
            raise PhoneError(f"{self.number} has not been on a call yet")
        return self._backend.call_audio(call_uuid or legs[-1])
