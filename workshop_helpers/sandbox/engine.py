"""The call engine: legs, their life from `started` to `completed`, and the platform loop.

A *leg* is one party's connection to the platform (the Voice API's `uuid`). Each leg runs
as one asyncio task on the platform's event loop thread, so a hangup, from the REST API,
the phone or a timer, is simply a cancellation of that task. All call state lives on that
one thread; other threads (the REST API, notebooks) hand work to it with `Platform.run`.

The order of events follows the Voice API docs (developer.vonage.com/en/voice/voice-api/webhook-reference):
- outbound: started, ringing, answered, (NCCO runs), completed;
  busy / unanswered / timeout / cancelled / failed, each followed by completed;
  rejected, with no completed;
- inbound: the answer webhook first, then started, ringing, answered, ..., completed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import aiohttp

from . import actions, detection
from .application import SandboxApplication
from .calls import CallSetup
from .clock import Clock, iso_millis
from .conversations import Conversation
from .errors import SandboxError
from .ids import IdFactory
from .media import SAMPLE_RATE, AudioLibrary
from .ncco_state import NccoState
from .phones import PhoneBook, VirtualPhone
from .recordings import Recorder
from .speech import Speech
from .streams import StreamCache
from .transcript import OWN_PARTY, TranscriptEntry, new_entry
from .webhooks import NccoFetchError, Outbox, Webhook, WebhookClient
from .websocket import WebSocketParty

log = logging.getLogger(__name__)

#: Illustrative per-minute rate (EUR) so `price` fields have realistic values.
RATE_PER_MINUTE = "0.00450000"
NETWORK = "GB-VIRTUAL-SANDBOX"
#: How long the beep before a recording lasts (a record action's beepStart).
BEEP_SECONDS = 0.4

#: Failure outcomes: the event status and the extra fields it carries.
OUTCOMES = {
    "busy": ("busy", {"sip_code": 486}),
    "unavailable": ("unanswered", {"detail": "unavailable", "sip_code": 480}),
    "timeout": ("timeout", {}),
    "reject": ("rejected", {"detail": "declined", "sip_code": 603}),
    "fail": ("failed", {"detail": "number_out_of_service", "sip_code": 404}),
    "unreachable": ("failed", {"detail": "cannot_route", "sip_code": 503}),  # a websocket
    "cancelled": ("cancelled", {}),
}


#: Every status a leg's event webhooks report, in the order a call can pass through them.
CALL_STATUSES = ("started", "ringing", "answered", "human", "machine", "disconnected",
                 *dict.fromkeys(status for status, _ in OUTCOMES.values()), "completed")


def check_status(status: str) -> str:
    """`status` if legs report it; else a ValueError that lists those they do."""
    if status not in CALL_STATUSES:
        raise ValueError(f"{status!r} is not a call status; use one of {', '.join(CALL_STATUSES)}")
    return status


def address(endpoint: dict) -> str:
    """The address of an endpoint object, whatever its type (number, uri, user, ...)."""
    for key in ("number", "uri", "user", "extension"):
        if endpoint.get(key):
            return str(endpoint[key])
    return ""


class Leg:
    """One call leg. Created and changed only on the platform's loop.

    `phone` is the party at the other end: a virtual phone (or app user, SIP or VBC
    endpoint, which the sandbox models the same way) or a websocket. The modules around
    the engine (actions, call_control, phones, websocket, detection, conversations) see a
    leg only as `leg_interface.CallLeg`, which this class implements.
    """

    def __init__(self, platform: "Platform", setup: CallSetup, phone: VirtualPhone,
                 uuid: str | None = None, conversation: Conversation | None = None):
        self.platform = platform
        self.clock = platform.clock
        self.setup = setup
        self.phone = phone
        self.uuid = uuid or platform.ids.uuid()
        self.conversation = conversation or platform.new_conversation()
        if setup.caller is None:  # a connect's leg joins its caller once it answers
            self.conversation.join(self)
        self.status = "started"
        self.created_at = self.clock.now()
        self.began = self.clock.elapsed()  # on the clock, as transcript entries count time
        self.ended_elapsed: float | None = None
        self.answered_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.ended = False
        self.disconnected_by: str | None = None
        self.muted = self.earmuffed = False  # REST mute/earmuff (see Conversation.hears)
        self.transcript: list[TranscriptEntry] = []  # what this party said and heard, and when
        self.dtmf: asyncio.Queue[str] = asyncio.Queue()
        self.beeps = 0  # how many record beeps this leg's party has heard
        self._beeped = asyncio.Event()  # pulsed at each
        self.activity = asyncio.Event()  # pulsed whenever the caller makes a sound
        self.last_activity_end = 0.0
        self.ncco_state = NccoState()  # what its NCCO is doing: prompt, inputs (actions.py runs it)
        self.played: dict[str, asyncio.Task] = {}  # REST talk/stream playing, by kind
        self.status_ncco: asyncio.Future | None = None  # a synchronous connect's answer
        self.joined = asyncio.Event()  # a connect's leg: set once it joins its caller, or ends
        self.outbox = Outbox(platform.webhooks)
        self._children: set[asyncio.Task] = set()
        phone.legs.append(self)
        self.task = asyncio.get_running_loop().create_task(self._run())

    # -- addresses -------------------------------------------------------------------
    @property
    def conversation_uuid(self) -> str:
        return self.conversation.uuid

    @property
    def to_number(self) -> str:
        return address(self.setup.to)

    @property
    def from_number(self) -> str:
        return address(self.setup.from_)

    @property
    def party_address(self) -> str:
        """Who is on this leg: the callee of an outbound leg, the caller of an inbound one."""
        return self.to_number if self.setup.direction == "outbound" else self.from_number

    def base_payload(self) -> dict:
        return {
            "from": self.from_number,
            "to": self.to_number,
            "uuid": self.uuid,
            "conversation_uuid": self.conversation_uuid,
        }

    # -- the leg's life --------------------------------------------------------------
    async def _run(self) -> None:
        try:
            if self.setup.caller is not None:
                ncco = None
                if await self._dial():
                    self.start_child(self._length_timer())
                    await self._bridge()
                    self.disconnected_by = self.disconnected_by or "platform"
            elif self.setup.direction == "outbound":
                ncco = await self._outbound_ncco() if await self._dial() else None
            else:
                ncco = await self._receive()
            if ncco is not None:
                self.start_child(self._length_timer())
                await actions.run_nccos(self, ncco)
                self.disconnected_by = self.disconnected_by or "platform"
        except asyncio.CancelledError:
            if self.disconnected_by is None:  # the platform itself is stopping
                raise
        stopping = self._finish()
        await asyncio.gather(*stopping, return_exceptions=True)  # let them send their events
        await self.phone.call_ended(self)
        await self.outbox.close()

    async def _dial(self) -> bool:
        """Outbound: ring the party; True once it answers (else the failure is sent)."""
        self.emit_status("started")
        on_ring = self.phone.behaviour.on_ring
        if on_ring in ("reject", "fail"):
            self._fail(on_ring)
            return False
        self.emit_status("ringing")
        self.status = "ringing"
        try:
            decision = await self.clock.wait_for(self.phone.ring(self), self.setup.ringing_timer)
        except asyncio.TimeoutError:
            decision = "timeout"
        if decision != "answer":
            self._fail(decision)
            return False
        self._answer()
        return True

    async def _outbound_ncco(self) -> list | None:
        if self.setup.dtmf_answer:  # keys for the callee first (to get past its menu)
            await actions.play_dtmf(self, self.setup.dtmf_answer)
        if self.setup.ncco is not None:
            return self.setup.ncco
        return await self._answer_ncco()

    async def _bridge(self) -> None:
        """A connect's leg, answered: run its onAnswer NCCO, send its dtmfAnswer keys,
        then join the caller's conversation until one of them leaves or it ends."""
        if self.setup.on_answer_url:
            ncco = await self._answer_ncco(self.setup.on_answer_url, "GET")
            if ncco:
                await actions.run_ncco(self, ncco)
        if self.setup.dtmf_answer:
            await actions.play_dtmf(self, self.setup.dtmf_answer)
        caller = self.setup.caller
        if caller.ended:
            return
        member = caller.conversation.join(self)
        self.joined.set()  # fully connected: the caller's ringback tone stops
        await member.ended.wait()  # a moderator with endOnExit left: the call ends too

    async def _receive(self) -> list | None:
        """Inbound: fetch the answer NCCO first, then the call is up."""
        ncco = await self._answer_ncco()
        if ncco is None:
            return None
        self.emit_status("started")
        self.emit_status("ringing")
        self._answer()
        return ncco

    def _answer(self) -> None:
        self.status = "answered"
        self.answered_at = self.clock.now()
        self.emit_status(
            "answered", start_time=iso_millis(self.answered_at), rate=RATE_PER_MINUTE, network=None
        )
        self.start_child(self.phone.converse(self))
        if self.setup.machine_detection or self.setup.advanced_machine_detection:
            machine = self.phone.behaviour.answered_by == "machine"
            self.start_child(detection.detect(self, machine))

    async def _answer_ncco(self, url: str | None = None, method: str | None = None) -> list | None:
        """The answer webhook; on failure an error event, and the call is dropped."""
        payload = {
            **self.base_payload(),
            "endpoint_type": self.setup.from_.get("type", "phone"),
            "region_url": self.platform.public_url,
        }
        connect_timeout, read_timeout = self.platform.app.timeouts("answer_url")
        webhook = Webhook(
            url=url or self.setup.answer_url,
            method=method or self.setup.answer_method,
            payload=payload,
            kind="answer",
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            leg=self.uuid,
        )
        try:
            return await self.outbox.queue_ncco_request(webhook)
        except NccoFetchError as error:
            self.emit_error(error.reason, error.detail)
            self.disconnected_by = "platform"
            return None

    async def _length_timer(self) -> None:
        await self.clock.sleep(self.setup.length_timer)
        self.hang_up(by="platform")

    def _fail(self, outcome: str) -> None:
        status, extra = OUTCOMES[outcome]
        self.status = status
        if outcome == "cancelled":
            self.emit_status(status, **extra)
        else:
            self.emit_outcome(status, **extra)
        self.disconnected_by = "user" if outcome != "cancelled" else "platform"

    def emit_outcome(self, status: str, **extra: Any) -> None:
        """The status that ends the leg without the platform ending it (a failure, or a
        websocket's `disconnected`). For a synchronous connect's leg its answer may be an
        NCCO that replaces the rest of the caller's NCCO (`status_ncco` holds it)."""
        if not self.setup.synchronous:
            self.emit_status(status, **extra)
            return
        webhook = self.event_webhook(self.status_payload(status, **extra))
        if webhook is not None:  # queued now, so it goes before `completed`
            self.status_ncco = self.outbox.queue_ncco_request(webhook)

    def _finish(self) -> list[asyncio.Task]:
        """Send the final events and stop everything still running for this leg."""
        outbound = self.setup.direction == "outbound"
        if outbound and self.status in ("started", "ringing"):
            self._fail("cancelled")  # hung up before the callee answered
        self.ended_at = self.clock.now()
        self.ended_elapsed = self.clock.elapsed()
        self.ended = True
        self.joined.set()
        self.conversation.leave(self)
        if self.status != "rejected":
            self.emit_status("completed", **self._completion_fields())
            if self.status in ("started", "answered"):
                self.status = "completed"
        self.ncco_state.stop_listening()
        children = list(self._children)
        for child in children:
            child.cancel()  # a background record finishes and sends its event now
        return children

    def _completion_fields(self) -> dict:
        start = self.answered_at or self.ended_at
        seconds = int((self.ended_at - start).total_seconds()) if self.answered_at else 0
        return {
            "start_time": iso_millis(start),
            "end_time": iso_millis(self.ended_at),
            "duration": str(seconds),
            "rate": RATE_PER_MINUTE,
            "price": f"{float(RATE_PER_MINUTE) * seconds / 60:.8f}",
            "network": NETWORK,
            "disconnected_by": self.disconnected_by or "platform",
        }

    # -- control from outside --------------------------------------------------------
    def hang_up(self, by: str) -> None:
        """End the leg now (by the remote `user` or the `platform`)."""
        if self.ended or self.task.done():
            return
        self.disconnected_by = self.disconnected_by or by
        self.task.cancel()

    def disconnect(self, **extra: Any) -> None:
        """The party left on its own (a websocket server closed the socket): the
        documented `disconnected` event, whose answer may be an NCCO for the caller."""
        self.emit_outcome("disconnected", **extra)
        self.hang_up(by="user")

    def transfer(self, ncco: list) -> None:
        """Replace whatever NCCO is running with `ncco` (REST transfer)."""
        self.ncco_state.replace(ncco)

    # -- what the caller does ----------------------------------------------------------
    def receive_dtmf(self, digit: str) -> None:
        self.speak("dtmf", digit, seconds=0.2)
        self.dtmf.put_nowait(digit)
        self.ncco_state.barge_in()  # bargeIn: a key press stops the prompt
        self._pulse_activity(0.2)

    def receive_beep(self) -> None:
        """A voicemail box's beep (what advanced machine detection listens for)."""
        self.speak("beep", "beep", seconds=0.4)
        self._pulse_activity(0.4)

    def receive_speech(self, phrase: str, seconds: float, audio: str | None = None,
                       since: float | None = None) -> None:
        """The party says `phrase` (begun at `since` on the call's clock, if earlier)."""
        entry = self.speak("said", phrase, seconds=seconds, audio=audio, at=since)
        self.ncco_state.barge_in()  # bargeIn: speaking stops the prompt too
        self._pulse_activity(entry["at"] + seconds - self.clock.elapsed())

    def speak(self, kind: str, text: str, seconds: float, audio: str | None = None,
              at: float | None = None) -> TranscriptEntry:
        """This leg's party makes a sound: into its transcript, and to whoever hears it."""
        entry = self.note(OWN_PARTY, kind, text, seconds=seconds, audio=audio, at=at)
        self.conversation.carry(self, entry)
        return entry

    async def play(self, kind: str, text: str, seconds: float, audio: str | None = None,
                   since: float | None = None) -> None:
        """The platform plays a sound to this leg's party (talk, stream, hold music, ...).

        `since` is when it began on the call's clock, if earlier than now (speech takes
        espeak-ng a moment of real time, which must not make the prompt longer). If it
        is stopped early (bargeIn, a hangup, DELETE .../talk), the transcript says how
        much was played, so recordings stop there too.
        """
        entry = self.note("platform", kind, text, seconds=seconds, audio=audio, at=since)
        try:
            await self.clock.sleep(max(0.0, entry["at"] + seconds - self.clock.elapsed()))
        finally:
            # To the microsecond: the clock's sum of earlier moments can leave 8 s played
            # as 7.999999999999999, which is not a length anyone means.
            played = round(self.clock.elapsed() - entry["at"], 6)
            entry["seconds"] = min(seconds, max(0.0, played))

    # -- record beeps (the phone waits for these to know when to speak) -----------------
    def beep(self) -> None:
        """The platform beeps before it records (a record action's beepStart)."""
        self.note("platform", "beep", "beep", seconds=BEEP_SECONDS)
        self.beeps += 1
        self._beeped.set()
        self._beeped.clear()

    async def next_beep(self, after: int) -> int:
        """Wait until a beep numbered above `after` has sounded, to its end; its number."""
        while self.beeps <= after:
            await self._beeped.wait()
        await self.clock.sleep(BEEP_SECONDS)
        return self.beeps

    def _pulse_activity(self, seconds: float) -> None:
        self.last_activity_end = self.clock.elapsed() + seconds
        self.activity.set()
        self.activity.clear()

    # -- records and webhooks ----------------------------------------------------------
    def note(self, who: str, kind: str, text: str, seconds: float = 0.0,
             audio: str | None = None, at: float | None = None, leg: str | None = None) -> TranscriptEntry:
        """Add to the transcript: who did what, when.

        `who` is "platform", "phone" (this leg's own party), or the address of another
        party in the conversation (then `leg` is its uuid) for something heard from them.
        `audio` is the key of its samples in the platform's AudioLibrary.
        """
        entry = new_entry(self.clock, who, kind, text, seconds, audio, at, leg)
        self.transcript.append(entry)
        return entry

    def event_webhook(self, payload: dict, url: str | None = None, method: str | None = None,
                      kind: str = "event") -> Webhook | None:
        """A webhook to `url` (an action's eventUrl) or else the leg's event_url."""
        connect_timeout, read_timeout = self.platform.app.timeouts("event_url")
        if not method:  # an action's own eventUrl defaults to POST; else the call's method
            method = "POST" if url else self.setup.event_method
        url = url or self.setup.event_url
        if not url:
            return None
        return Webhook(
            url=url,
            method=method.upper(),
            payload={**payload, "timestamp": iso_millis(self.clock.now())},
            kind=kind,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            leg=self.uuid,
        )

    def emit(self, payload: dict, url: str | None = None, method: str | None = None,
             kind: str = "event") -> None:
        webhook = self.event_webhook(payload, url, method, kind)
        if webhook is not None:
            self.outbox.post(webhook)

    def status_payload(self, status: str, **extra: Any) -> dict:
        return {**self.base_payload(), "status": status, "direction": self.setup.direction, **extra}

    def emit_status(self, status: str, **extra: Any) -> None:
        self.emit(self.status_payload(status, **extra))

    def emit_error(self, reason: str, detail: str = "") -> None:
        """The documented error event, plus `detail` saying exactly what was wrong."""
        payload = {"reason": reason, "conversation_uuid": self.conversation_uuid, "uuid": self.uuid}
        if detail:
            payload["detail"] = detail
        self.note("platform", "error", f"{reason} {detail}".strip())
        self.emit(payload, kind="error")

    async def send_event_for_ncco(self, payload: dict, url: str | None, method: str | None,
                                  kind: str) -> list | None:
        """Send an event whose answer may be the next NCCO (input, notify), in turn with the
        leg's other webhooks; wait for the answer (NccoFetchError if it is not a usable one)."""
        webhook = self.event_webhook(payload, url, method, kind)
        if webhook is None:
            return None
        return await self.outbox.queue_ncco_request(webhook)

    def start_child(self, coroutine) -> asyncio.Task:
        """Run something alongside the NCCO (a timer, the phone, a background record)."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._children.add(task)
        task.add_done_callback(self._children.discard)
        return task

    # -- REST view ---------------------------------------------------------------------
    def info(self) -> dict:
        """The call object `GET /v1/calls/{uuid}` returns."""
        data = {
            "_links": {"self": {"href": f"/v1/calls/{self.uuid}"}},
            "uuid": self.uuid,
            "conversation_uuid": self.conversation_uuid,
            "to": self.setup.to,
            "from": self.setup.from_,
            "status": self.status,
            "direction": self.setup.direction,
        }
        if self.status == "completed":
            fields = self._completion_fields()
            data.update({k: fields[k] for k in ("rate", "price", "duration", "start_time", "end_time", "network")})
        return data


class Platform:
    """The running platform: an event loop thread that owns every leg.

    It implements `leg_interface.PlatformServices` for the legs' NCCOs and parties: speech, stream
    files, recordings, conversations, and the legs a connect starts.
    """

    def __init__(self, app: SandboxApplication, clock: Clock, ids: IdFactory,
                 files_dir: Path, public_url: str):
        self.app = app
        self.clock = clock
        self.ids = ids
        self.files_dir = Path(files_dir)
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.public_url = public_url  # where clients reach the API: recording URLs use it
        self.phones = PhoneBook()
        self.legs: dict[str, Leg] = {}
        self.conversations: dict[str, Conversation] = {}  # by uuid
        self.named_conversations: dict[str, Conversation] = {}  # by name, for the application
        self.audio = AudioLibrary()
        self.speech = Speech()
        self.recorder = Recorder(clock, ids, self.audio, self.files_dir, public_url)
        self.loop = clock.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="sandbox-platform", daemon=True)
        self.webhooks: WebhookClient | None = None
        self.streams: StreamCache | None = None  # stream URLs' audio (needs the webhook client)

    def start(self) -> None:
        self._thread.start()
        self.run(self._open)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def _open(self) -> None:
        # One pool for every webhook. trust_env stays off: a local platform never sends
        # webhooks through a proxy from the environment.
        connector = aiohttp.TCPConnector(limit=100, ttl_dns_cache=300)
        http = aiohttp.ClientSession(connector=connector, trust_env=False)
        self.webhooks = WebhookClient(self.app, http, self.clock)
        self.streams = StreamCache(self.webhooks, self.audio, self.ids, self.clock)

    def run(self, work: Callable[[], Any], timeout: float = 30) -> Any:
        """Run `work` (a function, or a coroutine function) on the loop; return its result.

        This is how other threads touch call state: one thread owns it, so no locks.
        On the loop itself (a condition `Clock.until` checks), plain functions just run.
        """
        if threading.current_thread() is self._thread:
            result = work()
            if asyncio.iscoroutine(result):
                result.close()
                raise SandboxError("a condition the clock checks cannot wait for the platform")
            return result

        async def call():
            result = work()
            if asyncio.iscoroutine(result):
                result = await result
            return result

        if self.loop.is_closed() or not self._thread.is_alive():
            raise SandboxError("the sandbox is stopped; start it again")
        coroutine = call()
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        except RuntimeError:  # the loop closed just now
            coroutine.close()
            raise SandboxError("the sandbox is stopped; start it again") from None
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise SandboxError("the sandbox platform did not answer in time") from None
        except concurrent.futures.CancelledError:  # stop() cancels everything on the loop
            raise SandboxError("the sandbox was stopped while this waited; start it again") from None

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self.run(self._close, timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self._cancel_late_work()
                self.loop.close()

    def _cancel_late_work(self) -> None:
        """Cancel what other threads handed over after `_close` (a request or a phone
        mid-way as the sandbox stops): its waiter is told at once, not after its time-out,
        and no task is left pending on a closed loop. The loop's thread has ended, so this
        thread may run it to let the cancellations land."""
        late = asyncio.all_tasks(self.loop)
        if late:
            self.loop.run_until_complete(_cancelled(late))

    async def _close(self) -> None:
        """Stop every task on the loop (legs, their webhooks, phones), then the client."""
        await _cancelled(task for task in asyncio.all_tasks() if task is not asyncio.current_task())
        if self.webhooks is not None:
            await self.webhooks.http.close()

    # -- operations ---------------------------------------------------------------------
    def place_call(self, setup: CallSetup) -> tuple[str, str]:
        """Start an outbound leg to a virtual phone; return its (uuid, conversation_uuid).

        Safe from any thread, and immediate, like the real platform's 201: the leg starts
        on the loop a moment later. Anything later queued with `run` (a GET of this call)
        runs after it, because the loop runs callbacks in order.
        """
        uuid, conversation_uuid = self.ids.uuid(), self.ids.conversation()

        def start():
            party = self.party(setup.to)
            self._add(Leg(self, setup, party, uuid, self.new_conversation(conversation_uuid)))

        self.loop.call_soon_threadsafe(start)
        return uuid, conversation_uuid

    def receive_call(self, phone: VirtualPhone, to: str) -> Leg:
        """A virtual phone calls the application's number: an inbound leg (on the loop)."""
        if to != self.app.number:
            raise SandboxError(
                f"{to} is not a number of this application; virtual phones can call "
                f"the application's number, {self.app.number}"
            )
        answer = self.app.webhook("answer_url")
        if not answer:
            raise SandboxError(
                f"nobody answers calls to {to}: the application has no answer_url. "
                "Set one (for example with the Application API, or "
                "sandbox.application.set_webhooks(answer_url=...)) and call again"
            )
        setup = CallSetup.for_inbound(phone.number, to, answer, self.app.webhook("event_url"))
        return self._add(Leg(self, setup, phone))

    async def say(self, text: str, language: str) -> tuple[str, float]:
        """Speak `text` (in a worker thread: espeak-ng takes a moment); return the key
        of its audio in the library and how long it lasts."""
        audio = await self.clock.in_thread(self.speech.say, text, language)
        key = self.audio.add(f"speech:{language}:{text}", audio)
        return key, len(audio) / SAMPLE_RATE

    def connect(self, caller: Leg, setup: CallSetup) -> Leg:
        """A `connect` action's new leg, in the caller's conversation (on the loop)."""
        return self._add(Leg(self, setup, self.party(setup.to), conversation=caller.conversation))

    def party(self, endpoint: dict):
        """Who answers a call to `endpoint`: a websocket, or a virtual phone (numbers, app
        users, SIP URIs and VBC extensions all get one)."""
        if endpoint.get("type") == "websocket":
            return WebSocketParty(endpoint, self.webhooks.http, self.app, self.audio)
        return self.phones.endpoint(endpoint)

    def new_conversation(self, uuid: str | None = None, name: str | None = None) -> Conversation:
        conversation = Conversation(uuid or self.ids.conversation(), self.recorder, self.webhooks, name)
        self.conversations[conversation.uuid] = conversation
        return conversation

    def named_conversation(self, name: str) -> Conversation:
        """The conversation called `name`: the first to join creates it, and it persists."""
        if name not in self.named_conversations:
            self.named_conversations[name] = self.new_conversation(name=name)
        return self.named_conversations[name]

    def leg(self, uuid: str) -> Leg:
        """The leg with this uuid (KeyError if none); call on the loop."""
        return self.legs[uuid]

    def leg_done(self, uuid: str) -> bool:
        """Whether the leg has ended and every webhook it sent has been answered (a
        recording that ran until hangup reports after `completed`). On the loop."""
        return self.legs[uuid].task.done()

    def _add(self, leg: Leg) -> Leg:
        self.legs[leg.uuid] = leg
        return leg


async def _cancelled(tasks) -> None:
    """Cancel `tasks` and wait until each has finished, whatever it ends with."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
