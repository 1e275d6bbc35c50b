"""The exercise of notebook 03 (Receive a call): greet each caller by their number."""

from __future__ import annotations

import re

from . import CORRECT, INCORRECT, Exercise, Result, fields, finish, talks

#: Two virtual phones call in: a greeting hard-coded for one is wrong for the other.
CALLERS = ("447700900911", "447700900922")


def _grade(ws, exercise: Exercise, answer) -> Result:
    if ws.sandbox is None:
        return _grade_live(answer, exercise)
    calls = {number: ws.phone(number).call(ws.number) for number in CALLERS}
    failed = finish(ws, calls.values()).cause()
    if failed:
        return failed
    for number, uuid in calls.items():
        heard = talks(ws, uuid)
        said = " / ".join(f'"{text}"' for text in heard) or "nothing"
        if not any(number in re.sub(r"\D", "", text) for text in heard):
            return Result(INCORRECT, f"a caller from {number} heard {said}: the greeting should "
                                     "have their number in it (it is call['from']).")
    return Result(CORRECT, exercise.correct)


def _grade_live(answer, exercise: Exercise) -> Result:
    live = "(live mode: the check ran your answer handler with made-up calls, as it cannot call you) "
    for number in CALLERS:
        ncco = answer({"from": number, "to": "447700900100", "uuid": "check",
                       "conversation_uuid": "CON-check", "endpoint_type": "phone"})
        texts = [text or "" for text in fields(ncco, "text")]
        if not any(number in re.sub(r"\D", "", text) for text in texts):
            return Result(INCORRECT, f"{live}a call from {number} got {texts}: put call['from'] in the Talk.")
    return Result(CORRECT, f"{live}{exercise.correct}")


say_number = Exercise(
    "say_number",
    _grade,
    starter='''
        @ws.answer
        def answer(call):
            # Your code here: greet the caller by their number
            return [Talk(text="Hello, thanks for calling.")]
    ''',
    hints=[
        "The call's details are a dict: call[\"from\"] is the caller's number.",
        "An f-string puts it in the text: Talk(text=f\"Hello {call['from']}\").",
    ],
    correct="two callers each heard their own number in the greeting.",
    edits="answer",
    not_attempted="change the answer handler in the cell above, run it, then run this check",
)
