"""The NCCO executor: what each action does to a leg, one function per action.

`run_nccos` runs a leg's NCCO, and the one a REST transfer swaps in; `run_ncco` runs
the actions in order. Each action function returns None to go on with
the next action, or a new NCCO (from an input or notify webhook) that replaces the rest,
as the Voice API documents; an empty NCCO means nothing is left, so the platform hangs
up. Synchronous actions simply `await` until they are done; asynchronous ones (a `record`
with no end condition, `talk`/`stream` with `bargeIn`, asynchronous `input`) start a
background task on the leg and return at once. `conversation`, `connect` and `transfer`
put the leg in a conversation with other legs (see conversations.py) and wait there.
What the running NCCO is doing (a bargeIn prompt, an input listening) is kept in the
leg's `NccoState` (ncco_state.py); the leg itself is seen as a `CallLeg` (leg_interface.py).

Each action as the platform documents it: https://developer.vonage.com/en/voice/voice-api/ncco-reference
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from . import media
from .calls import CallSetup
from .speech import PLATFORM_VOICE
from .transcript import OWN_PARTY, TranscriptEntry, by_own_party, said_by_caller
from .webhooks import NccoFetchError

if TYPE_CHECKING:
    from vonage_voice.models import ncco as models

    from ..ncco import Input
    from .leg_interface import CallLeg

log = logging.getLogger(__name__)

#: Defaults the Voice API documents for `input`.
DTMF_TIME_OUT, DTMF_MAX_DIGITS = 3, 4
SPEECH_START_TIMEOUT, SPEECH_END_ON_SILENCE, SPEECH_MAX_DURATION = 10, 2.0, 60


async def run_nccos(leg: "CallLeg", ncco: list) -> None:
    """Run a leg's NCCO; a REST transfer swaps in another one (see `NccoState.replace`)."""
    state = leg.ncco_state
    state.run_next(ncco)  # a transfer during the answer webhook wins
    while (ncco := state.take_next()) is not None:
        state.task = asyncio.get_running_loop().create_task(run_ncco(leg, ncco))
        try:
            await asyncio.wait({state.task})
        finally:
            # On hangup: stop the action and let it clean up (a record sends its event).
            state.task.cancel()
            await asyncio.wait({state.task})
        if not state.task.cancelled() and state.task.exception():
            log.error("NCCO failed on leg %s", leg.uuid, exc_info=state.task.exception())
            leg.emit_error("Internal error while running the NCCO.", repr(state.task.exception()))


async def run_ncco(leg: "CallLeg", ncco: list) -> None:
    """Run `ncco` on `leg`; when the last action finishes, the platform hangs up."""
    queue = list(ncco)
    while queue:
        action = queue.pop(0)
        name = action.action.value
        leg.note("platform", "action", name)
        replacement = await ACTIONS[name](leg, action)
        if replacement is not None:
            queue = list(replacement)
    await leg.ncco_state.finish_prompt()


# -- talk and stream ---------------------------------------------------------------------
async def talk(leg: "CallLeg", action: "models.Talk") -> None:
    await leg.ncco_state.finish_prompt()
    since = leg.clock.elapsed()  # the prompt starts now, however long espeak-ng takes
    if action.bargeIn:
        _drain(leg.dtmf)  # only keys pressed from now on interrupt and answer
    audio, seconds = await leg.platform.say(action.text, action.language or PLATFORM_VOICE)
    await _play(leg, "talk", action.text, audio, seconds, action.loop, action.bargeIn, since)


async def stream(leg: "CallLeg", action: "models.Stream") -> None:
    url = action.streamUrl[0]
    audio, seconds = await stream_audio(leg, url)
    await _play(leg, "stream", url, audio, seconds, action.loop, action.bargeIn)


async def _play(leg: "CallLeg", kind: str, text: str, audio: str | None, seconds: float,
                loop: int | None, barge_in: bool | None, since: float | None = None) -> None:
    """Play a prompt; with bargeIn it plays on while the next action (an input) starts,
    and the caller's first key or word stops it and counts as their answer."""
    await leg.ncco_state.finish_prompt()
    play = play_looped(leg, kind, text, audio, seconds, loop, since)
    if barge_in:
        if since is None:
            since = leg.clock.elapsed()
            _drain(leg.dtmf)  # only keys pressed from now on interrupt and answer
        leg.ncco_state.play_prompt(leg.start_child(play))
        if _caller_spoke_since(leg, since):  # while the prompt was being synthesised
            leg.ncco_state.barge_in()
    else:
        await play


async def play_looped(leg: "CallLeg", kind: str, text: str, audio: str | None, seconds: float,
                      loop: int | None, since: float | None = None) -> None:
    """Play a sound `loop` times (default once; 0 means until stopped), the first time
    from `since` on the call's clock if it began earlier than now."""
    loop = 1 if loop is None else loop
    count = 0
    while (loop == 0 and seconds > 0) or count < loop:
        await leg.play(kind, text, seconds, audio, since=since if count == 0 else None)
        count += 1


async def play_until(leg: "CallLeg", kind: str, url: str, until: asyncio.Event) -> None:
    """Hold music or a ringback tone: the file at `url`, looped until `until` is set."""
    audio, seconds = await stream_audio(leg, url)
    player = asyncio.ensure_future(play_looped(leg, kind, url, audio, seconds, 0))
    try:
        await until.wait()
    finally:
        player.cancel()
        await asyncio.wait({player})


async def play_dtmf(leg: "CallLeg", digits: str) -> None:
    """The platform plays keys to the leg's party (`p` is a half-second pause)."""
    for digit in digits:
        if digit == "p":
            await leg.clock.sleep(0.5)
        else:
            await leg.play("dtmf", digit, media.DTMF_SECONDS)


def _caller_spoke_since(leg: "CallLeg", since: float) -> bool:
    """Whether the caller has pressed a key (still queued) or spoken since `since`."""
    return not leg.dtmf.empty() or any(
        said_by_caller(e) and e["at"] >= since for e in leg.transcript
    )


async def stream_audio(leg: "CallLeg", url: str) -> tuple[str | None, float]:
    """The audio at `url`: its key in the platform's AudioLibrary and how long it plays;
    (None, 0) if it cannot be played. It is fetched again once its Cache-Control says so."""
    try:
        return await leg.platform.streams.audio_of(url)
    except ValueError as error:
        leg.note("platform", "error", f"could not play {url}: {error}")
        log.info("stream %s could not be played: %s", url, error)
        return None, 0.0


# -- wait and notify ---------------------------------------------------------------------
async def wait(leg: "CallLeg", action: "models.Wait") -> None:
    await leg.clock.sleep(action.timeout)


async def notify(leg: "CallLeg", action: "models.Notify") -> list | None:
    payload = {"payload": action.payload, "conversation_uuid": leg.conversation_uuid}
    return await _ask_for_next_ncco(leg, payload, action.eventUrl[0], action.eventMethod, "notify")


# -- input -------------------------------------------------------------------------------
async def input_(leg: "CallLeg", action: "Input") -> list | None:
    leg.ncco_state.stop_async_input()  # one listener for keys at a time: the newest input
    if action.mode == "asynchronous":
        leg.ncco_state.start_async_input(leg.start_child(_asynchronous_dtmf(leg, action)))
        return None

    if leg.ncco_state.prompt is None:  # keys pressed before the input (and no bargeIn prompt) are lost
        _drain(leg.dtmf)
    heard_before = len(leg.transcript)  # speech from here on is the answer
    leg.ncco_state.start_listening(keys="dtmf" in action.type)
    try:
        await leg.ncco_state.finish_prompt()
        dtmf, speech = await _collect(leg, action, heard_before)
    finally:
        leg.ncco_state.stop_listening()
    payload = {**leg.base_payload(), "dtmf": dtmf, "speech": speech}
    url = action.eventUrl[0] if action.eventUrl else None
    return await _ask_for_next_ncco(leg, payload, url, action.eventMethod, "input")


async def _collect(leg: "CallLeg", action: "Input", heard_before: int) -> tuple[dict, dict]:
    """Wait for keys or speech, as the input asked. The first kind used decides: once the
    caller starts speaking, the DTMF time-out no longer runs, and the other way round."""
    no_keys = {"digits": None, "timed_out": False}
    no_speech = {"error": "Speech was not enabled"}
    if action.type == ["dtmf"]:
        return await _collect_dtmf(leg, action.dtmf), no_speech
    if action.type == ["speech"]:
        return no_keys, await _collect_speech(leg, action.speech, heard_before)

    keys = asyncio.ensure_future(_collect_dtmf(leg, action.dtmf))
    speaking = asyncio.ensure_future(_next_phrase(leg, heard_before))
    try:
        await asyncio.wait({keys, speaking}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (keys, speaking):
            task.cancel()
        await asyncio.wait({keys, speaking})
    if keys.done() and not keys.cancelled():
        return keys.result(), {"results": []}
    return no_keys, await _collect_speech(leg, action.speech, heard_before)


async def _collect_dtmf(leg: "CallLeg", options) -> dict:
    """maxDigits (default 4), submitOnHash, timeOut (default 3 s after the last key)."""
    max_digits = options.maxDigits if options and options.maxDigits else DTMF_MAX_DIGITS
    submit_on_hash = bool(options and options.submitOnHash)
    time_out = options.timeOut if options and options.timeOut is not None else DTMF_TIME_OUT
    digits = ""
    while True:
        try:
            digit = await leg.clock.wait_for(leg.dtmf.get(), time_out)
        except asyncio.TimeoutError:
            return {"digits": digits or None, "timed_out": True}
        if digit == "#" and submit_on_hash:
            return {"digits": digits or None, "timed_out": False}
        digits += digit
        if len(digits) >= max_digits:
            return {"digits": digits, "timed_out": False}


async def _collect_speech(leg: "CallLeg", options, heard: int) -> dict:
    """The sandbox "recognises" exactly what a virtual phone says. Speech ends after
    `endOnSilence` seconds of quiet (a shorter pause does not end it), or `maxDuration`
    seconds after it began (then only the words said by then count)."""
    start_timeout = options.startTimeout if options and options.startTimeout else SPEECH_START_TIMEOUT
    silence = options.endOnSilence if options and options.endOnSilence else SPEECH_END_ON_SILENCE
    max_duration = options.maxDuration if options and options.maxDuration else SPEECH_MAX_DURATION
    listening_from = leg.clock.elapsed()
    try:
        await leg.clock.wait_for(_next_phrase(leg, heard), start_timeout)
    except asyncio.TimeoutError:
        return {"results": [], "timeout_reason": "start_timeout"}
    phrases, index = [], _phrase_after(leg, heard)
    while True:
        phrases.append(leg.transcript[index])
        deadline = phrases[0]["at"] + max_duration
        quiet_until = phrases[-1]["at"] + phrases[-1]["seconds"] + silence
        try:
            remaining = max(0.0, min(quiet_until, deadline) - leg.clock.elapsed())
            await leg.clock.wait_for(_next_phrase(leg, index + 1), remaining)
        except asyncio.TimeoutError:
            break
        index = _phrase_after(leg, index + 1)
    reason = "max_duration" if quiet_until > deadline else "end_on_silence_timeout"
    text = " ".join(_words_before(phrase, deadline) for phrase in phrases).strip()
    result = {"results": [{"text": text, "confidence": "0.95"}] if text else [], "timeout_reason": reason}
    if options and options.saveAudio:
        result["recording_url"] = await _save_speech(leg, listening_from)
    return result


def _phrase_after(leg: "CallLeg", seen: int) -> int:
    """The transcript index of the first phrase the caller said at or after `seen`."""
    return next(i for i in range(seen, len(leg.transcript)) if said_by_caller(leg.transcript[i]))


def _words_before(phrase: TranscriptEntry, deadline: float) -> str:
    """The words of `phrase` said before `deadline` (all of them if it ended in time)."""
    words = phrase["text"].split()
    if phrase["at"] + phrase["seconds"] <= deadline:
        return phrase["text"]
    said = max(0.0, deadline - phrase["at"]) / phrase["seconds"]
    return " ".join(words[: int(len(words) * said)])


async def _save_speech(leg: "CallLeg", start: float) -> str:
    """saveAudio: what the caller said while the input listened, as a downloadable file."""
    spoken = [e for e in leg.transcript if by_own_party(e)]
    recording_url, _ = await leg.platform.recorder.save(spoken, start, leg.clock.elapsed(), "wav")
    return recording_url


async def _next_phrase(leg: "CallLeg", seen: int) -> None:
    """Return once the caller has said something at or after transcript entry `seen`."""
    while not any(said_by_caller(e) for e in leg.transcript[seen:]):
        await leg.activity.wait()


async def _asynchronous_dtmf(leg: "CallLeg", action: "Input") -> None:
    """Asynchronous input: each key is its own webhook, until the call ends or another
    input (or a transfer) takes over."""
    _drain(leg.dtmf)
    own_url = action.eventUrl[0] if action.eventUrl else None
    while True:
        digit = await leg.dtmf.get()
        payload = {**leg.base_payload(), "dtmf": {"digits": digit, "timed_out": False}}
        url, method = leg.ncco_state.keys_destination(own_url, action.eventMethod)  # PUT .../input/dtmf may redirect
        leg.emit(payload, url, method, kind="input")


# -- record ------------------------------------------------------------------------------
async def record(leg: "CallLeg", action: "models.Record") -> None:
    """Record the call; with an end condition it blocks, otherwise it runs until hangup."""
    recording = Recording(leg, action)
    if action.beepStart:
        leg.beep()
    if not recording.synchronous:
        leg.start_child(_record_until_hangup(recording))
        return None
    _drain(leg.dtmf)
    try:
        await leg.clock.wait_for(_record_end_condition(leg, action, recording.start), action.timeOut or 7200)
    except asyncio.TimeoutError:
        pass  # timeOut reached
    finally:
        await recording.save()  # also when the caller hangs up mid-recording
    return None


class Recording:
    """One `record` action's recording: when it started, and how to save it."""

    def __init__(self, leg: "CallLeg", action: "models.Record"):
        self.leg, self.action = leg, action
        self.synchronous = any(
            value is not None for value in (action.endOnSilence, action.endOnKey, action.timeOut)
        )
        self.start = leg.clock.elapsed()
        self.started_at = leg.clock.now()

    async def save(self) -> None:
        """Write the file (in a worker thread: encoding is slow) and send the record event."""
        leg, action = self.leg, self.action
        end, ended_at = leg.clock.elapsed(), leg.clock.now()
        channels = action.channels or (2 if action.split else 1)
        audio_format = action.format or ("wav" if channels > 2 else "mp3")
        transcript = list(leg.transcript)
        recorder = leg.platform.recorder
        recording_url, size = await recorder.save(
            transcript, self.start, end, audio_format, channels, channel_per_party(transcript)
        )
        payload = recorder.event(
            recording_url, size, self.started_at, ended_at, leg.conversation_uuid
        )
        leg.note("platform", "recording", payload["recording_url"], seconds=end - self.start)
        url = action.eventUrl[0] if action.eventUrl else None
        leg.emit(payload, url, action.eventMethod, kind="record")


def channel_per_party(transcript: list[TranscriptEntry]):
    """With split channels, the leg's own party is on the first channel; the platform
    and the other parties follow in the order they were first heard."""
    parties = list(dict.fromkeys([OWN_PARTY] + [e["who"] for e in transcript]))
    return lambda entry: parties.index(entry["who"])


async def _record_until_hangup(recording: Recording) -> None:
    try:
        await asyncio.get_running_loop().create_future()  # until the leg ends
    finally:
        await recording.save()


async def _record_end_condition(leg: "CallLeg", action: "models.Record", start: float) -> None:
    """Return when the caller presses endOnKey or stays silent for endOnSilence seconds;
    with neither, never (only the record's timeOut ends it)."""
    watchers = []
    if action.endOnKey:
        watchers.append(asyncio.ensure_future(_until_key(leg, action.endOnKey)))
    if action.endOnSilence:
        watchers.append(asyncio.ensure_future(_until_silence(leg, action.endOnSilence, start)))
    if not watchers:
        await asyncio.get_running_loop().create_future()
    try:
        await asyncio.wait(watchers, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for watcher in watchers:
            watcher.cancel()
        await asyncio.wait(watchers)


async def _until_key(leg: "CallLeg", key: str) -> None:
    while await leg.dtmf.get() != key:
        pass


async def _until_silence(leg: "CallLeg", seconds: float, start: float) -> None:
    while True:
        quiet_since = max(start, leg.last_activity_end)
        remaining = seconds - (leg.clock.elapsed() - quiet_since)
        if remaining <= 0:
            return
        try:
            await leg.clock.wait_for(leg.activity.wait(), remaining)
        except asyncio.TimeoutError:
            # Nothing was said for the rest of the quiet: that is the silence. (Working
            # it out again from the clock could leave a rounding error of 1e-13 s, a timer
            # asyncio runs at once, on a clock that then never moves.)
            return


# -- conversation, connect, transfer ------------------------------------------------------
async def conversation(leg: "CallLeg", action: "models.Conversation") -> None:
    """Join the named conversation and stay until the call ends or the conversation does
    (a moderator with endOnExit left). Until it starts, hear the hold music."""
    room = leg.platform.named_conversation(action.name)
    if action.record:
        room.record_for(leg, action)
    member = room.join(leg, **_listening(action), start_on_enter=action.startOnEnter is not False,
                       end_on_exit=bool(action.endOnExit))
    await _stay(leg, member, action.musicOnHoldUrl)


async def transfer(leg: "CallLeg", action: "models.Transfer") -> None:
    """Move every leg of this conversation into another one, and stay there."""
    target = leg.platform.conversations.get(action.conversationId)
    if target is None:
        leg.emit_error(
            "Conversation not found.",
            f"transfer: no conversation {action.conversationId}; the NCCO goes on.",
        )
        return None
    moving = [m for m in leg.conversation.members.values() if m.leg is not leg]
    for before in moving:  # the others keep doing what they did (a connect, a conversation)
        target.join(before.leg, **_listening(action)).ended = before.ended
    target.join(leg, **_listening(action))
    await _stay(leg, target.members[leg.uuid], None)


def _listening(action) -> dict:
    """canHear, canSpeak and mute, as Member options."""
    return {
        "can_hear": None if action.canHear is None else set(action.canHear),
        "can_speak": None if action.canSpeak is None else set(action.canSpeak),
        "mute": bool(action.mute),
    }


async def _stay(leg: "CallLeg", member, music_url: list | None) -> None:
    room = leg.conversation
    music = None
    if music_url and not room.started.is_set():
        music = leg.start_child(play_until(leg, "music", music_url[0], room.started))
    try:
        await member.ended.wait()
    finally:
        if music is not None:
            music.cancel()
        leg.conversation.leave(leg)  # a hangup or a REST transfer takes the leg out


async def connect(leg: "CallLeg", action: "models.Connect") -> list | None:
    """Call an endpoint and bridge it into this leg's conversation, until one of them
    hangs up; then the NCCO goes on. A synchronous connect whose callee fails (or whose
    websocket closes) takes its next NCCO from the answer to that event."""
    endpoint = endpoint_dict(action.endpoint[0])
    on_answer = endpoint.pop("onAnswer", None) or {}
    setup = CallSetup.for_connect(action, endpoint, on_answer, caller=leg, app_number=leg.platform.app.number)
    if leg.uuid not in leg.conversation.members:
        leg.conversation.join(leg)  # back in its conversation, to hear the callee
    callee = leg.platform.connect(leg, setup)
    leg.note("platform", "connect", callee.party_address, leg=callee.uuid)
    ringback = (action.ringbackTone or [None])[0] or on_answer.get("ringbackTone")
    if ringback:
        leg.start_child(play_until(leg, "ringback", ringback, callee.joined))
    try:
        await asyncio.wait({callee.task})
    finally:
        callee.hang_up(by="platform")  # the caller hung up (or was transferred) first
    if callee.status_ncco is None:
        return None
    try:
        return await callee.status_ncco
    except NccoFetchError as error:
        return _no_next_ncco(leg, error)


def endpoint_dict(endpoint) -> dict:
    """An endpoint model as the JSON the platform uses (`content-type`, not contentType)."""
    data = endpoint.model_dump(by_alias=True, exclude_none=True, mode="json")
    if "contentType" in data:
        data["content-type"] = data.pop("contentType")
    return data


# -- helpers -----------------------------------------------------------------------------
async def _ask_for_next_ncco(leg: "CallLeg", payload: dict, url: str | None, method: str | None,
                             kind: str) -> list | None:
    """Send an event that may answer with an NCCO; None means go on with this one."""
    try:
        return await leg.send_event_for_ncco(payload, url, method, kind)
    except NccoFetchError as error:
        return _no_next_ncco(leg, error)


def _no_next_ncco(leg: "CallLeg", error: NccoFetchError) -> list | None:
    """The application gave no usable NCCO (after the documented retry and fallback): an
    error event, then what the call does. An invalid NCCO ends the call (an empty NCCO:
    nothing left to run); a webhook that cannot be reached leaves it on its current NCCO."""
    leg.emit_error(error.reason, error.detail)
    return [] if error.invalid else None


def _drain(queue: asyncio.Queue) -> None:
    while not queue.empty():
        queue.get_nowait()


ACTIONS = {
    "talk": talk,
    "stream": stream,
    "wait": wait,
    "notify": notify,
    "input": input_,
    "record": record,
    "conversation": conversation,
    "connect": connect,
    "transfer": transfer,
}
