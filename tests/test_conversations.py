"""Multi-party calls: named conversations, the proxy pattern, a moderated conference and
the NCCO transfer action (reference §2.3, §2.10, §3.7). The tests drive the sandbox with
the official SDK and the virtual phones, and read what each party heard."""

from __future__ import annotations

import io

import numpy as np
import soundfile
from conftest import download as fetch
from conftest import place, wait_until
from flask import Response

ALICE, BOB, CAROL, DAVE = "447700900201", "447700900202", "447700900203", "447700900204"


def said_by(entries, who):
    return [e["text"] for e in entries if e["who"] == who and e["kind"] == "said"]


def transfers(receiver, uuid):
    return [p for p in receiver.payloads("event") if p.get("type") == "transfer" and p["uuid"] == uuid]


def test_the_proxy_pattern_both_parties_hear_each_other(client, sandbox, receiver):
    """An inbound caller is put in a named conversation; the app calls the other party
    with an NCCO that joins the same conversation; each hears what the other says."""
    room = [{"action": "talk", "text": "Connecting you"}, {"action": "conversation", "name": "proxy-1"}]
    receiver.respond("answer", room)
    sandbox.application.set_webhooks(answer_url=receiver.url("answer"), event_url=receiver.url("event"))
    sandbox.phone(ALICE).script(script=[{"wait": 4}, {"say": "hello this is alice"}, {"wait": 6}, {"hangup": True}])
    sandbox.phone(BOB).script(script=[{"wait": 1}, {"say": "hi alice bob here"}])

    caller = sandbox.phone(ALICE).call()
    receiver.wait_for_status("answered", uuid=caller)
    callee = place(client, receiver, BOB, ncco=[{"action": "conversation", "name": "proxy-1"}])
    receiver.wait_for_status("completed", uuid=caller)
    sandbox.phone(BOB).hangup() if sandbox.call(callee)["status"] == "answered" else None
    receiver.wait_for_status("completed", uuid=callee)

    alice_heard, bob_heard = sandbox.transcript(caller), sandbox.transcript(callee)
    assert said_by(alice_heard, BOB) == ["hi alice bob here"]
    assert said_by(bob_heard, ALICE) == ["hello this is alice"]
    # Each moved from its own conversation into the named one: a transfer event each.
    (alice_moved,), (bob_moved,) = transfers(receiver, caller), transfers(receiver, callee)
    assert alice_moved["conversation_uuid_to"] == bob_moved["conversation_uuid_to"]
    assert alice_moved["conversation_uuid_from"] != bob_moved["conversation_uuid_from"]
    assert sandbox.call(caller)["conversation_uuid"] == alice_moved["conversation_uuid_to"]
    # What Bob said reached Alice at the moment he said it (the clocks agree).
    (bob_said,) = [e for e in bob_heard if e["who"] == "phone" and e["kind"] == "said"]
    (alice_got,) = [e for e in alice_heard if e["who"] == BOB]
    assert alice_got["at"] == bob_said["at"] and alice_got["leg"] == callee


def test_a_named_conversation_persists_and_is_rejoined_with_the_same_uuid(client, sandbox, receiver):
    ncco = [{"action": "conversation", "name": "standing-room"}]
    sandbox.phone(ALICE).script(script=[{"wait": 1}, {"hangup": True}])
    first = place(client, receiver, ALICE, ncco=ncco)
    receiver.wait_for_status("completed", uuid=first)
    second = place(client, receiver, ALICE, ncco=ncco)
    receiver.wait_for_status("completed", uuid=second)
    rooms = {transfers(receiver, leg)[0]["conversation_uuid_to"] for leg in (first, second)}
    assert len(rooms) == 1


def test_a_moderated_conference(client, sandbox, receiver):
    """Attendees wait with hold music until the moderator joins; everyone then hears
    everyone; the moderator leaves (endOnExit) and the conference ends for all, with a
    recording of what was said from start to end."""
    music = np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000).astype(np.float32) * 0.2
    wav = io.BytesIO()
    soundfile.write(wav, music, 16000, format="WAV")
    receiver.respond("hold.wav", always=Response(wav.getvalue(), mimetype="audio/wav"))
    attendee = [{"action": "conversation", "name": "standup", "startOnEnter": False,
                 "musicOnHoldUrl": [receiver.url("hold.wav")]}, {"action": "talk", "text": "The call has ended"}]
    moderator = [{"action": "conversation", "name": "standup", "endOnExit": True, "record": True,
                  "eventUrl": [receiver.url("recording")]}]
    sandbox.phone(ALICE).script(script=[{"wait": 5}, {"say": "alice here"}])
    sandbox.phone(BOB).script(script=[{"wait": 7}, {"say": "bob here"}])
    sandbox.phone(CAROL).script(script=[{"wait": 1}, {"say": "good morning everyone"}, {"wait": 8}, {"hangup": True}])

    alice = place(client, receiver, ALICE, ncco=attendee)
    bob = place(client, receiver, BOB, ncco=attendee)
    receiver.wait_for_status("answered", uuid=bob)
    wait_until(lambda: any(e["kind"] == "music" for e in sandbox.transcript(bob)))
    carol = place(client, receiver, CAROL, ncco=moderator)
    for leg in (alice, bob, carol):
        receiver.wait_for_status("completed", uuid=leg)

    alice_heard, bob_heard = sandbox.transcript(alice), sandbox.transcript(bob)
    carol_joined = [e for e in sandbox.transcript(carol) if e["kind"] == "transfer"][0]["at"]
    music_heard = [e for e in alice_heard if e["kind"] == "music"]
    assert music_heard and all(e["at"] + e["seconds"] <= carol_joined for e in music_heard)  # only while waiting
    assert said_by(alice_heard, CAROL) == ["good morning everyone"]
    assert said_by(alice_heard, BOB) == ["bob here"] and said_by(bob_heard, ALICE) == ["alice here"]
    assert said_by(sandbox.transcript(carol), ALICE) == ["alice here"]
    # endOnExit: the attendees' conversation ended, so their NCCO went on to its talk.
    assert "The call has ended" in [e["text"] for e in alice_heard if e["kind"] == "talk"]
    for leg in (alice, bob):
        completed = [p for p in receiver.payloads("event") if p.get("uuid") == leg and p.get("status") == "completed"]
        assert completed[0]["disconnected_by"] == "platform"

    receiver.wait_for(lambda r: r.payloads("recording"))
    (record,) = receiver.payloads("recording")
    room = transfers(receiver, carol)[0]["conversation_uuid_to"]
    assert record["conversation_uuid"] == room
    download = fetch(sandbox, client, record["recording_url"])
    assert download.status_code == 200 and download.headers["Content-Type"] == "audio/mpeg"
    samples, rate = soundfile.read(io.BytesIO(download.content))
    # From the moderator joining (as she answered) to her leaving: her call's length.
    (carol_completed,) = [p for p in receiver.payloads("event") if p.get("uuid") == carol and p.get("status") == "completed"]
    assert abs(len(samples) / rate - int(carol_completed["duration"])) < 1.5
    assert np.abs(samples).max() > 0.05  # there is speech in it, not silence


def test_can_hear_and_can_speak_and_mute(client, sandbox, receiver):
    """A coach hears both sides but only the agent hears the coach (a whisper)."""
    # The coach joins about a second after the others answer: they speak well after that.
    sandbox.phone(ALICE).script(script=[{"wait": 6}, {"say": "customer speaking"}, {"wait": 4}, {"hangup": True}])
    sandbox.phone(BOB).script(script=[{"wait": 6}, {"say": "agent speaking"}, {"wait": 4}, {"hangup": True}])
    sandbox.phone(CAROL).script(script=[{"wait": 1}, {"hangup": True}])
    customer = place(client, receiver, ALICE, ncco=[{"action": "conversation", "name": "support"}])
    agent = place(client, receiver, BOB, ncco=[{"action": "conversation", "name": "support"}])
    receiver.wait_for_status("answered", uuid=customer)
    receiver.wait_for_status("answered", uuid=agent)
    sandbox.phone(DAVE).script(script=[{"wait": 2}, {"say": "coach speaking"}, {"wait": 4}, {"hangup": True}])
    coach = place(client, receiver, DAVE, ncco=[{"action": "conversation", "name": "support", "canSpeak": [agent]}])
    muted = place(client, receiver, CAROL, ncco=[{"action": "conversation", "name": "support", "mute": True}])
    for leg in (customer, agent, coach, muted):
        receiver.wait_for_status("completed", uuid=leg)
    assert said_by(sandbox.transcript(agent), DAVE) == ["coach speaking"]
    assert said_by(sandbox.transcript(customer), DAVE) == []
    assert said_by(sandbox.transcript(coach), ALICE) == ["customer speaking"]


def test_earmuff_and_mute_from_the_rest_api(client, sandbox, receiver):
    sandbox.phone(ALICE).script(script=[{"wait": 3}, {"say": "first"}, {"wait": 2}, {"say": "second"}, {"wait": 3}, {"hangup": True}])
    sandbox.phone(BOB).script(script=[{"wait": 3}, {"say": "one"}, {"wait": 2}, {"say": "two"}, {"wait": 3}, {"hangup": True}])
    alice = place(client, receiver, ALICE, ncco=[{"action": "conversation", "name": "muting"}])
    bob = place(client, receiver, BOB, ncco=[{"action": "conversation", "name": "muting"}])
    receiver.wait_for_status("answered", uuid=bob)
    wait_until(lambda: said_by(sandbox.transcript(bob), ALICE))
    client.voice.earmuff(bob)  # Bob hears no more...
    client.voice.mute(alice)  # ...and nobody hears Alice
    receiver.wait_for_status("completed", uuid=alice)
    receiver.wait_for_status("completed", uuid=bob)
    assert said_by(sandbox.transcript(bob), ALICE) == ["first"]
    # Bob is earmuffed, not muted: Alice still hears him.
    assert said_by(sandbox.transcript(alice), BOB) == ["one", "two"]


def test_transfer_moves_the_legs_of_a_conversation_into_another(client, sandbox, receiver):
    sandbox.phone(ALICE).script(script=[{"wait": 8}, {"say": "welcome bob"}, {"wait": 3}, {"hangup": True}])
    sandbox.phone(BOB).script(script=[{"wait": 4}, {"say": "thanks alice"}, {"wait": 6}, {"hangup": True}])
    alice = place(client, receiver, ALICE, ncco=[{"action": "conversation", "name": "lobby"}])
    receiver.wait_for(lambda r: transfers(r, alice))
    lobby = transfers(receiver, alice)[0]["conversation_uuid_to"]
    bob = place(client, receiver, BOB, ncco=[
        {"action": "talk", "text": "Moving you"},
        {"action": "transfer", "conversation_id": lobby},
    ])
    receiver.wait_for_status("completed", uuid=alice)
    receiver.wait_for_status("completed", uuid=bob)
    (moved,) = transfers(receiver, bob)
    assert moved["conversation_uuid_to"] == lobby
    assert said_by(sandbox.transcript(alice), BOB) == ["thanks alice"]
    assert said_by(sandbox.transcript(bob), ALICE) == ["welcome bob"]


def test_transfer_to_an_unknown_conversation_is_an_error_event_and_the_ncco_goes_on(client, sandbox, receiver):
    uuid = place(client, receiver, "447700900000", ncco=[
        {"action": "transfer", "conversation_id": "CON-00000000-0000-0000-0000-000000000000"},
        {"action": "talk", "text": "Still here"},
    ])
    receiver.wait_for_status("completed", uuid=uuid)
    errors = [p for p in receiver.payloads("event") if "reason" in p]
    assert "CON-00000000" in errors[0]["detail"]
    assert "Still here" in [e["text"] for e in sandbox.phone("447700900000").heard(uuid)]


def test_a_conference_driven_through_the_sandbox_control_api(sandbox, receiver):
    """Apps in any language can test multi-party calls: phones call in, speak and hang up
    over HTTPS, and the transcript and audio of each leg come back the same way."""
    from api_requests import Api

    api = Api(sandbox)
    receiver.respond("answer", always=[{"action": "conversation", "name": "http-room"}])
    sandbox.application.set_webhooks(answer_url=receiver.url("answer"), event_url=receiver.url("event"))
    legs = {}
    for number in (ALICE, BOB):
        response = api.post(f"/sandbox/phones/{number}/calls")
        assert response.status_code == 201
        legs[number] = response.json()["uuid"]
        receiver.wait_for(lambda r, leg=legs[number]: transfers(r, leg))  # in the room
    wait_until(lambda: all(sandbox.call(leg)["status"] == "answered" for leg in legs.values()))
    assert api.post(f"/sandbox/phones/{ALICE}/say", json={"text": "can you hear me"}).status_code == 200
    assert api.post(f"/sandbox/phones/{BOB}/press", json={"digits": "5"}).status_code == 200
    for number in legs:
        assert api.post(f"/sandbox/phones/{number}/hangup").status_code == 200

    bob_heard = api.get(f"/sandbox/calls/{legs[BOB]}/transcript").json()["transcript"]
    assert said_by(bob_heard, ALICE) == ["can you hear me"]
    alice_heard = api.get(f"/sandbox/calls/{legs[ALICE]}/transcript").json()["transcript"]
    assert [(e["who"], e["text"]) for e in alice_heard if e["kind"] == "dtmf"] == [(BOB, "5")]
    audio = api.get(f"/sandbox/calls/{legs[BOB]}/audio")
    assert audio.status_code == 200 and audio.headers["Content-Type"] == "audio/wav"
    samples, rate = soundfile.read(io.BytesIO(audio.content))
    assert rate == 16000 and np.abs(samples).max() > 0.05  # Alice's words are in Bob's audio
    assert api.get("/sandbox/calls/nope/audio").status_code == 404
    api.close()
