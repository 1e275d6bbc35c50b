"""The attendee's toolkit in sandbox mode: start/stop, handlers, verification, events."""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import time

import jwt
import pandas as pd
import pytest
import requests
from conftest import post_webhook, wait_until, webhook_token
from vonage_voice import CreateCallRequest, Dtmf, Input, Phone, Talk, ToPhone

import workshop_helpers as wh


def completed(ws, uuid):
    def done():
        events = ws.events
        return "completed" in list(events[events["uuid"] == uuid]["status"])
    wait_until(done)


def menu(ws):
    @ws.answer
    def answer(call):
        return [Talk(text="Press 1 for sales"),
                Input(type=["dtmf"], dtmf=Dtmf(maxDigits=1), eventUrl=[ws.webhook_url("input")])]

    @ws.on_input
    def on_input(event):
        return [Talk(text=f"You pressed {event['dtmf']['digits']}")]


def test_a_call_answered_by_a_handler_gives_exact_events_and_calls_rows(ws):
    menu(ws)
    phone = ws.phone("447700900123").script(script=[{"await_input": True}, {"press": "1"}])
    uuid = phone.call(ws.number)
    completed(ws, uuid)

    events = ws.events
    assert list(events["kind"]) == ["answer", "event", "event", "event", "input", "event"]
    assert list(events["status"].fillna("")) == ["", "started", "ringing", "answered", "", "completed"]
    assert list(events["digits"].fillna("")) == ["", "", "", "", "1", ""]
    assert set(events["uuid"]) == {uuid} and events["verified"].all()
    assert events["refused"].isna().all() and events["handler_error"].isna().all()
    assert (events["from"] == "447700900123").all() and (events["to"] == ws.number).all()

    calls = ws.calls
    assert len(calls) == 1
    row = calls.iloc[0]
    assert (row["uuid"], row["direction"], row["from"], row["to"], row["status"]) == (
        uuid, "inbound", "447700900123", ws.number, "completed")
    assert row["started"] <= row["ringing"] <= row["answered"] < row["completed"]
    completed_event = events[events["status"] == "completed"].iloc[0]["payload"]
    start, end = (pd.Timestamp(completed_event[k]) for k in ("start_time", "end_time"))
    assert row["duration"] == int((end - start).total_seconds())  # what the platform reported
    assert abs((row["completed"] - row["answered"]).total_seconds() - row["duration"]) < 1.5
    assert [e["text"] for e in phone.heard() if e["kind"] == "talk"] == ["Press 1 for sales", "You pressed 1"]


def test_outbound_outcomes_show_in_the_calls_table(ws):
    for number in ("447700900000", "447700900001", "447700900002"):
        ws.client.voice.create_call({
            "to": [{"type": "phone", "number": number}], "from_": {"type": "phone", "number": ws.number},
            "ncco": [{"action": "talk", "text": "Hi"}], "ringing_timer": 3})
    wait_until(lambda: len(ws.calls) == 3 and ws.calls["completed"].notna().all())
    outcomes = dict(zip(ws.calls["to"], ws.calls["status"]))
    assert outcomes == {"447700900000": "completed", "447700900001": "busy", "447700900002": "timeout"}


def test_start_is_idempotent_and_stop_frees_the_ports(ws):
    assert wh.start(clock="virtual") is ws  # re-running the cell
    assert ws.start() is ws  # starting a running workshop changes nothing
    with pytest.raises(RuntimeError, match=r"already running .* run wh.stop\(\) first"):
        wh.start(clock="real")  # a different request is not silently ignored
    port = int(ws.url.rsplit(":", 1)[1])
    api_port = int(ws.sandbox.api_host.rsplit(":", 1)[1])
    wh.stop()
    for free in (port, api_port):  # a new server can listen there again
        socket.create_server(("127.0.0.1", free)).close()
    again = wh.start(clock="virtual")
    assert again is not ws and again.running


def test_an_unknown_mode_says_which_exist():
    with pytest.raises(ValueError, match='use "sandbox" or "live"'):
        wh.start(mode="production")


def test_a_handler_that_raises_gets_a_500_and_the_server_keeps_serving(ws):
    @ws.answer
    def answer(call):
        raise KeyError("missing")

    ws.phone("447700900124").call(ws.number)
    wait_until(lambda: ws.events["handler_error"].notna().any())
    events = ws.events  # one snapshot: more webhooks may arrive meanwhile
    error_row = events[events["handler_error"].notna()].iloc[0]
    line = answer.__code__.co_firstlineno + 2  # the decorator, the def, then the raise
    assert error_row["handler_error"] == "your answer handler raised KeyError: 'missing'\n" \
        f"    in answer, line {line}: raise KeyError(\"missing\")"
    assert any("Traceback" in line and "KeyError" in line for line in ws.logs)

    menu(ws)  # fixed: the same server answers the next call
    phone = ws.phone("447700900125").script(script=[{"await_input": True}, {"press": "1"}])
    second = phone.call(ws.number)
    completed(ws, second)
    assert "1" in list(ws.events["digits"])


def test_a_bad_ncco_from_a_handler_is_reported_with_its_field(ws):
    @ws.answer
    def answer(call):
        return [{"action": "talk", "text": "hi"}, {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 50}}]

    ws.phone("447700900126").call(ws.number)
    wait_until(lambda: ws.events["handler_error"].notna().any())
    error = ws.events["handler_error"].dropna().iloc[0]
    assert "ncco[1].dtmf.maxDigits" in error
    assert any("ncco[1].dtmf.maxDigits" in line for line in ws.logs)


def test_unsigned_and_forged_webhooks_are_refused_and_shown(ws):
    fake = {"uuid": "fake", "status": "answered", "from": "1", "to": "2"}
    assert post_webhook(ws, "event", fake).status_code == 401
    assert post_webhook(ws, "event", fake, webhook_token(ws, fake, secret="not the signature secret at all!!")).status_code == 401
    tampered = webhook_token(ws, {"status": "started"})  # signed for another body
    assert post_webhook(ws, "event", fake, tampered).status_code == 401
    assert post_webhook(ws, "event", fake, webhook_token(ws, fake)).status_code == 200
    events = ws.events
    assert list(events["verified"]) == [False, False, False, True]
    assert events["refused"].iloc[0].startswith("not signed")
    assert events["refused"].iloc[1].startswith("bad signature")
    assert "payload_hash" in events["refused"].iloc[2]
    assert len(ws.calls) == 1  # refused events do not make calls


def test_events_survive_a_restart_without_doubling(ws):
    menu(ws)
    uuid = ws.phone("447700900127").script(script=[{"await_input": True}, {"press": "1"}]).call(ws.number)
    completed(ws, uuid)
    before = ws.events.drop(columns=["payload"])
    wh.stop()
    again = wh.start(clock="virtual")
    after = again.events.drop(columns=["payload"])
    assert after.equals(before)


def test_waiting_for_a_call_from_before_a_restart_returns_its_stored_events(ws, capsys):
    menu(ws)
    uuid = ws.phone("447700900128").script(script=[{"await_input": True}, {"press": "1"}]).call(ws.number)
    completed(ws, uuid)
    wh.stop()
    again = wh.start(clock="virtual")  # a new sandbox: only the event store knows the call
    events = again.wait_for(uuid)
    assert list(events["status"].dropna())[-1] == "completed" and set(events["uuid"]) == {uuid}
    assert "does not exist" not in capsys.readouterr().out


def test_a_get_webhook_is_refused_because_its_query_is_not_signed_and_the_wait_says_so(ws, capsys):
    ws.sandbox.application.replace({**ws.sandbox.application.resource(), "capabilities": {"voice": {
        **ws.sandbox.application.voice(),
        "webhooks": {**ws.sandbox.application.voice()["webhooks"],
                     "event_url": {"address": ws.webhook_url("event"), "http_method": "GET"}}}}})
    menu(ws)
    uuid = ws.phone("447700900128").script(script=[{"await_input": True}, {"press": "1"}]).call(ws.number)
    platform = ws.sandbox.platform
    wait_until(lambda: platform.run(lambda: platform.leg_done(uuid)))  # no verified event will say so
    events = ws.events
    refused = events[events["refused"].notna()]
    assert set(refused["kind"]) == {"event"} and len(refused) >= 4  # started ... completed
    assert refused["refused"].str.startswith("event webhooks are let in only with POST").all()
    assert refused["uuid"].isna().all()  # a refused request's fields are never read
    assert set(events[events["refused"].isna()]["kind"]) == {"answer", "input"}  # POSTs, as set
    with pytest.raises(TimeoutError):
        ws.wait_for(uuid, timeout=1)  # no completed event was let in
    assert "leave eventMethod out of your NCCOs" in capsys.readouterr().out


def test_nothing_prints_into_the_running_cell(capfd, monkeypatch):
    # Without handlers on the root logger (as in a kernel; pytest adds its own), any
    # library message from a background thread would reach stderr through logging's
    # last resort. Provoke one: a handler whose SDK call fails (the vonage logger warns).
    monkeypatch.setattr(logging.root, "handlers", [])
    workshop = wh.start(clock="virtual")

    @workshop.on_event
    def on_event(event):
        try:
            workshop.client.voice.get_call("no-such-call")
        except Exception:
            pass

    try:
        menu(workshop)
        uuid = workshop.phone("447700900129").script(script=[{"await_input": True}, {"press": "1"}]).call(workshop.number)
        completed(workshop, uuid)
        requests.get(workshop.url + "/nope", proxies={"http": None})
    finally:
        wh.stop()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_per_call_views_show_digits_speech_and_recordings(ws):
    @ws.answer
    def answer(call):
        return [
            {"action": "record", "eventUrl": [ws.webhook_url("recording")]},
            {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 2}, "eventUrl": [ws.webhook_url("input")]},
            {"action": "input", "type": ["speech"], "eventUrl": [ws.webhook_url("input")]},
        ]

    phone = ws.phone("447700900130").script(
        script=[{"await_input": True}, {"press": "42"}, {"await_input": True}, {"say": "sales please"}])
    uuid = phone.call(ws.number)
    wait_until(lambda: len(ws.recordings) == 1)
    inputs = ws.inputs
    assert list(inputs["uuid"]) == [uuid, uuid]
    assert list(inputs["digits"].fillna("")) == ["42", ""]
    assert list(inputs["speech"].fillna("")) == ["", "sales please"]
    assert inputs["timed_out"].tolist() == [False, False]
    assert inputs["confidence"].iloc[1] == 0.95
    recording = ws.recordings.iloc[0]
    assert recording["recording_url"].startswith("https://api.nexmo.com/v1/files/")
    assert recording["size"] > 0
    kinds = list(ws.call_events(uuid)["kind"])
    assert kinds[0] == "answer" and kinds.count("input") == 2 and kinds[-1] == "recording"


@pytest.mark.parametrize("case", ["good", "wrong secret", "alg none", "garbage", "two parts", "not json"])
def test_verify_hs256_agrees_with_pyjwt(case):
    from workshop_helpers.server import verify_hs256
    secret = "the-signature-secret-of-a-decent-length"
    claims = {"iat": 1, "payload_hash": "abc"}
    tokens = {
        "good": jwt.encode(claims, secret, algorithm="HS256"),
        "wrong secret": jwt.encode(claims, "another-secret-of-a-decent-length!!", algorithm="HS256"),
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "garbage": "not a token at all",
        "two parts": "eyJhbGciOiJIUzI1NiJ9.e30",
        "not json": "bm90.anNvbg.c2ln",
    }
    token = tokens[case]
    try:
        expected = jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError):
            verify_hs256(token, secret)
    else:
        assert verify_hs256(token, secret) == expected


def test_a_taken_port_says_what_to_do_and_leaves_nothing_running():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}.*port 0 for any free one"):
            wh.start(clock="virtual", port=port)
    assert wh.workshop._running is None
    ws = wh.start(clock="virtual", port=port)  # free now: the same port works
    try:
        assert ws.url.endswith(f":{port}")
    finally:
        wh.stop()


def test_doctor_finds_nothing_wrong_with_a_fresh_workshop(ws, capsys):
    checks = wh.doctor()
    assert checks.ok, [c.line() for c in checks if not c.ok]
    names = [check.name for check in checks]
    assert {"vonage", "widget front-end", "webhook server", "answer_url", "signed webhooks",
            "live mode settings"} <= set(names)
    assert "FIX" not in str(checks) and capsys.readouterr().out == ""  # shown once, by the cell


def test_doctor_shows_itself_once_as_a_table_in_a_notebook_and_as_lines_in_a_terminal(ws):
    report = wh.doctor()
    assert repr(report) == str(report) == "\n".join(check.line() for check in report)
    table = report._repr_html_()
    assert table.count("<tr>") == len(report) + 1 and "webhook server" in table


def test_doctor_without_a_dotenv_says_live_mode_is_optional_and_with_a_wrong_one_names_the_setting(
        ws, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("VONAGE_APPLICATION_ID", "VONAGE_PRIVATE_KEY_PATH", "VONAGE_PRIVATE_KEY", "NGROK_AUTHTOKEN"):
        monkeypatch.delenv(name, raising=False)
    live = {c.name: c for c in wh.doctor()}["live mode settings"]
    assert live.ok and "only live mode needs one: copy .env.example" in live.detail
    (tmp_path / ".env").write_text(
        "VONAGE_APPLICATION_ID=8c2f1a2e-1d3b-4c5a-9e7f-0a1b2c3d4e5f\nVONAGE_PRIVATE_KEY_PATH=nowhere.key\n"
        "VONAGE_API_KEY=k\nVONAGE_API_SECRET=s\nVONAGE_SIGNATURE_SECRET=s\nVONAGE_NUMBER=447700900123\n"
        "NGROK_AUTHTOKEN=t\n")
    live = {c.name: c for c in wh.doctor()}["live mode settings"]
    assert not live.ok and live.detail.endswith(".env has a setting that is not right")
    assert live.fix.startswith(f"VONAGE_PRIVATE_KEY_PATH is {tmp_path.resolve()}/nowhere.key, which is not a file")


def test_doctor_says_how_to_fix_webhooks_that_point_elsewhere(ws, capsys):
    ws.sandbox.application.set_webhooks(answer_url="http://localhost:1/old")
    resource = ws.sandbox.application.resource()
    resource["capabilities"]["voice"]["webhooks"]["event_url"]["http_method"] = "GET"
    ws.sandbox.application.replace(resource)
    bad = {check.name: check for check in wh.doctor() if not check.ok}
    assert set(bad) == {"answer_url", "event_url"}
    assert "points at http://localhost:1/old" in bad["answer_url"].detail
    assert "uses GET; your server expects POST" in bad["event_url"].detail
    assert "wh.start() again" in bad["answer_url"].fix
    assert "FIX  answer_url" in str(wh.doctor())


def test_doctor_without_a_workshop_says_to_start_one():
    wh.stop()
    bad = [check for check in wh.doctor() if not check.ok]
    assert [check.name for check in bad] == ["workshop"] and "wh.start()" in bad[0].fix


def test_timeline_draws_each_leg_with_its_states_inputs_and_actions(ws):
    menu(ws)
    uuid = ws.phone("447700900132").script(script=[{"await_input": True}, {"press": "1"}]).call(ws.number)
    completed(ws, uuid)
    figure = ws.timeline(uuid)
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_yticklabels()] == [f"inbound\n447700900132 → {ws.number}"]
    texts = [text.get_text() for text in axes.texts]
    assert {"started, ringing, answered", "completed", "input 1"} <= set(texts)
    assert texts.count("talk") == 2 and texts.count("input") == 1  # the NCCO actions as they ran
    assert figure._repr_png_().startswith(b"\x89PNG")
    assert ws.timeline().axes[0].get_title() == ws.timeline(ws.calls.iloc[0]["conversation_uuid"]).axes[0].get_title()


def test_timeline_without_calls_says_so(ws):
    with pytest.raises(ValueError, match="no calls yet"):
        ws.timeline()


def test_wait_for_returns_the_legs_events_or_says_it_timed_out(ws):
    uuid = ws.phone("447700900133").call(ws.number)  # no answer handler: the default NCCO
    events = ws.wait_for(uuid)
    assert [status for status in events["status"] if status] == ["started", "ringing", "answered", "completed"]
    with pytest.raises(TimeoutError, match="did not report 'busy'"):
        ws.wait_for(uuid, "busy")


@pytest.mark.parametrize("payload", [
    {"uuid": "x", "status": "completed", "timestamp": "not a time"},
    {"speech": {"results": ["not an object"]}, "dtmf": "1"},
    {"uuid": ["a", "list"], "status": 5, "duration": "long", "size": {}},
])
def test_no_request_can_break_the_tables(ws, payload):
    """Refused requests (anyone can send them) and odd payloads stay readable."""
    assert post_webhook(ws, "input", payload).status_code == 401  # unsigned: refused, kept as a summary
    assert post_webhook(ws, "input", payload, webhook_token(ws, payload)).status_code == 200
    events = ws.events
    assert len(events) == 2 and events["payload"].iloc[1] == payload
    summary = events["payload"].iloc[0]
    assert summary["why"].startswith("not signed") and summary["path"] == "/webhooks/input"
    assert json.loads(summary["preview"]) == payload  # short bodies are kept whole in the preview
    assert events["status"].iloc[0] is None or pd.isna(events["status"].iloc[0])  # refused: not read
    ws.calls, ws.inputs, ws.recordings  # noqa: B018 (they must not raise)


def test_a_forged_completed_event_does_not_end_a_wait(ws):
    uuid = ws.client.voice.create_call({
        "to": [{"type": "phone", "number": "447700900000"}], "from_": {"type": "phone", "number": ws.number},
        "ncco": [{"action": "talk", "text": "a long call"}], "length_timer": 600}).uuid
    post_webhook(ws, "event", {"uuid": uuid, "status": "completed"})
    with pytest.raises(TimeoutError):
        ws.wait_for(uuid, timeout=1)  # still ringing, whatever the forged event says
    post_webhook(ws, "event", {"uuid": "forged-leg", "status": "completed"})
    with pytest.raises(ValueError, match="no call forged-leg in this workshop"):
        ws.wait_for("forged-leg")


def test_waiting_for_a_status_that_does_not_exist_says_which_do(ws):
    with pytest.raises(ValueError, match="'finished' is not a call status; use one of started, ringing"):
        ws.wait_for("any", status="finished")


def test_ctrl_c_during_start_leaves_nothing_running(monkeypatch):
    import workshop_helpers.workshop as module
    started = []

    def interrupted(*args, **kwargs):
        started.append(True)
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "point_webhooks", interrupted)  # the last step of a start
    with pytest.raises(KeyboardInterrupt):
        wh.start(clock="virtual")
    assert started and module._running is None
    names = {thread.name for thread in __import__("threading").enumerate()}
    assert not names & {"webhook-server", "sandbox-api", "sandbox-platform"}


def test_a_stopped_workshop_says_so(ws):
    wh.stop()
    for use in (lambda: ws.events, lambda: ws.url, lambda: ws.answer(lambda call: None)):
        with pytest.raises(RuntimeError, match="stopped; run ws = wh.start"):
            use()


def test_a_stale_token_is_refused(ws):
    payload = {"uuid": "x", "status": "started"}
    body = json.dumps(payload).encode()
    old = {"iat": int(time.time()) - 3600, "payload_hash": hashlib.sha256(body).hexdigest()}
    token = jwt.encode(old, ws.sandbox.application.signature_secret, algorithm="HS256")
    assert post_webhook(ws, "event", payload, token).status_code == 401
    assert "stale" in ws.events["refused"].iloc[0]


def test_logs_can_be_read_while_background_threads_log(ws):
    import threading
    logger = logging.getLogger("workshop_helpers.test")
    writer = threading.Thread(target=lambda: [logger.info("line %d", n) for n in range(3000)])
    writer.start()
    while writer.is_alive():
        assert all(isinstance(line, str) for line in ws.logs)  # never "deque mutated"
    writer.join()
    assert ws.logs[-1].endswith("line 2999") and len(ws.logs) == 1000


def test_drift_flags_a_webhook_without_a_method():
    from workshop_helpers.vonage_app import drift
    base = "http://localhost:5000"
    right = {"answer_url": {"address": base + "/webhooks/answer", "http_method": "POST"},
             "event_url": {"address": base + "/webhooks/event", "http_method": "POST"},
             "fallback_answer_url": {"address": base + "/webhooks/fallback", "http_method": "POST"}}
    assert drift(right, base) == []
    no_method = {**right, "answer_url": {"address": base + "/webhooks/answer"}}
    (found,) = drift(no_method, base)
    assert (found.name, found.address, found.method) == ("answer_url", base + "/webhooks/answer", None)


def test_the_proxy_pattern_with_the_toolkit(ws):
    """The workshop's proxy: the answer handler puts the caller in a named conversation
    and calls the other party into it; both legs end up in one conversation in ws.calls,
    and each party heard the other."""
    from vonage_voice import Conversation, CreateCallRequest, Phone, ToPhone

    proxied = {}

    @ws.answer
    def answer(call):
        request = CreateCallRequest(
            to=[ToPhone(number="447700900302")], from_=Phone(number=ws.number),
            ncco=[Conversation(name=f"proxy-{call['uuid']}")],
        )
        proxied["callee"] = ws.client.voice.create_call(request).uuid
        return [Talk(text="Connecting you"), Conversation(name=f"proxy-{call['uuid']}")]

    callee = ws.phone("447700900302").script(script=[{"wait": 2}, {"say": "you are through to bob"}])
    caller = ws.phone("447700900301").script(script=[{"wait": 6}, {"say": "thanks bob"}, {"wait": 2}, {"hangup": True}])
    uuid = caller.call(ws.number)
    completed(ws, uuid)
    wait_until(lambda: "callee" in proxied)
    callee.hangup() if ws.sandbox.call(proxied["callee"])["status"] == "answered" else None
    completed(ws, proxied["callee"])

    calls = ws.calls.set_index("uuid")
    assert calls.loc[uuid, "conversation_uuid"] == calls.loc[proxied["callee"], "conversation_uuid"]
    assert [e["text"] for e in caller.heard() if e["kind"] == "said"] == ["you are through to bob"]
    assert [e["text"] for e in callee.heard() if e["kind"] == "said"] == ["thanks bob"]


def test_waiting_for_completed_waits_for_every_webhook_of_the_call_recordings_too(ws):
    @ws.answer
    def answer(call):  # a recording with no end condition runs until hangup, and reports after it
        return [{"action": "record", "eventUrl": [ws.webhook_url("recording")]},
                {"action": "talk", "text": "This call is recorded"}]

    uuid = ws.phone("447700900131").call(ws.number)
    ws.wait_for(uuid)
    assert len(ws.recordings) == 1


def test_waiting_for_a_rejected_call_ends_at_rejected_which_no_completed_event_follows(ws):
    placed = ws.client.voice.create_call(CreateCallRequest(
        to=[ToPhone(number="447700900003")], from_=Phone(number=ws.number), ncco=[Talk(text="Never heard")]))
    events = ws.wait_for(placed.uuid, timeout=30)
    assert list(events["status"]) == ["started", "rejected"]


def test_ws_sleep_lets_exactly_that_much_call_time_pass(ws):
    clock = ws.sandbox.clock
    before = ws.sandbox.platform.run(clock.elapsed)
    ws.sleep(5)
    assert ws.sandbox.platform.run(clock.elapsed) - before == pytest.approx(5, abs=0.01)
