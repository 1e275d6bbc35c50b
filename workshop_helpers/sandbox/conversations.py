"""Conversations: who on the platform hears whom.

Every leg is in a conversation (the Voice API's `conversation_uuid`). A new leg starts in
its own; a `connect` brings the new leg into the caller's; the `conversation` action
moves a leg into a named conversation, which persists and can be rejoined (the workshop's
conference); the `transfer` action moves every leg of one conversation into another.

When a party makes a sound (a phone speaks or presses a key, a websocket sends audio) its
conversation carries it to each member that can hear it, as a "heard" entry in that
member's transcript. So each leg's transcript is what that party said and heard, and its
recordings and websocket frames are rendered from it.

The `conversation`, `connect` and `transfer` actions: https://developer.vonage.com/en/voice/voice-api/ncco-reference
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .recordings import Recorder
from .transcript import TranscriptEntry
from .webhooks import Outbox, Webhook, WebhookClient

if TYPE_CHECKING:
    from vonage_voice.models import ncco as models

    from .clock import Clock


class Participant(Protocol):
    """A leg as its conversation sees it (engine.Leg is one): what a conversation reads
    and calls to carry sounds between its members and to tell them it moved them."""

    uuid: str
    conversation: Conversation  # the conversation moves the leg in and out
    status: str
    ended: bool
    muted: bool  # REST mute: its party is not heard
    earmuffed: bool  # REST earmuff: its party hears nothing
    clock: Clock

    @property
    def party_address(self) -> str: ...

    def note(self, who: str, kind: str, text: str, seconds: float = 0.0, audio: str | None = None,
             at: float | None = None, leg: str | None = None) -> TranscriptEntry: ...

    def emit(self, payload: dict, url: str | None = None, method: str | None = None,
             kind: str = "event") -> None: ...

    def event_webhook(self, payload: dict, url: str | None = None, method: str | None = None,
                      kind: str = "event") -> Webhook | None: ...


@dataclass(eq=False)
class Member:
    """A leg's place in a conversation, with the options of its `conversation` action."""

    leg: Participant
    can_hear: set[str] | None = None  # leg uuids it hears; None means everyone
    can_speak: set[str] | None = None  # leg uuids that hear it; None means everyone
    mute: bool = False
    start_on_enter: bool = True
    end_on_exit: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # set when the conversation ends


class Conversation:
    """One conversation: its members, whether it has started, and its recording."""

    def __init__(self, uuid: str, recorder: Recorder, webhooks: WebhookClient, name: str | None = None):
        self.uuid = uuid
        self.recorder = recorder  # for `record: true`
        self.webhooks = webhooks  # to send its recording's event
        self.name = name
        self.members: dict[str, Member] = {}
        # A named conversation starts when a member with startOnEnter joins; until then
        # its members wait, hearing hold music. A leg's own conversation is always on.
        self.started = asyncio.Event()
        if name is None:
            self.started.set()
        self.transcript: list[TranscriptEntry] = []  # what members said into it (for its recording)
        self.recording: ConversationRecording | None = None
        self.wants_recording: tuple | None = None  # (leg, action) of the first `record: true`
        self.outbox: Outbox | None = None  # for recording events, made when first needed

    # -- membership ------------------------------------------------------------------
    def join(self, leg: Participant, **options) -> Member:
        """Bring `leg` in (from wherever it was): a `transfer` event if it moved."""
        before = leg.conversation
        if before is not self:  # (a new leg's first conversation is already its own)
            before.leave(leg)
            leg.conversation = self
            leg.emit({
                "conversation_uuid_from": before.uuid,
                "conversation_uuid_to": self.uuid,
                "uuid": leg.uuid,
                "type": "transfer",
            }, kind="transfer")
            leg.note("platform", "transfer", f"{before.uuid} -> {self.uuid}")
        member = Member(leg, **options)
        self.members[leg.uuid] = member
        if member.start_on_enter:
            self.start()
        return member

    def leave(self, leg: Participant) -> None:
        member = self.members.pop(leg.uuid, None)
        if member is None:
            return
        if self.name is not None and (
            (member.end_on_exit and self.started.is_set()) or not self.members
        ):
            self.end()

    def start(self) -> None:
        if not self.started.is_set():
            self.started.set()
            for member in self.members.values():
                member.leg.note("platform", "conversation", f"{self.name} started")
        self._start_recording()

    def end(self) -> None:
        """The conversation is over: every member's `conversation` action finishes.

        A named conversation can be joined again afterwards (same uuid, a fresh start).
        """
        if self.name is not None:
            self.started.clear()
        if self.recording is not None:
            self.recording.stop()
            self.recording = None
        self.wants_recording = None
        for member in list(self.members.values()):
            self.members.pop(member.leg.uuid, None)
            member.ended.set()

    def record_for(self, leg: Participant, action: "models.Conversation") -> None:
        """`record: true`: record the conversation from when it starts until it ends."""
        if self.wants_recording is None:
            self.wants_recording = (leg, action)
        if self.started.is_set():
            self._start_recording()

    def _start_recording(self) -> None:
        """Once it has started, record it if a member asked (and it is not already)."""
        if self.recording is None and self.wants_recording is not None:
            self.recording = ConversationRecording(self, *self.wants_recording)

    # -- audio -----------------------------------------------------------------------
    def hears(self, listener: Member, speaker: Member) -> bool:
        """Whether `listener` hears `speaker`, by every rule of the Voice API."""
        if listener is speaker or not self.started.is_set():
            return False
        if speaker.mute or speaker.leg.muted or listener.leg.earmuffed:
            return False
        if listener.leg.status != "answered" or listener.leg.ended:
            return False
        if speaker.can_speak is not None and listener.leg.uuid not in speaker.can_speak:
            return False
        return listener.can_hear is None or speaker.leg.uuid in listener.can_hear

    def carry(self, speaker: Participant, entry: TranscriptEntry) -> None:
        """Carry a sound `speaker` made to every member that can hear it."""
        source = self.members.get(speaker.uuid)
        if source is None:
            return
        for member in list(self.members.values()):
            if self.hears(member, source):
                member.leg.note(
                    speaker.party_address, entry["kind"], entry["text"], entry["seconds"],
                    audio=entry.get("audio"), at=entry["at"], leg=speaker.uuid,
                )
        if self.recording is not None and not (source.mute or speaker.muted):
            self.transcript.append({**entry, "who": speaker.party_address, "leg": speaker.uuid})


class ConversationRecording:
    """`record: true` on a conversation: an MP3 of everything said in it, while it runs."""

    def __init__(self, conversation: Conversation, leg: Participant, action: "models.Conversation"):
        self.conversation, self.leg, self.action = conversation, leg, action
        self.clock = leg.clock
        self.start = self.clock.elapsed()
        self.started_at = self.clock.now()

    def stop(self) -> None:
        """Save in the background (encoding is slow) and send the record event."""
        end, ended_at = self.clock.elapsed(), self.clock.now()
        asyncio.get_running_loop().create_task(self._save(end, ended_at))

    async def _save(self, end: float, ended_at) -> None:
        conversation, leg, action = self.conversation, self.leg, self.action
        transcript = [e for e in conversation.transcript if e["at"] < end]
        recording_url, size = await conversation.recorder.save(transcript, self.start, end, "mp3")
        payload = conversation.recorder.event(recording_url, size, self.started_at, ended_at, conversation.uuid)
        url = action.eventUrl[0] if action.eventUrl else None
        webhook = leg.event_webhook(payload, url, action.eventMethod, kind="record")
        if webhook is not None:
            if conversation.outbox is None:
                conversation.outbox = Outbox(conversation.webhooks)
            conversation.outbox.post(webhook)
