"""The widgets without a browser: their forms come from the SDK models, their buttons do
what their plain-Python equivalents do, and they show what happened. (The same flows in
a real JupyterLab page are in test_browser.py.)"""

from __future__ import annotations

import base64

import ipywidgets as widgets
import pytest
from conftest import poll_until, wait_until
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from workshop_helpers.ncco import ACTION_MODELS, NccoError
from workshop_helpers.widgets import Dialer, EventTable, NccoComposer, PhoneWidget
from workshop_helpers.widgets.model_form import ModelForm


@pytest.fixture(scope="module", autouse=True)
def shell_without_history():
    """ipywidgets' `Output.append_display_data` makes an IPython shell in the test process.
    Its history stays in memory: no history thread outlives the tests, no ~/.ipython."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    InteractiveShell.instance(config=config)


def field(form: ModelForm, name: str):
    return next(f for f in form.fields if f.name == name)


# -- forms generated from the models --------------------------------------------------------
@pytest.mark.parametrize("action", list(ACTION_MODELS))
def test_every_action_gets_a_form_with_a_field_for_each_model_field(action):
    model = ACTION_MODELS[action]
    form = ModelForm(model)
    expected = {info.serialization_alias or name for name, info in model.model_fields.items()} - {"action"}
    assert {f.name for f in form.fields} == expected


def test_field_widgets_follow_the_model_types_enums_ranges_and_defaults():
    record = ModelForm(ACTION_MODELS["record"])
    assert isinstance(field(record, "format").widget, widgets.Dropdown)
    assert list(field(record, "format").widget.options) == ["(default)", "mp3", "wav", "ogg"]
    assert field(record, "channels").widget.placeholder == "a whole number 1 to 32"
    assert list(field(record, "beepStart").widget.options) == ["(default)", "true", "false"]
    wait = ModelForm(ACTION_MODELS["wait"])
    assert field(wait, "timeout").widget.placeholder == "a number; default 10.0"
    talk = ModelForm(ACTION_MODELS["talk"])
    assert field(talk, "text").required and field(talk, "text").widget.description == "text *"
    assert "1500" in field(talk, "text").widget.placeholder
    assert "interrupt" in field(talk, "bargeIn").widget.tooltip  # from the model's docstring
    connect = ModelForm(ACTION_MODELS["connect"])
    assert list(field(connect, "endpoint").nested.picker.options) == ["phone", "app", "websocket", "sip", "vbc"]


# -- the composer -----------------------------------------------------------------------------
def test_compose_talk_and_input_gives_the_ncco_its_json_and_its_python():
    composer = NccoComposer()
    composer.add("talk", text="Press 1 for sales")
    composer.add("input", type=["dtmf"], dtmf={"maxDigits": 1})
    assert composer.problems == []
    assert composer.ncco == [
        {"action": "talk", "text": "Press 1 for sales"},
        {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1}},
    ]
    assert '"maxDigits": 1' in composer.preview.value and "Valid NCCO" in composer.status.value
    composer.copy_button.click()
    assert composer.python.value.endswith(
        "ncco = [\n    Talk(text='Press 1 for sales'),\n    Input(type=['dtmf'], dtmf=Dtmf(maxDigits=1)),\n]")


def test_the_add_button_and_the_action_buttons_edit_the_list():
    composer = NccoComposer()
    composer.kind.value = "wait"
    composer.add_button.click()
    composer.kind.value = "talk"
    composer.add_button.click()
    assert [a.name for a in composer.actions] == ["wait", "talk"]
    composer.actions[1].up.click()
    assert [a.name for a in composer.actions] == ["talk", "wait"]
    composer.actions[0].remove.click()
    assert [a.name for a in composer.actions] == ["wait"]
    assert composer.ncco == [{"action": "wait", "timeout": 10.0}]  # the model's default, sent


def test_an_invalid_value_is_shown_next_to_its_field_and_the_ncco_refuses():
    composer = NccoComposer([{"action": "input", "type": ["dtmf"]}])
    max_digits = field(field(composer.actions[0].form, "dtmf").nested.forms["Dtmf"], "maxDigits")
    max_digits.widget.value = "50"  # as typing does
    assert composer.problems == [("ncco[0].dtmf.maxDigits", "Input should be less than or equal to 20")]
    assert "less than or equal to 20" in max_digits.error.value and max_digits.error.layout.display is None
    assert "1 to fix" in composer.status.value
    with pytest.raises(NccoError, match="maxDigits"):
        _ = composer.ncco
    max_digits.widget.value = "abc"
    assert composer.problems == [("ncco[0].dtmf.maxDigits", "'abc' is not a whole number")]
    max_digits.widget.value = "5"
    assert composer.problems == [] and max_digits.error.layout.display == "none"


def test_a_missing_required_field_and_a_cross_field_rule_are_shown():
    composer = NccoComposer()
    composer.add("talk")
    assert composer.problems == [("ncco[0].text", "Field required")]
    composer.add("connect", endpoint=[{"type": "phone", "number": "447700900000"}])
    assert ("ncco[1]", "Either `from` or `randomFromNumber` must be set to dial a phone.") in composer.problems
    assert "randomFromNumber" in composer.actions[1].error.value  # no single field: on the action


def test_an_unknown_action_is_a_clear_error():
    with pytest.raises(ValueError, match="the actions are: record, conversation"):
        NccoComposer().add("play")


# -- dialer, phone and table in a running workshop ------------------------------------------
def test_compose_call_answer_press_and_see_the_input_in_the_table(ws):
    composer = NccoComposer([
        {"action": "talk", "text": "Press a key"},
        {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1}, "eventUrl": [ws.webhook_url("input")]},
    ])
    phone = PhoneWidget(ws, "447700900555")
    dialer = Dialer(ws, composer)
    table = EventTable(ws)
    dialer.to.value = phone.number
    dialer.call_button.click()
    uuid = dialer.calls.value
    assert uuid and "create_call" in dialer.last_python
    wait_until(lambda: phone.call_state() == ("ringing", uuid))
    phone.refresh()
    assert not phone.answer_button.disabled
    phone.answer_button.click()
    assert phone.call_state() == ("answered", uuid)
    # Until the input listens (a moment after its action starts), a key would be lost.
    wait_until(lambda: ws.phone(phone.number).describe()["listening_for_keys"])
    [key for key in phone.widget.children[3].children if key.description == "7"][0].click()
    # The click presses the key in a thread of its own: watch for it to land without
    # moving the virtual clock (wait_until would, past the input's time-out).
    poll_until(lambda: "key 7 sent" in phone.keys.value)
    ws.wait_for(uuid)
    poll_until(lambda: "input" in list(table.rows["kind"]))  # the table's own thread
    assert table.filter(call=uuid, kind="input")["digits"].tolist() == ["7"]
    assert "Press a key" in phone.heard.value and "dtmf: 7" in phone.heard.value
    phone.load_audio()
    assert phone.audio.value[:4] == b"RIFF"


def test_dialer_controls_call_the_sdk_and_show_the_python(ws):
    phone = ws.phone("447700900556").script(script=[{"wait": 30}])
    dialer = Dialer(ws, NccoComposer([{"action": "wait", "timeout": 30}]))
    uuid = dialer.place(phone.number)
    wait_until(lambda: ws.sandbox.call(uuid)["status"] == "answered")
    dialer.text.value = "hello there"
    dialer.control("talk", uuid)
    assert dialer.last_python == f"ws.client.voice.play_tts_into_call('{uuid}', TtsStreamOptions(text='hello there'))"
    wait_until(lambda: "hello there" in [e["text"] for e in phone.heard(uuid)])
    dialer.control("stream", uuid)  # the audio URL it starts with: your server's hold music
    wait_until(lambda: ws.hold_music_url in [e["text"] for e in phone.heard(uuid) if e["kind"] == "stream"])
    dialer.digits.value = "12"
    dialer.control("dtmf", uuid)
    wait_until(lambda: [e["text"] for e in phone.heard(uuid) if e["kind"] == "dtmf"] == ["1", "2"])
    dialer.control("hangup", uuid)
    ws.wait_for(uuid)


def test_the_dialer_calls_the_phone_it_is_given(ws):
    phone = PhoneWidget(ws, "447700900562")
    assert Dialer(ws).to.value == "447700900000"  # no phone: a magic number that answers
    dialer = Dialer(ws, phone=phone)
    assert dialer.to.value == phone.number
    dialer.call_button.click()
    wait_until(lambda: phone.call_state() == ("ringing", dialer.calls.value))
    phone.reject_button.click()


def test_a_key_pressed_while_no_input_listens_says_it_was_not_heard(ws):
    phone = PhoneWidget(ws, "447700900563")
    dialer = Dialer(ws, NccoComposer([
        {"action": "talk", "text": "Wait for the question"},  # no bargeIn: a key meanwhile is lost
        {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1}, "eventUrl": [ws.webhook_url("input")]},
    ]), phone=phone)
    uuid = dialer.place(phone.number)
    wait_until(lambda: phone.call_state() == ("ringing", uuid))
    phone.answer_button.click()
    wait_until(lambda: any(e["kind"] == "talk" for e in phone.transcript()))
    note = "key 5 sent, but nothing on this call was listening for keys (no input action running)"
    assert phone.press("5") == note and note in phone.keys.value
    wait_until(lambda: phone.handle.describe()["listening_for_keys"])
    assert phone.press("7") == "key 7 sent: the call's input action heard it"
    ws.wait_for(uuid)
    assert ws.inputs.loc[ws.inputs["uuid"] == uuid, "digits"].tolist() == ["7"]  # 5 was lost indeed


@pytest.mark.parametrize("action, hears_keys", [
    ({"action": "input", "type": ["speech"]}, False),  # it listens, but only for words
    ({"action": "input", "type": ["dtmf", "speech"]}, True),
    ({"action": "input", "type": ["dtmf"], "mode": "asynchronous"}, True),  # every key, until the call ends
    ({"action": "wait", "timeout": 5}, False),
])
def test_the_phone_knows_whether_the_call_listens_for_keys(ws, action, hears_keys):
    phone = ws.phone("447700900564")
    uuid = Dialer(ws, NccoComposer([action, {"action": "wait", "timeout": 5}]), phone=phone).place(phone.number)
    wait_until(lambda: [e["text"] for e in phone.transcript() if e["kind"] == "action"][:1] == [action["action"]])
    assert phone.describe()["listening_for_keys"] is hears_keys
    ws.client.voice.hangup(uuid)
    ws.wait_for(uuid)


def test_dialer_errors_are_shown_not_raised(ws):
    dialer = Dialer(ws)
    dialer._try(lambda: dialer.control("mute", None))
    assert "choose a call first" in dialer.result.value
    dialer._try(lambda: dialer.control("mute", "no-such-call"))
    assert "does not exist" in dialer.result.value


def test_the_event_table_updates_by_itself_and_colours_by_status(ws):
    ws.clear_events()
    table = EventTable(ws, every=0.05)
    uuid = ws.phone("447700900557").call(ws.number)
    ws.wait_for(uuid)
    poll_until(lambda: "completed" in table.table.value)  # the table's own thread
    assert "background:#d7f5d7" in table.table.value  # answered rows are green
    assert table.filter(status="completed")["uuid"].tolist() == [uuid]
    with pytest.raises(ValueError, match="not one of the"):
        table.filter(kind="nonsense")
    table.stop()


def test_the_timeline_button_shows_a_png_the_page_can_load(ws):
    uuid = ws.phone("447700900560").call(ws.number)
    ws.wait_for(uuid)
    table = EventTable(ws)
    table.filter(call=uuid)
    table.timeline_button.click()
    (output,) = table.picture.outputs
    png = output["data"]["image/png"]
    # Base64 text, as in a notebook file: raw bytes reached the page as "[object Object]".
    assert isinstance(png, str) and base64.b64decode(png).startswith(b"\x89PNG\r\n\x1a\n")
    assert output["output_type"] == "display_data" and "Conversation CON-" in output["data"]["text/plain"]
    table.stop()


def test_webhooks_without_a_status_show_an_empty_status_not_nan(ws):
    uuid = ws.phone("447700900561").call(ws.number)  # no answer handler: the default NCCO
    ws.wait_for(uuid)
    events = ws.events[ws.events["uuid"] == uuid]
    assert list(zip(events["kind"], events["status"])) == [
        ("answer", ""), ("event", "started"), ("event", "ringing"), ("event", "answered"), ("event", "completed")]
    assert ws.calls.set_index("uuid").loc[uuid, "status"] == "completed"  # legs are still found
    table = EventTable(ws)
    table.filter(call=uuid)
    answer_row = table.table.value.split("<tr class='event-row'")[1]
    assert "data-kind='answer'" in answer_row and "background:#fde9d9" in answer_row  # its kind's colour
    assert list(table.status.options) == ["(all)", "answered", "completed", "ringing", "started"]
    table.stop()


def test_the_composer_can_be_the_answer_ncco(ws):
    composer = NccoComposer([{"action": "talk", "text": "Composed greeting"}], workshop=ws)
    composer.answer_button.click()
    assert "now get this NCCO" in composer.status.value
    phone = ws.phone("447700900558")
    uuid = phone.call(ws.number)
    ws.wait_for(uuid)
    assert [e["text"] for e in phone.heard(uuid) if e["kind"] == "talk"] == ["Composed greeting"]
    assert NccoComposer().answer_button.disabled  # without a workshop there is nothing to answer
