"""Exercises are graded by what the calls did: the solution is Correct, the mistakes
learners make are Incorrect with what the call did, the untouched starter is Not
attempted, and a check never raises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vonage_voice import (
    Connect,
    Conversation,
    CreateCallRequest,
    Dtmf,
    Input,
    Phone,
    PhoneEndpoint,
    Record,
    Talk,
    ToPhone,
)

import workshop_helpers as wh
from workshop_helpers.exercises import SOLUTIONS
from workshop_helpers.exercises.audio_and_recording import voicemail
from workshop_helpers.exercises.conferences import moderated, proxy
from workshop_helpers.exercises.ivr import ivr
from workshop_helpers.exercises.make_a_call import send_code
from workshop_helpers.exercises.receive_a_call import say_number
from workshop_helpers.exercises.solved import solve
from workshop_helpers.exercises.user_input import repeat_menu, two_levels

MENU_CELL = '''
@ws.answer
def answer(call):
    return [
        Talk(text="Press 1 for sales or 2 for support."),
        Input(type=["dtmf"], dtmf=Dtmf(maxDigits=1), eventUrl=[ws.webhook_url("input")]),
    ]
'''


def run_cell(ws, tmp_path, source: str, names: dict | None = None) -> dict:
    """Run code as a notebook cell would (from a file, so its source can be read back);
    return its variables, as the notebook's would be (`names`: an earlier cell's)."""
    path = tmp_path / f"cell{len(list(tmp_path.glob('cell*.py')))}.py"
    path.write_text(source)
    names = names if names is not None else {"ws": ws, "Talk": Talk, "Input": Input, "Dtmf": Dtmf, "Conversation": Conversation, "Record": Record,
             "CreateCallRequest": CreateCallRequest, "Phone": Phone, "ToPhone": ToPhone, "Connect": Connect,
             "PhoneEndpoint": PhoneEndpoint}
    exec(compile(source, str(path), "exec"), names)
    return names


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
    assert said.startswith("Incorrect: your on_input handler raised KeyError: 'digit' (more below)\n"
                           "Problems on the calls the check placed:\n")
    assert said.count("- your on_input handler raised KeyError: 'digit'") == 1  # once for three calls
    assert 'line 4: digit = event["dtmf"]["digit"]' in said


def test_an_input_without_an_event_url_leads_the_verdict(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, MENU_CELL)
    run_cell(ws, tmp_path, (SOLUTIONS / "repeat_menu.py").read_text().replace(
        ', eventUrl=[ws.webhook_url("input")]', ""))
    assert verdict(capsys).startswith("Incorrect: an input's result (the keys or speech) went to your "
                                      "event webhook, not to on_input")


def test_keys_compared_as_numbers_are_incorrect_and_told_that_keys_arrive_as_text(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, MENU_CELL)
    run_cell(ws, tmp_path, (SOLUTIONS / "repeat_menu.py").read_text().replace('("1", "2")', "(1, 2)"))
    said = verdict(capsys)
    assert said.startswith("Incorrect: a caller who pressed 1 heard")
    assert 'keys arrive as text: compare with "1", not 1' in said


def test_a_skipped_menu_cell_is_named_before_any_call_is_placed(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, "@ws.answer\ndef answer(call):\n    return [Talk(text='Which team?')]\n")
    run_cell(ws, tmp_path, (SOLUTIONS / "repeat_menu.py").read_text())
    assert verdict(capsys).startswith('Incorrect: your answer handler says "Which team?", not the menu: '
                                      'run the cell with the menu\'s answer handler')
    assert ws.calls.empty


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


def test_solving_puts_each_solution_in_its_starter_cell_and_expects_correct():
    from workshop_helpers.exercises.solved import exercise
    solved = {}
    for path in sorted(Path("notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        count = solve(notebook)
        marked = [c for c in notebook["cells"] if "exercise" in c.get("metadata", {})]
        assert len(marked) == 2 * count, path  # a starter and a check for each
        for cell in marked:
            found = exercise(cell["metadata"]["exercise"]["name"])
            if cell["metadata"]["exercise"]["role"] == "starter":
                assert cell["source"] == (SOLUTIONS / f"{found.name}.py").read_text().strip()
                solved[path.name] = solved.get(path.name, []) + [found.name]
            else:
                assert cell["outputs"][0]["text"] == f"Correct: {found.correct}\n"
    assert solved == {"02_make_a_call.ipynb": ["send_code"], "03_receive_a_call.ipynb": ["say_number"],
                      "04_user_input.ipynb": ["repeat_menu", "two_levels"],
                      "06_audio_and_recording.ipynb": ["voicemail"],
                      "07_conferences_and_proxy.ipynb": ["moderated", "proxy"],
                      "09_ivr.ipynb": ["ivr"]}
    # Every solution file belongs to an exercise in a notebook.
    assert sorted(p.stem for p in SOLUTIONS.glob("*.py")) == sorted(sum(solved.values(), []))


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
    result, _ = repeat_menu.verdict({}, ws=live)
    assert result.outcome == outcome
    if outcome != "Not attempted":
        assert result.message.startswith("(live mode: the check ran your on_input with made-up key presses")


# -- notebook 02: send_code ---------------------------------------------------------------------
def test_send_code_solution_is_correct(ws, tmp_path, capsys):
    names = run_cell(ws, tmp_path, (SOLUTIONS / "send_code.py").read_text())
    send_code.check(names)
    assert capsys.readouterr().out == f"Correct: {send_code.correct}\n"


def test_send_code_starter_is_not_attempted(ws, tmp_path, capsys):
    send_code.check(run_cell(ws, tmp_path, send_code.starter))
    assert capsys.readouterr().out.startswith("Not attempted: write send_code in the cell above")


@pytest.mark.parametrize("body, said", [
    ('''    ws.client.voice.create_call(CreateCallRequest(to=[ToPhone(number=number)], from_=Phone(number=ws.number),
        ncco=[Talk(text="Your code is 1 2 3 4")]))''',
     "Incorrect: send_code returned None: return the new call's uuid"),
    ('''    return ws.client.voice.create_call(CreateCallRequest(to=[ToPhone(number="447700900000")],
        from_=Phone(number=ws.number), ncco=[Talk(text="Your code is 1 2 3 4")])).uuid''',
     "Incorrect: the call went to 447700900000, not to the number send_code was given (447700900905)"),
    ('''    return ws.client.voice.create_call(CreateCallRequest(to=[ToPhone(number=number)],
        from_=Phone(number=ws.number), ncco=[Talk(text="Your code is ready")])).uuid''',
     'Incorrect: the phone answered and heard "Your code is ready": it should hear "Your code is 1 2 3 4"'),
])
def test_send_code_mistakes_are_incorrect_with_what_the_call_did(ws, tmp_path, capsys, body, said):
    send_code.check(run_cell(ws, tmp_path, f"def send_code(number):\n{body}\n"))
    assert capsys.readouterr().out.startswith(said)


# -- notebook 03: say_number --------------------------------------------------------------------
def test_say_number_solution_is_correct(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, (SOLUTIONS / "say_number.py").read_text())
    say_number.check({})
    assert capsys.readouterr().out == f"Correct: {say_number.correct}\n"


def test_say_number_starter_is_not_attempted(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, say_number.starter)
    say_number.check({})
    assert capsys.readouterr().out.startswith("Not attempted: change the answer handler")


@pytest.mark.parametrize("text, said", [
    ('"Hello 447700900911"', 'Incorrect: a caller from 447700900922 heard "Hello 447700900911": the greeting should have their number in it'),
    ('f"Hello {call[\'to\']}"', 'Incorrect: a caller from 447700900911 heard "Hello 447700900100"'),
])
def test_say_number_mistakes_are_incorrect_with_what_the_caller_heard(ws, tmp_path, capsys, text, said):
    run_cell(ws, tmp_path, f"@ws.answer\ndef answer(call):\n    return [Talk(text={text})]\n")
    say_number.check({})
    assert capsys.readouterr().out.startswith(said)


# -- notebook 04: two_levels ---------------------------------------------------------------------
def test_two_levels_solution_is_correct(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, MENU_CELL)
    run_cell(ws, tmp_path, (SOLUTIONS / "two_levels.py").read_text())
    two_levels.check({})
    assert capsys.readouterr().out == f"Correct: {two_levels.correct}\n"


def test_two_levels_starter_is_not_attempted(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, MENU_CELL)
    run_cell(ws, tmp_path, two_levels.starter)
    two_levels.check({})
    assert capsys.readouterr().out.startswith("Not attempted: write the second menu in on_input")


@pytest.mark.parametrize("handler, said", [
    # No second menu at all: 2 goes straight to "support".
    ('''@ws.on_input
def on_input(event):
    team = {"1": "sales", "2": "support"}.get(event["dtmf"]["digits"], "nobody")
    return [Talk(text=f"Connecting you to {team}.")]''',
     'Incorrect: a caller who pressed 2 then 1 heard "Press 1 for sales or 2 for support." / '
     '"Connecting you to support.": after pressing 2 they should hear "Press 1 for billing'),
    # The second menu, but no memory of which menu the call is in: 1 is sales again.
    ('''@ws.on_input
def on_input(event):
    digit = event["dtmf"]["digits"]
    if digit == "2":
        return [Talk(text="Press 1 for billing or 2 for technical help."),
                Input(type=["dtmf"], dtmf=Dtmf(maxDigits=1), eventUrl=[ws.webhook_url("input")])]
    return [Talk(text="Connecting you to sales.")]''',
     "Incorrect: a caller who pressed 2 then 1 heard"),
    # The second menu with no Input: the caller is never asked again.
    ((SOLUTIONS / "two_levels.py").read_text().replace(
        '            Input(type=["dtmf"], dtmf=Dtmf(maxDigits=1), eventUrl=[ws.webhook_url("input")]),\n', ""),
     "Incorrect: a caller who pressed 2 then 1 heard the second menu but was never asked for a key"),
    # The menu kept by the caller's number: their next call starts in the second menu.
    ((SOLUTIONS / "two_levels.py").read_text().replace('event["uuid"]', 'event["from"]'),
     "Incorrect: a second call from 447700900942 that pressed 1 heard"),
])
def test_two_levels_mistakes_are_incorrect_with_the_path_that_went_wrong(ws, tmp_path, capsys, handler, said):
    run_cell(ws, tmp_path, MENU_CELL)
    run_cell(ws, tmp_path, handler)
    two_levels.check({})
    out = capsys.readouterr().out
    assert out.startswith(said), out


def test_each_notebook_starter_cell_is_the_starter_its_check_knows():
    """The starter is written in the notebook and in the exercise (for Not attempted):
    they must stay the same code."""
    import ast

    from workshop_helpers.exercises.solved import exercise
    for path in sorted(Path("notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            marker = cell.get("metadata", {}).get("exercise")
            if marker and marker["role"] == "starter":
                found = exercise(marker["name"])
                assert ast.dump(ast.parse("".join(cell["source"]))) == ast.dump(ast.parse(found.starter)), path


# -- notebook 07: moderated ---------------------------------------------------------------------
def test_moderated_solution_is_correct(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, (SOLUTIONS / "moderated.py").read_text())
    moderated.check({})
    assert capsys.readouterr().out == f"Correct: {moderated.correct}\n"


def test_moderated_starter_is_not_attempted(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, moderated.starter)
    moderated.check({})
    assert capsys.readouterr().out.startswith("Not attempted: change the answer handler")


@pytest.mark.parametrize("change, said", [
    (("startOnEnter=False, musicOnHoldUrl=[ws.hold_music_url]", ""),
     "Incorrect: the attendee, waiting 8 s before the host came, heard no hold music"),
    (("endOnExit=True", ""), "Incorrect: when the host hung up, the attendee stayed in the conference"),
    (("if call[\"from\"] == HOST:", "if call[\"to\"] == HOST:"),
     "Incorrect: the host heard hold music too, so the stand-up never started"),
    (("musicOnHoldUrl=[ws.hold_music_url]", "musicOnHoldUrl=ws.hold_music_url"),
     "Incorrect: your answer handler raised ValidationError"),
])
def test_moderated_mistakes_are_incorrect_with_what_the_attendee_heard(ws, tmp_path, capsys, change, said):
    run_cell(ws, tmp_path, (SOLUTIONS / "moderated.py").read_text().replace(*change))
    moderated.check({})
    out = capsys.readouterr().out
    assert out.startswith(said), out


# -- notebook 07: proxy --------------------------------------------------------------------------
PROXY = (SOLUTIONS / "proxy.py").read_text()
PROXY_BY_CONVERSATION = PROXY.replace('''Connect(endpoint=[PhoneEndpoint(number=other)], from_=ws.number),''', '''Conversation(name=room),''').replace(
    '''    return [
        Talk(text="Putting you through."),''', '''    room = f"proxy-{call['uuid']}"
    ws.client.voice.create_call(CreateCallRequest(
        to=[ToPhone(number=other)], from_=Phone(number=ws.number), ncco=[Conversation(name=room)]))
    return [
        Talk(text="Putting you through."),''')


@pytest.mark.parametrize("code", [PROXY, PROXY_BY_CONVERSATION], ids=["connect", "named conversation"])
def test_proxy_solutions_by_connect_or_by_a_named_conversation_are_correct(ws, tmp_path, capsys, code):
    assert code.count("Conversation(name=room)") in (0, 2)
    run_cell(ws, tmp_path, code)
    proxy.check({})
    assert capsys.readouterr().out == f"Correct: {proxy.correct}\n"


def test_proxy_starter_is_not_attempted(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, proxy.starter)
    proxy.check({})
    assert capsys.readouterr().out.startswith("Not attempted: change the answer handler")


@pytest.mark.parametrize("code, change, said", [
    (PROXY, ("from_=ws.number", "from_=call['from']"),
     "Incorrect: the customer's phone showed 447700900511 as the caller: a proxy shows only your number"),
    (PROXY, ("CUSTOMER: COURIER", "CUSTOMER: None"),
     "Incorrect: when the customer called, nobody rang the courier (447700900511)"),
    (PROXY, ('OTHER.get(call["from"])', 'OTHER.get(call["from"], CUSTOMER)'),
     "Incorrect: a stranger's call (neither the courier nor the customer) was put through"),
    (PROXY_BY_CONVERSATION, ("ncco=[Conversation(name=room)]", "ncco=[Conversation(name='another-room')]"),
     "Incorrect: the courier never heard the customer: put both legs in the same conversation"),
])
def test_proxy_mistakes_are_incorrect_with_who_rang_and_who_heard_whom(ws, tmp_path, capsys, code, change, said):
    assert change[0] in code
    run_cell(ws, tmp_path, code.replace(*change))
    proxy.check({})
    out = capsys.readouterr().out
    assert out.startswith(said), out


def test_the_hold_music_is_served_by_the_webhook_server(ws):
    import io

    import requests
    import soundfile
    audio = requests.get(ws.hold_music_url, timeout=10)
    assert audio.headers["Content-Type"] == "audio/wav"
    assert soundfile.info(io.BytesIO(audio.content)).duration == 8.0


def test_a_beep_and_a_spoken_announcement_are_served_too_and_play_on_a_call(ws):
    import requests
    from vonage_voice import Stream
    beep, announcement = ws.sound_url("beep"), ws.sound_url("announcement")

    @ws.answer
    def answer(call):
        return [Stream(streamUrl=[beep]), Stream(streamUrl=[announcement])]

    phone = ws.phone("447700900613")
    ws.wait_for(phone.call(ws.number))
    played = [(e["text"], e["seconds"]) for e in phone.heard() if e["kind"] == "stream"]
    assert played[0] == (beep, 0.5) and played[1][0] == announcement and played[1][1] > 2
    assert not [e for e in phone.heard() if e["kind"] == "error"]
    missing = requests.get(ws.sound_url("hold").replace("hold", "jingle"), timeout=10)
    assert missing.status_code == 404 and "/audio/beep.wav" in missing.text
    with pytest.raises(ValueError, match="choose one of 'hold', 'beep', 'announcement'"):
        ws.sound_url("jingle")


# -- notebook 06: voicemail -----------------------------------------------------------------------
VOICEMAIL = (SOLUTIONS / "voicemail.py").read_text()


def test_voicemail_solution_is_correct(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, VOICEMAIL)
    voicemail.check({})
    assert capsys.readouterr().out == f"Correct: {voicemail.correct}\n"


@pytest.mark.parametrize("greeting", ["Leave a message.", "Hello."])
def test_voicemail_with_a_short_greeting_is_correct_too_the_caller_speaks_after_the_beep(ws, tmp_path, capsys, greeting):
    long = "Sorry, nobody can take your call. Please leave a message."
    assert long in VOICEMAIL
    run_cell(ws, tmp_path, VOICEMAIL.replace(long, greeting))
    voicemail.check({})
    assert capsys.readouterr().out == f"Correct: {voicemail.correct}\n"


def test_voicemail_starter_is_not_attempted(ws, tmp_path, capsys):
    run_cell(ws, tmp_path, voicemail.starter)
    voicemail.check({})
    assert capsys.readouterr().out.startswith("Not attempted: change the answer handler")


@pytest.mark.parametrize("code, said", [
    (VOICEMAIL.replace("beepStart=True, ", ""), "Incorrect: the caller heard no beep before recording"),
    (VOICEMAIL.replace("endOnSilence=3, ", ""), "Incorrect: the recording is 1.8 s long, shorter than the "
                                                "message: give the Record endOnSilence=3"),
    (VOICEMAIL.replace("endOnSilence=3, ", "endOnKey='#', "),
     "Incorrect: the caller heard 'Sorry, nobody can take your call. Please leave a message.' and "
     "nothing after their message: the recording went on until they hung up. End it with endOnSilence=3"),
    (VOICEMAIL.replace("        Talk(text=\"Thank you. Goodbye.\"),\n", ""),
     "Incorrect: the caller heard 'Sorry, nobody can take your call. Please leave a message.' and "
     "nothing after their message: after the Record, say goodbye with a Talk."),
    ("@ws.answer\ndef answer(call):\n    return [\n"
     "        Record(beepStart=True, endOnSilence=3, eventUrl=[ws.webhook_url('recording')]),\n"
     "        Talk(text='Sorry, nobody can take your call. Please leave a message.'),\n"
     "        Talk(text='Thank you. Goodbye.'),\n    ]\n",
     "Incorrect: "),
])
def test_voicemail_mistakes_are_incorrect_with_what_the_caller_heard(ws, tmp_path, capsys, code, said):
    run_cell(ws, tmp_path, code)
    voicemail.check({})
    out = capsys.readouterr().out
    assert out.startswith(said), out


# -- notebook 09: the IVR --------------------------------------------------------------------------
IVR = (SOLUTIONS / "ivr.py").read_text()


def ivr_pieces_cell() -> str:
    """Notebook 09's cell with menu(), voicemail() and office_open(), which the IVR uses."""
    cells = json.loads(Path("notebooks/09_ivr.ipynb").read_text())["cells"]
    return next("".join(c["source"]) for c in cells if "".join(c["source"]).startswith("from datetime"))


def test_ivr_solution_is_correct_on_every_path(ws, tmp_path, capsys):
    names = run_cell(ws, tmp_path, IVR, run_cell(ws, tmp_path, ivr_pieces_cell()))
    kept = names["office_open"]
    ivr.check({})
    assert capsys.readouterr().out == f"Correct: {ivr.correct}\n"
    assert names["office_open"] is kept  # the check's office hours are put back


def test_ivr_starter_is_not_attempted_until_either_handler_changes(ws, tmp_path, capsys):
    names = run_cell(ws, tmp_path, ivr.starter, run_cell(ws, tmp_path, ivr_pieces_cell()))
    ivr.check({})
    assert capsys.readouterr().out.startswith("Not attempted: change the handlers")
    run_cell(ws, tmp_path, ivr.starter.split("@ws.on_input")[0].replace('"Welcome to Acme."', '"Hello."'), names)
    ivr.check({})
    assert capsys.readouterr().out.startswith("Incorrect: ")


AGENT_BY_CONNECT = (IVR.split("        room = ")[0]
                    + "        return [Talk(text='Hold on.'), Connect(endpoint=[PhoneEndpoint(number=AGENT)], "
                      "from_=ws.number)]\n" + IVR.split("Conversation(name=room)]\n")[1])


@pytest.mark.parametrize("code, said", [
    (AGENT_BY_CONNECT, "Correct: "),
    (IVR.split("    if key:")[0] + "    return [Talk(text='Goodbye.')]\n",
     "Incorrect: 2 of 5 callers did not get where they were going:\n  ✓ presses 1\n  ✓ presses 2\n"
     "  ✗ presses 7, then 1: heard 'Welcome to Acme.' / "),
    (IVR.replace("if not office_open():", "if call['to'] == 'closed':"),  # never asks office_open()
     "Incorrect: 1 of 5 callers did not get where they were going:\n  ✓ presses 1\n  ✓ presses 2\n"
     "  ✓ presses 7, then 1\n  ✓ presses nothing, then 1\n  ✗ calls after hours: heard 'Welcome to Acme.'"),
    (IVR.replace("ncco=[Conversation(name=room)]", "ncco=[Conversation(name='agents')]"),
     "Incorrect: 3 of 5 callers did not get where they were going:\n  ✗ presses 1: heard 'Welcome to Acme.' / "
     "'Press 1 to speak to an agent, or 2 to leave a message.' / 'Connecting you to an agent.' and never the "
     "agent, whose phone rang: put the agent's call and the caller in a conversation of the same name."),
    (IVR.replace('return voicemail("Please leave a message after the beep.")', 'return [Talk(text="Bye.")]'),
     "Incorrect: 1 of 5 callers did not get where they were going:\n  ✓ presses 1\n  ✗ presses 2: heard "),
    (IVR.replace('if key == "1":', 'if key == 1:'),
     "Incorrect: 3 of 5 callers did not get where they were going:\n  ✗ presses 1: pressed 1 and heard "),
    (IVR.replace("if not office_open():", "if office_open:"),
     "Incorrect: 4 of 5 callers did not get where they were going:\n  ✗ presses 1: heard 'Acme is closed."),
    (IVR.replace('room = f"agent-{event[\'uuid\']}"', 'room = "support"'),
     "Incorrect: 2 of 5 callers did not get where they were going:\n  ✗ presses 1: heard another caller"),
    (IVR.replace('key = event["dtmf"]["digits"]', 'key = int(event["dtmf"]["digits"])'),
     "Incorrect: your on_input handler raised TypeError"),  # digits is None when no key came
])
def test_ivr_mistakes_are_reported_path_by_path(ws, tmp_path, capsys, code, said):
    run_cell(ws, tmp_path, code, run_cell(ws, tmp_path, ivr_pieces_cell()))
    ivr.check({})
    out = capsys.readouterr().out
    assert out.startswith(said), out
