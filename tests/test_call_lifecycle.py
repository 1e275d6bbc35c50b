"""Call outcomes and event order, as the Voice API documents them (reference §3.3-3.4)."""

from __future__ import annotations

from datetime import datetime

import pytest
from conftest import APP_NUMBER, TICK, place, wait_until
from vonage_voice import Talk, Wait


def moment(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    "number, statuses, extra",
    [
        ("447700900000", ["started", "ringing", "answered", "completed"], {}),
        ("447700900001", ["started", "ringing", "busy", "completed"], {"sip_code": 486}),
        ("447700900005", ["started", "ringing", "unanswered", "completed"], {"detail": "unavailable"}),
        ("447700900004", ["started", "failed", "completed"], {"detail": "number_out_of_service"}),
    ],
)
def test_outcomes_send_documented_events_in_order(client, receiver, number, statuses, extra):
    uuid = place(client, receiver, number)
    assert receiver.wait_for_status("completed", uuid=uuid) == statuses
    failure = [p for p in receiver.payloads("event") if p["status"] == statuses[-2]][0]
    for key, value in extra.items():
        assert failure[key] == value


def test_rejected_call_has_no_completed_event(client, sandbox, receiver):
    uuid = place(client, receiver, "447700900003")
    receiver.wait_for_status("rejected", uuid=uuid)
    wait_until(lambda: sandbox.call(uuid)["status"] == "rejected")
    wait_until(lambda: all(d["status_code"] for d in sandbox.webhooks(leg=uuid)))
    assert receiver.statuses(uuid=uuid) == ["started", "rejected"]
    assert [p for p in receiver.payloads("event") if p["status"] == "rejected"][0]["detail"] == "declined"


def test_never_answered_call_times_out_after_the_ringing_timer(client, sandbox, receiver):
    uuid = place(client, receiver, "447700900002", ringing_timer=10)
    assert receiver.wait_for_status("completed", uuid=uuid) == ["started", "ringing", "timeout", "completed"]
    ringing, timeout, completed = receiver.payloads("event")[1:]
    assert (moment(timeout["timestamp"]) - moment(ringing["timestamp"])).total_seconds() == pytest.approx(10, abs=TICK)
    assert completed["duration"] == "0" and completed["disconnected_by"] == "user"
    assert sandbox.call(uuid)["status"] == "timeout"


def test_answered_call_completed_event_has_documented_fields(client, sandbox, receiver):
    uuid = place(client, receiver, "447700900000", ncco=[Wait(timeout=5)])
    receiver.wait_for_status("completed", uuid=uuid)
    answered, completed = receiver.payloads("event")[2:]
    assert answered["start_time"].endswith("Z") and answered["network"] is None
    for field in ("start_time", "end_time", "duration", "rate", "price", "network"):
        assert completed[field], field
    assert completed["disconnected_by"] == "platform"  # the NCCO ran out
    assert int(completed["duration"]) == 5
    assert completed["price"] == f"{0.0045 * 5 / 60:.8f}"
    for payload in receiver.payloads("event"):
        assert payload["uuid"] == uuid and payload["direction"] == "outbound"
        assert payload["from"] == APP_NUMBER and payload["to"] == "447700900000"
        assert payload["conversation_uuid"].startswith("CON-")
    info = sandbox.call(uuid)
    assert info["status"] == "completed" and info["duration"] == "5"


def test_hangup_while_ringing_cancels_the_call(client, sandbox, receiver):
    uuid = place(client, receiver, "447700900002")
    receiver.wait_for_status("ringing", uuid=uuid)
    client.voice.hangup(uuid)
    assert receiver.wait_for_status("completed", uuid=uuid) == ["started", "ringing", "cancelled", "completed"]
    assert sandbox.call(uuid)["status"] == "cancelled"


def test_hangup_of_an_answered_call_ends_it_now(client, sandbox, receiver):
    uuid = place(client, receiver, "447700900000", ncco=[Wait(timeout=600)])
    receiver.wait_for_status("answered", uuid=uuid)
    client.voice.hangup(uuid)
    receiver.wait_for_status("completed", uuid=uuid)
    assert receiver.payloads("event")[-1]["disconnected_by"] == "platform"
    assert receiver.payloads("event")[-1]["duration"] == "0"  # at once, not after the wait


def test_length_timer_caps_an_answered_call(client, receiver):
    uuid = place(client, receiver, "447700900000", ncco=[Wait(timeout=600)], length_timer=4)
    receiver.wait_for_status("completed", uuid=uuid)
    assert receiver.payloads("event")[-1]["duration"] == "4"


def test_phone_that_hangs_up_is_disconnected_by_user(client, receiver):
    uuid = place(client, receiver, "447700900007", ncco=[Wait(timeout=600)])
    receiver.wait_for_status("completed", uuid=uuid)
    completed = receiver.payloads("event")[-1]
    assert completed["disconnected_by"] == "user" and completed["duration"] == "3"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_answer_url_is_fetched_with_the_configured_method(client, receiver, method):
    receiver.respond("answer", [{"action": "talk", "text": "From the answer webhook"}])
    uuid = place(client, receiver, "447700900000", answer_url=[receiver.url("answer")], answer_method=method)
    receiver.wait_for_status("completed", uuid=uuid)
    (request,) = [r for r in receiver.requests if r["path"] == "answer"]
    assert request["method"] == method
    data = request["args"] if method == "GET" else request["json"]
    assert data["uuid"] == uuid and data["to"] == "447700900000" and data["from"] == APP_NUMBER
    assert data["endpoint_type"] == "phone" and data["region_url"] == "https://api.nexmo.com"


def test_inbound_call_fetches_answer_first_then_events(sandbox, receiver):
    sandbox.application.set_webhooks(answer_url=receiver.url("answer"), event_url=receiver.url("event"))
    receiver.respond("answer", [{"action": "talk", "text": "Thanks for calling"}])
    uuid = sandbox.phone("447700900123").call()
    receiver.wait_for_status("completed", uuid=uuid)
    assert [r["path"] for r in receiver.requests] == ["answer", "event", "event", "event", "event"]
    assert receiver.statuses(uuid=uuid) == ["started", "ringing", "answered", "completed"]
    answer = receiver.requests[0]
    assert answer["method"] == "GET"
    assert answer["args"]["from"] == "447700900123" and answer["args"]["to"] == APP_NUMBER
    assert all(p["direction"] == "inbound" for p in receiver.payloads("event"))
    assert [e["text"] for e in sandbox.phone("447700900123").heard() if e["kind"] == "talk"] == ["Thanks for calling"]


def test_inbound_call_without_answer_url_says_what_to_do(sandbox):
    from workshop_helpers.sandbox import SandboxError
    with pytest.raises(SandboxError, match="no answer_url"):
        sandbox.phone("447700900123").call()


def test_manual_phone_answers_when_told(client, sandbox, receiver):
    phone = sandbox.phone("447700900321").script(on_ring="manual")
    uuid = place(client, receiver, phone.number, ncco=[Talk(text="You answered")])
    receiver.wait_for_status("ringing", uuid=uuid)
    phone.answer()
    assert receiver.wait_for_status("completed", uuid=uuid) == ["started", "ringing", "answered", "completed"]


def test_manual_phone_rejects_when_told(client, sandbox, receiver):
    phone = sandbox.phone("447700900322").script(on_ring="manual")
    uuid = place(client, receiver, phone.number)
    receiver.wait_for_status("ringing", uuid=uuid)
    phone.reject()
    assert receiver.wait_for_status("rejected", uuid=uuid) == ["started", "ringing", "rejected"]


def test_seeded_sandboxes_give_the_same_ids(tmp_path):
    from workshop_helpers.sandbox import Sandbox
    ids = []
    for run in range(2):
        with Sandbox(state_dir=tmp_path / f"s{run}", seed=42, speed=50) as sandbox:
            ids.append((sandbox.application.id, sandbox.ids.uuid(), sandbox.ids.conversation()))
    assert ids[0] == ids[1]


def test_state_survives_a_restart(tmp_path):
    from workshop_helpers.sandbox import Sandbox
    with Sandbox(state_dir=tmp_path / "s") as first:
        first.application.set_webhooks(answer_url="http://localhost:1/answer")
        identity = (first.application.id, first.application.api_key, first.application.public_key_pem)
    with Sandbox(state_dir=tmp_path / "s") as second:
        assert (second.application.id, second.application.api_key, second.application.public_key_pem) == identity
        assert second.application.webhook("answer_url")["address"] == "http://localhost:1/answer"


def test_a_taken_port_gives_a_clear_error(sandbox, tmp_path):
    from workshop_helpers.sandbox import Sandbox
    port = int(sandbox.api_host.rsplit(":", 1)[1])
    with pytest.raises(OSError, match="choose another port, or port 0"):
        Sandbox(state_dir=tmp_path / "other", port=port).start()


def test_stop_is_idempotent_and_frees_the_port(tmp_path):
    import socket

    from workshop_helpers.sandbox import Sandbox
    sandbox = Sandbox(state_dir=tmp_path / "s", speed=20).start()
    port = int(sandbox.api_host.rsplit(":", 1)[1])
    sandbox.stop()
    sandbox.stop()
    socket.create_server(("127.0.0.1", port)).close()  # a new server can listen there again


def test_work_that_reaches_a_stopping_platform_is_cancelled_not_left_pending(tmp_path):
    """Work another thread hands over while the platform stops (after its tasks were
    cancelled, before its loop ends) is cancelled with the rest: the waiting thread is told
    at once, and no task is left on the closed loop."""
    import asyncio

    from workshop_helpers.sandbox import Sandbox
    sandbox = Sandbox(state_dir=tmp_path / "s", speed=20).start()
    platform = sandbox.platform
    close, late = platform._close, []

    async def close_then_receive_more_work():
        await close()
        late.append(asyncio.run_coroutine_threadsafe(asyncio.sleep(3600), platform.loop))

    platform._close = close_then_receive_more_work
    sandbox.stop()
    assert late[0].done()  # cancelled (or, had it run before the loop ended, finished)
    assert platform.loop.is_closed() and not asyncio.all_tasks(platform.loop)


def test_a_stopped_sandbox_refuses_work_clearly(tmp_path):
    from workshop_helpers.sandbox import Sandbox, SandboxError
    sandbox = Sandbox(state_dir=tmp_path / "s", speed=20).start()
    sandbox.stop()
    with pytest.raises(SandboxError, match="stopped"):
        sandbox.platform.run(lambda: None)
