"""The exercise of notebook 02 (Make a call): call a number and read it a code."""

from __future__ import annotations

import re

from . import CORRECT, INCORRECT, NOT_ATTEMPTED, Exercise, Result, finish, talks

#: The virtual phone the check gives your function (it answers and listens).
LISTENER = "447700900905"


def _grade(ws, exercise: Exercise, send_code) -> Result:
    if ws.sandbox is None:
        return Result(NOT_ATTEMPTED, "live mode: the check has no virtual phone to give "
                                     "send_code, and will not call a real one; run "
                                     "send_code(\"<your own phone's number>\") and listen.")
    uuid = send_code(LISTENER)
    if not isinstance(uuid, str):
        return Result(INCORRECT, f"send_code returned {uuid!r}: return the new call's uuid "
                                 "(create_call's answer has it: response.uuid).")
    failed = finish(ws, [uuid]).cause()
    if failed:
        return failed
    call = ws.sandbox.call(uuid)
    if call["to"].get("number") != LISTENER:
        return Result(INCORRECT, f"the call went to {call['to'].get('number')}, not to the number "
                                 f"send_code was given ({LISTENER}): call `number`.")
    if call["from"].get("number") != ws.number:
        return Result(INCORRECT, f"the call came from {call['from'].get('number')}: call from your "
                                 "own number, ws.number (the platform only lets you use yours).")
    heard = talks(ws, uuid)
    if not any("1234" in re.sub(r"\D", "", text) for text in heard):
        said = " / ".join(f'"{text}"' for text in heard) or "nothing"
        return Result(INCORRECT, f"the phone answered and heard {said}: it should hear "
                                 "\"Your code is 1 2 3 4\" (an inline NCCO with one Talk).")
    return Result(CORRECT, exercise.correct)


send_code = Exercise(
    "send_code",
    _grade,
    starter='''
        def send_code(number):
            # Your code here: call `number` from ws.number with an NCCO that says
            # "Your code is 1 2 3 4", and return the new call's uuid
            return None
    ''',
    hints=[
        "ws.client.voice.create_call(CreateCallRequest(to=[ToPhone(number=...)], "
        "from_=Phone(number=...), ncco=[...])) places the call, as in the first section.",
        "create_call returns a response whose .uuid is the call's uuid: return it.",
    ],
    correct="the phone you were given rang, answered, and heard your code.",
    edits="send_code",
    not_attempted="write send_code in the cell above, run it, then run this check",
)
