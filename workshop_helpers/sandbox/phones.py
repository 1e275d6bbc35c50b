"""Virtual phones: the people at the other end of sandbox calls.

A phone has a behaviour: what it does when it rings (answer after a delay, be busy, never
answer, reject, ...) and a script of what it does once answered (wait, press keys, say
something, wait for a prompt, hang up). A few "magic" numbers have fixed behaviours, like
the test numbers of other telecom APIs, so a notebook can show every call outcome without
any set-up. Any other number is an ordinary phone that answers after a second and can be
scripted or driven by hand. App users, SIP URIs and VBC extensions that a `connect` (or a
create call) reaches are modelled the same way: a virtual endpoint with a behaviour.

Everything here runs on the platform's event loop. Other threads reach a phone through the
backend's phone operations (backend.py): `PhoneHandle` (phone_handle.py) for notebooks,
the /sandbox/phones routes for the control API.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from pydantic import TypeAdapter, ValidationError
from vonage_utils.types import PhoneNumber

from . import media
from .calls import LENGTH_TIMER
from .speech import PHONE_VOICE

if TYPE_CHECKING:
    from .leg_interface import CallLeg

#: What a phone can do when it rings.
ON_RING = {
    "answer": "answers after `answer_after` seconds",
    "manual": "rings until told to answer or reject (or the ringing timer ends)",
    "ignore": "rings and never answers (the call ends in `timeout`)",
    "busy": "is busy (`busy`)",
    "unavailable": "cannot be reached (`unanswered`, detail `unavailable`)",
    "reject": "rejects the call (`rejected`, detail `declined`)",
    "fail": "is out of service (`failed`, detail `number_out_of_service`)",
}

#: Script steps, each a one-key object: {"wait": 2}, {"press": "12#"}, ...
SCRIPT_STEPS = {
    "wait": "wait this many seconds",
    "press": "press these keys (0-9, *, #), a fifth of a second each",
    "say": "say this phrase (it takes 0.4 s a word)",
    "await_input": "wait until the platform listens for input (an `input` action)",
    "await_beep": "wait until the platform beeps to record (a `record` action's beepStart)",
    "hangup": "hang up",
}

_phone_number = TypeAdapter(PhoneNumber)


class PhoneError(ValueError):
    """A phone set-up or command that cannot work; the message says what to do."""


#: Who picks up when the phone answers (what machine detection finds).
ANSWERED_BY = ("human", "machine")
VOICEMAIL_GREETING = "Hello, you have reached my voicemail. Please leave a message after the tone."


@dataclass
class Behaviour:
    on_ring: str = "answer"
    answer_after: float = 1.0
    script: list = field(default_factory=list)
    description: str = ""
    answered_by: str = "human"  # a "machine" says a voicemail greeting and beeps first

    @classmethod
    def from_dict(cls, data: dict) -> "Behaviour":
        """Build a behaviour from JSON-like data, with a clear error for each mistake."""
        if not isinstance(data, dict):
            raise PhoneError("a phone behaviour is an object like {\"on_ring\": \"answer\"}")
        unknown = set(data) - {"on_ring", "answer_after", "script", "description", "answered_by"}
        if unknown:
            raise PhoneError(
                f"unknown behaviour keys {sorted(unknown)}; use on_ring, answer_after, script, answered_by"
            )
        on_ring = data.get("on_ring", "answer")
        if not isinstance(on_ring, str) or on_ring not in ON_RING:
            choices = "; ".join(f"{name} ({what})" for name, what in ON_RING.items())
            raise PhoneError(f"on_ring {on_ring!r} is not one of: {choices}")
        answer_after = data.get("answer_after", 1.0)
        if not isinstance(answer_after, (int, float)) or not 0 <= answer_after <= 120:
            raise PhoneError("answer_after is a number of seconds from 0 to 120")
        script = data.get("script", [])
        check_script(script)
        answered_by = data.get("answered_by", "human")
        if answered_by not in ANSWERED_BY:
            raise PhoneError('answered_by is "human" or "machine" (a voicemail box)')
        return cls(on_ring, float(answer_after), list(script), data.get("description", ""), answered_by)

    def as_dict(self) -> dict:
        return asdict(self)


def check_script(script: list) -> None:
    if not isinstance(script, list):
        raise PhoneError('a script is a list of steps like [{"wait": 1}, {"press": "1"}]')
    for index, step in enumerate(script):
        where = f"script[{index}]"
        if not isinstance(step, dict) or len(step) != 1:
            raise PhoneError(f"{where} must be an object with one of: {', '.join(SCRIPT_STEPS)}")
        (name, value), = step.items()
        if name not in SCRIPT_STEPS:
            choices = "; ".join(f"{step} ({what})" for step, what in SCRIPT_STEPS.items())
            raise PhoneError(f"{where}: unknown step {name!r}; the steps are: {choices}")
        if name == "wait" and not (isinstance(value, (int, float)) and 0 <= value <= LENGTH_TIMER):
            raise PhoneError(f"{where}: wait takes a number of seconds, from 0 to {LENGTH_TIMER} (a call's longest)")
        if name == "press":
            check_digits(value, where)
        if name == "say" and not (isinstance(value, str) and value.strip()):
            raise PhoneError(f"{where}: say takes a phrase")


def check_digits(digits: object, where: str = "digits") -> str:
    if not isinstance(digits, str) or not digits or set(digits) - set(media.DTMF_FREQUENCIES):
        raise PhoneError(f"{where}: press takes keys from 0-9, * and #, like \"12#\"")
    return digits


def check_number(number: object) -> str:
    try:
        return _phone_number.validate_python(number)
    except ValidationError:
        raise PhoneError(
            f"{number!r} is not a phone number: use 7 to 15 digits in international "
            "format with no + or spaces, like 447700900123"
        ) from None


MAGIC_NUMBERS: dict[str, Behaviour] = {
    "447700900000": Behaviour("answer", 1.0, [], "answers after 1 s and listens"),
    "447700900001": Behaviour("busy", description="is always busy"),
    "447700900002": Behaviour("ignore", description="rings and never answers"),
    "447700900003": Behaviour("reject", description="rejects every call"),
    "447700900004": Behaviour("fail", description="is out of service"),
    "447700900005": Behaviour("unavailable", description="cannot be reached"),
    "447700900006": Behaviour(
        "answer", 1.0, [{"await_input": True}, {"press": "1"}],
        "answers and presses 1 when asked for input",
    ),
    "447700900007": Behaviour(
        "answer", 1.0, [{"wait": 3}, {"hangup": True}], "answers and hangs up after 3 s"
    ),
    "447700900008": Behaviour(
        "answer", 1.0, [], "a voicemail box: a machine answers, greets and beeps",
        answered_by="machine",
    ),
}

DEFAULT_BEHAVIOUR = Behaviour("answer", 1.0, [], "answers after 1 s and listens")


class VirtualPhone:
    """One number's phone: its behaviour, its calls, and what it can do on a call."""

    def __init__(self, number: str, behaviour: Behaviour, magic: bool = False):
        self.number = number
        self.behaviour = behaviour
        self.magic = magic
        self.legs: list["CallLeg"] = []  # every call this phone has been on (the leg adds itself)
        self._ringing: dict[str, asyncio.Future] = {}  # "manual" calls waiting for a decision

    @property
    def active_leg(self) -> "CallLeg | None":
        """The call this phone is on (or ringing with), if any."""
        for leg in reversed(self.legs):
            if not leg.ended:
                return leg
        return None

    def describe(self) -> dict:
        return {
            "number": self.number,
            "magic": self.magic,
            "behaviour": self.behaviour.as_dict(),
            "calls": [leg.uuid for leg in self.legs],
            "on_call": self.active_leg.uuid if self.active_leg else None,
            # whether a key pressed now would be heard (an input that takes keys is running)
            "listening_for_keys": bool(self.active_leg and self.active_leg.ncco_state.hears_keys),
        }

    # -- what the platform asks of the phone ---------------------------------------
    async def ring(self, leg: "CallLeg") -> str:
        """Ring; return what the person does: answer, busy, unavailable or reject.

        A phone that ignores the call never returns: the platform's ringing timer ends it.
        """
        behaviour = self.behaviour
        if behaviour.on_ring == "answer":
            await leg.clock.sleep(behaviour.answer_after)
            return "answer"
        if behaviour.on_ring in ("busy", "unavailable"):
            await leg.clock.sleep(0.5)
            return behaviour.on_ring
        if behaviour.on_ring == "manual":
            decision = asyncio.get_running_loop().create_future()
            self._ringing[leg.uuid] = decision
            try:
                return await decision
            finally:
                del self._ringing[leg.uuid]
        return await asyncio.get_running_loop().create_future()  # "ignore": never decides

    async def converse(self, leg: "CallLeg") -> None:
        """Follow the script once the call is answered; then listen quietly."""
        if self.behaviour.answered_by == "machine":
            await self.say(leg, VOICEMAIL_GREETING)
            leg.receive_beep()
        last_input = last_beep = 0  # each await_ step waits for a new input, or beep
        for step in self.behaviour.script:
            (name, value), = step.items()
            if name == "wait":
                await leg.clock.sleep(value)
            elif name == "press":
                await self.press(leg, value)
            elif name == "say":
                await self.say(leg, value)
            elif name == "await_input":
                last_input = await leg.ncco_state.next_input(after=last_input)
            elif name == "await_beep":
                last_beep = await leg.next_beep(after=last_beep)
            elif name == "hangup":
                leg.hang_up(by="user")
                return

    async def call_ended(self, leg: "CallLeg") -> None:
        """Nothing to tidy up when a phone's call ends (a websocket closes its socket)."""

    # -- what a person (or the control API) can do ---------------------------------
    def decide(self, decision: str) -> None:
        """Answer or reject the longest-ringing call (phones whose on_ring is "manual")."""
        waiting = [future for future in self._ringing.values() if not future.done()]
        if not waiting:
            raise PhoneError(f"{self.number} is not ringing with a call waiting for an answer")
        waiting[0].set_result(decision)

    async def press(self, leg: "CallLeg", digits: str) -> None:
        for digit in check_digits(digits):
            leg.receive_dtmf(digit)
            await leg.clock.sleep(media.DTMF_SECONDS)

    async def say(self, leg: "CallLeg", phrase: str) -> None:
        if not isinstance(phrase, str) or not phrase.strip():
            raise PhoneError("say takes a phrase, like \"sales please\"")
        since = leg.clock.elapsed()  # speaking starts now, however long espeak-ng takes
        audio, seconds = await leg.platform.say(phrase, PHONE_VOICE)
        leg.receive_speech(phrase, seconds, audio, since)
        await leg.clock.sleep(max(0.0, since + seconds - leg.clock.elapsed()))


#: Keys of virtual endpoints that are not phone numbers.
ENDPOINT_PREFIXES = ("app:", "sip:", "sips:", "vbc:")


class PhoneBook:
    """All virtual phones, by number. Unknown numbers get an ordinary phone on first use."""

    def __init__(self):
        self._phones = {
            number: VirtualPhone(number, behaviour, magic=True)
            for number, behaviour in MAGIC_NUMBERS.items()
        }

    def get(self, number: str) -> VirtualPhone:
        """The phone for a number, or for an endpoint key like "app:alice" or "sip:bob@example.com"."""
        if not (isinstance(number, str) and number.startswith(ENDPOINT_PREFIXES)):
            number = check_number(number)
        if number not in self._phones:
            self._phones[number] = VirtualPhone(number, DEFAULT_BEHAVIOUR)
        return self._phones[number]

    def endpoint(self, endpoint: dict) -> VirtualPhone:
        """The virtual endpoint a call to `endpoint` (a Voice API endpoint object) reaches."""
        kind = endpoint.get("type", "phone")
        if kind == "phone":
            return self.get(endpoint["number"])
        if kind == "sip":
            return self.get(endpoint.get("uri") or f"sip:{endpoint.get('user')}@{endpoint.get('domain')}")
        return self.get(f"{kind}:{endpoint.get('user') or endpoint.get('extension')}")

    def script(self, number: str, behaviour: Behaviour) -> VirtualPhone:
        phone = self.get(number)
        if phone.magic:
            raise PhoneError(
                f"{number} is a magic number with a fixed behaviour ({phone.behaviour.description}); "
                "script any other number, like 447700900123"
            )
        phone.behaviour = behaviour
        return phone

    def all(self) -> list[VirtualPhone]:
        return list(self._phones.values())
