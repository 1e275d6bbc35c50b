"""Regression tests for engine bugs found in review: each once failed as described."""

from __future__ import annotations

import asyncio
import threading

import pytest
from conftest import place, wait_until

from workshop_helpers.sandbox import PhoneError
from workshop_helpers.sandbox.clock import Clock

LONG = " ".join(["word"] * 50)  # 20 virtual seconds of speech


def heard(sandbox, uuid):
    return [e["text"] for e in sandbox.transcript(uuid) if e["who"] == "platform" and e["kind"] == "talk"]


def test_a_recording_cut_short_by_hangup_still_sends_its_event(client, sandbox, receiver):
    phone = sandbox.phone("447700900501").script(script=[{"wait": 2}, {"hangup": True}])
    place(client, receiver, phone.number, ncco=[
        {"action": "record", "endOnKey": "#", "eventUrl": [receiver.url("recording")]},
        {"action": "wait", "timeout": 60}])
    receiver.wait_for(lambda r: r.payloads("recording"))
    assert receiver.payloads("recording")[0]["size"] > 0


def test_a_long_spoken_answer_wins_over_the_dtmf_time_out(client, sandbox, receiver):
    phone = sandbox.phone("447700900502").script(
        script=[{"await_input": True}, {"say": "I would like to talk to sales please"}])
    place(client, receiver, phone.number, ncco=[
        {"action": "input", "type": ["dtmf", "speech"], "eventUrl": [receiver.url("input")]}])
    receiver.wait_for(lambda r: r.payloads("input"))
    result = receiver.payloads("input")[0]
    assert result["speech"]["results"][0]["text"] == "I would like to talk to sales please"
    assert result["dtmf"] == {"digits": None, "timed_out": False}


def test_transfer_during_a_looping_barge_in_prompt_plays_the_new_ncco(client, sandbox, receiver):
    uuid = place(client, receiver, "447700900000", ncco=[
        {"action": "talk", "text": "Hold music", "bargeIn": True, "loop": 0},
        {"action": "input", "type": ["dtmf"], "dtmf": {"timeOut": 10}}])
    receiver.wait_for_status("answered", uuid=uuid)
    wait_until(lambda: "Hold music" in heard(sandbox, uuid))
    client.voice.transfer_call_ncco(uuid, [__import__("vonage_voice").Talk(text="You have been transferred")])
    receiver.wait_for_status("completed", uuid=uuid)
    assert heard(sandbox, uuid)[-1] == "You have been transferred"


def test_transfer_during_the_answer_webhook_wins(client, sandbox, receiver):
    released = threading.Event()

    def slow_answer(_):
        released.wait(30)  # answered only once the transfer has been made
        return [{"action": "talk", "text": "From the answer webhook"}]

    receiver.respond("answer", slow_answer)
    uuid = place(client, receiver, "447700900000", answer_url=[receiver.url("answer")])
    receiver.wait_for(lambda r: "answer" in [q["path"] for q in r.requests])
    client.voice.transfer_call_ncco(uuid, [__import__("vonage_voice").Talk(text="Transferred")])
    released.set()
    receiver.wait_for_status("completed", uuid=uuid)
    assert heard(sandbox, uuid) == ["Transferred"]


def test_speech_barges_in_on_a_prompt(client, sandbox, receiver):
    phone = sandbox.phone("447700900503").script(script=[{"wait": 2}, {"say": "sales"}])
    place(client, receiver, phone.number, ncco=[
        {"action": "talk", "text": "Tell me what you want", "bargeIn": True, "loop": 0},
        {"action": "input", "type": ["speech"], "eventUrl": [receiver.url("input")]}])
    receiver.wait_for(lambda r: r.payloads("input"))
    assert receiver.payloads("input")[0]["speech"]["results"][0]["text"] == "sales"


def test_hangup_during_a_slow_webhook_does_not_retry_or_delay_completed(client, sandbox, receiver):
    released = threading.Event()

    def slow(_):
        released.wait(30)  # the notify's answer is held back until the test has looked
        return ""

    receiver.respond("notify", slow, always="")
    resource = sandbox.application.resource()  # a 3 s read time-out, not 10: a shorter test
    resource["capabilities"]["voice"]["webhooks"]["event_url"] = {
        "address": receiver.url("event"), "http_method": "POST", "socket_timeout": 3000}
    sandbox.application.replace(resource)
    phone = sandbox.phone("447700900504").script(script=[{"wait": 1}, {"hangup": True}])
    uuid = place(client, receiver, phone.number, ncco=[
        {"action": "notify", "payload": {}, "eventUrl": [receiver.url("notify")]}])
    receiver.wait_for_status("completed", uuid=uuid)  # while the notify is still unanswered
    released.set()
    sandbox.sleep(20)  # time for a retry, had there been one
    assert [r["path"] for r in receiver.requests].count("notify") == 1  # and no retry
    completed = receiver.payloads("event")[-1]
    assert completed["status"] == "completed" and completed["duration"] == "1"  # not delayed


def test_clock_wait_for_never_swallows_a_cancellation():
    async def scenario():
        clock = Clock(speed=1)
        answer = asyncio.get_running_loop().create_future()
        waiter = asyncio.ensure_future(clock.wait_for(answer, 10))
        await asyncio.sleep(0)
        answer.set_result("answer")  # the phone answers ...
        waiter.cancel()  # ... in the same loop step as the hangup
        with pytest.raises(asyncio.CancelledError):
            await waiter

    asyncio.run(scenario())


def test_each_await_input_step_waits_for_a_new_input(client, sandbox, receiver):
    phone = sandbox.phone("447700900505").script(
        script=[{"await_input": True}, {"press": "1"}, {"await_input": True}, {"press": "2"}])
    menu = {"action": "input", "type": ["dtmf"], "dtmf": {"timeOut": 2}, "eventUrl": [receiver.url("input")]}
    uuid = place(client, receiver, phone.number, ncco=[menu, menu])
    receiver.wait_for_status("completed", uuid=uuid)
    assert [p["dtmf"]["digits"] for p in receiver.payloads("input")] == ["1", "2"]


def test_a_synchronous_input_takes_the_keys_from_an_asynchronous_one(client, sandbox, receiver):
    phone = sandbox.phone("447700900506").script(script=[{"await_input": True}, {"press": "1234"}])
    uuid = place(client, receiver, phone.number, ncco=[
        {"action": "input", "type": ["dtmf"], "mode": "asynchronous", "eventUrl": [receiver.url("async")]},
        {"action": "input", "type": ["dtmf"], "eventUrl": [receiver.url("input")]}])
    receiver.wait_for_status("completed", uuid=uuid)
    assert receiver.payloads("input")[0]["dtmf"] == {"digits": "1234", "timed_out": False}
    assert receiver.payloads("async") == []


def test_an_inbound_call_hung_up_during_its_answer_webhook_is_never_cancelled(sandbox, receiver):
    released = threading.Event()

    def slow(_):
        released.wait(30)  # answered only once the caller has hung up
        return [{"action": "talk", "text": "hi"}]

    sandbox.application.set_webhooks(answer_url=receiver.url("answer"), event_url=receiver.url("event"))
    receiver.respond("answer", slow)
    phone = sandbox.phone("447700900507")
    uuid = phone.call()
    wait_until(lambda: receiver.requests)
    sandbox.platform.run(lambda: sandbox.platform.leg(uuid).hang_up(by="user"))
    released.set()
    receiver.wait_for_status("completed", uuid=uuid)
    assert receiver.statuses(uuid=uuid) == ["completed"]
    assert sandbox.call(uuid)["status"] == "completed"


def test_a_manual_phone_can_answer_its_second_ringing_call(client, sandbox, receiver):
    phone = sandbox.phone("447700900508").script(on_ring="manual")
    first = place(client, receiver, phone.number, ringing_timer=2)
    receiver.wait_for_status("ringing", uuid=first)
    second = place(client, receiver, phone.number)
    receiver.wait_for_status("ringing", uuid=second)
    receiver.wait_for_status("timeout", uuid=first)  # the first gives up ...
    phone.answer()  # ... and the second can still be answered
    receiver.wait_for_status("answered", uuid=second)


def test_keys_pressed_before_a_barge_in_prompt_do_not_answer_it(client, sandbox, receiver):
    phone = sandbox.phone("447700900509").script(script=[{"press": "9"}])
    uuid = place(client, receiver, phone.number, ncco=[
        {"action": "talk", "text": "a welcome message for you all"},
        {"action": "talk", "text": "Press a key", "bargeIn": True},
        {"action": "input", "type": ["dtmf"], "dtmf": {"timeOut": 2}, "eventUrl": [receiver.url("input")]}])
    receiver.wait_for_status("completed", uuid=uuid)
    assert receiver.payloads("input")[0]["dtmf"] == {"digits": None, "timed_out": True}


def test_an_empty_answer_is_an_invalid_ncco_and_the_fallback_is_tried(client, sandbox, receiver):
    sandbox.application.set_webhooks(fallback_answer_url=receiver.url("fallback"))
    receiver.respond("fallback", [{"action": "talk", "text": "From the fallback"}])
    uuid = place(client, receiver, "447700900000", answer_url=[receiver.url("answer")])
    receiver.wait_for_status("completed", uuid=uuid)
    fallback = [r for r in receiver.requests if r["path"] == "fallback"][0]["args"]
    assert fallback["reason"] == "Syntax error in NCCO. Invalid value type or action."
    assert heard(sandbox, uuid) == ["From the fallback"]


def test_webhook_methods_follow_the_documented_defaults(client, receiver):
    place(client, receiver, "447700900006", event_method="GET", ncco=[
        {"action": "record", "eventUrl": [receiver.url("recording")]},
        {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1}}])
    receiver.wait_for(lambda r: r.payloads("recording"))
    methods = {r["path"]: r["method"] for r in receiver.requests}
    assert methods["event"] == "GET"  # input without eventUrl: the call's event_method
    assert methods["recording"] == "POST"  # an action's own eventUrl: POST by default
    input_event = [r for r in receiver.requests if r["path"] == "event" and "dtmf" in r["args"]][0]
    assert input_event["args"]["dtmf"] == '{"digits":"1","timed_out":false}'


def test_a_phone_cannot_say_nothing(client, sandbox, receiver):
    uuid = place(client, receiver, "447700900000", ncco=[{"action": "wait", "timeout": 60}])
    receiver.wait_for_status("answered", uuid=uuid)
    with pytest.raises(PhoneError, match="say takes a phrase"):
        sandbox.phone("447700900000").say("")
    client.voice.hangup(uuid)


def test_end_on_silence_ends_when_its_quiet_runs_out_even_a_rounding_error_short():
    """Quiet that, worked out again from the clock, is 1e-10 s short of endOnSilence: a
    timer that short is due at once and never moves a virtual clock, so a record that
    kept looking would spin for ever (a check hung on its 5th voicemail this way)."""
    from workshop_helpers.sandbox.actions import _until_silence
    from workshop_helpers.sandbox.clock import VirtualClock

    class Leg:  # only what _until_silence reads
        def __init__(self, clock):
            self.clock, self.activity = clock, asyncio.Event()
            self.last_activity_end = 997.0 + 1e-10
            self.waits = 0

    clock = VirtualClock()
    clock._now = 1000.0
    leg = Leg(clock)
    counted = clock.wait_for

    async def wait_for(awaitable, seconds):
        leg.waits += 1
        if leg.waits > 3:
            raise AssertionError(f"still waiting after {leg.waits} waits of {seconds} s")
        return await counted(awaitable, seconds)

    clock.wait_for = wait_for
    loop = clock.new_event_loop()
    try:
        loop.run_until_complete(_until_silence(leg, 3, start=0.0))
    finally:
        loop.close()
    assert leg.waits == 1 and clock.elapsed() == 1000.0


@pytest.mark.parametrize("offset", [0.1 * n for n in range(1, 30, 3)])
def test_a_stream_that_played_to_its_end_lasted_exactly_its_length_whenever_it_began(offset):
    """Call time is a sum of moments, so 8 s played from 37.3 s in could come out as
    7.999999999999999 s: the transcript keeps lengths to the microsecond."""
    from vonage_voice import Stream

    import workshop_helpers as wh
    ws = wh.start(clock="virtual")
    try:
        ws.sleep(offset)

        @ws.answer
        def answer(call):
            return [Stream(streamUrl=[ws.hold_music_url])]

        phone = ws.phone("447700900612")
        ws.wait_for(phone.call(ws.number))
        assert [e["seconds"] for e in phone.heard() if e["kind"] == "stream"] == [8.0]
    finally:
        wh.stop()


def test_a_phone_that_awaits_the_beep_speaks_after_it_however_long_the_greeting():
    from vonage_voice import Record, Talk

    import workshop_helpers as wh
    ws = wh.start(clock="virtual")
    try:
        for greeting in ("Hi.", "Sorry, nobody is here to take your call right now. Please leave a message."):
            @ws.answer
            def answer(call, greeting=greeting):
                return [Talk(text=greeting), Record(beepStart=True, endOnSilence=3)]

            phone = ws.phone("447700900614").script(script=[{"await_beep": True}, {"say": "it is me"}])
            ws.wait_for(phone.call(ws.number))
            (beep,) = [e for e in phone.transcript() if e["kind"] == "beep"]
            (said,) = [e for e in phone.transcript() if e["kind"] == "said"]
            assert said["at"] == pytest.approx(beep["at"] + beep["seconds"])
    finally:
        wh.stop()
