"""What went wrong on a call is printed under the cell that waits on it (`ws.wait_for`):
each handler that raised (with the learner's own line), each NCCO refused (the field and
why), each handler that returned no NCCO, each webhook that failed, each platform error."""

from __future__ import annotations

from vonage_voice import Dtmf, Input, Talk

CALLER = "447700900123"


def press_one(ws) -> str:
    """A caller who presses 1 when asked; the uuid of the call."""
    return ws.phone(CALLER).script(script=[{"await_input": True}, {"press": "1"}]).call(ws.number)


def menu(ws, input_kind: str = "input"):
    @ws.answer
    def answer(call):
        return [Talk(text="Press a key"),
                Input(type=["dtmf"], dtmf=Dtmf(maxDigits=1), eventUrl=[ws.webhook_url(input_kind)])]


def test_a_handler_that_raises_is_named_with_the_exception_and_the_learners_own_line(ws, capsys):
    menu(ws)

    @ws.on_input
    def on_input(event):
        digit = event["dtmf"]["digit"]  # the learner's mistake: the key is "digits"
        return [Talk(text=f"You pressed {digit}")]

    uuid = press_one(ws)
    ws.wait_for(uuid)
    said = capsys.readouterr().out
    assert said.startswith(f"Problems on call {uuid}:\n")
    assert "- your on_input handler raised KeyError: 'digit'\n" \
           "    in on_input, line " in said
    assert ': digit = event["dtmf"]["digit"]  # the learner' in said
    assert "werkzeug" not in said and "flask" not in said  # no framework frames
    assert ws.call_events(uuid)["handler_error"].dropna().str.startswith("your on_input handler raised").any()


def test_an_ncco_with_a_misspelt_field_says_which_field_and_why(ws, capsys):
    @ws.answer
    def answer(call):
        return [{"action": "talk", "txt": "Hello"}]

    uuid = ws.phone(CALLER).call(ws.number)
    ws.wait_for(uuid)
    said = capsys.readouterr().out
    assert "- your answer handler returned an NCCO the platform would refuse: Invalid NCCO. " \
           "ncco[0].text: Field required" in said
    # Then what the platform did about it, after the cause, in one plain line.
    assert said.index("would refuse") < said.index("- so the platform could not go on with the call, and ended it")
    assert "Syntax error" not in said and "fallback" not in said


def test_an_answer_handler_that_forgets_return_is_told_plainly(ws, capsys):
    @ws.answer
    def answer(call):
        [Talk(text="Hello")]  # no return

    ws.wait_for(ws.phone(CALLER).call(ws.number))
    assert "- your answer handler returned None: return a list of actions (did you forget " \
           "`return`?)" in capsys.readouterr().out


def test_an_answer_handler_that_returns_text_is_told_to_return_a_list(ws, capsys):
    @ws.answer
    def answer(call):
        return "Hello"

    ws.wait_for(ws.phone(CALLER).call(ws.number))
    assert "- your answer handler returned a str: return a list of actions" in capsys.readouterr().out


def test_an_input_handler_that_returns_none_is_told_the_call_went_on(ws, capsys):
    menu(ws)

    @ws.on_input
    def on_input(event):
        Talk(text="Thanks")

    ws.wait_for(press_one(ws))
    assert "- your on_input handler returned None, so the call went on with the rest of its NCCO" \
           in capsys.readouterr().out


def test_a_webhook_to_a_route_that_does_not_exist_shows_its_404(ws, capsys):
    menu(ws, input_kind="inputs")  # a typo in the route's name
    uuid = press_one(ws)
    ws.wait_for(uuid)
    said = capsys.readouterr().out
    assert f"- the platform's input webhook to {ws.webhook_url('inputs')} got HTTP 404" in said


def test_a_call_that_went_well_prints_nothing(ws, capsys):
    menu(ws)

    @ws.on_input
    def on_input(event):
        return [Talk(text=f"You pressed {event['dtmf']['digits']}")]

    ws.wait_for(press_one(ws))
    assert capsys.readouterr().out == ""


def test_each_problem_is_printed_once_however_often_the_call_is_waited_on(ws, capsys):
    @ws.answer
    def answer(call):
        return [{"action": "talk", "txt": "Hello"}]

    uuid = ws.phone(CALLER).call(ws.number)
    ws.wait_for(uuid)
    first = capsys.readouterr().out
    ws.wait_for(uuid)
    assert "would refuse" in first and capsys.readouterr().out == ""
    assert any("would refuse" in problem for problem in ws.tell_problems(uuid))  # still there to read


def test_nothing_is_printed_from_the_background_thread(ws, capsys):
    @ws.answer
    def answer(call):
        raise RuntimeError("boom")

    uuid = ws.phone(CALLER).call(ws.number)
    ws.sandbox.wait_for_call(uuid)  # not the workshop's wait: nobody prints
    assert capsys.readouterr().out == ""
    ws.wait_for(uuid)
    assert "your answer handler raised RuntimeError: boom" in capsys.readouterr().out


def test_an_input_without_an_event_url_is_told_its_keys_went_to_the_event_webhook(ws, capsys):
    @ws.answer
    def answer(call):
        return [Talk(text="Press a key"), Input(type=["dtmf"], dtmf=Dtmf(maxDigits=1))]

    ws.wait_for(press_one(ws))
    assert "- an input's result (the keys or speech) went to your event webhook, not to on_input: " \
           "give the Input an eventUrl=[ws.webhook_url(\"input\")]" in capsys.readouterr().out


def test_an_answer_webhook_nobody_answers_is_named_with_its_address(ws, capsys):
    ws.sandbox.application.set_webhooks(answer_url="http://localhost:1/answer")  # nothing listens
    ws.sandbox.application.set_webhooks(fallback_answer_url=None)
    uuid = ws.phone(CALLER).call(ws.number)
    ws.wait_for(uuid)
    said = capsys.readouterr().out
    assert "- the platform's answer webhook to http://localhost:1/answer failed: " in said


def test_a_stream_the_platform_cannot_fetch_is_said_under_the_cell_with_what_works_offline(ws, capsys):
    from vonage_voice import Stream
    missing = ws.hold_music_url.replace("hold.wav", "nothing-here.wav")

    @ws.answer
    def answer(call):
        return [Stream(streamUrl=[missing]), Talk(text="Goodbye")]

    uuid = ws.phone(CALLER).call(ws.number)
    ws.wait_for(uuid)
    out = capsys.readouterr().out
    assert f"- the platform could not play {missing}: HTTP 404 from {missing}: a stream's URL must be" in out
    assert "use ws.hold_music_url" in out
    assert [e["text"] for e in ws.phone(CALLER).heard() if e["kind"] == "talk"] == ["Goodbye"]  # the call went on
