"""`python -m workshop_helpers.sandbox` as a separate process, driven by curl and the SDK.

It runs on a virtual clock: time stands still until a client waits through the control API
(`POST /sandbox/calls/{uuid}/wait`, `POST /sandbox/clock/sleep`), as a harness in any
language would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from standalone_sandbox import app_jwt, control, run_standalone
from vonage import Auth, HttpClientOptions, Vonage


@pytest.fixture
def standalone(tmp_path):
    with run_standalone(tmp_path / "state") as info:
        yield info


def wait(info, call_uuid: str, status: str = "completed", **body) -> dict:
    """What a harness does instead of sleeping: let the call run until it reports `status`."""
    reply = control(info).post(f"{info['base_url']}/sandbox/calls/{call_uuid}/wait",
                               json={"status": status, **body})
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_first_line_has_everything_a_client_needs(standalone):
    for key in ("host", "base_url", "proxy_url", "env", "application_id", "private_key_path", "api_key", "api_secret",
                "signature_secret", "ca_cert_path", "number", "phones"):
        assert standalone[key], key
    assert os.path.exists(standalone["private_key_path"]) and os.path.exists(standalone["ca_cert_path"])
    assert standalone["base_url"] == "https://" + standalone["host"]
    assert standalone["clock"] == "virtual"


@pytest.mark.skipif(shutil.which("curl") is None, reason="make test installs curl")
def test_curl_with_the_ca_places_a_call(standalone, receiver):
    body = json.dumps({
        "to": [{"type": "phone", "number": "447700900000"}],
        "from": {"type": "phone", "number": standalone["number"]},
        "ncco": [{"action": "talk", "text": "Hello from curl"}],
        "event_url": [receiver.url("event")],
    })
    result = subprocess.run(
        ["curl", "-sS", "--noproxy", "*", "--cacert", standalone["ca_cert_path"], "-X", "POST",
         standalone["base_url"] + "/v1/calls", "-H", "Authorization: Bearer " + app_jwt(standalone),
         "-H", "Content-Type: application/json", "-d", body, "-w", "\n%{http_code}"],
        capture_output=True, text=True, timeout=30,
    )
    response, status = result.stdout.rsplit("\n", 1)
    assert status == "201", result.stdout + result.stderr
    call = json.loads(response)
    assert call["status"] == "started" and call["conversation_uuid"].startswith("CON-")
    assert wait(standalone, call["uuid"])["status"] == "completed"
    assert receiver.statuses(uuid=call["uuid"]) == ["started", "ringing", "answered", "completed"]
    completed = receiver.payloads("event")[-1]
    assert completed["direction"] == "outbound" and completed["disconnected_by"] == "platform"


def test_curl_without_the_ca_is_refused(standalone):
    result = subprocess.run(["curl", "-sS", "--noproxy", "*", "--cacert", "/dev/null",
                             standalone["base_url"] + "/v1/calls"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0  # TLS is real: an untrusted CA fails


def test_sdk_configured_only_with_host_and_ca_bundle(standalone, receiver, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", standalone["ca_bundle_path"])
    client = Vonage(
        Auth(application_id=standalone["application_id"], private_key=Path(standalone["private_key_path"]).read_text()),
        HttpClientOptions(api_host=standalone["host"]),
    )
    client.http_client._session.proxies = {"https": None}
    call = client.voice.create_call({
        "to": [{"type": "phone", "number": "447700900000"}],
        "from_": {"type": "phone", "number": standalone["number"]},
        "ncco": [{"action": "talk", "text": "Hi"}],
        "event_url": [receiver.url("event")],
    })
    wait(standalone, call.uuid)
    assert client.voice.get_call(call.uuid).status == "completed"


def test_control_api_drives_a_phone_to_call_in(standalone, receiver):
    import requests
    session = requests.Session()
    session.trust_env = False
    session.verify = standalone["ca_cert_path"]
    base = standalone["base_url"]
    basic = (standalone["api_key"], standalone["api_secret"])
    app = session.get(f"{base}/v2/applications/{standalone['application_id']}", auth=basic).json()
    app["capabilities"]["voice"]["webhooks"] = {
        "answer_url": {"address": receiver.url("answer"), "http_method": "GET"},
        "event_url": {"address": receiver.url("event"), "http_method": "POST"},
    }
    assert session.put(f"{base}/v2/applications/{standalone['application_id']}", json=app, auth=basic).status_code == 200
    receiver.respond("answer", [{"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 2},
                                 "eventUrl": [receiver.url("input")]}])
    headers = {"Authorization": "Bearer " + app_jwt(standalone)}
    created = session.post(f"{base}/sandbox/phones/447700900555/calls", headers=headers, json={})
    assert created.status_code == 201
    call_uuid = created.json()["uuid"]
    assert wait(standalone, call_uuid, "answered")["status"] == "answered"
    assert session.post(f"{base}/sandbox/phones/447700900555/press", headers=headers,
                        json={"digits": "42"}).status_code == 200
    wait(standalone, call_uuid)
    assert receiver.payloads("input")[0]["dtmf"] == {"digits": "42", "timed_out": False}
    transcript = session.get(f"{base}/sandbox/calls/{call_uuid}/transcript", headers=headers).json()["transcript"]
    assert [e["text"] for e in transcript if e["kind"] == "dtmf"] == ["4", "2"]


def test_a_harness_lets_call_time_pass_and_the_call_moves_on_only_then(standalone, receiver):
    session, base = control(standalone), standalone["base_url"]
    call = session.post(f"{base}/v1/calls", json={
        "to": [{"type": "phone", "number": "447700900000"}],
        "from": {"type": "phone", "number": standalone["number"]},
        "ncco": [{"action": "wait", "timeout": 30}],
        "event_url": [receiver.url("event")],
    }).json()
    slept = session.post(f"{base}/sandbox/clock/sleep", json={"seconds": 10})
    assert slept.status_code == 200 and slept.json()["clock"] == "virtual"
    assert session.get(f"{base}/v1/calls/{call['uuid']}").json()["status"] == "answered"
    session.post(f"{base}/sandbox/clock/sleep", json={"seconds": 30})
    assert receiver.statuses(uuid=call["uuid"])[-1] == "completed"
    assert receiver.payloads("event")[-1]["duration"] == "30"  # exactly the wait


def test_waiting_says_what_is_wrong_with_the_request_or_that_the_call_is_not_there_yet(standalone, receiver):
    session, base = control(standalone), standalone["base_url"]
    assert session.post(f"{base}/sandbox/calls/no-such-call/wait", json={}).status_code == 404
    bad = session.post(f"{base}/sandbox/clock/sleep", json={"seconds": -1})
    assert bad.status_code == 400 and bad.json()["invalid_parameters"][0]["name"] == "seconds"
    ringing = session.post(f"{base}/v1/calls", json={
        "to": [{"type": "phone", "number": "447700900002"}],  # rings, never answers
        "from": {"type": "phone", "number": standalone["number"]},
        "ncco": [{"action": "talk", "text": "nobody hears this"}],
        "event_url": [receiver.url("event")],
    }).json()
    late = session.post(f"{base}/sandbox/calls/{ringing['uuid']}/wait", json={"timeout": 10})
    assert late.status_code == 408 and "within 10 s of call time" in late.json()["detail"]
    assert wait(standalone, ringing["uuid"])["status"] == "timeout"  # the ringing timer, 60 s in
