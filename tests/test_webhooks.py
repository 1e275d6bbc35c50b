"""Signed webhooks, GET encoding, and the NCCO-fetch retry and fallback rules (§3.8-3.9)."""

from __future__ import annotations

import hashlib
import threading

import jwt
from conftest import place, wait_until
from vonage_jwt.verify_jwt import verify_signature

TALK = [{"action": "talk", "text": "Hello"}]


def test_webhooks_are_signed_with_the_signature_secret(client, sandbox, receiver):
    uuid = place(client, receiver, "447700900000")
    receiver.wait_for_status("completed", uuid=uuid)
    secret = sandbox.application.signature_secret
    for request in receiver.requests:
        token = request["headers"]["Authorization"].removeprefix("Bearer ")
        assert verify_signature(token, secret)  # the SDK's own helper
        claims = jwt.decode(token, secret, algorithms=["HS256"])
        assert claims["iss"] == "Vonage" and claims["api_key"] == sandbox.application.api_key
        assert claims["application_id"] == sandbox.application.id
        assert claims["payload_hash"] == hashlib.sha256(request["raw"]).hexdigest()
        assert not verify_signature(token, "a different secret of a proper length!!")


def test_unsigned_when_signed_callbacks_is_off(client, sandbox, receiver):
    resource = sandbox.application.resource()
    resource["capabilities"]["voice"]["signed_callbacks"] = False
    sandbox.application.replace(resource)
    uuid = place(client, receiver, "447700900000")
    receiver.wait_for_status("completed", uuid=uuid)
    assert all("Authorization" not in r["headers"] for r in receiver.requests)


def test_get_events_carry_fields_in_the_query(client, receiver):
    uuid = place(client, receiver, "447700900000", event_method="GET")
    receiver.wait_for_status("completed", uuid=uuid)
    assert {r["method"] for r in receiver.requests} == {"GET"}
    assert receiver.requests[0]["args"]["status"] == "started"


def test_answer_fetch_is_retried_once_on_503(client, receiver):
    receiver.respond("answer", (503, ""), TALK)
    uuid = place(client, receiver, "447700900000", answer_url=[receiver.url("answer")])
    assert receiver.wait_for_status("completed", uuid=uuid) == ["started", "ringing", "answered", "completed"]
    assert [r["path"] for r in receiver.requests].count("answer") == 2


def test_answer_fetch_is_not_retried_on_500_and_the_call_ends_with_an_error(client, sandbox, receiver):
    receiver.respond("answer", (500, ""), TALK)
    uuid = place(client, receiver, "447700900000", answer_url=[receiver.url("answer")])
    receiver.wait_for_status("completed", uuid=uuid)
    assert [r["path"] for r in receiver.requests].count("answer") == 1
    (error,) = [p for p in receiver.payloads("event") if "reason" in p]
    assert "HTTP 500" in error["reason"] and error["uuid"] == uuid
    assert receiver.payloads("event")[-1]["disconnected_by"] == "platform"
    assert sandbox.phone("447700900000").heard(uuid) == [e for e in sandbox.transcript(uuid) if e["who"] == "platform"]
    assert not [e for e in sandbox.transcript(uuid) if e["kind"] == "talk"]


def test_fallback_answer_url_gets_the_reason_and_the_original_request(client, sandbox, receiver):
    sandbox.application.set_webhooks(fallback_answer_url=receiver.url("fallback"))
    receiver.respond("answer", (503, ""), (503, ""))
    receiver.respond("fallback", [{"action": "talk", "text": "From the fallback"}])
    uuid = place(client, receiver, "447700900000", answer_url=[receiver.url("answer")])
    receiver.wait_for_status("completed", uuid=uuid)
    assert [r["path"] for r in receiver.requests if r["path"] != "event"] == ["answer", "answer", "fallback"]
    fallback = [r for r in receiver.requests if r["path"] == "fallback"][0]["args"]
    assert fallback["reason"] == "HTTP 503 from " + receiver.url("answer")
    assert fallback["original_request"] == '{"url":"%s","type":"answer"}' % receiver.url("answer")
    assert fallback["uuid"] == uuid
    assert "From the fallback" in [e["text"] for e in sandbox.transcript(uuid)]


def test_invalid_answer_ncco_gives_the_documented_error_and_tries_the_fallback(client, sandbox, receiver):
    sandbox.application.set_webhooks(fallback_answer_url=receiver.url("fallback"))
    receiver.respond("answer", [{"action": "tlak", "text": "typo"}])
    receiver.respond("fallback", TALK)
    uuid = place(client, receiver, "447700900000", answer_url=[receiver.url("answer")])
    receiver.wait_for_status("completed", uuid=uuid)
    assert [r["path"] for r in receiver.requests if r["path"] != "event"] == ["answer", "fallback"]
    fallback = [r for r in receiver.requests if r["path"] == "fallback"][0]["args"]
    assert fallback["reason"] == "Syntax error in NCCO. Invalid value type or action."


def test_invalid_answer_ncco_without_fallback_reports_what_was_wrong(client, receiver):
    receiver.respond("answer", [{"action": "talk"}])
    uuid = place(client, receiver, "447700900000", answer_url=[receiver.url("answer")])
    receiver.wait_for_status("completed", uuid=uuid)
    (error,) = [p for p in receiver.payloads("event") if "reason" in p]
    assert error["reason"] == "Syntax error in NCCO. Invalid value type or action."
    assert "ncco[0].text" in error["detail"]


def test_answer_that_is_not_json_is_refused(client, receiver):
    from flask import Response
    receiver.respond("answer", Response('[{"action":"talk","text":"hi"}]', mimetype="text/html"))
    uuid = place(client, receiver, "447700900000", answer_url=[receiver.url("answer")])
    receiver.wait_for_status("completed", uuid=uuid)
    (error,) = [p for p in receiver.payloads("event") if "reason" in p]
    assert "text/html" in error["detail"]


def test_slow_answer_times_out_and_is_retried(client, sandbox, receiver):
    resource = sandbox.application.resource()
    resource["capabilities"]["voice"]["webhooks"]["answer_url"] = {
        "address": receiver.url("answer"), "http_method": "GET", "socket_timeout": 1000}
    sandbox.application.replace(resource)

    retried = threading.Event()

    def slow(_):
        retried.wait(30)  # the first attempt is answered only after the retry came
        return TALK

    def second(_):
        retried.set()
        return TALK

    receiver.respond("answer", slow, second)
    uuid = place(client, receiver, "447700900000", answer_url=[receiver.url("answer")])
    receiver.wait_for_status("completed", uuid=uuid)
    deliveries = [d for d in sandbox.webhooks(leg=uuid) if d["kind"] == "answer"]
    assert deliveries[0]["attempts"] == 2 and deliveries[0]["status_code"] == 200


def test_unreachable_event_url_does_not_stop_the_call(client, sandbox, receiver):
    uuid = place(client, receiver, "447700900000", event_url=["http://127.0.0.1:9/event"])
    def all_failed():
        deliveries = sandbox.webhooks(leg=uuid)
        return len(deliveries) >= 4 and all(d["error"] for d in deliveries) and deliveries

    deliveries = wait_until(all_failed)
    assert [d["payload"]["status"] for d in deliveries] == ["started", "ringing", "answered", "completed"]
    assert all(d["error"] and d["attempts"] == 1 for d in deliveries)  # status events: no retry
