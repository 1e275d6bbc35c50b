"""NCCO actions as the sandbox runs them (reference §2): what the webhooks receive."""

from __future__ import annotations

import io

import numpy as np
import soundfile
from conftest import APP_NUMBER, download, place
from flask import Response

PRESSER = "447700900006"  # answers and presses 1 when asked for input


def ask(receiver, **dtmf):
    return [
        {"action": "talk", "text": "Press a key"},
        {"action": "input", "type": ["dtmf"], "dtmf": dtmf, "eventUrl": [receiver.url("input")]},
    ]


def test_input_sends_the_pressed_digit_and_runs_the_returned_ncco(client, sandbox, receiver):
    receiver.respond("input", [{"action": "talk", "text": "You pressed one"}])
    uuid = place(client, receiver, PRESSER, ncco=ask(receiver, maxDigits=1))
    receiver.wait_for_status("completed", uuid=uuid)
    (result,) = receiver.payloads("input")
    assert result["dtmf"] == {"digits": "1", "timed_out": False}
    assert result["speech"] == {"error": "Speech was not enabled"}
    assert result["uuid"] == uuid and result["to"] == PRESSER and result["from"] == APP_NUMBER
    heard = [e["text"] for e in sandbox.phone(PRESSER).heard() if e["kind"] == "talk"]
    assert heard == ["Press a key", "You pressed one"]


def test_input_times_out_after_the_last_key(client, sandbox, receiver):
    phone = sandbox.phone("447700900400").script(script=[{"await_input": True}, {"press": "42"}])
    uuid = place(client, receiver, phone.number, ncco=ask(receiver, maxDigits=5, timeOut=2))
    receiver.wait_for_status("completed", uuid=uuid)
    assert receiver.payloads("input")[0]["dtmf"] == {"digits": "42", "timed_out": True}


def test_input_submits_on_hash_without_the_hash(client, sandbox, receiver):
    phone = sandbox.phone("447700900401").script(script=[{"await_input": True}, {"press": "12#"}])
    uuid = place(client, receiver, phone.number, ncco=ask(receiver, submitOnHash=True))
    receiver.wait_for_status("completed", uuid=uuid)
    assert receiver.payloads("input")[0]["dtmf"] == {"digits": "12", "timed_out": False}


def test_input_stops_at_max_digits_default_four(client, sandbox, receiver):
    phone = sandbox.phone("447700900402").script(script=[{"await_input": True}, {"press": "123456"}])
    uuid = place(client, receiver, phone.number, ncco=ask(receiver))
    receiver.wait_for_status("completed", uuid=uuid)
    assert receiver.payloads("input")[0]["dtmf"] == {"digits": "1234", "timed_out": False}


def test_keys_pressed_before_the_input_do_not_count(client, sandbox, receiver):
    phone = sandbox.phone("447700900403").script(script=[{"press": "9"}, {"await_input": True}, {"press": "1"}])
    uuid = place(client, receiver, phone.number, ncco=[
        {"action": "talk", "text": "a rather long welcome message for you"}, *ask(receiver, maxDigits=1)])
    receiver.wait_for_status("completed", uuid=uuid)
    assert receiver.payloads("input")[0]["dtmf"]["digits"] == "1"


def test_barge_in_key_stops_the_prompt_and_counts(client, sandbox, receiver):
    phone = sandbox.phone("447700900404").script(script=[{"wait": 1.5}, {"press": "7"}])
    long_text = " ".join(["word"] * 50)  # 20 s of speech
    uuid = place(client, receiver, phone.number, ncco=[
        {"action": "talk", "text": long_text, "bargeIn": True},
        {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1}, "eventUrl": [receiver.url("input")]},
    ])
    receiver.wait_for_status("completed", uuid=uuid)
    assert receiver.payloads("input")[0]["dtmf"]["digits"] == "7"
    assert int(receiver.payloads("event")[-1]["duration"]) < 10  # the 20 s prompt was cut short


def test_empty_input_answer_continues_the_ncco(client, sandbox, receiver):
    uuid = place(client, receiver, PRESSER, ncco=[*ask(receiver, maxDigits=1), {"action": "talk", "text": "Still here"}])
    receiver.wait_for_status("completed", uuid=uuid)
    assert "Still here" in [e["text"] for e in sandbox.phone(PRESSER).heard()]


def test_invalid_ncco_from_input_sends_an_error_and_hangs_up(client, sandbox, receiver):
    receiver.respond("input", {"status": "ok"})
    uuid = place(client, receiver, PRESSER, ncco=[*ask(receiver, maxDigits=1), {"action": "talk", "text": "Never heard"}])
    receiver.wait_for_status("completed", uuid=uuid)
    errors = [p for p in receiver.payloads("event") if "reason" in p]
    assert errors[0]["reason"] == "Syntax error in NCCO. Invalid value type or action."
    assert "Never heard" not in [e["text"] for e in sandbox.phone(PRESSER).heard()]


def test_speech_input_hears_what_the_phone_says(client, sandbox, receiver):
    phone = sandbox.phone("447700900405").script(script=[{"await_input": True}, {"say": "sales please"}])
    uuid = place(client, receiver, phone.number, ncco=[
        {"action": "input", "type": ["speech"], "eventUrl": [receiver.url("input")]}])
    receiver.wait_for_status("completed", uuid=uuid)
    speech = receiver.payloads("input")[0]["speech"]
    assert speech["results"][0]["text"] == "sales please"
    assert speech["timeout_reason"] == "end_on_silence_timeout"


def test_asynchronous_input_sends_each_key_as_it_is_pressed(client, sandbox, receiver):
    phone = sandbox.phone("447700900406").script(script=[{"wait": 1}, {"press": "58"}])
    uuid = place(client, receiver, phone.number, ncco=[
        {"action": "input", "type": ["dtmf"], "mode": "asynchronous", "eventUrl": [receiver.url("input")]},
        {"action": "wait", "timeout": 5}])
    receiver.wait_for_status("completed", uuid=uuid)
    assert [p["dtmf"]["digits"] for p in receiver.payloads("input")] == ["5", "8"]


def test_notify_sends_the_payload_and_its_answer_replaces_the_ncco(client, sandbox, receiver):
    receiver.respond("notify", [{"action": "talk", "text": "Replaced"}])
    uuid = place(client, receiver, "447700900000", ncco=[
        {"action": "talk", "text": "First"},
        {"action": "notify", "payload": {"foo": "bar"}, "eventUrl": [receiver.url("notify")]},
        {"action": "talk", "text": "Never heard"}])
    receiver.wait_for_status("completed", uuid=uuid)
    (note,) = receiver.payloads("notify")
    assert note["payload"] == {"foo": "bar"} and note["conversation_uuid"].startswith("CON-")
    heard = [e["text"] for e in sandbox.phone("447700900000").heard(uuid) if e["kind"] == "talk"]
    assert heard == ["First", "Replaced"]


def test_notify_with_get_encodes_the_payload_as_json(client, receiver):
    uuid = place(client, receiver, "447700900000", ncco=[
        {"action": "notify", "payload": {"n": 1}, "eventUrl": [receiver.url("notify")], "eventMethod": "GET"}])
    receiver.wait_for_status("completed", uuid=uuid)
    request = [r for r in receiver.requests if r["path"] == "notify"][0]
    assert request["method"] == "GET" and request["args"]["payload"] == '{"n":1}'


def test_wait_takes_its_timeout(client, receiver):
    uuid = place(client, receiver, "447700900000", ncco=[{"action": "wait", "timeout": 7}])
    receiver.wait_for_status("completed", uuid=uuid)
    assert receiver.payloads("event")[-1]["duration"] == "7"


def test_stream_plays_for_the_length_of_the_audio(client, sandbox, receiver):
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(16000 * 4, np.int16), 16000, format="WAV")
    receiver.respond("audio.wav", always=lambda _: Response(buffer.getvalue(), mimetype="audio/wav"))
    uuid = place(client, receiver, "447700900000", ncco=[{"action": "stream", "streamUrl": [receiver.url("audio.wav")]}])
    receiver.wait_for_status("completed", uuid=uuid)
    assert receiver.payloads("event")[-1]["duration"] == "4"
    assert [e["kind"] for e in sandbox.phone("447700900000").heard(uuid)].count("stream") == 1


def test_record_until_key_sends_a_downloadable_recording(client, sandbox, receiver):
    phone = sandbox.phone("447700900407").script(script=[{"wait": 2}, {"say": "leave a message"}, {"press": "#"}])
    uuid = place(client, receiver, phone.number, ncco=[
        {"action": "record", "endOnKey": "#", "beepStart": True, "format": "wav", "eventUrl": [receiver.url("recording")]},
        {"action": "talk", "text": "Thanks"}])
    receiver.wait_for_status("completed", uuid=uuid)
    (event,) = receiver.payloads("recording")
    assert set(event) >= {"start_time", "end_time", "recording_url", "recording_uuid", "size", "conversation_uuid", "timestamp"}
    assert event["recording_url"].startswith("https://api.nexmo.com/v1/files/")
    response = download(sandbox, client, event["recording_url"])
    assert response.status_code == 200 and response.headers["Content-Type"] == "audio/wav"
    assert len(response.content) == event["size"]
    info = soundfile.info(io.BytesIO(response.content))
    assert 2.5 < info.duration < 4.5  # 2 s wait + 1.2 s phrase + key, then "#"
    assert "Thanks" in [e["text"] for e in phone.heard()]
    assert download(sandbox, client, event["recording_url"].replace("files/", "files/x")).status_code == 404


def test_record_ends_on_silence(client, sandbox, receiver):
    phone = sandbox.phone("447700900408").script(script=[{"say": "one two three four five"}])
    uuid = place(client, receiver, phone.number, ncco=[
        {"action": "record", "endOnSilence": 3, "eventUrl": [receiver.url("recording")]},
        {"action": "wait", "timeout": 30}], length_timer=60)
    receiver.wait_for(lambda r: r.payloads("recording"))
    recording = download(sandbox, client, receiver.payloads("recording")[0]["recording_url"])
    assert recording.headers["Content-Type"] == "audio/mpeg"
    duration = soundfile.info(io.BytesIO(recording.content)).duration
    assert 4.5 < duration < 6.5  # 2 s of speech, then 3 s of silence
    client.voice.hangup(uuid)


def test_background_record_runs_until_hangup_and_reports_after_completed(client, sandbox, receiver):
    place(client, receiver, "447700900000", ncco=[
        {"action": "record", "eventUrl": [receiver.url("recording")], "format": "ogg", "split": "conversation"},
        {"action": "talk", "text": "one two three four five six seven eight nine ten"}])
    receiver.wait_for(lambda r: r.payloads("recording"))
    assert [r["path"] for r in receiver.requests][-2:] == ["event", "recording"]
    audio = download(sandbox, client, receiver.payloads("recording")[0]["recording_url"]).content
    info = soundfile.info(io.BytesIO(audio))
    spoken = sandbox.platform.speech.seconds("one two three four five six seven eight nine ten")
    assert info.channels == 2 and abs(info.duration - spoken) < 0.5  # the talk, then the hangup


def test_rest_transfer_replaces_the_running_ncco(client, sandbox, receiver):
    uuid = place(client, receiver, "447700900000", ncco=[{"action": "wait", "timeout": 600}])
    receiver.wait_for_status("answered", uuid=uuid)
    client.voice.transfer_call_ncco(uuid, [__import__("vonage_voice").Talk(text="Transferred")])
    receiver.wait_for_status("completed", uuid=uuid)
    assert "Transferred" in [e["text"] for e in sandbox.phone("447700900000").heard(uuid)]


def test_rest_transfer_to_a_url_fetches_the_new_ncco(client, sandbox, receiver):
    receiver.respond("transfer", [{"action": "talk", "text": "From the URL"}])
    uuid = place(client, receiver, "447700900000", ncco=[{"action": "wait", "timeout": 600}])
    receiver.wait_for_status("answered", uuid=uuid)
    client.voice.transfer_call_answer_url(uuid, receiver.url("transfer"))
    receiver.wait_for_status("completed", uuid=uuid)
    assert "From the URL" in [e["text"] for e in sandbox.phone("447700900000").heard(uuid)]


def test_mute_and_earmuff_are_recorded_on_the_leg(client, sandbox, receiver):
    uuid = place(client, receiver, "447700900000", ncco=[{"action": "wait", "timeout": 600}])
    receiver.wait_for_status("answered", uuid=uuid)
    for verb in ("mute", "earmuff", "unmute", "unearmuff"):
        getattr(client.voice, verb)(uuid)
    controls = [e["text"] for e in sandbox.transcript(uuid) if e["kind"] == "control"]
    assert controls == ["mute", "earmuff", "unmute", "unearmuff"]
    client.voice.hangup(uuid)
