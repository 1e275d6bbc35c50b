"""Call control on a live leg (reference §1.7, §1.8, §1.10, §8 rule 9): talk, stream and
DTMF played into a call while its NCCO goes on, keys of an asynchronous input sent
elsewhere, mute and earmuff; and the errors for legs that are unknown, not answered yet
or ended, and for bad bodies.

The verbs are driven through the official SDK where it has a method, and over raw HTTPS
(`Api` from api_requests.py) for the rest and for the exact response shapes.
"""

from __future__ import annotations

import io
import json
import threading
import uuid as uuids

import numpy as np
import pytest
import soundfile
from api_requests import Api, assert_error
from conftest import Receiver, assert_took, place, running_sandbox, sleep_until, wait_until
from flask import Response
from vonage_http_client.errors import HttpRequestError, NotFoundError
from vonage_voice.models import AudioStreamOptions, TtsStreamOptions

LISTENER = "447700900000"  # answers after 1 s and listens
ALICE, BOB = "447700900301", "447700900302"


def wav(seconds: float, frequency: float = 440.0) -> bytes:
    """A 16-bit WAV of a tone, `seconds` long."""
    times = np.arange(int(seconds * 16000)) / 16000
    out = io.BytesIO()
    soundfile.write(out, (0.3 * np.sin(2 * np.pi * frequency * times)).astype(np.float32), 16000,
                    format="WAV", subtype="PCM_16")
    return out.getvalue()


def serve(receiver, path: str, data: bytes, mimetype: str = "audio/wav") -> str:
    receiver.respond(path, always=lambda _: Response(data, mimetype=mimetype))
    return receiver.url(path)


def entries(sandbox, uuid, kind, who="platform"):
    return [e for e in sandbox.transcript(uuid) if e["kind"] == kind and e["who"] == who]


def answered_call(client, sandbox, receiver, ncco=None, number=LISTENER, **extra):
    """A call that is up and running `ncco` (by default a long wait)."""
    uuid = place(client, receiver, number, ncco=ncco or [{"action": "wait", "timeout": 600}], **extra)
    receiver.wait_for_status("answered", uuid=uuid)
    wait_until(lambda: entries(sandbox, uuid, "action"))  # the NCCO has started
    return uuid


@pytest.fixture
def api(sandbox):
    session = Api(sandbox)
    yield session
    session.close()


# -- talk --------------------------------------------------------------------------------------
def test_talk_plays_into_the_call_while_the_ncco_goes_on(client, sandbox, receiver):
    uuid = answered_call(client, sandbox, receiver, ncco=[
        {"action": "wait", "timeout": 20}, {"action": "talk", "text": "The wait is over"}])
    text = "This is a message from the REST API, played while the NCCO waits for twenty seconds"
    reply = client.voice.play_tts_into_call(uuid, TtsStreamOptions(text=text))
    assert (reply.message, reply.uuid) == ("Talk started", uuid)

    receiver.wait_for_status("completed", uuid=uuid)
    heard = sandbox.phone(LISTENER).heard(uuid)
    talks = [e for e in heard if e["kind"] == "talk"]
    assert [e["text"] for e in talks] == [text, "The wait is over"]
    actions = {e["text"]: e["at"] for e in heard if e["kind"] == "action"}
    api_talk, ncco_talk = talks
    # It played in full, during the wait, and the wait was neither cut short nor delayed.
    assert api_talk["seconds"] == pytest.approx(sandbox.platform.speech.seconds(text), abs=1e-6)
    assert actions["wait"] == api_talk["at"]  # time stood still while the test asked for it
    assert api_talk["at"] + api_talk["seconds"] < actions["talk"]
    assert_took(actions["talk"] - actions["wait"], 20)


def test_talk_loop_zero_plays_until_deleted_and_the_transcript_keeps_what_played(client, sandbox, receiver):
    uuid = answered_call(client, sandbox, receiver)
    text = "Please hold"
    once = sandbox.platform.speech.seconds(text)
    client.voice.play_tts_into_call(uuid, TtsStreamOptions(text=text, loop=0))
    wait_until(lambda: len(entries(sandbox, uuid, "talk")) >= 3)
    before = sandbox.clock.elapsed()
    reply = client.voice.stop_tts(uuid)
    after = sandbox.clock.elapsed()
    assert (reply.message, reply.uuid) == ("Talk stopped", uuid)

    talks = entries(sandbox, uuid, "talk")
    assert {e["text"] for e in talks} == {text}
    assert all(e["seconds"] == pytest.approx(once) for e in talks[:-1])  # each loop in full...
    last = talks[-1]  # ...the last one cut where the DELETE stopped it
    assert before == after  # nobody waited: the call's time stood still
    assert last["at"] + last["seconds"] == pytest.approx(before, abs=1e-6)
    assert last["seconds"] <= once
    count = len(talks)
    sleep_until(sandbox, after + 3 * once)
    assert len(entries(sandbox, uuid, "talk")) == count  # nothing more played
    assert sandbox.call(uuid)["status"] == "answered"  # and the call goes on
    client.voice.hangup(uuid)


def test_talk_loop_two_plays_twice_back_to_back(client, sandbox, receiver):
    uuid = answered_call(client, sandbox, receiver)
    client.voice.play_tts_into_call(uuid, TtsStreamOptions(text="Twice", loop=2))
    once = sandbox.platform.speech.seconds("Twice")
    first = wait_until(lambda: entries(sandbox, uuid, "talk"))[0]  # once espeak-ng has said it
    sleep_until(sandbox, first["at"] + 3 * once + 1)
    first, second = entries(sandbox, uuid, "talk")
    assert_took(second["at"] - first["at"], once)
    client.voice.hangup(uuid)


def test_a_looping_talk_does_not_keep_the_call_up(client, sandbox, receiver):
    uuid = answered_call(client, sandbox, receiver, ncco=[{"action": "wait", "timeout": 10}])
    client.voice.play_tts_into_call(uuid, TtsStreamOptions(text="Forever and ever", loop=0))
    receiver.wait_for_status("completed", uuid=uuid)
    completed = receiver.payloads("event")[-1]
    assert completed["duration"] == "10" and completed["disconnected_by"] == "platform"
    last = entries(sandbox, uuid, "talk")[-1]
    ended = sandbox.platform.run(lambda: sandbox.platform.leg(uuid).ended_elapsed)
    assert last["at"] + last["seconds"] == pytest.approx(ended, abs=1e-6)  # it stopped with the call


def test_talk_in_another_language_uses_that_voice(client, sandbox, receiver):
    uuid = answered_call(client, sandbox, receiver)
    text = "Guten Tag und herzlich willkommen"
    client.voice.play_tts_into_call(uuid, TtsStreamOptions(text=text, language="de-DE"))
    wait_until(lambda: entries(sandbox, uuid, "talk"))
    (talk,) = entries(sandbox, uuid, "talk")
    assert talk["seconds"] == pytest.approx(sandbox.platform.speech.seconds(text, "de-DE"))
    assert talk["seconds"] != pytest.approx(sandbox.platform.speech.seconds(text, "en-US"))
    client.voice.hangup(uuid)


# -- stream ------------------------------------------------------------------------------------
def test_stream_plays_the_file_for_its_length_into_the_call(client, sandbox, receiver):
    url = serve(receiver, "music.wav", wav(3.0))
    uuid = answered_call(client, sandbox, receiver, ncco=[{"action": "wait", "timeout": 10}])
    reply = client.voice.play_audio_into_call(uuid, AudioStreamOptions(stream_url=[url]))
    assert (reply.message, reply.uuid) == ("Stream started", uuid)
    receiver.wait_for_status("completed", uuid=uuid)
    (stream,) = entries(sandbox, uuid, "stream")
    assert stream["text"] == url and stream["seconds"] == pytest.approx(3.0, abs=1e-3)
    assert receiver.payloads("event")[-1]["duration"] == "10"  # the NCCO's wait, not the stream, ends it


def test_stream_answers_at_once_and_fetches_the_file_in_the_background(client, sandbox, receiver):
    """The platform answers 200 straight away; a slow audio host delays the sound, not the
    API call. A DELETE while the file is still downloading stops it before it plays."""
    gate = threading.Event()

    def slow_file(_):
        gate.wait(10)
        return Response(wav(1.0), mimetype="audio/wav")

    receiver.respond("slow.wav", always=slow_file)
    uuid = answered_call(client, sandbox, receiver)
    reply = client.voice.play_audio_into_call(uuid, AudioStreamOptions(stream_url=[receiver.url("slow.wav")]))
    assert reply.message == "Stream started"  # at once: the download is still held at the gate
    receiver.wait_for(lambda r: any(q["path"] == "slow.wav" for q in r.requests))
    assert client.voice.stop_audio_stream(uuid).message == "Stream stopped"
    stopped = sandbox.clock.elapsed()
    gate.set()
    sleep_until(sandbox, stopped + 3)  # time enough to have played it
    assert not entries(sandbox, uuid, "stream")
    client.voice.hangup(uuid)


def test_stream_loop_zero_plays_until_deleted(client, sandbox, receiver):
    url = serve(receiver, "short.wav", wav(1.0))
    uuid = answered_call(client, sandbox, receiver)
    client.voice.play_audio_into_call(uuid, AudioStreamOptions(stream_url=[url], loop=0))
    wait_until(lambda: len(entries(sandbox, uuid, "stream")) >= 3)
    before = sandbox.clock.elapsed()
    reply = client.voice.stop_audio_stream(uuid)
    after = sandbox.clock.elapsed()
    assert (reply.message, reply.uuid) == ("Stream stopped", uuid)
    streams = entries(sandbox, uuid, "stream")
    assert all(e["seconds"] == pytest.approx(1.0) for e in streams[:-1])
    assert streams[-1]["at"] + streams[-1]["seconds"] == pytest.approx(before, abs=1e-6) and before == after
    count = len(streams)
    sleep_until(sandbox, after + 3)
    assert len(entries(sandbox, uuid, "stream")) == count
    client.voice.hangup(uuid)


def test_the_streamed_audio_is_what_the_phone_hears(client, sandbox, receiver):
    url = serve(receiver, "tone.wav", wav(2.0, frequency=1000))
    uuid = answered_call(client, sandbox, receiver, ncco=[{"action": "wait", "timeout": 5}])
    client.voice.play_audio_into_call(uuid, AudioStreamOptions(stream_url=[url]))
    receiver.wait_for_status("completed", uuid=uuid)
    (stream,) = entries(sandbox, uuid, "stream")
    samples, rate = soundfile.read(io.BytesIO(sandbox.phone(LISTENER).audio(uuid)))
    began = sandbox.platform.run(lambda: sandbox.platform.leg(uuid).began)
    start = int((stream["at"] - began) * rate)
    played = samples[start + 800: start + int(1.9 * rate)]
    spectrum = np.abs(np.fft.rfft(played))
    assert np.fft.rfftfreq(len(played), 1 / rate)[spectrum.argmax()] == pytest.approx(1000, abs=5)
    assert np.abs(samples[: start - 100]).max() == 0  # silence before it


# -- dtmf --------------------------------------------------------------------------------------
def test_dtmf_keys_are_heard_by_the_phone_with_p_a_half_second_pause(client, sandbox, receiver):
    uuid = answered_call(client, sandbox, receiver)
    reply = client.voice.play_dtmf_into_call(uuid, "12pppp3")
    assert (reply.message, reply.uuid) == ("DTMF sent", uuid)
    wait_until(lambda: len(entries(sandbox, uuid, "dtmf")) == 3)
    one, two, three = entries(sandbox, uuid, "dtmf")
    assert [e["text"] for e in (one, two, three)] == ["1", "2", "3"]
    assert all(e["seconds"] == pytest.approx(0.2) for e in (one, two, three))
    assert_took(two["at"] - one["at"], 0.2)
    assert_took(three["at"] - two["at"], 2.2)  # 0.2 s key + 4 pauses of 0.5 s
    assert not entries(sandbox, uuid, "dtmf", who="phone")  # the platform pressed them, not the phone
    client.voice.hangup(uuid)


def test_dtmf_played_to_the_call_does_not_count_as_the_callers_input(client, sandbox, receiver):
    uuid = answered_call(client, sandbox, receiver, ncco=[
        {"action": "input", "type": ["dtmf"], "dtmf": {"timeOut": 10}, "eventUrl": [receiver.url("input")]}])
    client.voice.play_dtmf_into_call(uuid, "42")
    receiver.wait_for(lambda r: r.payloads("input"))
    assert receiver.payloads("input")[0]["dtmf"] == {"digits": None, "timed_out": True}
    assert [e["text"] for e in entries(sandbox, uuid, "dtmf")] == ["4", "2"]  # played while it listened


# -- input/dtmf --------------------------------------------------------------------------------
def test_input_dtmf_sends_each_key_of_an_asynchronous_input_to_the_registered_url(client, sandbox, receiver, api):
    phone = sandbox.phone(ALICE)
    uuid = answered_call(client, sandbox, receiver, number=ALICE, ncco=[
        {"action": "input", "type": ["dtmf"], "mode": "asynchronous", "eventUrl": [receiver.url("input")]},
        {"action": "wait", "timeout": 600}])
    wait_until(lambda: any(e["text"] == "wait" for e in entries(sandbox, uuid, "action")))

    listening = api.put(f"/v1/calls/{uuid}/input/dtmf", json={"event_url": [receiver.url("keys")]})
    assert listening.status_code == 200 and listening.content == b""
    phone.press("12")
    receiver.wait_for(lambda r: len(r.payloads("keys")) == 2)

    stopped = api.delete(f"/v1/calls/{uuid}/input/dtmf")
    assert stopped.status_code == 200 and stopped.content == b""
    phone.press("3")
    receiver.wait_for(lambda r: r.payloads("input"))

    keys = receiver.payloads("keys")
    assert [k["dtmf"] for k in keys] == [{"digits": "1", "timed_out": False}, {"digits": "2", "timed_out": False}]
    for key in keys:
        assert key["uuid"] == uuid and key["conversation_uuid"] == sandbox.call(uuid)["conversation_uuid"]
        assert key["to"] == ALICE and key["timestamp"].endswith("Z")
    assert [p["dtmf"]["digits"] for p in receiver.payloads("input")] == ["3"]  # back to the eventUrl
    assert len(receiver.payloads("keys")) == 2
    client.voice.hangup(uuid)


def test_input_dtmf_with_get_sends_the_keys_as_a_query(client, sandbox, receiver, api):
    uuid = answered_call(client, sandbox, receiver, number=BOB, ncco=[
        {"action": "input", "type": ["dtmf"], "mode": "asynchronous", "eventUrl": [receiver.url("input")]},
        {"action": "wait", "timeout": 600}])
    wait_until(lambda: any(e["text"] == "wait" for e in entries(sandbox, uuid, "action")))
    response = api.put(f"/v1/calls/{uuid}/input/dtmf",
                       json={"event_url": [receiver.url("keys")], "event_method": "GET"})
    assert response.status_code == 200
    sandbox.phone(BOB).press("7")
    receiver.wait_for(lambda r: r.payloads("keys"))
    (request,) = [r for r in receiver.requests if r["path"] == "keys"]
    assert request["method"] == "GET" and request["args"]["uuid"] == uuid
    assert json.loads(request["args"]["dtmf"]) == {"digits": "7", "timed_out": False}  # nested: JSON-encoded
    assert not receiver.payloads("input")
    client.voice.hangup(uuid)


# -- mute, earmuff -----------------------------------------------------------------------------
def test_mute_and_unmute_earmuff_and_unearmuff_in_a_conversation(client, sandbox, receiver):
    alice = answered_call(client, sandbox, receiver, number=ALICE, ncco=[{"action": "conversation", "name": "room"}])
    bob = answered_call(client, sandbox, receiver, number=BOB, ncco=[{"action": "conversation", "name": "room"}])
    wait_until(lambda: sandbox.call(alice)["conversation_uuid"] == sandbox.call(bob)["conversation_uuid"])
    say = sandbox.phone(ALICE).say

    def bob_heard():
        return [e["text"] for e in sandbox.transcript(bob) if e["who"] == ALICE and e["kind"] == "said"]

    say("one")
    assert client.voice.mute(alice) is None  # 204, no body
    say("two")
    client.voice.unmute(alice)
    say("three")
    client.voice.earmuff(bob)
    say("four")
    client.voice.unearmuff(bob)
    say("five")
    assert bob_heard() == ["one", "three", "five"]
    # Muted, Alice still hears Bob: mute only stops what she sends.
    client.voice.mute(alice)
    sandbox.phone(BOB).say("can you hear me")
    assert [e["text"] for e in sandbox.transcript(alice) if e["who"] == BOB] == ["can you hear me"]
    for leg in (alice, bob):
        client.voice.hangup(leg)


def test_modify_returns_204_with_no_body(client, sandbox, receiver, api):
    uuid = answered_call(client, sandbox, receiver)
    for action in ("mute", "unmute", "earmuff", "unearmuff"):
        response = api.put(f"/v1/calls/{uuid}", json={"action": action})
        assert response.status_code == 204 and response.content == b"", action
    response = api.put(f"/v1/calls/{uuid}", json={
        "action": "transfer", "destination": {"type": "ncco", "ncco": [{"action": "talk", "text": "Moved"}]}})
    assert response.status_code == 204 and response.content == b""
    receiver.wait_for_status("completed", uuid=uuid)
    assert "Moved" in [e["text"] for e in entries(sandbox, uuid, "talk")]


# -- responses and errors over raw HTTP ---------------------------------------------------------
@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    """A sandbox on a real-time clock, with a leg answered, one ringing and one ended, so
    every state lasts as long as the error tests need it."""
    receiver = Receiver()
    music = serve(receiver, "music.wav", wav(1.0))
    with running_sandbox(tmp_path_factory.mktemp("slow-sandbox"), seed=5) as sandbox:
        client = sandbox.client()
        sandbox.phone("447700900310").script(answer_after=0)
        sandbox.phone("447700900311").script(on_ring="manual")
        sandbox.phone("447700900312").script(answer_after=0)
        legs = {
            "answered": place(client, receiver, "447700900310", ncco=[{"action": "wait", "timeout": 7200}]),
            "ringing": place(client, receiver, "447700900311"),
            "ended": place(client, receiver, "447700900312", ncco=[{"action": "wait", "timeout": 0.1}]),
        }
        for state, status in (("answered", "answered"), ("ringing", "ringing"), ("ended", "completed")):
            receiver.wait_for_status(status, uuid=legs[state])
        api = Api(sandbox)
        yield {"api": api, "legs": legs, "music": music, "client": client}
        api.close()
    receiver.server.stop()


ROUTES = {
    "PUT talk": ("PUT", "/talk", {"text": "Hello"}),
    "DELETE talk": ("DELETE", "/talk", None),
    "PUT stream": ("PUT", "/stream", {"stream_url": ["MUSIC"]}),
    "DELETE stream": ("DELETE", "/stream", None),
    "PUT dtmf": ("PUT", "/dtmf", {"digits": "1"}),
    "PUT input/dtmf": ("PUT", "/input/dtmf", {"event_url": ["https://example.com/keys"]}),
    "DELETE input/dtmf": ("DELETE", "/input/dtmf", None),
    "mute": ("PUT", "", {"action": "mute"}),
    "unmute": ("PUT", "", {"action": "unmute"}),
    "earmuff": ("PUT", "", {"action": "earmuff"}),
    "unearmuff": ("PUT", "", {"action": "unearmuff"}),
    "transfer": ("PUT", "", {"action": "transfer", "destination": {"type": "ncco", "ncco": [{"action": "talk", "text": "Hi"}]}}),
}


def send(slow, route, call_uuid):
    method, suffix, body = ROUTES[route]
    if body and body.get("stream_url") == ["MUSIC"]:
        body = {"stream_url": [slow["music"]]}
    kwargs = {} if body is None else {"json": body}
    return slow["api"].request(method, f"/v1/calls/{call_uuid}{suffix}", **kwargs)


@pytest.mark.parametrize("route", list(ROUTES))
def test_an_unknown_leg_is_404(slow, route):
    body = assert_error(send(slow, route, str(uuids.uuid4())), 404)
    assert "does not exist" in body["detail"]


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_leg_still_ringing_is_400(slow, route):
    body = assert_error(send(slow, route, slow["legs"]["ringing"]), 400)
    assert "not answered" in body["detail"]


@pytest.mark.parametrize("route", [*ROUTES, "hangup"])
def test_an_ended_leg_is_400(slow, route):
    leg = slow["legs"]["ended"]
    if route == "hangup":
        response = slow["api"].put(f"/v1/calls/{leg}", json={"action": "hangup"})
    else:
        response = send(slow, route, leg)
    body = assert_error(response, 400)
    assert "ended" in body["detail"]


@pytest.mark.parametrize("route", list(ROUTES))
def test_every_control_route_needs_the_jwt(slow, route):
    method, suffix, body = ROUTES[route]
    response = slow["api"].request(method, f"/v1/calls/{slow['legs']['answered']}{suffix}", auth=None, json=body)
    assert_error(response, 401)


@pytest.mark.parametrize("method, suffix, allowed", [
    ("GET", "/talk", "PUT, DELETE"), ("POST", "/stream", "PUT, DELETE"),
    ("DELETE", "/dtmf", "PUT"), ("POST", "/input/dtmf", "PUT, DELETE"),
])
def test_a_wrong_verb_is_405_saying_which_work(slow, method, suffix, allowed):
    response = slow["api"].request(method, f"/v1/calls/{slow['legs']['answered']}{suffix}")
    assert_error(response, 405)
    assert set(allowed.split(", ")) <= set(response.headers["Allow"].split(", "))


def test_the_sdk_raises_for_unknown_and_unanswered_legs(slow):
    voice = slow["client"].voice
    with pytest.raises(NotFoundError):
        voice.play_tts_into_call(str(uuids.uuid4()), TtsStreamOptions(text="Hello"))
    with pytest.raises(HttpRequestError) as caught:
        voice.play_dtmf_into_call(slow["legs"]["ringing"], "1")
    assert caught.value.response.status_code == 400


@pytest.mark.parametrize("route, message", [
    ("PUT talk", "Talk started"), ("DELETE talk", "Talk stopped"),
    ("PUT stream", "Stream started"), ("DELETE stream", "Stream stopped"), ("PUT dtmf", "DTMF sent"),
])
def test_play_verbs_answer_200_with_message_and_uuid(slow, route, message):
    leg = slow["legs"]["answered"]
    response = send(slow, route, leg)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert response.json() == {"message": message, "uuid": leg}


@pytest.mark.parametrize("suffix, body", [
    ("/talk", {"text": "Hi", "voice_name": "Kimberly"}),  # deprecated, still accepted
    ("/talk", {"text": "Hi", "level": "0.5", "loop": 1}),  # the spec types level as a string
    ("/talk", {"text": "Hi", "language": "en-GB", "style": 2, "premium": True}),
    ("/stream", {"stream_url": ["MUSIC"], "level": -0.5, "loop": 2}),
], ids=["voice_name", "level as a string", "language style premium", "stream level and loop"])
def test_every_documented_option_is_accepted(slow, suffix, body):
    if body.get("stream_url") == ["MUSIC"]:
        body = {**body, "stream_url": [slow["music"]]}
    response = slow["api"].put(f"/v1/calls/{slow['legs']['answered']}{suffix}", json=body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_input_dtmf_answers_200_with_no_body(slow, method):
    response = send(slow, f"{method} input/dtmf", slow["legs"]["answered"])
    assert response.status_code == 200 and response.content == b""


BAD_BODIES = {
    "talk without text": ("/talk", {}, ["text"]),
    "talk text not a string": ("/talk", {"text": 12}, ["text"]),
    "talk loop negative": ("/talk", {"text": "Hi", "loop": -1}, ["loop"]),
    "talk in an unknown language": ("/talk", {"text": "Hi", "language": "xx-XX"}, ["language"]),
    "talk level above 1": ("/talk", {"text": "Hi", "level": 2}, ["level"]),
    "stream_url a string": ("/stream", {"stream_url": "https://example.com/a.mp3"}, ["stream_url"]),
    "stream_url two URLs": ("/stream", {"stream_url": ["https://example.com/a.mp3", "https://example.com/b.mp3"]}, ["stream_url"]),
    "stream_url empty": ("/stream", {"stream_url": []}, ["stream_url"]),
    "stream without stream_url": ("/stream", {"loop": 1}, ["stream_url"]),
    "stream loop negative": ("/stream", {"stream_url": ["https://example.com/a.mp3"], "loop": -1}, ["loop"]),
    "digits with letters": ("/dtmf", {"digits": "12a"}, ["digits"]),
    "digits empty": ("/dtmf", {"digits": ""}, ["digits"]),
    "digits a number": ("/dtmf", {"digits": 12}, ["digits"]),
    "no digits": ("/dtmf", {}, ["digits"]),
    "event_url a string": ("/input/dtmf", {"event_url": "https://example.com/keys"}, ["event_url"]),
    "event_url two URLs": ("/input/dtmf", {"event_url": ["https://a.example/k", "https://b.example/k"]}, ["event_url"]),
    "no event_url": ("/input/dtmf", {}, ["event_url"]),
    "event_method PUT": ("/input/dtmf", {"event_url": ["https://example.com/keys"], "event_method": "PUT"}, ["event_method"]),
    "unknown action": ("", {"action": "dance"}, ["action"]),
}


@pytest.mark.parametrize("suffix, body, names", list(BAD_BODIES.values()), ids=list(BAD_BODIES))
def test_a_bad_body_is_400_naming_the_field(slow, suffix, body, names):
    assert_error(slow["api"].put(f"/v1/calls/{slow['legs']['answered']}{suffix}", json=body), 400, names)


@pytest.mark.parametrize("suffix", ["/talk", "/stream", "/dtmf", "/input/dtmf"])
def test_a_body_that_is_not_json_is_400(slow, suffix):
    response = slow["api"].put(f"/v1/calls/{slow['legs']['answered']}{suffix}", data="{oops",
                               headers={"Content-Type": "application/json"})
    assert "JSON" in assert_error(response, 400)["detail"]


def test_the_backend_refuses_an_action_that_does_not_exist_and_a_transfer_to_nowhere(sandbox):
    """Its rules hold for a Python caller too, not only behind the route, and before the
    call is even looked up (as the route's 400 comes before a 404)."""
    from workshop_helpers.sandbox.errors import BadRequest

    with pytest.raises(BadRequest) as unknown:
        sandbox.backend.modify_call("no-such-call", "pause")
    assert unknown.value.invalid_parameters[0]["name"] == "action"
    with pytest.raises(BadRequest) as nowhere:
        sandbox.backend.modify_call("no-such-call", "transfer")
    assert nowhere.value.invalid_parameters[0]["name"] == "destination"


def test_an_unknown_call_is_a_key_error_as_it_always_was_and_no_sandbox_error(sandbox):
    """A SandboxError says the sandbox itself cannot work (stopped, damaged state); a call
    that is not there is the answer to one question, so `except SandboxError` misses it."""
    from workshop_helpers.sandbox import SandboxError

    with pytest.raises(KeyError) as error:
        sandbox.transcript("no-such-call")
    assert not isinstance(error.value, SandboxError)
    assert str(error.value) == "Call no-such-call does not exist, or you do not have access."
