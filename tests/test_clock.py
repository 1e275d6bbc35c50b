"""The sandbox's clocks: a virtual clock stands still while the platform works, jumps to the
next timer while somebody waits, flows like real time while the outside world is awaited,
and never passes a timer without running it at its exact moment."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from conftest import poll_until

import workshop_helpers as wh
from workshop_helpers.sandbox import Sandbox, SandboxError
from workshop_helpers.sandbox.clock import Clock, VirtualClock, make_clock


def run(clock: VirtualClock, scenario):
    """Run `scenario(clock)` on a loop on the clock's time, in this thread."""
    loop = clock.new_event_loop()
    try:
        return loop.run_until_complete(scenario(clock))
    finally:
        loop.close()


async def woken_at(clock: Clock, seconds: float, record: list) -> None:
    await clock.sleep(seconds)
    record.append(clock.elapsed())


# -- jumping ---------------------------------------------------------------------------------
def test_a_waiter_jumps_straight_to_each_timer_and_each_fires_at_its_exact_moment():
    async def scenario(clock):
        woken: list[float] = []
        for seconds in (2.5, 0.3, 1800, 1.7):
            asyncio.ensure_future(woken_at(clock, seconds, woken))
        await clock.until(lambda: len(woken) == 4, 3600)
        return woken, clock.elapsed()

    woken, now = run(VirtualClock(), scenario)
    assert woken == [0.3, 1.7, 2.5, 1800]  # an hour of timers, in no real time at all
    assert now == 1800  # and it stopped as soon as the condition held


def test_a_wait_stops_at_the_moment_its_condition_comes_true_not_at_the_next_timer():
    async def scenario(clock):
        flag = asyncio.Event()
        later: list[float] = []

        async def set_flag():
            await clock.sleep(2)
            flag.set()

        asyncio.ensure_future(set_flag())
        asyncio.ensure_future(woken_at(clock, 5, later))
        value = await clock.until(flag.is_set, 60)
        return value, clock.elapsed(), later

    value, now, later = run(VirtualClock(), scenario)
    assert (value, now, later) == (True, 2, [])  # the 5 s timer has not run


def test_a_wait_whose_condition_never_holds_ends_exactly_at_its_timeout():
    async def scenario(clock):
        return await clock.until(lambda: False, 42.5), clock.elapsed()

    assert run(VirtualClock(), scenario) == (None, 42.5)


def test_a_broken_condition_ends_the_wait_with_its_error():
    def broken():
        if clock.elapsed() > 1:
            raise KeyError("no such call")
        return False

    async def scenario(clock):
        asyncio.ensure_future(clock.sleep(3))
        await clock.until(broken, 60)

    clock = VirtualClock()
    with pytest.raises(KeyError, match="no such call"):
        run(clock, scenario)


# -- standing still -------------------------------------------------------------------------------
def test_time_stands_still_while_work_is_in_a_worker_thread():
    async def scenario(clock):
        asyncio.ensure_future(clock.sleep(1))
        waiting = asyncio.ensure_future(clock.until(lambda: False, 60))
        before = clock.elapsed()
        await clock.in_thread(time.sleep, 0.2)  # espeak-ng, say
        after = clock.elapsed()
        waiting.cancel()
        return before, after

    before, after = run(VirtualClock(), scenario)
    assert after == before  # the 1 s timer was not reached while the thread worked


def test_time_stands_still_while_nobody_waits_for_it():
    clock = VirtualClock()
    loop = clock.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        woken: list[float] = []
        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(woken_at(clock, 1, woken)))
        time.sleep(0.3)  # a notebook reading its results: the call must not run on meanwhile
        assert (clock.elapsed(), woken) == (0, [])
        until = asyncio.run_coroutine_threadsafe(clock.until(lambda: woken, 10), loop)
        assert until.result(10) == [1] and clock.elapsed() == 1
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


# -- the outside world ----------------------------------------------------------------------------
async def answered_later(clock, hold, real_seconds: float):
    """A server in another thread answers after `real_seconds`, while `hold` is held; a
    platform timer is set 30 s ahead and somebody waits. Returns (answer, when, timer fired?)."""
    loop = asyncio.get_running_loop()
    answer = loop.create_future()
    later: list[float] = []
    asyncio.ensure_future(woken_at(clock, 30, later))
    waiting = asyncio.ensure_future(clock.until(lambda: False, 60))
    threading.Timer(real_seconds, lambda: loop.call_soon_threadsafe(answer.set_result, "200 OK")).start()
    with hold:
        result = await answer
    waiting.cancel()
    return result, clock.elapsed(), later


def test_time_stands_still_while_a_request_is_answered_however_long_the_answer_takes():
    clock = VirtualClock()
    result, answered_at, later = run(clock, lambda c: answered_later(c, c.request(5), 0.05))
    assert (result, answered_at, later) == ("200 OK", 0, [])  # your server's speed never shows


def test_an_unanswered_request_times_out_at_its_exact_moment_in_call_time():
    async def scenario(clock):
        never = asyncio.get_running_loop().create_future()
        waiting = asyncio.ensure_future(clock.until(lambda: False, 60))
        with clock.request(0.25):
            try:
                await asyncio.wait_for(never, 0.25)
            except asyncio.TimeoutError:
                waiting.cancel()
                return clock.elapsed()

    assert run(VirtualClock(speed=10), scenario) == 0.25  # after 25 ms of real time at speed 10


def test_time_flows_while_a_websocket_is_open_and_never_jumps_past_what_it_says():
    clock = VirtualClock(speed=1)
    result, answered_at, later = run(clock, lambda c: answered_later(c, c.streaming(), 0.05))
    assert result == "200 OK" and later == []  # the 30 s timer was not jumped to meanwhile
    assert 0 < answered_at < 30  # the real 50 ms (or more, on a busy machine) went by


# -- choosing a clock -----------------------------------------------------------------------------
def test_the_clock_is_named_and_a_wrong_name_says_which_exist():
    assert isinstance(make_clock("real", 5), Clock) and not make_clock("real").virtual
    assert make_clock("virtual").virtual and make_clock("virtual", 2).speed == 2
    with pytest.raises(ValueError, match='use "real" or "virtual"'):
        make_clock("fast")
    with pytest.raises(ValueError, match="speed must be a positive number"):
        make_clock("virtual", 0)


@pytest.mark.parametrize("seconds", [-1, "5", float("inf"), float("nan"), 1e11, None, True])
def test_a_wait_the_clock_cannot_do_says_what_it_can(tmp_path, seconds):
    with Sandbox(state_dir=tmp_path / "s", clock="virtual") as sandbox:
        with pytest.raises(ValueError, match="must be a number of seconds of call time from 0 to 86400"):
            sandbox.sleep(seconds)
        with pytest.raises(ValueError, match="timeout must be a number of seconds"):
            sandbox.wait_until(lambda: True, seconds)
        sandbox.sleep(5)  # and the sandbox is fine afterwards
        assert sandbox.clock.elapsed() == 5


def test_waiting_for_a_call_that_is_not_there_or_a_status_that_is_not_one_says_so(tmp_path):
    with Sandbox(state_dir=tmp_path / "s", clock="virtual") as sandbox:
        with pytest.raises(SandboxError, match="this sandbox has no call nope"):
            sandbox.wait_for_call("nope")
        with pytest.raises(ValueError, match="'finished' is not a call status; use one of"):
            sandbox.wait_for_call("nope", status="finished")


def test_stopping_the_sandbox_during_a_wait_says_it_was_stopped(tmp_path, receiver):
    released = threading.Event()
    receiver.respond("answer", lambda _: released.wait(30) and [{"action": "talk", "text": "hi"}])
    outcome = []
    with Sandbox(state_dir=tmp_path / "s", clock="virtual") as sandbox:
        sandbox.application.set_webhooks(answer_url=receiver.url("answer"), event_url=receiver.url("event"))
        uuid = sandbox.phone("447700900323").call()  # its answer webhook is held: time stands still

        def wait():
            try:
                sandbox.wait_for_call(uuid)
            except Exception as error:
                outcome.append(error)

        waiter = threading.Thread(target=wait)
        waiter.start()
        poll_until(lambda: sandbox.clock._waiters)  # it is waiting now
    waiter.join(30)
    released.set()
    (error,) = outcome
    assert isinstance(error, SandboxError) and "stopped while this waited" in str(error)


def test_a_wrong_clock_for_the_workshop_names_the_setting_to_fix(monkeypatch):
    with pytest.raises(ValueError, match='clock \'fast\' is not a clock; use "real" or "virtual"'):
        wh.start(clock="fast")
    monkeypatch.setenv("VOICE_WORKSHOP_CLOCK", "turbo")
    with pytest.raises(ValueError, match="VOICE_WORKSHOP_CLOCK 'turbo' is not a clock"):
        wh.start()


def test_timestamps_on_a_virtual_clock_read_as_wall_clock_time_plus_call_time():
    async def scenario(clock):
        start = clock.now()
        await clock.until(lambda: False, 90)
        return (clock.now() - start).total_seconds()

    assert run(VirtualClock(), scenario) == 90


def test_a_virtual_sandbox_runs_a_long_call_with_exact_timings(tmp_path, receiver):
    with Sandbox(state_dir=tmp_path / "s", clock="virtual", seed=3) as sandbox:
        client = sandbox.client()
        call = client.voice.create_call({
            "to": [{"type": "phone", "number": "447700900000"}],
            "from_": {"type": "phone", "number": sandbox.number},
            "ncco": [{"action": "talk", "text": "Please hold"}, {"action": "stream", "streamUrl": [receiver.url("none.wav")]}],
            "event_url": [receiver.url("event")],
            "length_timer": 30,
        })
        assert sandbox.info()["clock"] == "virtual"
        sandbox.wait_until(lambda: sandbox.call(call.uuid)["status"] == "completed")
        (talk,) = [e for e in sandbox.transcript(call.uuid) if e["kind"] == "talk"]
        assert talk["seconds"] == pytest.approx(sandbox.platform.speech.seconds("Please hold"), abs=1e-9)
        assert sandbox.call(call.uuid)["duration"] == "1"  # the talk, then a file that is not there
        sandbox.sleep(7200)  # two hours of call time pass at once
        assert sandbox.clock.elapsed() > 7200


def test_the_workshop_takes_its_clock_from_the_environment_and_waits_in_call_time(monkeypatch):
    monkeypatch.setenv("VOICE_WORKSHOP_CLOCK", "virtual")
    ws = wh.start()
    try:
        assert ws.sandbox.clock.virtual
        uuid = ws.client.voice.create_call({
            "to": [{"type": "phone", "number": "447700900002"}],  # rings, never answers
            "from_": {"type": "phone", "number": ws.number},
            "ncco": [{"action": "talk", "text": "nobody hears this"}],
            "ringing_timer": 45,
        }).uuid
        with pytest.raises(TimeoutError, match="did not report 'completed' within 30 s"):
            ws.wait_for(uuid, timeout=30)  # 30 s of call time: still ringing
        events = ws.wait_for(uuid)  # the ringing timer ends it, 45 s after it started
        assert list(events["status"]) == ["started", "ringing", "timeout", "completed"]
        stamps = events.set_index("status")["timestamp"]
        assert (stamps["timeout"] - stamps["started"]).total_seconds() == pytest.approx(45, abs=0.002)
    finally:
        wh.stop()


# -- the real clock, which people use -----------------------------------------------------------
def test_on_the_real_clock_the_same_scripted_call_gives_the_same_outcome(tmp_path, receiver):
    """Outcomes only: on the real clock, durations are as exact as the machine is idle."""
    receiver.respond("input", [{"action": "talk", "text": "Thanks"}])
    with Sandbox(state_dir=tmp_path / "s", clock="real", speed=20, seed=4) as sandbox:
        phone = sandbox.phone("447700900321").script(script=[{"await_input": True}, {"press": "7"}])
        call = sandbox.client().voice.create_call({
            "to": [{"type": "phone", "number": phone.number}],
            "from_": {"type": "phone", "number": sandbox.number},
            "ncco": [{"action": "talk", "text": "Press a key"},
                     {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1, "timeOut": 10},
                      "eventUrl": [receiver.url("input")]}],
            "event_url": [receiver.url("event")],
        })
        assert sandbox.wait_for_call(call.uuid)["status"] == "completed"
        assert receiver.payloads("input")[0]["dtmf"] == {"digits": "7", "timed_out": False}
        assert [e["text"] for e in phone.heard(call.uuid) if e["kind"] == "talk"] == ["Press a key", "Thanks"]


def test_on_the_real_clock_a_phone_pressed_by_hand_waits_for_its_keys(tmp_path, receiver):
    with Sandbox(state_dir=tmp_path / "s", clock="real", speed=20, seed=5) as sandbox:
        phone = sandbox.phone("447700900322")
        call = sandbox.client().voice.create_call({
            "to": [{"type": "phone", "number": phone.number}],
            "from_": {"type": "phone", "number": sandbox.number},
            "ncco": [{"action": "wait", "timeout": 600}],
            "event_url": [receiver.url("event")],
        })
        sandbox.wait_for_call(call.uuid, "answered")
        phone.press("12")  # returns once both keys are pressed: 0.4 s of call time
        assert [e["text"] for e in phone.transcript(call.uuid) if e["kind"] == "dtmf"] == ["1", "2"]
        phone.hangup()
        assert sandbox.wait_for_call(call.uuid)["status"] == "completed"
