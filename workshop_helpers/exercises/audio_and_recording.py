"""The exercise of notebook 06 (Audio and recording): a voicemail box."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import soundfile

from . import CORRECT, INCORRECT, NOT_ATTEMPTED, Exercise, Result, fields, finish, recording_urls, talks

SPEAKER = "447700900601"      # waits for the beep, leaves a message, then stays silent
HANGS_UP = "447700900602"     # hangs up during the greeting
MESSAGE = "please call me back about the invoice"


def _grade(ws, exercise: Exercise, answer) -> Result:
    if ws.sandbox is None:
        return Result(NOT_ATTEMPTED, "live mode: this check needs virtual phones that speak and "
                                     "hang up; call your number, leave a message, and listen to it.")
    ws.phone(SPEAKER).script(script=[{"await_beep": True}, {"wait": 1}, {"say": MESSAGE}, {"wait": 8},
                                     {"hangup": True}])
    ws.phone(HANGS_UP).script(script=[{"wait": 0.2}, {"hangup": True}])  # in any greeting
    speaker, quitter = ws.phone(SPEAKER).call(ws.number), ws.phone(HANGS_UP).call(ws.number)
    failed = finish(ws, [speaker, quitter]).cause()
    if failed:
        return failed
    heard = ws.sandbox.transcript(speaker)
    if not any(e["kind"] == "beep" for e in heard):
        return Result(INCORRECT, "the caller heard no beep before recording: give the Record beepStart=True.")
    recordings = recording_urls(ws, speaker)
    if not recordings:
        return Result(INCORRECT, "no recording arrived for the caller who left a message: add a Record "
                                 "action after the greeting, with eventUrl=[ws.webhook_url(\"recording\")].")
    if recording_urls(ws, quitter):
        return Result(INCORRECT, "a caller who hung up during the greeting still left a recording: "
                                 "put the Record after the greeting, not before it.")
    seconds = _seconds(ws, recordings[-1])
    if seconds < 2:
        return Result(INCORRECT, f"the recording is {seconds:.1f} s long, shorter than the message: "
                                 "give the Record endOnSilence=3, so that the call waits for the "
                                 "message (and 3 s of quiet after it) before going on.")
    said_at = max((e["at"] for e in heard if e["who"] == "phone" and e["kind"] == "said"), default=0)
    after = [e for e in heard if e["who"] == "platform" and e["kind"] == "talk" and e["at"] > said_at]
    if not after:
        heard_text = " / ".join(repr(t) for t in talks(ws, speaker))
        if _says_goodbye(answer):
            return Result(INCORRECT, f"the caller heard {heard_text} and nothing after their message: the "
                                     "recording went on until they hung up. End it with endOnSilence=3, so "
                                     "the call goes on to your goodbye.")
        return Result(INCORRECT, f"the caller heard {heard_text} and nothing after their message: after "
                                 "the Record, say goodbye with a Talk.")
    return Result(CORRECT, exercise.correct)


def _says_goodbye(answer) -> bool:
    """Whether the NCCO your answer handler returns has a Talk after its Record."""
    try:
        actions = fields(answer({"from": SPEAKER, "to": "", "uuid": "check"}), "action")
    except Exception:
        return False
    return "record" in actions and "talk" in actions[actions.index("record") + 1:]


def _seconds(ws, url: str) -> float:
    """Download the recording with the SDK, as you would, and measure it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "message.audio"
        ws.client.voice.download_recording(url, str(path))
        return soundfile.info(io.BytesIO(path.read_bytes())).duration


voicemail = Exercise(
    "voicemail",
    _grade,
    starter='''
        @ws.answer
        def answer(call):
            # Your code here: after the greeting, record a message (a beep first, ending after
            # 3 s of silence, sent to ws.webhook_url("recording")), then say goodbye
            return [Talk(text="Sorry, nobody can take your call. Please leave a message.")]
    ''',
    hints=[
        "Three actions: the greeting Talk, a Record, and a goodbye Talk. The platform runs "
        "them in order, and the Record waits until the message is over.",
        "Record(beepStart=True, endOnSilence=3, eventUrl=[ws.webhook_url(\"recording\")]).",
    ],
    correct="a caller heard the beep, left a message that arrived as a recording, and heard "
            "goodbye; a caller who hung up during the greeting left nothing.",
    edits="answer",
    not_attempted="change the answer handler in the cell above, run it, then run this check",
)
