"""The tunnel-facing webhook server refuses before it stores, and never fails (5xx) on what
anyone may send it: each test is a probe that got through before (issue 15's table).

In live mode this server is on the internet through ngrok, so these are the requests an
attacker, a scanner or a confused client can make.
"""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from api_requests import hs256
from conftest import post_webhook, wait_until, webhook_token

from workshop_helpers import serving
from workshop_helpers.server import MAX_BODY, REFUSED_PREVIEW


def raw_request(ws, data: bytes, read: bool = True) -> bytes:
    """Send bytes as they are to the webhook server; return its whole answer."""
    where = urlsplit(ws.url)
    with socket.create_connection((where.hostname, where.port), timeout=60) as connection:
        connection.sendall(data)
        if not read:
            return b""
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := connection.recv(65536)):
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), b"0"))
        while len(body) < length and (chunk := connection.recv(65536)):
            body += chunk
        return head + b"\r\n\r\n" + body  # and close first, as a client does


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def stored(ws) -> list[dict]:
    return ws.store.rows()


# -- size ------------------------------------------------------------------------------------

def test_a_100_mb_body_is_refused_from_its_length_without_being_read_or_stored(ws):
    head = (b"POST /webhooks/event HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000000\r\n\r\n")
    answer = raw_request(ws, head + b"[" * 1000)  # the rest never comes: the answer must not wait for it
    assert status_of(answer) == 413
    [row] = stored(ws)
    summary = json.loads(row["payload"])
    assert summary["size"] == 100_000_000 and summary["preview"] == ""
    assert row["verified"] == 0 and row["refused"].startswith("the body is 262144 bytes or more")


def test_a_chunked_body_larger_than_any_webhook_is_refused_once_that_much_arrived(ws):
    chunk = b"x" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY // len(chunk) + 2))
    head = b"POST /webhooks/event HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert status_of(raw_request(ws, head + chunks + b"0\r\n\r\n")) == 413
    [row] = stored(ws)
    assert len(row["payload"]) < 1000  # a summary, not the body


def test_a_refused_request_is_kept_as_a_short_summary_never_its_whole_body(ws):
    body = json.dumps({"uuid": "x" * 10_000}).encode()
    assert post_webhook(ws, "event", None, data=body).status_code == 401
    [row] = stored(ws)
    summary = json.loads(row["payload"])
    assert set(summary) == {"method", "path", "size", "why", "preview"}
    assert summary["size"] == len(body) and len(summary["preview"]) == REFUSED_PREVIEW
    assert summary["path"] == "/webhooks/event" and summary["method"] == "POST"


# -- deep nesting ------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [975, 5000])
def test_deeply_nested_json_never_breaks_the_server_or_any_view(ws, depth):
    body = b"[" * depth + b"]" * depth
    assert post_webhook(ws, "event", None, data=body).status_code == 401
    token = webhook_token(ws, None, body=body)
    # Signed: kept if Python's json reads it, else refused as unreadable; never a 500.
    assert post_webhook(ws, "event", None, token=token, data=body).status_code == (200 if depth < 990 else 400)
    ws.events, ws.calls, ws.inputs, ws.recordings  # noqa: B018 (none of them may raise)
    uuid = ws.phone("447700900140").call(ws.number)
    assert "completed" in list(ws.wait_for(uuid)["status"])
    ws.timeline(uuid)


def test_a_token_with_a_deeply_nested_header_is_refused_not_a_500(ws):
    nested = "[" * 5000 + "]" * 5000
    header = jwt.utils.base64url_encode(nested.encode()).decode()
    token = f"{header}.e30.c2ln"
    assert post_webhook(ws, "event", {"status": "x"}, token=token).status_code == 401


def test_a_malformed_chunked_body_is_refused_not_a_500(ws):
    head = b"POST /webhooks/event HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert status_of(raw_request(ws, head + b"zz\r\nnot a chunk\r\n0\r\n\r\n")) in (400, 401)


# -- what the signature covers -------------------------------------------------------------------

def test_get_is_refused_on_webhooks_the_platform_sends_with_post(ws):
    for kind in ("event", "input", "notify", "recording"):
        token = webhook_token(ws, None, body=b"")
        answer = requests.get(ws.webhook_url(kind), params={"uuid": "evil", "status": "completed"},
                              headers={"Authorization": "Bearer " + token}, proxies={"http": None}, timeout=60)
        assert answer.status_code == 405 and answer.headers["Allow"] == "POST"
    assert all(row["verified"] == 0 and "let in only with POST" in row["refused"] for row in stored(ws))
    assert ws.calls.empty


def get_answer(ws, query: dict, token: str) -> requests.Response:
    return requests.get(ws.webhook_url("answer"), params=query, headers={"Authorization": "Bearer " + token},
                        proxies={"http": None}, timeout=60)


def test_a_get_answer_token_reused_with_a_rewritten_query_is_refused(ws):
    """A GET's query is not covered by its signature (its body is empty), so a token seen on
    the way must not carry another query: each token is let in once."""
    ran = []
    ws.answer(lambda call: ran.append(call) or [{"action": "talk", "text": "hello"}])
    token = webhook_token(ws, None, body=b"")
    assert get_answer(ws, {"uuid": "u0", "from": "447700900143"}, token).status_code == 200
    assert get_answer(ws, {"uuid": "evil", "from": "attacker"}, token).status_code == 401
    assert [call["from"] for call in ran] == ["447700900143"]
    assert list(ws.events[ws.events["refused"].isna()]["uuid"]) == ["u0"]


def test_a_posts_token_sent_again_as_a_get_does_not_run_the_answer_handler(ws):
    ran = []
    ws.answer(lambda call: ran.append(call) or [{"action": "talk", "text": "hello"}])
    payload = {"uuid": "u1", "from": "447700900141", "to": ws.number}
    token = webhook_token(ws, payload)
    assert post_webhook(ws, "answer", payload, token=token).status_code == 200
    assert get_answer(ws, payload, token).status_code == 401  # its body was not empty
    assert len(ran) == 1


def test_the_same_signed_request_sent_twice_is_refused_the_second_time(ws):
    ran = []
    ws.on_event(lambda event: ran.append(event))
    payload = {"uuid": "u2", "status": "answered"}
    token = webhook_token(ws, payload)
    assert post_webhook(ws, "event", payload, token=token).status_code == 200
    assert post_webhook(ws, "event", payload, token=token).status_code == 401
    rows = stored(ws)
    assert [row["verified"] for row in rows] == [1, 0] and "used before" in rows[1]["refused"]
    assert len(ran) == 1


def test_a_token_without_a_jti_is_refused(ws):
    payload = {"uuid": "u3", "status": "answered"}
    token = webhook_token(ws, payload, jti=None)
    assert post_webhook(ws, "event", payload, token=token).status_code == 401


@pytest.mark.parametrize("claims", [
    {"iat": float("nan")}, {"iat": "1700000000"}, {"iat": True}, {"iat": 1e308},
    {"payload_hash": ["a", "list"]},
])
def test_odd_claims_signed_with_the_secret_are_refused_not_a_500(ws, claims):
    payload = {"uuid": "u4", "status": "answered"}
    assert post_webhook(ws, "event", payload, token=webhook_token(ws, payload, **claims)).status_code == 401


def test_claims_that_are_a_list_are_refused_not_a_500(ws):
    token = hs256(["iat", 1], ws.sandbox.application.signature_secret.encode())
    assert post_webhook(ws, "event", {"uuid": "u5"}, token=token).status_code == 401


# -- connections --------------------------------------------------------------------------------

def idle_connections(ws, count: int) -> list[socket.socket]:
    where = urlsplit(ws.url)
    return [socket.create_connection((where.hostname, where.port), timeout=60) for _ in range(count)]


def test_idle_connections_cannot_lock_a_real_webhook_out(ws, monkeypatch):
    """More idle connections than the server holds: it closes the oldest to serve a real
    webhook. (The read time-out is made an hour long here, so only that can explain it.)"""
    monkeypatch.setattr(serving.QuietRequestHandler, "timeout", 3600)
    idle = idle_connections(ws, serving.MAX_CONNECTIONS + 50)
    try:
        payload = {"uuid": "u6", "status": "answered"}
        answer = post_webhook(ws, "event", payload, token=webhook_token(ws, payload))
        assert answer.status_code == 200
        closed = 0
        for connection in idle[:50]:  # the oldest
            connection.settimeout(60)
            closed += connection.recv(1) == b""
        assert closed == 50
    finally:
        for connection in idle:
            connection.close()


def test_a_silent_connection_is_closed_after_the_read_time_out(ws, monkeypatch):
    monkeypatch.setattr(serving.QuietRequestHandler, "timeout", 0.2)
    monkeypatch.setattr(serving, "LINGER_SECONDS", 0.2)
    [connection] = idle_connections(ws, 1)
    with connection:
        connection.sendall(b"POST /webhooks/event HTTP/1.1\r\n")  # and then nothing
        assert connection.recv(65536) == b""  # closed by the server (the socket itself waits 60 s)


def test_the_server_still_answers_after_the_probes(ws):
    """After everything above, a call still works end to end (the probes left nothing broken)."""
    uuid = ws.phone("447700900142").call(ws.number)
    wait_until(lambda: ws.store.has_status(uuid, "completed"))


def test_a_replay_is_refused_even_after_the_server_restarts(tmp_path):
    from workshop_helpers.events import EventStore
    from workshop_helpers.server import WebhookServer

    secret = "a-signature-secret-for-restarts-of-the-server"
    body = json.dumps({"uuid": "u7", "status": "answered"}).encode()
    token = webhook_token(secret=secret, body=body, jti="one-token")
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    statuses = []
    for _ in range(2):  # the server, then the server started again on the same store
        webhooks = WebhookServer(EventStore(tmp_path / "events.sqlite"), secret)
        statuses.append(webhooks.app.test_client().post("/webhooks/event", data=body, headers=headers).status_code)
        webhooks.store.close()
    assert statuses == [200, 401]


def test_a_flood_of_refused_requests_is_counted_not_kept(ws, monkeypatch):
    import types

    from workshop_helpers import server
    from workshop_helpers.server import REFUSALS_KEPT_PER_MINUTE

    # One minute that never ends, however long the flood takes on a busy machine.
    monkeypatch.setattr(server, "time", types.SimpleNamespace(monotonic=lambda: 0.0, time=time.time))
    for n in range(REFUSALS_KEPT_PER_MINUTE + 40):
        assert post_webhook(ws, "event", {"n": n}).status_code == 401
    assert len(stored(ws)) == REFUSALS_KEPT_PER_MINUTE
    assert ws.server.refusals_not_kept == 40


def test_a_connection_that_trickles_its_request_is_closed_at_its_deadline(ws, monkeypatch):
    """The read time-out is per read, so a client sending a byte now and then would hold a
    thread for ever: every connection has a deadline, checked as the next one arrives."""
    monkeypatch.setattr(serving, "CONNECTION_DEADLINE", -1)  # every connection is past it at once
    monkeypatch.setattr(serving.QuietRequestHandler, "timeout", 3600)
    [slow] = idle_connections(ws, 1)
    with slow:
        slow.sendall(b"POST /webhooks/event HTTP/1.1\r\nHost: x\r\n")  # (and the rest never comes)
        payload = {"uuid": "u8", "status": "answered"}
        assert post_webhook(ws, "event", payload, token=webhook_token(ws, payload)).status_code == 200
        assert slow.recv(65536) == b""  # hung up when the webhook's connection arrived
