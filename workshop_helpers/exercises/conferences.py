"""The exercises of notebook 07 (Conferences and the proxy): a moderated stand-up, and a
proxy between a courier and a customer."""

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
    try:
        ws.wait_for(attendee, "answered", tell=False)
    except TimeoutError:  # the call never got going: say why
        return finish(ws, [attendee], seconds=5).cause() or Result(
            INCORRECT, "the attendee's call was never answered; see what went wrong below.")
    ws.sandbox.sleep(8)
    host = ws.phone(HOST).call(ws.number)
    calls = finish(ws, [host, attendee], seconds=40)
    failed = calls.cause()
    if failed:
        return failed
    heard = ws.sandbox.transcript(attendee)
    host_words = [e for e in heard if e["who"] == HOST and e["kind"] == "said"]
    music = [e for e in heard if e["kind"] == "music"]
    if [e for e in ws.sandbox.transcript(host) if e["kind"] == "music"]:
        return Result(INCORRECT, "the host heard hold music too, so the stand-up never started: only "
                                 "the others wait for the host (the host keeps startOnEnter, which is "
                                 "True by default).")
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


# -- the proxy ----------------------------------------------------------------------------
COURIER, CUSTOMER, STRANGER = "447700900511", "447700900512", "447700900513"
WORDS = {COURIER: "i am outside with your parcel", CUSTOMER: "coming down now"}


def _grade_proxy(ws, exercise: Exercise, answer) -> Result:
    if ws.sandbox is None:
        return Result(NOT_ATTEMPTED, "live mode: this check needs virtual phones on both ends; "
                                     "call your number from one phone and answer on the other.")
    for caller, other in ((COURIER, CUSTOMER), (CUSTOMER, COURIER)):
        wrong = _one_way(ws, caller, other)
        if wrong:
            return wrong
    before = len(ws.phone(COURIER).calls) + len(ws.phone(CUSTOMER).calls)
    stranger = ws.phone(STRANGER).script(script=[{"wait": 4}, {"hangup": True}]).call(ws.number)
    failed = finish(ws, [stranger], seconds=20).cause()
    if failed:
        return failed
    if len(ws.phone(COURIER).calls) + len(ws.phone(CUSTOMER).calls) > before:
        return Result(INCORRECT, "a stranger's call (neither the courier nor the customer) was put "
                                 "through to one of them: connect only the courier and the customer.")
    return Result(CORRECT, exercise.correct)


def _one_way(ws, caller: str, other: str) -> Result | None:
    """`caller` calls your number and should be talking to `other`, who sees only your
    number; Incorrect (saying what happened) if not."""
    who = {COURIER: "the courier", CUSTOMER: "the customer"}
    ws.phone(caller).script(script=[{"wait": 4}, {"say": WORDS[caller]}, {"wait": 5}, {"hangup": True}])
    ws.phone(other).script(script=[{"wait": 1}, {"say": WORDS[other]}, {"wait": 10}, {"hangup": True}])
    dialled_before = set(ws.phone(other).calls)
    call = ws.phone(caller).call(ws.number)
    failed = finish(ws, [call], seconds=30).cause()
    if failed:
        return failed
    dialled = [uuid for uuid in ws.phone(other).calls if uuid not in dialled_before]
    if not dialled:
        return Result(INCORRECT, f"when {who[caller]} called, nobody rang {who[other]} "
                                 f"({other}): connect the call to them.")
    leg = dialled[-1]
    finish(ws, [leg], seconds=30)
    shown = ws.sandbox.call(leg)["from"]["number"]
    if shown != ws.number:
        return Result(INCORRECT, f"{who[other]}'s phone showed {shown} as the caller: a proxy shows "
                                 f"only your number; use from_=ws.number.")
    heard = [e["text"] for e in ws.sandbox.transcript(call) if e["who"] == other]
    if WORDS[other] not in heard:
        return Result(INCORRECT, f"{who[caller]} never heard {who[other]}: put both legs in the "
                                 "same conversation (or use a Connect action).")
    heard_back = [e["text"] for e in ws.sandbox.transcript(leg) if e["who"] == caller]
    if WORDS[caller] not in heard_back:
        return Result(INCORRECT, f"{who[other]} never heard {who[caller]}: check that neither "
                                 "leg is muted or earmuffed.")
    return None


proxy = Exercise(
    "proxy",
    _grade_proxy,
    starter='''
        COURIER = "447700900511"
        CUSTOMER = "447700900512"

        @ws.answer
        def answer(call):
            # Your code here: put the courier through to the customer and the customer
            # through to the courier, each seeing only your number (ws.number)
            return [Talk(text="Sorry, this delivery line is not ready yet.")]
    ''',
    hints=[
        "Look at call[\"from\"] to find who is calling: the courier is put through to the "
        "customer, the customer to the courier, and anyone else just hears a Talk.",
        "Connect(endpoint=[PhoneEndpoint(number=CUSTOMER)], from_=ws.number) puts a caller "
        "through to the customer, showing your number.",
    ],
    correct="the courier and the customer reached each other both ways and heard each other, "
            "each seeing only your number; a stranger reached nobody.",
    edits="answer",
    not_attempted="change the answer handler in the cell above, run it, then run this check",
)
