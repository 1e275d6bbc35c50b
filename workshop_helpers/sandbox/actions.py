"""The NCCO executor: what each action does to a leg, one function per action.

`run_ncco` runs the actions in order. Each action function returns None to go on with
the next action, or a new NCCO (from an input or notify webhook) that replaces the rest,
as the Voice API documents. Synchronous actions simply `await` until they are done;
asynchronous ones (a `record` with no end condition, `talk`/`stream` with `bargeIn`,
asynchronous `input`) start a background task on the leg and return at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from . import media
from .clock import iso_seconds
from .webhooks import NccoFetchError

if TYPE_CHECKING:
    from vonage_voice.models import ncco as models

    from ..ncco import Input
    from .engine import Leg

log = logging.getLogger(__name__)


async def run_ncco(leg: "Leg", ncco: list) -> None:
    """Run `ncco` on `leg`; when the last action finishes, the platform hangs up."""
    queue = list(ncco)
    while queue:
        action = queue.pop(0)
        name = action.action.value
        leg.note("platform", "action", name)
        replacement = await ACTIONS[name](leg, action)
        if replacement is not None:
            queue = list(replacement)
    await _finish_prompt(leg)


async def talk(leg: "Leg", action: "models.Talk") -> None:
    seconds = media.speech_seconds(action.text)
    await _play(leg, "talk", action.text, seconds, action.loop, action.bargeIn)


async def stream(leg: "Leg", action: "models.Stream") -> None:
    url = action.streamUrl[0]
    seconds = await _stream_seconds(leg, url)
    await _play(leg, "stream", url, seconds, action.loop, action.bargeIn)


async def _play(leg: "Leg", kind: str, text: str, seconds: float, loop: int | None,
                barge_in: bool | None) -> None:
    """Play a prompt; with bargeIn it plays on while the next action (an input) starts."""
    loop = 1 if loop is None else loop

    async def play():
        count = 0
        while loop == 0 or count < loop:
            leg.note("platform", kind, text, seconds=seconds)
            await leg.clock.sleep(seconds)
            count += 1

    await _finish_prompt(leg)
    if barge_in:
        leg.prompt = leg.start_child(play())
        leg.keep_digits = True
    else:
        await play()


async def _finish_prompt(leg: "Leg") -> None:
    """Let a bargeIn prompt finish (or be interrupted) before going on."""
    if leg.prompt is not None:
        await asyncio.wait({leg.prompt})
        leg.prompt = None


async def _stream_seconds(leg: "Leg", url: str) -> float:
    """How long the audio at `url` plays (fetched once, then cached by URL)."""
    cache = leg.platform.stream_cache
    if url not in cache:
        try:
            cache[url] = media.audio_seconds(await leg.platform.webhooks.download(url))
        except ValueError as error:
            leg.note("platform", "error", f"could not play {url}: {error}")
            log.info("stream %s could not be played: %s", url, error)
            return 0.0
    return cache[url]


async def wait(leg: "Leg", action: "models.Wait") -> None:
    await leg.clock.sleep(action.timeout)


async def notify(leg: "Leg", action: "models.Notify") -> list | None:
    payload = {"payload": action.payload, "conversation_uuid": leg.conversation_uuid}
    return await _fetch_next_ncco(leg, payload, action.eventUrl[0], action.eventMethod, "notify")


async def input_(leg: "Leg", action: "Input") -> list | None:
    if action.mode == "asynchronous":
        leg.start_child(_asynchronous_dtmf(leg, action))
        return None

    keep = leg.keep_digits and leg.prompt is not None
    leg.keep_digits = False
    if not keep:
        _drain(leg.dtmf)
    heard_before = len(leg.transcript)  # speech from here on is the answer
    leg.listening.set()
    try:
        await _finish_prompt(leg)
        dtmf, speech = await _collect(leg, action, heard_before)
    finally:
        leg.listening.clear()
    payload = {**leg.base_payload(), "dtmf": dtmf, "speech": speech}
    url = action.eventUrl[0] if action.eventUrl else None
    return await _fetch_next_ncco(leg, payload, url, action.eventMethod, "input")


async def _collect(leg: "Leg", action: "Input", heard_before: int) -> tuple[dict, dict]:
    """Wait for keys and/or speech, whichever the input asked for finishes first."""
    tasks = {}
    if "dtmf" in action.type:
        tasks["dtmf"] = asyncio.ensure_future(_collect_dtmf(leg, action.dtmf))
    if "speech" in action.type:
        tasks["speech"] = asyncio.ensure_future(_collect_speech(leg, action.speech, heard_before))
    try:
        done, _ = await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks.values():
            task.cancel()
    dtmf = {"digits": "", "timed_out": True}
    speech = {"error": "Speech was not enabled"}
    if "dtmf" in tasks and tasks["dtmf"] in done:
        dtmf = tasks["dtmf"].result()
    if "speech" in tasks:
        speech = tasks["speech"].result() if tasks["speech"] in done else {"results": []}
        if "dtmf" in tasks and tasks["dtmf"] not in done:
            dtmf = {"digits": "", "timed_out": False}
    return dtmf, speech


async def _collect_dtmf(leg: "Leg", options) -> dict:
    """maxDigits (default 4), submitOnHash, timeOut (default 3 s after the last key)."""
    max_digits = options.maxDigits if options and options.maxDigits else 4
    submit_on_hash = bool(options and options.submitOnHash)
    time_out = options.timeOut if options and options.timeOut is not None else 3
    digits = ""
    while True:
        try:
            digit = await asyncio.wait_for(leg.dtmf.get(), leg.clock.real_seconds(time_out))
        except asyncio.TimeoutError:
            return {"digits": digits, "timed_out": True}
        if digit == "#" and submit_on_hash:
            return {"digits": digits, "timed_out": False}
        digits += digit
        if len(digits) >= max_digits:
            return {"digits": digits, "timed_out": False}


async def _collect_speech(leg: "Leg", options, heard: int) -> dict:
    """The sandbox "recognises" exactly what a virtual phone says."""
    start_timeout = options.startTimeout if options and options.startTimeout else 10
    try:
        await asyncio.wait_for(_next_phrase(leg, heard), leg.clock.real_seconds(start_timeout))
    except asyncio.TimeoutError:
        return {"results": [], "timeout_reason": "start_timeout"}
    phrase = next(e for e in leg.transcript[heard:] if e["kind"] == "said")
    await leg.clock.sleep(phrase["seconds"] + (options.endOnSilence if options and options.endOnSilence else 2.0))
    return {
        "results": [{"text": phrase["text"], "confidence": "0.95"}],
        "timeout_reason": "end_on_silence_timeout",
    }


async def _next_phrase(leg: "Leg", seen: int) -> None:
    while not any(e["kind"] == "said" for e in leg.transcript[seen:]):
        await leg.activity.wait()


async def _asynchronous_dtmf(leg: "Leg", action: "models.Input") -> None:
    """Asynchronous input: each key is its own webhook, for as long as the call lasts."""
    _drain(leg.dtmf)
    url = action.eventUrl[0] if action.eventUrl else None
    while True:
        digit = await leg.dtmf.get()
        payload = {**leg.base_payload(), "dtmf": {"digits": digit, "timed_out": False}}
        leg.emit(payload, url, action.eventMethod, kind="input")


async def record(leg: "Leg", action: "models.Record") -> None:
    """Record the call; with an end condition it blocks, otherwise it runs until hangup."""
    synchronous = any(v is not None for v in (action.endOnSilence, action.endOnKey, action.timeOut))
    start = leg.clock.elapsed()
    started_at = leg.clock.now()
    if action.beepStart:
        leg.note("platform", "beep", "beep", seconds=0.4)
    if not synchronous:
        leg.start_child(_record_until_hangup(leg, action, start, started_at))
        return None
    _drain(leg.dtmf)
    try:
        await asyncio.wait_for(
            _record_end_condition(leg, action, start),
            leg.clock.real_seconds(action.timeOut or 7200),
        )
    except asyncio.TimeoutError:
        pass
    finally:
        _save_recording(leg, action, start, started_at)
    return None


async def _record_until_hangup(leg, action, start, started_at) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        _save_recording(leg, action, start, started_at)


async def _record_end_condition(leg: "Leg", action: "models.Record", start: float) -> None:
    """Return when the caller presses endOnKey or stays silent for endOnSilence seconds."""
    watchers = []
    if action.endOnKey:
        watchers.append(_until_key(leg, action.endOnKey))
    if action.endOnSilence:
        watchers.append(_until_silence(leg, action.endOnSilence, start))
    if not watchers:
        await asyncio.Event().wait()  # only timeOut ends it
    tasks = [asyncio.ensure_future(w) for w in watchers]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


async def _until_key(leg: "Leg", key: str) -> None:
    while await leg.dtmf.get() != key:
        pass


async def _until_silence(leg: "Leg", seconds: float, start: float) -> None:
    while True:
        quiet_since = max(start, leg.last_activity_end)
        remaining = seconds - (leg.clock.elapsed() - quiet_since)
        if remaining <= 0:
            return
        try:
            await asyncio.wait_for(leg.activity.wait(), leg.clock.real_seconds(remaining))
        except asyncio.TimeoutError:
            pass


def _save_recording(leg: "Leg", action: "models.Record", start: float, started_at) -> None:
    """Write the recording file and queue the record event (no awaiting: safe on hangup)."""
    end = leg.clock.elapsed()
    channels = action.channels or (2 if action.split else 1)
    audio_format = action.format or ("wav" if channels > 2 else "mp3")
    data = media.encode(media.render(leg.transcript, start, end, channels), audio_format)
    file_id = leg.platform.ids.uuid()
    (leg.platform.files_dir / f"{file_id}.{audio_format}").write_bytes(data)
    payload = {
        "start_time": iso_seconds(started_at),
        "end_time": iso_seconds(leg.clock.now()),
        "recording_url": f"{leg.platform.base_url()}/v1/files/{file_id}",
        "recording_uuid": leg.platform.ids.uuid(),
        "size": len(data),
        "conversation_uuid": leg.conversation_uuid,
    }
    leg.note("platform", "recording", payload["recording_url"], seconds=end - start)
    url = action.eventUrl[0] if action.eventUrl else None
    leg.emit(payload, url, action.eventMethod, kind="record")


async def not_yet(leg: "Leg", action) -> None:
    """Actions that arrive in part 2 of the sandbox: say so in an error event and go on."""
    name = action.action.value
    leg.emit_error(
        f"The sandbox cannot run `{name}` yet.",
        f"`{name}` is validated but not run by this version of the sandbox; the NCCO goes on.",
    )


async def _fetch_next_ncco(leg: "Leg", payload: dict, url: str | None, method: str | None,
                           kind: str) -> list | None:
    """Send an event that may answer with an NCCO; None means go on with this one.

    An invalid NCCO ends the call; a webhook that cannot be reached leaves the call on
    its current NCCO (both after the documented retry and fallback).
    """
    try:
        return await leg.fetch_ncco(payload, url, method, kind)
    except NccoFetchError as error:
        leg.emit_error(error.reason, error.detail)
        if error.invalid:
            leg.hang_up(by="platform")
            await asyncio.Event().wait()  # the hangup cancels us here
        return None


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
    "conversation": not_yet,
    "connect": not_yet,
    "transfer": not_yet,
}
