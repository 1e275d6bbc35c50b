"""The exercise of notebook 04 (Interact with user input): a menu that repeats on a wrong key."""

from __future__ import annotations

from . import CORRECT, INCORRECT, NOT_ATTEMPTED, Exercise, Result, fields, finish, talks

MENU = "Press 1 for sales or 2 for support."

# Virtual phones the check calls from (447700900000-999 are fictional numbers).
CALLERS = {"9": "447700900901", "1": "447700900902", "2": "447700900903"}


def _grade(ws, exercise: Exercise, on_input) -> Result:
    if ws.sandbox is None:
        return _grade_live(on_input, exercise)
    wrong_answer = _not_the_menu(ws)
    if wrong_answer:
        return wrong_answer
    # Three callers at once (on real time they take as long as the menu does): one presses
    # 9 then 1, the others press 1 or 2.
    scripts = {
        "9": [{"await_input": True}, {"press": "9"}, {"await_input": True}, {"press": "1"}],
        "1": [{"await_input": True}, {"press": "1"}],
        "2": [{"await_input": True}, {"press": "2"}],
    }
    calls = {key: ws.phone(CALLERS[key]).script(script=script).call(ws.number)
             for key, script in scripts.items()}
    failed = finish(ws, calls.values(), seconds=25).cause()
    if failed:
        return failed
    heard = {key: talks(ws, uuid) for key, uuid in calls.items()}
    asked = {key: int((ws.call_events(uuid)["kind"] == "input").sum()) for key, uuid in calls.items()}

    wrong = heard["9"]
    if heard["9"].count(MENU) < 2:
        return Result(INCORRECT, f"a caller who pressed 9 heard {_quote(wrong)}: the menu was not "
                                 "repeated. For keys other than 1 and 2, return the menu's Talk "
                                 "and Input again (ex1.hint() helps).")
    if asked["9"] < 2:
        return Result(INCORRECT, f"a caller who pressed 9 heard the menu again ({_quote(wrong)}) "
                                 "but was never asked for a key again: return the Input action "
                                 "too, not only the Talk.")
    for key in ("1", "2"):
        if heard[key].count(MENU) > 1:
            return Result(INCORRECT, f"a caller who pressed {key} heard {_quote(heard[key])}: "
                                     f"only keys other than 1 and 2 should repeat the menu (keys "
                                     f"arrive as text: compare with \"{key}\", not {key}).")
    if not any("sales" in text for text in heard["9"][2:]):
        return Result(INCORRECT, f"a caller who pressed 9, then 1, heard {_quote(wrong)}: after "
                                 "the repeated menu, pressing 1 should still reach sales.")
    return Result(CORRECT, exercise.correct)


def _grade_live(on_input, exercise: Exercise) -> Result:
    """Live mode has no virtual phones to call you with: run on_input with made-up input
    events instead, and look at the NCCO it returns (call your number to hear it)."""
    live = "(live mode: the check ran your on_input with made-up key presses, as it cannot call you) "
    actions = {}
    for key in ("9", "1", "2"):
        ncco = on_input({"dtmf": {"digits": key, "timed_out": False}, "uuid": "check", "speech": {}})
        actions[key] = fields(ncco, "action")
    if "input" not in actions["9"]:
        return Result(INCORRECT, f"{live}for key 9 on_input returned {actions['9']}: return the "
                                 "menu's Talk and Input.")
    if "input" in actions["1"] or "input" in actions["2"]:
        return Result(INCORRECT, f"{live}keys 1 and 2 got the menu again: only other keys should.")
    return Result(CORRECT, f"{live}{exercise.correct}")


def _not_the_menu(ws) -> Result | None:
    """Incorrect if the answer handler is not the menu (a cell above was skipped, or a
    later one replaced it): the check's callers need the menu to press anything."""
    answer = ws.server.handlers.get("answer")
    try:
        ncco = answer({"from": CALLERS["1"], "to": ws.number, "uuid": "check"}) if answer else None
    except Exception:
        return None  # the calls will show what goes wrong
    texts = fields(ncco, "text")
    if MENU not in texts:
        said = " / ".join(f'"{t}"' for t in texts if t) or "no menu"
        return Result(INCORRECT, f"your answer handler says {said}, not the menu: run the cell "
                                 "with the menu's answer handler (above the exercise) first.")
    return None


def _quote(texts: list[str]) -> str:
    shown = " / ".join(f'"{text}"' for text in texts[:4]) or "nothing"
    return shown + (f" / ... ({len(texts)} in all)" if len(texts) > 4 else "")


repeat_menu = Exercise(
    "repeat_menu",
    _grade,
    starter='''
        @ws.on_input
        def on_input(event):
            digit = event["dtmf"]["digits"]
            team = {"1": "sales", "2": "support"}.get(digit, "nobody")
            # Your code here: for any other key, repeat the menu
            return [Talk(text=f"You pressed {digit}. Connecting you to {team}.")]
    ''',
    hints=[
        "Look at the digit first: if it is not \"1\" or \"2\", return early with the menu.",
        "The menu is the list your answer handler returns: the same Talk and the same Input. "
        "Returning it from on_input makes the platform speak it and wait for a key again.",
    ],
    correct="a caller who pressed 9 heard the menu again and chose again; callers who "
            "pressed 1 and 2 were put through at once.",
    edits="input",
    not_attempted="change on_input in the cell above, run it, then run this check",
)


# -- a two-level menu ----------------------------------------------------------------------------
SUPPORT_MENU = "Press 1 for billing or 2 for technical help."
PATHS = {  # keys pressed -> the team the caller should reach
    ("1",): "sales",
    ("2", "1"): "billing",
    ("2", "2"): "technical",
}
PATH_CALLERS = {("1",): "447700900941", ("2", "1"): "447700900942", ("2", "2"): "447700900943"}


def _grade_two_levels(ws, exercise: Exercise, on_input) -> Result:
    if ws.sandbox is None:
        return Result(NOT_ATTEMPTED, "live mode: this check needs virtual phones to press keys "
                                     "through both menus; call your number and try each path.")
    wrong_answer = _not_the_menu(ws)
    if wrong_answer:
        return wrong_answer
    calls = {}
    for keys, number in PATH_CALLERS.items():
        script = []
        for key in keys:
            script += [{"await_input": True}, {"press": key}]
        calls[keys] = ws.phone(number).script(script=script).call(ws.number)
    failed = finish(ws, calls.values()).cause()
    if failed:
        return failed
    for keys, team in PATHS.items():
        uuid = calls[keys]
        heard = talks(ws, uuid)
        pressed = " then ".join(keys)
        asked = int((ws.call_events(uuid)["kind"] == "input").sum())
        if len(keys) == 2 and SUPPORT_MENU not in heard:
            return Result(INCORRECT, f"a caller who pressed {pressed} heard {_quote(heard)}: after "
                                     f"pressing 2 they should hear \"{SUPPORT_MENU}\" and be asked again.")
        if len(keys) == 2 and asked < 2:
            return Result(INCORRECT, f"a caller who pressed {pressed} heard the second menu but was "
                                     "never asked for a key: give the second menu an Input too.")
        last = heard[-1] if heard else ""
        if last == SUPPORT_MENU or team not in last.lower():
            return Result(INCORRECT, f"a caller who pressed {pressed} heard {_quote(heard)}: they "
                                     f"should end with a message naming {team}"
                                     + (" (was the second key read as a first-menu key?)." if len(keys) == 2 else "."))
    # The same caller again: a new call starts in the first menu, whatever the last one did.
    again_from = PATH_CALLERS[("2", "1")]
    again = ws.phone(again_from).script(script=[{"await_input": True}, {"press": "1"}]).call(ws.number)
    failed = finish(ws, [again]).cause()
    if failed:
        return failed
    heard = talks(ws, again)
    if not heard or "sales" not in heard[-1].lower():
        return Result(INCORRECT, f"a second call from {again_from} that pressed 1 heard {_quote(heard)}: "
                                 "it started in the second menu. Keep the menu by the call's "
                                 "event[\"uuid\"], not by the caller's number.")
    return Result(CORRECT, exercise.correct)


two_levels = Exercise(
    "two_levels",
    _grade_two_levels,
    starter='''
        menus = {}  # which menu each call is in, by its uuid

        @ws.on_input
        def on_input(event):
            digit = event["dtmf"]["digits"]
            # Your code here: 2 in the first menu leads to a second menu
            team = {"1": "sales", "2": "support"}.get(digit, "nobody")
            return [Talk(text=f"Connecting you to {team}.")]
    ''',
    hints=[
        "Keep which menu a call is in: menus[event[\"uuid\"]] = \"support\" when you send "
        "the second menu, and look it up when the next key arrives.",
        "The second menu is a Talk with \"" + SUPPORT_MENU + "\" and an Input, just like the "
        "first; in it, 1 is billing and 2 is technical help.",
    ],
    correct="callers who pressed 1, 2 then 1, and 2 then 2 reached sales, billing and technical help.",
    edits="input",
    not_attempted="write the second menu in on_input above, run it, then run this check",
)
