"""Exercises are graded by what the calls did: the solution is Correct, the mistakes
learners make are Incorrect with what the call did, the untouched starter is Not
attempted, and a check never raises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vonage_voice import Dtmf, Input, Talk

import workshop_helpers as wh
from workshop_helpers.exercises import SOLUTIONS
from workshop_helpers.exercises.first_call import repeat_menu
from workshop_helpers.exercises.solved import solve

MENU_CELL = '''
@ws.answer
def answer(call):
    return [
        Talk(text="Press 1 for sales or 2 for support."),
        Input(type=["dtmf"], dtmf=Dtmf(maxDigits=1), eventUrl=[ws.webhook_url("input")]),
    ]
'''


@pytest.fixture
def ws():
    workshop = wh.start(clock="virtual")
    yield workshop
    wh.stop()


def run_cell(ws, tmp_path, source: str) -> None:
    """Run code as a notebook cell would (from a file, so its source can be read back)."""
    path = tmp_path / f"cell{len(list(tmp_path.glob('cell*.py')))}.py"
    path.write_text(source)
    exec(compile(source, str(path), "exec"), {"ws": ws, "Talk": Talk, "Input": Input, "Dtmf": Dtmf})


def verdict(capsys, exercise=repeat_menu) -> str:
    exercise.check()
    return capsys.readouterr().out


def test_the_solution_is_correct(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, MENU_CELL)
    run_cell(ws, tmp_path, (SOLUTIONS / "repeat_menu.py").read_text())
    assert verdict(capsys) == f"Correct: {repeat_menu.correct}\n"


def test_the_untouched_starter_is_not_attempted_even_with_comments_changed(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, MENU_CELL)
    run_cell(ws, tmp_path, repeat_menu.starter.replace("# Your code here", "# thinking..."))
    assert verdict(capsys) == "Not attempted: change on_input in the cell above, run it, then run this check\n"
    assert ws.calls.empty  # no call was placed


def test_repeating_only_the_talk_is_incorrect_and_says_no_key_was_asked_again(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, MENU_CELL)
    run_cell(ws, tmp_path, '''
@ws.on_input
def on_input(event):
    digit = event["dtmf"]["digits"]
    if digit not in ("1", "2"):
        return [Talk(text="Press 1 for sales or 2 for support.")]
    return [Talk(text=f"You pressed {digit}. Connecting you to sales.")]
''')
    said = verdict(capsys)
    assert said.startswith("Incorrect: a caller who pressed 9 heard the menu again")
    assert "but was never asked for a key again: return the Input action too" in said


def test_repeating_the_menu_for_every_key_is_incorrect_and_names_the_key(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, MENU_CELL)
    run_cell(ws, tmp_path, '''
@ws.on_input
def on_input(event):
    return [
        Talk(text="Press 1 for sales or 2 for support."),
        Input(type=["dtmf"], dtmf=Dtmf(maxDigits=1), eventUrl=[ws.webhook_url("input")]),
    ]
''')
    said = verdict(capsys)
    assert said.startswith('Incorrect: a caller who pressed 1 heard "Press 1 for sales or 2 for support." / '
                           '"Press 1 for sales or 2 for support."')
    assert "only keys other than 1 and 2 should repeat the menu" in said


def test_not_repeating_at_all_is_incorrect_and_quotes_what_the_caller_heard(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, MENU_CELL)
    run_cell(ws, tmp_path, '''
@ws.on_input
def on_input(event):
    digit = event["dtmf"]["digits"]
    return [Talk(text=f"You pressed {digit}. Goodbye.")]
''')
    said = verdict(capsys)
    assert said.startswith('Incorrect: a caller who pressed 9 heard "Press 1 for sales or 2 for support." / '
                           '"You pressed 9. Goodbye.": the menu was not repeated.')


def test_a_handler_that_raises_is_incorrect_and_the_cause_is_printed_under_the_verdict(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, MENU_CELL)
    run_cell(ws, tmp_path, '''
@ws.on_input
def on_input(event):
    digit = event["dtmf"]["digit"]
    return [Talk(text=digit)]
''')
    said = verdict(capsys)
    assert said.startswith("Incorrect: ")
    assert said.index("Incorrect") < said.index("- your on_input handler raised KeyError: 'digit'")
    assert 'line 4: digit = event["dtmf"]["digit"]' in said


def test_a_check_without_a_running_workshop_says_so_and_never_raises(capsys):
    wh.stop()
    assert verdict(capsys).startswith("Not attempted: the workshop is not running: run the cell with wh.start()")


def test_hints_are_graded_and_the_solution_is_shown_not_run(ws, capsys):
    repeat_menu.hint()
    repeat_menu.hint(2)
    repeat_menu.hint(3)
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith("Hint 1 of 2: ") and said[1].startswith("Hint 2 of 2: ")
    assert said[2] == "This exercise has hints 1 to 2."
    before = dict(ws.server.handlers)
    repeat_menu.solution()
    assert "def on_input(event):" in capsys.readouterr().out
    assert ws.server.handlers == before  # shown, not run


def test_the_solved_notebook_has_the_solution_and_expects_correct():
    notebook = json.loads(Path("notebooks/01_first_call.ipynb").read_text())
    assert solve(notebook) == 1
    cells = {c["metadata"]["exercise"]["role"]: c for c in notebook["cells"] if "exercise" in c.get("metadata", {})}
    assert cells["starter"]["source"] == (SOLUTIONS / "repeat_menu.py").read_text().strip()
    assert cells["check"]["outputs"][0]["text"] == f"Correct: {repeat_menu.correct}\n"


class LiveWorkshop:
    """What the check sees of a live-mode workshop: handlers, and no sandbox to call from."""

    sandbox = None

    def __init__(self):
        self.server = type("Server", (), {"handlers": {}})()

    def on_input(self, function):
        self.server.handlers["input"] = function
        return function

    def webhook_url(self, kind):
        return f"https://example.ngrok.app/webhooks/{kind}"


@pytest.mark.parametrize("code, outcome", [
    ((SOLUTIONS / "repeat_menu.py").read_text(), "Correct"),
    (repeat_menu.starter.replace("# Your code here", "# not yet"), "Not attempted"),
    ("@ws.on_input\ndef on_input(event):\n    return [Talk(text='Bye')]\n", "Incorrect"),
])
def test_in_live_mode_the_check_runs_on_input_with_made_up_keys_and_says_so(tmp_path, code, outcome):
    live = LiveWorkshop()
    run_cell(live, tmp_path, code)
    result = repeat_menu._grade(live, repeat_menu)
    assert result.outcome == outcome
    if outcome != "Not attempted":
        assert result.message.startswith("(live mode: the check ran your on_input with made-up key presses")
