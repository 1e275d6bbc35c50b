"""What the call-control verbs of the REST API do to a live leg.

`PUT /v1/calls/{uuid}/talk` and `.../stream` play into the call alongside its NCCO (the
NCCO is not interrupted) until they finish or a DELETE stops them; `PUT .../dtmf` plays
keys to the leg's party; `PUT .../input/dtmf` sends each key of an asynchronous `input`
to another URL until `DELETE .../input/dtmf`; `PUT /v1/calls/{uuid}` hangs the call up,
mutes or earmuffs its party, or transfers it to a new NCCO. All of these run on the
platform's loop (the backend checks first that the call may be changed).

The REST API's reference: https://developer.vonage.com/en/api/voice
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vonage_voice.models import AudioStreamOptions, TtsStreamOptions

from . import actions
from .speech import PLATFORM_VOICE
from .webhooks import NccoFetchError, Webhook

if TYPE_CHECKING:
    from .leg_interface import CallLeg


async def start_talk(leg: "CallLeg", options: TtsStreamOptions) -> None:
    language = options.language.value if hasattr(options.language, "value") else options.language
    _start(leg, "talk", _talk(leg, options.text, language or PLATFORM_VOICE, options.loop))


async def start_stream(leg: "CallLeg", options: AudioStreamOptions) -> None:
    _start(leg, "stream", _stream(leg, options.stream_url[0], options.loop))


# The API answers at once, as the platform does: the speech is made and the file fetched
# in the background, so a slow audio host delays the sound, not the HTTP response (and a
# DELETE meanwhile stops it before it plays).
async def _talk(leg: "CallLeg", text: str, language: str, loop: int | None) -> None:
    audio, seconds = await leg.platform.say(text, language)
    await actions.play_looped(leg, "talk", text, audio, seconds, loop)


async def _stream(leg: "CallLeg", url: str, loop: int | None) -> None:
    audio, seconds = await actions.stream_audio(leg, url)
    await actions.play_looped(leg, "stream", url, audio, seconds, loop)


def _start(leg: "CallLeg", kind: str, playing) -> None:
    stop(leg, kind)  # a new talk replaces the one still playing
    leg.played[kind] = leg.start_child(playing)


def stop(leg: "CallLeg", kind: str) -> None:
    task = leg.played.pop(kind, None)
    if task is not None:
        task.cancel()


def send_dtmf(leg: "CallLeg", digits: str) -> None:
    leg.start_child(actions.play_dtmf(leg, digits))


def listen_for_dtmf(leg: "CallLeg", url: str | None, method: str = "POST") -> None:
    """Where an asynchronous input's keys go from now on (None: back to its eventUrl)."""
    leg.ncco_state.send_keys_to(url, method)


def modify_call(leg: "CallLeg", action: str, transfer_to: list | str | None = None) -> None:
    """What PUT /v1/calls/{uuid} does: hang up, (un)mute, (un)earmuff, or transfer the call
    `transfer_to` an NCCO, or to the NCCO a URL answers with."""
    if action == "hangup":
        leg.hang_up(by="platform")
        return
    if action in ("mute", "unmute"):
        leg.muted = action == "mute"
    elif action in ("earmuff", "unearmuff"):
        leg.earmuffed = action == "earmuff"
    elif isinstance(transfer_to, list):
        leg.transfer(transfer_to)
    else:
        leg.start_child(_transfer_from_url(leg, transfer_to))
    leg.note("platform", "control", action)


async def _transfer_from_url(leg: "CallLeg", url: str) -> None:
    """A transfer to the NCCO that `url` answers with (fetched as an answer webhook)."""
    webhook = Webhook(url, "GET", {**leg.base_payload()}, "answer", leg=leg.uuid)
    try:
        ncco = await leg.outbox.queue_ncco_request(webhook)  # in order with the leg's events
    except NccoFetchError as error:
        leg.emit_error(error.reason, error.detail)
        return
    if ncco:
        leg.transfer(ncco)
