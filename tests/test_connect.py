"""The NCCO `connect` action, websocket endpoints and answering-machine detection
(reference §1.4, §2.4, §3.3, §3.4). A caller's NCCO connects it to another party; the
tests read the webhooks the platform sent (the new leg's events go to the connect's
eventUrl), what each party heard, the recordings, and every message a real WebSocket
server received from the platform."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import threading
from datetime import datetime
from urllib.parse import urlencode

import numpy as np
import pytest
import soundfile
from aiohttp import WSMsgType, web
from conftest import APP_NUMBER, TICK, download, free_port, place
from flask import Response

from workshop_helpers.sandbox import media
from workshop_helpers.sandbox.speech import PHONE_VOICE

ALICE, BOB = "447700900301", "447700900302"  # scriptable phones: the caller and the callee
BUSY, NEVER_ANSWERS, UNAVAILABLE, REJECTS, OUT_OF_SERVICE = (
    "447700900001", "447700900002", "447700900005", "447700900003", "447700900004")
HUMAN, VOICEMAIL = "447700900000", "447700900008"
L16 = "audio/l16;rate=16000"


# -- helpers -------------------------------------------------------------------------
def connect(receiver, endpoint: dict, **options) -> dict:
    """A connect action whose new leg reports to the receiver's /callee."""
    action = {"action": "connect", "endpoint": [endpoint], "eventUrl": [receiver.url("callee")], **options}
    if endpoint.get("type", "phone") == "phone" and "randomFromNumber" not in options:
        action.setdefault("from", APP_NUMBER)
    return action


def phone(number: str) -> dict:
    return {"type": "phone", "number": number}


def statuses(receiver, path: str, uuid: str | None = None) -> list[dict]:
    """The call-state events sent to `path` (for one leg, if `uuid` is given)."""
    return [p for p in receiver.payloads(path)
            if "status" in p and uuid in (None, p.get("uuid"), p.get("call_uuid"))]


def callee_uuid(receiver, path: str = "callee") -> str:
    receiver.wait_for(lambda r: statuses(r, path))
    return statuses(receiver, path)[0]["uuid"]


def wait_completed(receiver, path: str, uuid: str) -> list[str]:
    receiver.wait_for(lambda r: "completed" in [p["status"] for p in statuses(r, path, uuid)])
    return [p["status"] for p in statuses(receiver, path, uuid)]


def request_index(receiver, path: str, uuid: str, status: str) -> int:
    """Where a leg's event came in the order the receiver got every request."""
    for index, request in enumerate(list(receiver.requests)):
        body = request["json"] or request["args"]
        if request["path"] == path and body.get("uuid") == uuid and body.get("status") == status:
            return index
    raise AssertionError(f"no {status} event for {uuid} at /{path}")


def said_by(entries, who) -> list[str]:
    return [e["text"] for e in entries if e["who"] == who and e["kind"] == "said"]


def texts(entries, kind: str = "talk") -> list[str]:
    return [e["text"] for e in entries if e["kind"] == kind]


def moment(sandbox, iso: str) -> float:
    """A webhook timestamp as the platform clock's elapsed seconds (as transcripts count)."""
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (when - sandbox.clock._wall_start).total_seconds()


def tone_wav(seconds: float = 0.5, frequency: float = 425) -> bytes:
    samples = np.sin(np.arange(int(16000 * seconds)) * 2 * np.pi * frequency / 16000).astype(np.float32) * 0.3
    out = io.BytesIO()
    soundfile.write(out, samples, 16000, format="WAV")
    return out.getvalue()


def serve_ringback(receiver) -> str:
    receiver.respond("ring.wav", always=Response(tone_wav(), mimetype="audio/wav"))
    return receiver.url("ring.wav")


def answer_only(status: str, ncco: list):
    """A receiver answer: `ncco` for the event with this status, nothing for the others."""
    return lambda request: ncco if (request["json"] or request["args"]).get("status") == status else ""


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0


# -- 1. connect to a phone -------------------------------------------------------------
def test_connect_to_a_phone_sends_the_new_legs_events_to_the_connect_event_url(client, sandbox, receiver):
    """The callee is a new outbound leg in the caller's conversation; its events go to the
    connect's eventUrl; the two parties hear each other; when the callee hangs up the
    caller's NCCO goes on, and the caller's completed comes after the callee's."""
    sandbox.phone(ALICE).script(script=[{"wait": 4}, {"say": "hello bob"}])
    sandbox.phone(BOB).script(script=[{"wait": 1}, {"say": "hi alice"}, {"wait": 5}, {"hangup": True}])
    caller = place(client, receiver, ALICE, ncco=[connect(receiver, phone(BOB)),
                                                  {"action": "talk", "text": "Bob has left"}])
    callee = callee_uuid(receiver)
    assert wait_completed(receiver, "callee", callee) == ["started", "ringing", "answered", "completed"]
    receiver.wait_for_status("completed", uuid=caller)

    conversation = sandbox.call(caller)["conversation_uuid"]
    for event in statuses(receiver, "callee"):
        assert event["uuid"] == callee != caller
        assert event["conversation_uuid"] == conversation
        assert event["direction"] == "outbound"
        assert event["from"] == APP_NUMBER and event["to"] == BOB
    assert all(p.get("uuid") != callee for p in receiver.payloads("event"))  # none at the call's event_url
    (callee_done,) = [p for p in statuses(receiver, "callee") if p["status"] == "completed"]
    assert callee_done["disconnected_by"] == "user"

    alice_heard, bob_heard = sandbox.transcript(caller), sandbox.transcript(callee)
    assert said_by(alice_heard, BOB) == ["hi alice"]
    assert said_by(bob_heard, ALICE) == ["hello bob"]
    (heard,) = [e for e in alice_heard if e["who"] == BOB]
    assert heard["leg"] == callee
    # The NCCO went on after the callee hung up, and only then did the caller's leg end.
    assert texts(alice_heard) == ["Bob has left"]
    assert request_index(receiver, "event", caller, "completed") > request_index(receiver, "callee", callee, "completed")
    assert receiver.payloads("event")[-1]["disconnected_by"] == "platform"


def test_when_the_caller_hangs_up_the_callee_is_hung_up(client, sandbox, receiver):
    sandbox.phone(ALICE).script(script=[{"wait": 3}, {"hangup": True}])
    caller = place(client, receiver, ALICE, ncco=[connect(receiver, phone(BOB)),
                                                  {"action": "talk", "text": "Never heard"}])
    callee = callee_uuid(receiver)
    wait_completed(receiver, "callee", callee)
    receiver.wait_for_status("completed", uuid=caller)
    caller_done = [p for p in statuses(receiver, "event", caller) if p["status"] == "completed"][0]
    callee_done = [p for p in statuses(receiver, "callee", callee) if p["status"] == "completed"][0]
    assert caller_done["disconnected_by"] == "user"
    # Bob answered a second after Alice and was hung up with her, two seconds later.
    assert abs(moment(sandbox, callee_done["end_time"]) - moment(sandbox, caller_done["end_time"])) < 0.5
    assert int(callee_done["duration"]) <= 3
    assert "Never heard" not in texts(sandbox.transcript(caller))



def test_when_the_caller_hangs_up_while_the_callee_rings_the_callee_is_cancelled(client, sandbox, receiver):
    sandbox.phone(ALICE).script(script=[{"wait": 2}, {"hangup": True}])
    place(client, receiver, ALICE, ncco=[connect(receiver, phone(NEVER_ANSWERS))])
    callee = callee_uuid(receiver)
    assert wait_completed(receiver, "callee", callee) == ["started", "ringing", "cancelled", "completed"]
    (done,) = [p for p in statuses(receiver, "callee", callee) if p["status"] == "completed"]
    assert done["duration"] == "0"


# -- 2. the callee does not answer ---------------------------------------------------------
@pytest.mark.parametrize("number, options, expected", [
    (BUSY, {}, ["started", "ringing", "busy", "completed"]),
    (UNAVAILABLE, {}, ["started", "ringing", "unanswered", "completed"]),
    (NEVER_ANSWERS, {"timeout": 3}, ["started", "ringing", "timeout", "completed"]),
    (OUT_OF_SERVICE, {}, ["started", "failed", "completed"]),
    (REJECTS, {}, ["started", "rejected"]),  # rejected: no completed
], ids=["busy", "unanswered", "timeout", "failed", "rejected"])
def test_a_failed_connect_goes_on_with_the_next_action(client, sandbox, receiver, number, options, expected):
    caller = place(client, receiver, ALICE, ncco=[connect(receiver, phone(number), **options),
                                                  {"action": "talk", "text": "Nobody is available"}])
    callee = callee_uuid(receiver)
    receiver.wait_for_status("completed", uuid=caller)
    assert [p["status"] for p in statuses(receiver, "callee", callee)] == expected
    heard = sandbox.transcript(caller)
    assert texts(heard) == ["Nobody is available"]
    if options.get("timeout"):  # the callee rang for `timeout` seconds, not the default 60
        (connected,) = [e for e in heard if e["kind"] == "connect"]
        (talk,) = [e for e in heard if e["kind"] == "talk"]
        assert 2.5 < talk["at"] - connected["at"] < 4.5


@pytest.mark.parametrize("number, options, failure", [
    (BUSY, {}, "busy"),
    (NEVER_ANSWERS, {"timeout": 2}, "timeout"),
    (UNAVAILABLE, {}, "unanswered"),
])
def test_synchronous_connect_takes_the_next_ncco_from_the_failure_event(client, sandbox, receiver, number, options, failure):
    """eventType synchronous: the NCCO answered to the failure event replaces the rest."""
    receiver.respond("callee", always=answer_only(failure, [{"action": "talk", "text": "Leave a message"}]))
    caller = place(client, receiver, ALICE, ncco=[
        connect(receiver, phone(number), eventType="synchronous", **options),
        {"action": "talk", "text": "Original next action"}])
    callee = callee_uuid(receiver)
    assert wait_completed(receiver, "callee", callee)[-2:] == [failure, "completed"]
    receiver.wait_for_status("completed", uuid=caller)
    assert texts(sandbox.transcript(caller)) == ["Leave a message"]


def test_synchronous_connect_with_an_empty_answer_goes_on_with_the_ncco(client, sandbox, receiver):
    caller = place(client, receiver, ALICE, ncco=[
        connect(receiver, phone(BUSY), eventType="synchronous"),
        {"action": "talk", "text": "Original next action"}])
    callee = callee_uuid(receiver)
    assert wait_completed(receiver, "callee", callee) == ["started", "ringing", "busy", "completed"]
    receiver.wait_for_status("completed", uuid=caller)
    assert texts(sandbox.transcript(caller)) == ["Original next action"]


# -- 3. connect options --------------------------------------------------------------------
@pytest.mark.parametrize("as_list", [True, False], ids=["list", "string"])  # the docs: a string
def test_ringback_tone_plays_to_the_caller_only_while_the_callee_rings(client, sandbox, receiver, as_list):
    sandbox.phone(BOB).script(answer_after=3, script=[{"wait": 1}, {"hangup": True}])
    tone = serve_ringback(receiver)
    caller = place(client, receiver, ALICE, ncco=[connect(receiver, phone(BOB), ringbackTone=[tone] if as_list else tone)])
    callee = callee_uuid(receiver)
    wait_completed(receiver, "callee", callee)
    receiver.wait_for_status("completed", uuid=caller)
    (answered,) = [p for p in statuses(receiver, "callee", callee) if p["status"] == "answered"]
    answered_at = moment(sandbox, answered["start_time"])
    ringback = [e for e in sandbox.transcript(caller) if e["kind"] == "ringback"]
    assert len(ringback) >= 5 and all(e["who"] == "platform" for e in ringback)  # a 0.5 s tone, looped
    assert max(e["at"] + e["seconds"] for e in ringback) == pytest.approx(answered_at, abs=TICK)
    # It starts once the tone file has downloaded (real milliseconds of call time).
    assert 2.5 < sum(e["seconds"] for e in ringback) <= 3
    assert not [e for e in sandbox.transcript(callee) if e["kind"] == "ringback"]
    assert [r["method"] for r in receiver.requests if r["path"] == "ring.wav"] == ["GET"]  # fetched once


def test_dtmf_answer_keys_are_played_to_the_callee_when_it_answers(client, sandbox, receiver):
    sandbox.phone(BOB).script(script=[{"wait": 3}, {"hangup": True}])
    caller = place(client, receiver, ALICE, ncco=[connect(receiver, {**phone(BOB), "dtmfAnswer": "1p2#"})])
    callee = callee_uuid(receiver)
    wait_completed(receiver, "callee", callee)
    keys = [e for e in sandbox.transcript(callee) if e["kind"] == "dtmf"]
    assert [e["text"] for e in keys] == ["1", "2", "#"]
    assert all(e["who"] == "platform" for e in keys)
    assert keys[1]["at"] - keys[0]["at"] == pytest.approx(0.7, abs=1e-6)  # a key, then a 500 ms pause
    assert not [e for e in sandbox.transcript(caller) if e["kind"] == "dtmf"]


def test_on_answer_ncco_runs_on_the_callee_before_it_joins(client, sandbox, receiver):
    receiver.respond("whisper", [{"action": "talk", "text": "You have a call from the workshop"}])
    sandbox.phone(ALICE).script(script=[{"wait": 0.5}, {"say": "too early"}, {"wait": 8}, {"say": "now you hear me"}])
    sandbox.phone(BOB).script(script=[{"wait": 12}, {"hangup": True}])
    caller = place(client, receiver, ALICE, ncco=[connect(receiver, {**phone(BOB), "onAnswer": {"url": receiver.url("whisper")}})])
    callee = callee_uuid(receiver)
    wait_completed(receiver, "callee", callee)
    receiver.wait_for_status("completed", uuid=caller)
    (whisper,) = [r for r in receiver.requests if r["path"] == "whisper"]
    assert whisper["args"]["uuid"] == callee and whisper["args"]["to"] == BOB
    bob_heard = sandbox.transcript(callee)
    assert texts(bob_heard) == ["You have a call from the workshop"]
    assert said_by(bob_heard, ALICE) == ["now you hear me"]  # he joined after the whisper
    assert texts(sandbox.transcript(caller)) == []  # the caller does not hear the whisper


def test_on_answer_ringback_tone_plays_until_the_callee_has_joined(client, sandbox, receiver):
    receiver.respond("whisper", [{"action": "talk", "text": "You have a call from the workshop"}])
    sandbox.phone(BOB).script(script=[{"wait": 8}, {"hangup": True}])
    caller = place(client, receiver, ALICE, ncco=[connect(receiver, {
        **phone(BOB), "onAnswer": {"url": receiver.url("whisper"), "ringbackTone": serve_ringback(receiver)}})])
    callee = callee_uuid(receiver)
    wait_completed(receiver, "callee", callee)
    receiver.wait_for_status("completed", uuid=caller)
    (whisper,) = [e for e in sandbox.transcript(callee) if e["kind"] == "talk"]
    ringback = [e for e in sandbox.transcript(caller) if e["kind"] == "ringback"]
    assert ringback
    assert max(e["at"] + e["seconds"] for e in ringback) == pytest.approx(whisper["at"] + whisper["seconds"], abs=1e-6)


def test_on_answer_legacy_ringback_key_is_still_played(client, sandbox, receiver):
    receiver.respond("whisper", [{"action": "talk", "text": "Hi"}])
    sandbox.phone(BOB).script(answer_after=3, script=[{"wait": 3}, {"hangup": True}])
    caller = place(client, receiver, ALICE, ncco=[connect(receiver, {
        **phone(BOB), "onAnswer": {"url": receiver.url("whisper"), "ringback": serve_ringback(receiver)}})])
    wait_completed(receiver, "callee", callee_uuid(receiver))
    assert [e for e in sandbox.transcript(caller) if e["kind"] == "ringback"]


def test_limit_ends_the_callee_leg_and_the_ncco_goes_on(client, sandbox, receiver):
    caller = place(client, receiver, ALICE, ncco=[connect(receiver, phone(BOB), limit=3),
                                                  {"action": "talk", "text": "Time is up"}])
    callee = callee_uuid(receiver)
    wait_completed(receiver, "callee", callee)
    receiver.wait_for_status("completed", uuid=caller)
    (done,) = [p for p in statuses(receiver, "callee", callee) if p["status"] == "completed"]
    assert done["duration"] == "3" and done["disconnected_by"] == "platform"
    assert texts(sandbox.transcript(caller)) == ["Time is up"]


@pytest.mark.parametrize("options, expected_from", [
    ({"from": "447700900999"}, "447700900999"),
    ({"randomFromNumber": True}, APP_NUMBER),
], ids=["from", "randomFromNumber"])
def test_the_callee_sees_the_connects_caller_id(client, sandbox, receiver, options, expected_from):
    action = connect(receiver, phone(BOB), limit=1, **options)
    place(client, receiver, ALICE, ncco=[action])
    callee = callee_uuid(receiver)
    wait_completed(receiver, "callee", callee)
    assert {p["from"] for p in statuses(receiver, "callee", callee)} == {expected_from}


@pytest.mark.parametrize("endpoint, to", [
    ({"type": "app", "user": "alice"}, "alice"),
    ({"type": "sip", "uri": "sip:bob@example.com"}, "sip:bob@example.com"),
    ({"type": "vbc", "extension": "123"}, "123"),
], ids=["app", "sip", "vbc"])
def test_connect_to_virtual_endpoints(client, sandbox, receiver, endpoint, to):
    """App users, SIP URIs and VBC extensions answer like phones; with no `from` the
    application's number is the caller ID."""
    caller = place(client, receiver, ALICE, ncco=[connect(receiver, endpoint, limit=2),
                                                  {"action": "talk", "text": "Done"}])
    callee = callee_uuid(receiver)
    assert wait_completed(receiver, "callee", callee) == ["started", "ringing", "answered", "completed"]
    for event in statuses(receiver, "callee", callee):
        assert event["to"] == to and event["from"] == APP_NUMBER and event["direction"] == "outbound"
    receiver.wait_for_status("completed", uuid=caller)
    assert texts(sandbox.transcript(caller)) == ["Done"]


# -- 4. recording a connected call -----------------------------------------------------------
def test_split_recording_puts_the_caller_and_the_callee_on_their_own_channels(client, sandbox, receiver):
    sandbox.phone(ALICE).script(script=[{"wait": 2}, {"say": "this is the caller speaking"}, {"wait": 8}, {"hangup": True}])
    sandbox.phone(BOB).script(script=[{"wait": 6}, {"say": "and this is the callee"}])
    caller = place(client, receiver, ALICE, ncco=[
        {"action": "record", "split": "conversation", "format": "wav", "eventUrl": [receiver.url("recording")]},
        connect(receiver, phone(BOB))])
    receiver.wait_for(lambda r: r.payloads("recording"))
    audio, rate = soundfile.read(io.BytesIO(download(sandbox, client, receiver.payloads("recording")[0]["recording_url"]).content))
    assert audio.shape[1] == 2

    heard = sandbox.transcript(caller)
    start = [e for e in heard if e["kind"] == "action" and e["text"] == "record"][0]["at"]
    (alice,) = [e for e in heard if e["who"] == "phone" and e["kind"] == "said"]
    (bob,) = [e for e in heard if e["who"] == BOB and e["kind"] == "said"]
    assert alice["at"] + alice["seconds"] < bob["at"]  # they take turns

    def window(entry, channel):
        low = int((entry["at"] - start + 0.1) * rate)
        high = int((entry["at"] - start + entry["seconds"] - 0.1) * rate)
        return rms(audio[low:high, channel])

    assert window(alice, 0) > 0.01 and window(alice, 1) < window(alice, 0) / 20
    assert window(bob, 1) > 0.01 and window(bob, 0) < window(bob, 1) / 20


# -- 5. websockets ---------------------------------------------------------------------------
class WebSocketServer:
    """The application's WebSocket server, in a background thread. It records each
    connection (path, handshake headers, every message: text as parsed JSON, binary as
    bytes). /listen only listens; /echo sends every audio frame back; /close?after=N
    closes the socket after N audio frames; /burst?frames=N sends N frames of a tone at
    once when the socket connects."""

    def __init__(self):
        self.connections: list[dict] = []
        self._changed = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-websocket", daemon=True)
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_get("/{mode}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return site._server.sockets[0].getsockname()[1]

    def url(self, mode: str, **query) -> str:
        return f"ws://127.0.0.1:{self.port}/{mode}" + (f"?{urlencode(query)}" if query else "")

    async def _handle(self, request):
        socket_ = web.WebSocketResponse(max_msg_size=0)
        await socket_.prepare(request)
        mode = request.match_info["mode"]
        connection = {"mode": mode, "headers": dict(request.headers), "messages": [], "closed": False}
        self._note(lambda: self.connections.append(connection))
        after, frames = int(request.query.get("after", 0)), 0
        async for message in socket_:
            if message.type == WSMsgType.TEXT:
                self._note(lambda: connection["messages"].append(json.loads(message.data)))  # noqa: B023 (runs now)
                if mode == "burst" and json.loads(message.data)["event"] == "websocket:connected":
                    for _ in range(int(request.query["frames"])):  # all at once, not paced
                        await socket_.send_bytes(np.full(320, 8000, "<i2").tobytes())
            elif message.type == WSMsgType.BINARY:
                frames += 1
                self._note(lambda: connection["messages"].append(message.data))  # noqa: B023 (runs now)
                if mode == "echo":
                    await socket_.send_bytes(message.data)
                if mode == "close" and frames >= after:
                    await socket_.close()
        self._note(lambda: connection.update(closed=True))
        return socket_

    def _note(self, change) -> None:
        with self._changed:
            change()
            self._changed.notify_all()

    def wait_closed(self, count: int = 1, timeout: float = 15) -> list[dict]:
        with self._changed:
            if not self._changed.wait_for(
                    lambda: sum(c["closed"] for c in self.connections) >= count, timeout):
                pytest.fail(f"the websocket was not closed; connections: {[c['mode'] for c in self.connections]}")
        return self.connections

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


@pytest.fixture
def ws_server():
    server = WebSocketServer()
    yield server
    server.stop()


def websocket(uri: str, content_type: str = L16, **extra) -> dict:
    return {"type": "websocket", "uri": uri, "content-type": content_type, **extra}


def audio_frames(connection: dict) -> list[bytes]:
    return [m for m in connection["messages"] if isinstance(m, bytes)]


def text_messages(connection: dict) -> list[dict]:
    return [m for m in connection["messages"] if isinstance(m, dict)]


def frame_level(frame: bytes) -> int:
    return int(np.abs(np.frombuffer(frame, "<i2")).max()) if frame else 0


@pytest.mark.parametrize("content_type, frame_bytes", [
    ("audio/l16;rate=16000", 640), ("audio/l16;rate=8000", 320), ("audio/l16;rate=24000", 960)],
    ids=["16kHz", "8kHz", "24kHz"])
def test_websocket_gets_the_connected_message_then_20ms_audio_frames_and_dtmf(
        client, sandbox, receiver, ws_server, content_type, frame_bytes):
    sandbox.phone(ALICE).script(script=[{"wait": 1}, {"say": "hello websocket"}, {"wait": 1},
                                        {"press": "5"}, {"wait": 2}, {"hangup": True}])
    headers = {"app": "workshop", "caller": "alice"}
    caller = place(client, receiver, ALICE, ncco=[
        connect(receiver, websocket(ws_server.url("listen"), content_type, headers=headers))])
    callee = callee_uuid(receiver)
    assert wait_completed(receiver, "callee", callee) == ["started", "ringing", "answered", "completed"]
    receiver.wait_for_status("completed", uuid=caller)
    (connection,) = ws_server.wait_closed()

    assert connection["messages"][0] == {"event": "websocket:connected", "content-type": content_type, **headers}
    frames = audio_frames(connection)
    assert frames and {len(f) for f in frames} == {frame_bytes}  # 20 ms of 16-bit samples
    # Fifty frames a second of the leg's life, on the call's clock.
    (answered,) = [p for p in statuses(receiver, "callee", callee) if p["status"] == "answered"]
    (done,) = [p for p in statuses(receiver, "callee", callee) if p["status"] == "completed"]
    began, ended = moment(sandbox, answered["start_time"]), moment(sandbox, done["end_time"])
    assert len(frames) == pytest.approx(50 * (ended - began), abs=2)
    # The caller's words are in the frames, at the time she said them.
    (said,) = [e for e in sandbox.transcript(callee) if e["who"] == ALICE and e["kind"] == "said"]
    loud = [index for index, frame in enumerate(frames) if frame_level(frame) > 300]
    assert len(loud) > 0.3 * 50 * said["seconds"]  # real speech has gaps between words
    # Where the speech itself is loud (espeak-ng's audio has quiet lead-in and tail) ...
    speech = sandbox.platform.speech.say("hello websocket", PHONE_VOICE)
    audible = np.flatnonzero(np.abs(speech) * 32767 > 300) / media.SAMPLE_RATE
    # ... is where the frames are loud: paced on the call's clock, to the frame.
    assert began + loud[0] * 0.02 == pytest.approx(said["at"] + audible[0], abs=0.04)
    assert began + loud[-1] * 0.02 == pytest.approx(said["at"] + audible[-1], abs=0.04)
    # The key she pressed comes as a text message.
    dtmf = [m for m in text_messages(connection) if m.get("event") == "websocket:dtmf"]
    assert [m["digit"] for m in dtmf] == ["5"] and "duration" in dtmf[0]
    # The call hung up, not the server: no `disconnected` event.
    assert "disconnected" not in [p["status"] for p in statuses(receiver, "callee")]
    assert [p["to"] for p in statuses(receiver, "callee")] == [ws_server.url("listen")] * 4


def test_websocket_audio_is_heard_by_the_caller(client, sandbox, receiver, ws_server):
    """What an echo server sends back is what the websocket party says: the caller hears
    her own words come back from the websocket's address."""
    sandbox.phone(ALICE).script(script=[{"wait": 1}, {"say": "echo echo echo"}, {"wait": 2}, {"hangup": True}])
    uri = ws_server.url("echo")
    caller = place(client, receiver, ALICE, ncco=[connect(receiver, websocket(uri))])
    callee = callee_uuid(receiver)
    wait_completed(receiver, "callee", callee)
    heard = sandbox.transcript(caller)
    (said,) = [e for e in heard if e["who"] == "phone" and e["kind"] == "said"]
    echoes = [e for e in heard if e["who"] == uri and e["kind"] == "audio"]
    assert echoes and all(e["leg"] == callee for e in echoes)
    # Rendered on the call's clock, the echo is her phrase, coming back as she says it.
    start = said["at"] - 1
    echoed = media.render(echoes, sandbox.platform.audio, start, said["at"] + said["seconds"] + 1)[:, 0]
    loud = np.flatnonzero(np.abs(echoed) > 0.02) / media.SAMPLE_RATE + start
    assert len(loud), "the echoed audio is silent"
    # Never early; late by the round trip through the server, which takes real time.
    assert said["at"] <= loud[0] <= said["at"] + 1.0
    assert said["at"] + said["seconds"] - 0.5 <= loud[-1] <= said["at"] + said["seconds"] + 1.0  # (trailing silence)


def test_websocket_audio_sent_faster_than_real_time_is_played_in_order_not_on_top_of_itself(
        client, sandbox, receiver, ws_server):
    """The platform buffers what the server sends and plays it at the call's pace: two
    seconds sent in a burst are heard as two seconds, one chunk after another."""
    sandbox.phone(ALICE).script(script=[{"wait": 4}, {"hangup": True}])
    uri = ws_server.url("burst", frames=100)
    caller = place(client, receiver, ALICE, ncco=[connect(receiver, websocket(uri))])
    wait_completed(receiver, "callee", callee_uuid(receiver))
    chunks = [e for e in sandbox.transcript(caller) if e["who"] == uri and e["kind"] == "audio"]
    assert sum(e["seconds"] for e in chunks) == pytest.approx(2.0)
    for before, after in zip(chunks, chunks[1:]):
        assert after["at"] == pytest.approx(before["at"] + before["seconds"])


def test_websocket_closed_by_the_server_sends_disconnected_and_the_ncco_goes_on(client, sandbox, receiver, ws_server):
    headers = {"room": "42"}
    caller = place(client, receiver, ALICE, ncco=[
        connect(receiver, websocket(ws_server.url("close", after=100), headers=headers)),
        {"action": "talk", "text": "The bot hung up"}])
    callee = callee_uuid(receiver)
    assert wait_completed(receiver, "callee", callee) == ["started", "ringing", "answered", "disconnected", "completed"]
    (disconnected,) = [p for p in statuses(receiver, "callee", callee) if p["status"] == "disconnected"]
    assert disconnected["headers"] == headers
    receiver.wait_for_status("completed", uuid=caller)
    assert texts(sandbox.transcript(caller)) == ["The bot hung up"]


def test_synchronous_websocket_disconnected_event_answers_the_next_ncco(client, sandbox, receiver, ws_server):
    receiver.respond("callee", always=answer_only("disconnected", [{"action": "talk", "text": "Back to a person"}]))
    caller = place(client, receiver, ALICE, ncco=[
        connect(receiver, websocket(ws_server.url("close", after=50)), eventType="synchronous"),
        {"action": "talk", "text": "Original next action"}])
    receiver.wait_for_status("completed", uuid=caller)
    assert texts(sandbox.transcript(caller)) == ["Back to a person"]


@pytest.mark.parametrize("synchronous", [False, True], ids=["async", "synchronous"])
def test_unreachable_websocket_fails(client, sandbox, receiver, synchronous):
    options = {"eventType": "synchronous"} if synchronous else {}
    receiver.respond("callee", always=answer_only("failed", [{"action": "talk", "text": "No bot today"}]))
    caller = place(client, receiver, ALICE, ncco=[
        connect(receiver, websocket(f"ws://127.0.0.1:{free_port()}/nobody"), **options),
        {"action": "talk", "text": "Original next action"}])
    callee = callee_uuid(receiver)
    assert wait_completed(receiver, "callee", callee) == ["started", "ringing", "failed", "completed"]
    receiver.wait_for_status("completed", uuid=caller)
    assert texts(sandbox.transcript(caller)) == ["No bot today" if synchronous else "Original next action"]


def test_websocket_that_never_completes_the_handshake_fails(client, sandbox, receiver, monkeypatch):
    """A server that accepts the TCP connection but never answers the WebSocket handshake:
    the leg fails once the connect time (real seconds) is up, not when the ringing timer ends."""
    from workshop_helpers.sandbox import websocket as websocket_module
    monkeypatch.setattr(websocket_module, "CONNECT_SECONDS", 0.3)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never accepts or answers
        uri = f"ws://127.0.0.1:{silent.getsockname()[1]}/silent"
        caller = place(client, receiver, ALICE, ncco=[connect(receiver, websocket(uri)),
                                                      {"action": "talk", "text": "Original next action"}])
        callee = callee_uuid(receiver)
        assert wait_completed(receiver, "callee", callee) == ["started", "ringing", "failed", "completed"]
    receiver.wait_for_status("completed", uuid=caller)
    assert texts(sandbox.transcript(caller)) == ["Original next action"]


def test_rest_hangup_of_the_websocket_leg_sends_no_disconnected(client, sandbox, receiver, ws_server):
    receiver.respond("callee", always=answer_only("disconnected", [{"action": "talk", "text": "Wrong"}]))
    caller = place(client, receiver, ALICE, ncco=[
        connect(receiver, websocket(ws_server.url("listen")), eventType="synchronous"),
        {"action": "talk", "text": "After the bot"}])
    callee = callee_uuid(receiver)
    receiver.wait_for_status("answered", path="callee", uuid=callee)
    client.voice.hangup(callee)
    assert wait_completed(receiver, "callee", callee) == ["started", "ringing", "answered", "completed"]
    receiver.wait_for_status("completed", uuid=caller)
    assert texts(sandbox.transcript(caller)) == ["After the bot"]
    ws_server.wait_closed()


def test_create_call_straight_to_a_websocket(client, sandbox, receiver, ws_server):
    """POST /v1/calls to a websocket endpoint: the NCCO runs on the websocket's leg, so
    the server hears the talk; the custom authorization is the handshake's header."""
    uri = ws_server.url("listen")
    http = client.http_client
    uuid = http.post(http.api_host, "/v1/calls", {
        "to": [websocket(uri, headers={"lang": "en"}, authorization={"type": "custom", "value": "Bearer x"})],
        "from": {"type": "phone", "number": APP_NUMBER},
        "event_url": [receiver.url("event")],
        "ncco": [{"action": "talk", "text": "Hello websocket"}],
    })["uuid"]
    assert receiver.wait_for_status("completed", uuid=uuid) == ["started", "ringing", "answered", "completed"]
    assert {p["to"] for p in statuses(receiver, "event", uuid)} == {uri}
    (connection,) = ws_server.wait_closed()
    assert connection["headers"]["Authorization"] == "Bearer x"
    assert connection["messages"][0] == {"event": "websocket:connected", "content-type": L16, "lang": "en"}
    (talk,) = [e for e in sandbox.transcript(uuid) if e["kind"] == "talk"]
    loud = [frame for frame in audio_frames(connection) if frame_level(frame) > 300]
    assert len(loud) > 0.3 * 50 * talk["seconds"]  # real speech has gaps between words


def test_vonage_websocket_authorization_sends_a_signed_jwt(client, sandbox, receiver, ws_server):
    import jwt
    caller = place(client, receiver, ALICE, ncco=[connect(receiver, websocket(ws_server.url("listen"), authorization={"type": "vonage"}), limit=1)])
    receiver.wait_for_status("completed", uuid=caller)
    (connection,) = ws_server.wait_closed()
    scheme, _, token = connection["headers"]["Authorization"].partition(" ")
    claims = jwt.decode(token, sandbox.application.signature_secret, algorithms=["HS256"])
    assert scheme == "Bearer" and claims["application_id"] == sandbox.application.id


# -- 6. answering-machine detection ------------------------------------------------------------
def detections(receiver, path: str = "event") -> list[dict]:
    return [p for p in receiver.payloads(path) if p.get("status") in ("machine", "human")]


def test_machine_detection_continue_sends_machine_with_call_uuid(client, sandbox, receiver):
    uuid = place(client, receiver, VOICEMAIL, ncco=[{"action": "wait", "timeout": 8}], machine_detection="continue")
    receiver.wait_for(lambda r: "completed" in [p.get("status") for p in r.payloads("event")])
    (machine,) = detections(receiver)
    assert machine["status"] == "machine" and machine["call_uuid"] == uuid and "uuid" not in machine
    assert machine["conversation_uuid"] == sandbox.call(uuid)["conversation_uuid"]
    assert [p.get("status") for p in receiver.payloads("event")] == ["started", "ringing", "answered", "machine", "completed"]
    assert receiver.payloads("event")[-1]["duration"] == "8"  # the NCCO ran on


def test_machine_detection_hangup_ends_the_call_after_the_machine_event(client, sandbox, receiver):
    uuid = place(client, receiver, VOICEMAIL, ncco=[{"action": "wait", "timeout": 30}], machine_detection="hangup")
    receiver.wait_for_status("completed", uuid=uuid)
    assert [p.get("status") for p in receiver.payloads("event")] == ["started", "ringing", "answered", "machine", "completed"]
    completed = receiver.payloads("event")[-1]
    assert int(completed["duration"]) < 5 and completed["disconnected_by"] == "platform"


def test_machine_detection_finds_a_human(client, sandbox, receiver):
    uuid = place(client, receiver, HUMAN, ncco=[{"action": "wait", "timeout": 4}], machine_detection="hangup")
    receiver.wait_for_status("completed", uuid=uuid)
    (human,) = detections(receiver)
    assert human["status"] == "human" and human["call_uuid"] == uuid and "uuid" not in human
    assert receiver.payloads("event")[-1]["duration"] == "4"  # a human is not hung up on


def test_advanced_machine_detection_reports_the_beep(client, sandbox, receiver):
    uuid = place(client, receiver, VOICEMAIL, ncco=[{"action": "wait", "timeout": 12}],
                 advanced_machine_detection={"behavior": "continue", "mode": "detect_beep"})
    receiver.wait_for_status("completed", uuid=uuid)
    first, second = detections(receiver)
    assert first["status"] == second["status"] == "machine"
    assert "sub_state" not in first and second["sub_state"] == "beep_start"
    (beep,) = [e for e in sandbox.transcript(uuid) if e["kind"] == "beep" and e["who"] == "phone"]
    assert moment(sandbox, second["timestamp"]) == pytest.approx(beep["at"], abs=TICK)


def test_a_scripted_voicemail_is_detected_as_a_machine(client, sandbox, receiver):
    sandbox.phone(BOB).script(answered_by="machine")
    uuid = place(client, receiver, BOB, ncco=[{"action": "wait", "timeout": 30}],
                 advanced_machine_detection={"behavior": "hangup"})
    receiver.wait_for_status("completed", uuid=uuid)
    assert [p["status"] for p in detections(receiver)] == ["machine"]
    assert int(receiver.payloads("event")[-1]["duration"]) < 5


@pytest.mark.parametrize("behaviour", ["continue", "hangup"])
def test_connect_with_machine_detection(client, sandbox, receiver, behaviour):
    """The connected leg's detection event goes to the connect's eventUrl; with hangup
    the machine is hung up on and the caller's NCCO goes on."""
    caller = place(client, receiver, ALICE, ncco=[
        connect(receiver, phone(VOICEMAIL), machineDetection=behaviour, limit=8),
        {"action": "talk", "text": "Next"}])
    callee = callee_uuid(receiver)
    assert wait_completed(receiver, "callee", callee) == ["started", "ringing", "answered", "machine", "completed"]
    (machine,) = detections(receiver, "callee")
    assert machine["call_uuid"] == callee and machine["direction"] == "outbound"
    assert not detections(receiver, "event")
    (done,) = [p for p in statuses(receiver, "callee", callee) if p["status"] == "completed"]
    assert (int(done["duration"]) < 5) == (behaviour == "hangup")
    receiver.wait_for_status("completed", uuid=caller)
    assert texts(sandbox.transcript(caller)) == ["Next"]
