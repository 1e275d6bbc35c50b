"""`PhoneHandle`: a virtual phone you can drive from any thread (a notebook cell, a test).

`sandbox.phone(number)` returns one, and the control API's /sandbox/phones routes use one
too, so a phone does the same thing whoever drives it. Its errors are PhoneError (and
SandboxError, when the platform itself refuses), with messages that say what to do.
"""

from __future__ import annotations

from .backend import SandboxBackend, answered
from .phones import Behaviour, PhoneError, check_digits
from .speech import PHONE_VOICE


class PhoneHandle:
    """A virtual phone you can drive from any thread (a notebook cell, a test)."""

    def __init__(self, backend: SandboxBackend, number: str):
        self._backend = backend
        self._platform = backend.platform
        self._phone = self._platform.run(lambda: self._platform.phones.get(number))
        self.number = self._phone.number

    def __repr__(self) -> str:
        return f"<virtual phone {self.number}: {self._phone.behaviour.description or self._phone.behaviour.on_ring}>"

    def describe(self) -> dict:
        return self._platform.run(self._phone.describe)

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
        self._platform.run(lambda: self._platform.phones.script(self.number, behaviour))
        return self

    def call(self, to: str | None = None) -> str:
        """Call the application's number (an inbound call); return the new leg's uuid."""
        to = to or self._backend.application.number
        return self._platform.run(lambda: self._platform.receive_call(self._phone, to).uuid)

    def answer(self) -> None:
        self._platform.run(lambda: self._phone.decide("answer"))

    def reject(self) -> None:
        self._platform.run(lambda: self._phone.decide("reject"))

    def hangup(self) -> None:
        self._platform.run(lambda: self._on_call().hang_up(by="user"))

    def press(self, digits: str) -> None:
        """Press keys on the current call (each takes a fifth of a second)."""
        check_digits(digits)
        self._act(lambda leg: self._phone.press(leg, digits), len(digits) * 0.2)

    def say(self, phrase: str) -> None:
        """Say a phrase on the current call (0.4 s a word); returns when it is said."""
        seconds = self._platform.speech.seconds(str(phrase), PHONE_VOICE)
        self._act(lambda leg: self._phone.say(leg, phrase), seconds)

    def _act(self, action, seconds: float) -> None:
        """Run an action as part of the call, so that it stops when the call ends; return
        once it is done (a virtual clock moves on while it waits)."""
        clock = self._backend.clock

        async def act():
            leg = self._on_call()
            task = leg.start_child(action(leg))
            await clock.until(task.done, seconds + 30)
            if not task.done():
                task.cancel()
                raise PhoneError(f"{self.number} did not finish in {seconds + 30:.0f} s of call time")
            if not task.cancelled() and task.exception():
                raise task.exception()
        self._platform.run(act, timeout=clock.real_seconds(seconds + 30) + 30)

    @property
    def calls(self) -> list[str]:
        return self._platform.run(lambda: [leg.uuid for leg in self._phone.legs])

    def heard(self, call_uuid: str | None = None) -> list[dict]:
        """What this phone heard on a call (the latest by default): the platform's
        prompts and music, and what the other parties in the conversation said."""
        return [e for e in self.transcript(call_uuid) if e["who"] != "phone"]

    def transcript(self, call_uuid: str | None = None) -> list[dict]:
        """Everything on a call (the latest by default) from this phone's side."""
        if call_uuid:
            return self._backend.transcript(call_uuid)
        return self._platform.run(lambda: list(self._phone.legs[-1].transcript) if self._phone.legs else [])

    def audio(self, call_uuid: str | None = None) -> bytes:
        """A WAV of the call (the latest by default) as this phone heard it; play it in a
        notebook with `IPython.display.Audio(phone.audio())`."""
        legs = self.calls
        if not legs and call_uuid is None:
            raise PhoneError(f"{self.number} has not been on a call yet")
        return self._backend.call_audio(call_uuid or legs[-1])

    def _on_call(self):
        """The answered call this phone is on (on the loop): the rule the REST API's call
        control follows too (backend.answered), as the PhoneError a phone's user sees."""
        leg = self._phone.active_leg
        if leg is None or not answered(leg):
            raise PhoneError(f"{self.number} is not on an answered call")
        return leg
