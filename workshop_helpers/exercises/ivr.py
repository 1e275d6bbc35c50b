"""The capstone of notebook 09: an IVR, graded by five callers who each take a path.

The check calls your number from five virtual phones: one presses 1 (the agent), one 2
(voicemail), one a wrong key and then 1, one nothing and then 1, and one calls after hours.
It reports each path: what that caller got, and, where it went wrong, what to change.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import CORRECT, INCORRECT, NOT_ATTEMPTED, Exercise, Result, finish, recording_urls, talks

AGENT = "447700900950"
AGENT_SAYS = "acme support sam speaking"


@dataclass
class Caller:
    """One path through the IVR: who calls, what they do, and where they should end up."""

    label: str
    number: str
    script: list
    goes_to: str  # "agent" or "voicemail"
    says: str
    asked: int = 1  # how many times the menu should ask them for a key (0: never)


def _to_agent(key_presses: list, says: str) -> list:
    return key_presses + [{"press": "1"}, {"wait": 6}, {"say": says}, {"wait": 4}, {"hangup": True}]


def _to_voicemail(before: list, says: str) -> list:
    return before + [{"wait": 6}, {"say": says}, {"wait": 8}, {"hangup": True}]


CALLERS = [
    Caller("presses 1", "447700900951", _to_agent([{"await_input": True}], "my parcel is late"),
           "agent", "my parcel is late"),
    Caller("presses 2", "447700900952", _to_voicemail([{"await_input": True}, {"press": "2"}],
                                                      "please call me back tomorrow"),
           "voicemail", "please call me back tomorrow"),
    Caller("presses 7, then 1", "447700900953",
           _to_agent([{"await_input": True}, {"press": "7"}, {"await_input": True}],
                     "i pressed the wrong key"),
           "agent", "i pressed the wrong key", asked=2),
    Caller("presses nothing, then 1", "447700900954",
           _to_agent([{"await_input": True}, {"wait": 8}, {"await_input": True}], "sorry i was away"),
           "agent", "sorry i was away", asked=2),
]
AFTER_HOURS = Caller("calls after hours", "447700900955", _to_voicemail([], "are you open on saturday"),
                     "voicemail", "are you open on saturday", asked=0)


def _grade(ws, exercise: Exercise, handlers) -> Result:
    if ws.sandbox is None:
        return Result(NOT_ATTEMPTED, "live mode: this check needs virtual phones; call your number "
                                     "and take each path yourself (1, 2, a wrong key, no key).")
    answer = handlers[0]
    ws.phone(AGENT).script(script=[{"wait": 1}, {"say": AGENT_SAYS}, {"wait": 15}, {"hangup": True}])
    agent_calls = set(ws.phone(AGENT).calls)
    # After hours first, on its own: the check makes your office_open() say "closed" for it.
    with _office(answer, open_now=False):
        late = _call(ws, AFTER_HOURS)
        failed = finish(ws, [late], seconds=60).cause()
    if failed:
        return failed
    with _office(answer, open_now=True):
        calls = {caller.label: _call(ws, caller) for caller in CALLERS}
        failed = finish(ws, calls.values(), seconds=60).cause()
    if failed:
        return failed
    calls[AFTER_HOURS.label] = late
    agent_legs = [uuid for uuid in ws.phone(AGENT).calls if uuid not in agent_calls]
    finish(ws, agent_legs, seconds=30)  # Sam hangs up too: no call of the check's is left running
    agent_heard = [e["text"] for uuid in agent_legs
                   for e in ws.sandbox.transcript(uuid) if e["kind"] == "said" and e["who"] != "phone"]
    lines, wrong = [], 0
    for caller in CALLERS + [AFTER_HOURS]:
        problem = _path_problem(ws, caller, calls[caller.label], bool(agent_legs), agent_heard)
        wrong += problem is not None
        lines.append(f"  ✓ {caller.label}" if problem is None else f"  ✗ {caller.label}: {problem}")
    if wrong:
        return Result(INCORRECT, f"{wrong} of {len(lines)} callers did not get where they were going:\n"
                      + "\n".join(lines))
    return Result(CORRECT, exercise.correct)


def _call(ws, caller: Caller) -> str:
    return ws.phone(caller.number).script(script=caller.script).call(ws.number)


class _office:
    """Make the notebook's office_open() say `open_now` while the check's calls run (it
    cannot wait until 20:00), and put yours back afterwards."""

    def __init__(self, answer, open_now: bool):
        self.names = getattr(answer, "__globals__", {})
        self.open_now = open_now

    def __enter__(self):
        self.kept = self.names.get("office_open")
        self.names["office_open"] = lambda *args, **kwargs: self.open_now

    def __exit__(self, *exc):
        if self.kept is None:
            self.names.pop("office_open", None)
        else:
            self.names["office_open"] = self.kept


def _path_problem(ws, caller: Caller, uuid: str, agent_rang: bool, agent_heard: list[str]) -> str | None:
    """What went wrong on one caller's path, with what to change; None if nothing did."""
    heard = ws.sandbox.transcript(uuid)
    said = " / ".join(f"'{text}'" for text in talks(ws, uuid)) or "nothing"
    asked = int((ws.call_events(uuid)["kind"] == "input").sum())
    if caller.asked == 0 and asked:
        return (f"heard {said}: the menu, after hours. Ask office_open() (with its brackets) in "
                "your answer handler and return voicemail(...) when it says False (the check "
                "makes it say False).")
    if caller.asked and not asked:
        return (f"heard {said} and was never asked for a key: when the office is open, return "
                "a welcome and menu() (is it office_open(), with its brackets?).")
    if asked < caller.asked:
        return (f"heard {said} and was not asked for a key again: for any key but 1 and 2, "
                "and for none (digits None, timed_out True), say so and return menu() again.")
    if caller.goes_to == "agent" and asked > caller.asked:
        return (f"pressed 1 and heard {said}: keys arrive as text, so compare with \"1\", not 1.")
    others = {c.number for c in CALLERS + [AFTER_HOURS]} - {caller.number}
    if any(e["who"] in others for e in heard):
        return ("heard another caller: each caller needs a conversation of their own, named "
                "after their call (f\"agent-{event['uuid']}\").")
    if caller.goes_to == "agent":
        if not any(e["kind"] == "said" and e["who"] == AGENT for e in heard):
            if agent_rang:
                return (f"heard {said} and never the agent, whose phone rang: put the agent's "
                        "call and the caller in a conversation of the same name.")
            return (f"heard {said} and never the agent: on 1, call the agent ({AGENT}) into a "
                    "conversation with the caller (or Connect them).")
        if caller.says not in agent_heard:
            return "heard the agent, but the agent never heard them: put both in the same conversation."
        return None
    if not any(e["kind"] == "beep" for e in heard):
        return f"heard {said} and no beep: voicemail() records after a beep."
    if not recording_urls(ws, uuid):
        return f"heard {said}; no recording of their message arrived."
    return None


ivr = Exercise(
    "ivr",
    _grade,
    starter='''
        AGENT = "447700900950"

        @ws.answer
        def answer(call):
            # Your code here: after hours, voicemail with a "we are closed" greeting;
            # otherwise a welcome and the menu
            return [Talk(text="Welcome to Acme.")] + menu()

        @ws.on_input
        def on_input(event):
            # Your code here: 1 puts the caller in a conference with the agent, 2 is
            # voicemail, any other key (or none) says so and asks again
            return [Talk(text="Goodbye.")]
    ''',
    hints=[
        "In answer: `if not office_open(): return voicemail(\"We are closed. Please leave a "
        "message.\")`. In on_input, `key = event[\"dtmf\"][\"digits\"]` is None when the caller "
        "pressed nothing.",
        "For the agent, do what notebook 07's proxy did: create_call to AGENT with "
        "ncco=[Conversation(name=room)], and return [Talk(...), Conversation(name=room)], with "
        "room = f\"agent-{event['uuid']}\". Anything but 1 or 2: "
        "[Talk(text=\"Sorry, that is not an option.\")] + menu().",
    ],
    correct=("every caller got where they were going:\n"
             + "\n".join(f"  ✓ {caller.label}" for caller in CALLERS + [AFTER_HOURS])),
    edits=("answer", "input"),
    not_attempted="change the handlers in the cell above (answer and on_input), run it, then run this check",
)
