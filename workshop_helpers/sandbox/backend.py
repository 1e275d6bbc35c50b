"""What the sandbox does when asked: the operations behind its HTTP API and its Python API.

`SandboxBackend` holds the rules (a call must be answered to be muted, a created call's
events need somewhere to go, an answer webhook gets 5 s at most, ...) and raises typed
errors (errors.py) that carry their HTTP status; a virtual phone that cannot do what is
asked raises PhoneError, which says why. What a call-control verb then does to the live
leg is in call_control.py. The Flask views (routes/) only read requests and write
responses around these methods, and `Sandbox` (service.py) and `PhoneHandle`
(phone_handle.py) call the same ones, so a rule is written once, as moto's backends do
for its responses.

Every method is safe from any thread: call state lives on the platform's loop, and each
method that touches it hands its work there with `platform.run`. The rest needs no loop:
the application has its own lock, recordings are files, and a clock reading taken from
another thread may be a moment old, which is all a reading promises.

The APIs it implements: https://developer.vonage.com/en/api/voice and
https://developer.vonage.com/en/api/application.v2
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from vonage_voice.models import CreateCallRequest

from . import call_control, media
from .application import SandboxApplication
from .calls import CallSetup
from .clock import check_seconds, iso_millis
from .engine import Leg, Platform, check_status
from .errors import (
    CallEnded,
    CallNotAnswered,
    SandboxError,
    UnknownApplication,
    UnknownCall,
    UnknownFile,
    invalid,
)
from .media import CONTENT_TYPES
from .phones import Behaviour, PhoneError, VirtualPhone, check_digits
from .speech import PHONE_VOICE

#: A recording's file id: a uuid, as `IdFactory` makes them (any case, as the platform's are).
FILE_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

#: What PUT /v1/calls/{uuid} can do to a call.
MODIFY_ACTIONS = ("hangup", "mute", "unmute", "earmuff", "unearmuff", "transfer")

#: The keys PUT /v1/calls/{uuid}/dtmf plays: a virtual phone's keypad, and `p` for a pause.
DTMF_KEYS = set(media.DTMF_FREQUENCIES) | {"p"}

#: The longest an answer webhook may be given to answer, in ms: the SDK's model allows
#: 10 s reads on every webhook, but answer URLs get 5 s at most.
ANSWER_TIMEOUT_MS = 5000


def answered(leg: Leg) -> bool:
    """The rule for changing a call (playing into it, muting it, pressing keys on it):
    it is up, and answered."""
    return not leg.ended and leg.status == "answered"


def require_answered(leg: Leg) -> Leg:
    """`leg` if `answered`; else the 400 that says which half failed, as the platform does."""
    if leg.ended:
        raise CallEnded(leg.uuid, leg.status)
    if not answered(leg):
        raise CallNotAnswered(leg.uuid, leg.status)
    return leg


class SandboxBackend:
    """The platform's calls, phones and application, as operations with typed errors."""

    def __init__(self, platform: Platform, application: SandboxApplication):
        self.platform = platform
        self.application = application
        self.clock = platform.clock

    def _leg(self, call_uuid: str) -> Leg:
        """The leg with this uuid, or UnknownCall (404). On the loop."""
        leg = self.platform.legs.get(call_uuid)
        if leg is None:
            raise UnknownCall(call_uuid)
        return leg

    # -- calls (Voice API v1) ------------------------------------------------------------
    def create_call(self, request: CreateCallRequest, to: dict, ncco: list | None) -> tuple[str, str]:
        """Dial an outbound call at once; return its (uuid, conversation_uuid). `request` is a
        validated POST /v1/calls as the SDK's model, `to` its endpoint as sent, `ncco` its
        parsed NCCO (see CallSetup.for_create_call)."""
        # The route asks create_call_problems first, to name every problem in one 400; the
        # rule is checked here again so that it holds whoever calls.
        problems = self.create_call_problems(has_event_url=bool(request.event_url))
        if problems:
            raise invalid(problems)
        app = self.application
        setup = CallSetup.for_create_call(request, to, ncco, app.numbers, app.webhook("event_url"))
        return self.platform.place_call(setup)

    def create_call_problems(self, has_event_url: bool) -> list[tuple[str, str]]:
        """What the application's settings forbid in a create-call request, for the one 400
        that names every problem: a call's events go to its event_url, else to the
        application's, so with neither they would go nowhere."""
        if has_event_url or self.application.webhook("event_url"):
            return []
        return [("event_url", "is required: the application has no event_url to fall back on "
                              "(give it one: --event-url when you start the sandbox, or the "
                              "Application API)")]

    def list_calls(self, page_size: int, record_index: int, order: str = "asc", status: str | None = None,
                   conversation_uuid: str | None = None, date_start: datetime | None = None,
                   date_end: datetime | None = None) -> tuple[int, list[dict]]:
        """How many calls match the filters, and the call objects of one page of them."""
        def page():
            matching = [
                leg for leg in self.platform.legs.values()
                if status in (None, leg.status)
                and conversation_uuid in (None, leg.conversation_uuid)
                and (date_start is None or leg.created_at >= date_start)
                and (date_end is None or leg.created_at <= date_end)
            ]
            if order == "desc":
                matching.reverse()
            return len(matching), [leg.info() for leg in matching[record_index:record_index + page_size]]
        return self.platform.run(page)

    def get_call(self, call_uuid: str) -> dict:
        """The call object (GET /v1/calls/{uuid}); UnknownCall, a KeyError too, if none."""
        return self.platform.run(lambda: self._leg(call_uuid).info())

    def modify_call(self, call_uuid: str, action: str, transfer_to: list | str | None = None) -> None:
        """One of `MODIFY_ACTIONS` (see call_control.modify_call); a transfer's `transfer_to`
        is an NCCO or the URL of one. A hangup needs the call up; the rest need it answered."""
        if action not in MODIFY_ACTIONS:
            raise invalid([("action", f"must be one of {', '.join(MODIFY_ACTIONS)}")])
        if action == "transfer" and not transfer_to:
            raise invalid([("destination", "a transfer needs an NCCO or the URL of one")])

        def modify():
            leg = self._leg(call_uuid)
            if action == "hangup":
                if leg.ended:
                    raise CallEnded(leg.uuid, leg.status)
            else:
                require_answered(leg)
            call_control.modify_call(leg, action, transfer_to)
        self.platform.run(modify)

    # -- into a live call: talk, stream, keys ------------------------------------------------
    def start_talk(self, call_uuid: str, options) -> None:
        """Speak into an answered call, alongside its NCCO (options: the SDK's TtsStreamOptions)."""
        self.platform.run(lambda: call_control.start_talk(self._answered(call_uuid), options))

    def start_stream(self, call_uuid: str, options) -> None:
        """Play audio into an answered call (options: the SDK's AudioStreamOptions)."""
        self.platform.run(lambda: call_control.start_stream(self._answered(call_uuid), options))

    def stop_playing(self, call_uuid: str, kind: str) -> None:
        """Stop the talk or stream (`kind`) that the REST API started in a call."""
        self.platform.run(lambda: call_control.stop(self._answered(call_uuid), kind))

    def send_dtmf(self, call_uuid: str, digits: str) -> None:
        """Play keys to an answered call's party: the keypad's, and `p` for a half-second
        pause. Keys it cannot play are a 400, before the call is looked up."""
        if not isinstance(digits, str) or not digits or set(digits) - DTMF_KEYS:
            raise invalid([("digits", 'must be keys from 0-9, *, # and p (a half-second pause), like "1p2#"')])
        self.platform.run(lambda: call_control.send_dtmf(self._answered(call_uuid), digits))

    def listen_for_dtmf(self, call_uuid: str, url: str | None, method: str = "POST") -> None:
        """Send an asynchronous input's keys to `url` from now on (None: back to its eventUrl)."""
        self.platform.run(lambda: call_control.listen_for_dtmf(self._answered(call_uuid), url, method))

    def _answered(self, call_uuid: str) -> Leg:
        return require_answered(self._leg(call_uuid))

    # -- recordings --------------------------------------------------------------------
    def recording(self, file_id: str) -> tuple[Path, str]:
        """A recording's file and its content type, by the file id in its recording_url."""
        # A file id is a uuid: anything else (a name too long for the disk, say) is no file
        # of ours, so it is never looked up, and its text is never echoed.
        if not FILE_ID.fullmatch(file_id):
            raise UnknownFile("No such file: a file id is a UUID, as in the recording_url of a record event.")
        for audio_format, content_type in CONTENT_TYPES.items():
            path = self.platform.recorder.path(file_id, audio_format)
            if path.is_file():
                return path, content_type
        raise UnknownFile(f"File {file_id} does not exist, or you do not have access.")

    # -- the application and its numbers ---------------------------------------------------
    def owned_numbers(self, application_id: str | None = None) -> list[dict]:
        """The numbers you own (the sandbox's one), optionally those of one application."""
        owned = [{"country": "GB", "msisdn": number, "type": "mobile-lvn", "features": ["VOICE", "SMS"],
                  "app_id": self.application.id} for number in self.application.numbers]
        if application_id:
            owned = [number for number in owned if number["app_id"] == application_id]
        return owned

    def get_application(self, app_id: str) -> dict:
        """The application as the Application API v2 returns it; UnknownApplication if not ours."""
        if app_id != self.application.id:
            raise UnknownApplication(app_id)
        return self.application.resource()

    def applications(self) -> list[dict]:
        """Every application of the account, as the Application API v2 lists them: the sandbox's one."""
        return [self.application.resource()]

    def replace_application(self, app_id: str, settings: dict) -> dict:
        """Apply a validated Application API v2 PUT body; return the application."""
        self.get_application(app_id)
        _check_answer_timeouts(settings)
        self.application.replace(settings)
        return self.application.resource()

    # -- virtual phones ------------------------------------------------------------------
    # A phone driven by its number: PhoneHandle (a notebook's or a test's phone) and the
    # control API's /sandbox/phones routes both come here, so a phone does the same thing
    # whoever drives it. What a phone cannot do in its state is a PhoneError that says why.
    def phone(self, number: str) -> VirtualPhone:
        """The virtual phone for `number`, made on first use (PhoneError if it is no number)."""
        return self.platform.run(lambda: self._phone(number))

    def phone_describe(self, number: str) -> dict:
        return self.platform.run(lambda: self._phone(number).describe())

    def phone_script(self, number: str, behaviour: Behaviour) -> None:
        """Give a phone a whole `Behaviour` (PhoneError for a magic number: its is fixed)."""
        self.platform.run(lambda: self.platform.phones.script(number, behaviour))

    def phone_call(self, number: str, to: str | None = None) -> str:
        """A phone calls the application's number (an inbound call); return the new leg's uuid."""
        to = to or self.application.number
        return self.platform.run(lambda: self.platform.receive_call(self._phone(number), to).uuid)

    def phone_answer(self, number: str) -> None:
        self.platform.run(lambda: self._phone(number).decide("answer"))

    def phone_reject(self, number: str) -> None:
        self.platform.run(lambda: self._phone(number).decide("reject"))

    def phone_hangup(self, number: str) -> None:
        self.platform.run(lambda: self._on_call(self._phone(number)).hang_up(by="user"))

    def phone_press(self, number: str, digits: str) -> None:
        """Press keys on the phone's current call (each takes a fifth of a second)."""
        check_digits(digits)
        self._phone_act(number, lambda phone, leg: phone.press(leg, digits), len(digits) * 0.2)

    def phone_say(self, number: str, phrase: str) -> None:
        """Say a phrase on the phone's current call (0.4 s a word); return when it is said."""
        seconds = self.platform.speech.seconds(str(phrase), PHONE_VOICE)
        self._phone_act(number, lambda phone, leg: phone.say(leg, phrase), seconds)

    def phone_transcript(self, number: str, call_uuid: str | None = None) -> list[dict]:
        """Everything on one of the phone's calls (its latest by default; [] before any),
        found and copied in one visit to the loop."""
        def entries():
            legs = self._phone(number).legs
            leg = self._leg(call_uuid) if call_uuid else (legs[-1] if legs else None)
            return list(leg.transcript) if leg else []
        return self.platform.run(entries)

    def phone_call_uuids(self, number: str) -> list[str]:
        """Every call the phone has been on, oldest first."""
        return self.platform.run(lambda: [leg.uuid for leg in self._phone(number).legs])

    def _phone_act(self, number: str, action, seconds: float) -> None:
        """Run a phone's `action(phone, leg)` as part of its call, so that it stops when the
        call ends; return once it is done (a virtual clock moves on while it waits)."""
        clock = self.clock

        async def act():
            phone = self._phone(number)
            leg = self._on_call(phone)
            task = leg.start_child(action(phone, leg))
            await clock.until(task.done, seconds + 30)
            if not task.done():
                task.cancel()
                raise PhoneError(f"{phone.number} did not finish in {seconds + 30:.0f} s of call time")
            if not task.cancelled() and task.exception():
                raise task.exception()
        self.platform.run(act, timeout=clock.real_seconds(seconds + 30) + 30)

    def _phone(self, number: str) -> VirtualPhone:
        """The phone for `number` (on the loop)."""
        return self.platform.phones.get(number)

    def _on_call(self, phone: VirtualPhone) -> Leg:
        """The answered call `phone` is on (on the loop): the rule the REST API's call
        control follows too (`answered`), as the PhoneError a phone's user sees."""
        leg = phone.active_leg
        if leg is None or not answered(leg):
            raise PhoneError(f"{phone.number} is not on an answered call")
        return leg

    # -- what the platform saw -----------------------------------------------------------
    def phones(self) -> list[dict]:
        """Every virtual phone so far (the magic numbers, and those a call or a script made)."""
        return self.platform.run(lambda: [phone.describe() for phone in self.platform.phones.all()])

    def transcript(self, call_uuid: str) -> list[dict]:
        """Who said, played or pressed what on a leg, and when."""
        return self.platform.run(lambda: list(self._leg(call_uuid).transcript))

    def call_audio(self, call_uuid: str) -> bytes:
        """A WAV of one leg, so far: its party's words and keys, and everything it heard."""
        def snapshot():
            leg = self._leg(call_uuid)
            return list(leg.transcript), leg.began, leg.ended_elapsed or leg.clock.elapsed()
        transcript, start, end = self.platform.run(snapshot)
        audio = media.render(transcript, self.platform.audio, start, end)
        return media.wav_bytes(audio)

    def webhooks(self, leg: str | None = None) -> list[dict]:
        """Every request the platform has sent to the application (or for one leg), oldest first."""
        def snapshot():
            history = self.platform.webhooks.history
            return [d.as_dict() for d in history if leg is None or d.webhook.leg == leg]
        return self.platform.run(snapshot)

    # -- call time ---------------------------------------------------------------------
    def wait_until(self, condition, timeout: float = 60):
        """`condition()`'s first true value, checked on the loop as call time passes;
        TimeoutError after `timeout` seconds of call time (see Sandbox.wait_until)."""
        seconds = check_seconds(timeout, "timeout")
        value = self._run_clock(lambda clock: clock.until(condition, seconds), seconds)
        if not value:
            raise TimeoutError(f"the condition did not hold within {timeout} s of call time "
                               "(pass a longer timeout for a longer call)")
        return value

    def wait_for_call(self, call_uuid: str, status: str = "completed", timeout: float = 60) -> dict:
        """The call object once the leg has reported `status` (see Sandbox.wait_for_call)."""
        check_status(status)
        platform = self.platform
        if not platform.run(lambda: call_uuid in platform.legs):
            raise SandboxError(f"this sandbox has no call {call_uuid}")

        def reported():
            if status == "completed":
                return platform.leg_done(call_uuid)
            return any(
                d.webhook.leg == call_uuid and d.webhook.payload.get("status") == status
                and (d.status_code is not None or d.error is not None)
                for d in platform.webhooks.history
            )

        self.wait_until(reported, timeout)
        return self.get_call(call_uuid)

    def sleep(self, seconds: float) -> None:
        """Let `seconds` of call time pass (a virtual clock gets there at once)."""
        seconds = check_seconds(seconds)
        self._run_clock(lambda clock: clock.until(lambda: False, seconds), seconds)

    def clock_reading(self) -> dict:
        """Which clock runs the calls, the call time it has counted, and its time now."""
        return {"clock": self.clock.kind, "elapsed": self.clock.elapsed(), "now": iso_millis(self.clock.now())}

    def _run_clock(self, wait, seconds: float):
        """Run `wait(clock)` on the platform. It may take `seconds` of call time at the
        clock's speed, and on a virtual clock as long again as your server takes to answer
        the webhooks meanwhile (time stands still then): an hour more at the most."""
        clock = self.clock
        return self.platform.run(lambda: wait(clock), timeout=clock.real_seconds(seconds) + 3600)


def _check_answer_timeouts(settings: dict) -> None:
    """The SDK model allows 10 s reads on every webhook; answer URLs get 5 s at most."""
    webhooks = settings.get("capabilities", {}).get("voice", {}).get("webhooks", {})
    problems = [
        (f"capabilities.voice.webhooks.{name}.socket_timeout", f"must be from 1000 to {ANSWER_TIMEOUT_MS} ms")
        for name in ("answer_url", "fallback_answer_url")
        if webhooks.get(name, {}).get("socket_timeout", 1000) > ANSWER_TIMEOUT_MS
    ]
    if problems:
        raise invalid(problems)

