"""What the sandbox does when asked: the operations behind its HTTP API and its Python API.

`SandboxBackend` holds the rules (a call must be answered to be muted, a transfer by URL
fetches its NCCO in order with the call's events, ...) and raises typed errors (errors.py)
that carry their HTTP status. The Flask views (routes/) only read requests and write
responses around these methods, and `Sandbox` (service.py) and `PhoneHandle`
(phone_handle.py) call the same ones, so a rule is written once, as moto's backends do
for its responses.

Every method is safe from any thread: call state lives on the platform's loop, and each
method hands its work there with `platform.run`.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from . import call_control, media
from .application import SandboxApplication
from .calls import CallSetup
from .clock import check_seconds, iso_millis
from .engine import Leg, Platform, check_status
from .errors import CallEnded, CallNotAnswered, SandboxError, UnknownApplication, UnknownCall, UnknownFile
from .media import CONTENT_TYPES
from .webhooks import NccoFetchError, Webhook

#: A recording's file id: a uuid, as `IdFactory` makes them (any case, as the platform's are).
FILE_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

#: What PUT /v1/calls/{uuid} can do to a call.
MODIFY_ACTIONS = ("hangup", "mute", "unmute", "earmuff", "unearmuff", "transfer")


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
    def create_call(self, setup: CallSetup) -> tuple[str, str]:
        """Dial an outbound call at once; return its (uuid, conversation_uuid)."""
        return self.platform.place_call(setup)

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
        """One of `MODIFY_ACTIONS`; a transfer goes `transfer_to` an NCCO, or to the NCCO
        a URL answers with. A hangup needs the call up; the rest need it answered."""
        def modify():
            leg = self._leg(call_uuid)
            if action == "hangup":
                if leg.ended:
                    raise CallEnded(leg.uuid, leg.status)
                leg.hang_up(by="platform")
                return
            require_answered(leg)
            if action in ("mute", "unmute"):
                leg.muted = action == "mute"
            elif action in ("earmuff", "unearmuff"):
                leg.earmuffed = action == "earmuff"
            elif isinstance(transfer_to, list):
                leg.transfer(transfer_to)
            else:
                leg.start_child(_transfer_from_url(leg, transfer_to))
            leg.note("platform", "control", action)
        self.platform.run(modify)

    # -- into a live call: talk, stream, keys ------------------------------------------------
    def start_talk(self, call_uuid: str, options) -> None:
        """Speak into an answered call, alongside its NCCO (options: the SDK's TtsStreamOptions)."""
        self.platform.run(lambda: call_control.start_talk(self._answered(call_uuid), options))

    def start_stream(self, call_uuid: str, options) -> None:
        """Play audio into an answered call (options: the SDK's AudioStreamOptions)."""
        self.platform.run(lambda: call_control.start_stream(self._answered(call_uuid), options))

    def stop(self, call_uuid: str, kind: str) -> None:
        """Stop the talk or stream that the REST API started in a call."""
        self.platform.run(lambda: call_control.stop(self._answered(call_uuid), kind))

    def send_dtmf(self, call_uuid: str, digits: str) -> None:
        """Play keys to an answered call's party."""
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
            path = self.platform.files_dir / f"{file_id}.{audio_format}"
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

    def replace_application(self, app_id: str, settings: dict) -> dict:
        """Apply a validated Application API v2 PUT body; return the application."""
        self.get_application(app_id)
        self.application.replace(settings)
        return self.application.resource()

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


async def _transfer_from_url(leg: Leg, url: str) -> None:
    """A transfer to the NCCO that `url` answers with (fetched as an answer webhook)."""
    webhook = Webhook(url, "GET", {**leg.base_payload()}, "answer", leg=leg.uuid)
    try:
        ncco = await leg.outbox.fetch_ncco(webhook)  # in order with the leg's events
    except NccoFetchError as error:
        leg.emit_error(error.reason, error.detail)
        return
    if ncco:
        leg.transfer(ncco)
