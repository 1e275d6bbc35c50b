"""The exercise of notebook 06 (Conferences and the proxy): a moderated stand-up."""

from __future__ import annotations

from . import CORRECT, INCORRECT, NOT_ATTEMPTED, Exercise, Result, finish

HOST = "447700900501"
ATTENDEE = "447700900502"
HOST_SAYS = "good morning team"


def _grade(ws, exercise: Exercise, answer) -> Result:
    if ws.sandbox is None:
        return Result(NOT_ATTEMPTED, "live mode: this check needs two virtual phones in the "
                                     "conference; call in from two phones and listen.")
    # The attendee comes first and waits; the host joins, speaks, and leaves.
    ws.phone(HOST).script(script=[{"wait": 3}, {"say": HOST_SAYS}, {"wait": 1}, {"hangup": True}])
    attendee = ws.phone(ATTENDEE).script(script=[]).call(ws.number)
    ws.wait_for(attendee, "answered", tell=False)
    ws.sandbox.sleep(8)
    host = ws.phone(HOST).call(ws.number)
    calls = finish(ws, [host, attendee], seconds=40)
    failed = calls.cause()
    if failed:
        return failed
    heard = ws.sandbox.transcript(attendee)
    host_words = [e for e in heard if e["who"] == HOST and e["kind"] == "said"]
    music = [e for e in heard if e["kind"] == "music"]
    if not host_words:
        return Result(INCORRECT, "the attendee never heard the host: put both in the same named "
                                 "conversation.")
    if not music or music[0]["at"] > host_words[0]["at"]:
        return Result(INCORRECT, "the attendee, waiting 8 s before the host came, heard no hold "
                                 "music: give everyone but the host startOnEnter=False and "
                                 "musicOnHoldUrl=[ws.hold_music_url].")
    if attendee in calls.endless:
        return Result(INCORRECT, "when the host hung up, the attendee stayed in the conference (the "
                                 "check hung up after 40 s): give the host endOnExit=True.")
    host_heard_music = [e for e in ws.sandbox.transcript(host) if e["kind"] == "music"]
    if host_heard_music:
        return Result(INCORRECT, "the host heard hold music too: only the others wait for the host "
                                 "(the host keeps startOnEnter, which is True by default).")
    return Result(CORRECT, exercise.correct)


moderated = Exercise(
    "moderated",
    _grade,
    starter='''
        HOST = "447700900501"

        @ws.answer
        def answer(call):
            # Your code here: the host joins with endOnExit=True; everyone else waits with
            # hold music until the host is there
            return [Talk(text="Welcome to the stand-up."), Conversation(name="team-standup")]
    ''',
    hints=[
        "Look at call[\"from\"]: the host's NCCO and everyone else's differ only in the "
        "Conversation's options.",
        "Others: Conversation(name=\"team-standup\", startOnEnter=False, "
        "musicOnHoldUrl=[ws.hold_music_url]). The host: Conversation(name=\"team-standup\", "
        "endOnExit=True).",
    ],
    correct="the attendee heard hold music until the host came, then the host; when the host "
            "left, the stand-up ended for everyone.",
    edits="answer",
    not_attempted="change the answer handler in the cell above, run it, then run this check",
)
