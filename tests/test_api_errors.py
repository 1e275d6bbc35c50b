"""The sandbox's HTTP API refuses bad requests the way the real platform does.

Everything here goes over real HTTPS: with `requests` (app JWTs made here with PyJWT, so
bad ones can be forged too) and with the official SDK. Every error is one shape (reference
1.10): `{type, title, detail, instance}`, plus `invalid_parameters: [{name, reason}]` on
400 validation errors, naming the offending field.

Most tests only read, so they share one sandbox (`shared`); tests that change the
application or count calls get their own (`sandbox`, `client` from conftest).
"""

from __future__ import annotations

import base64
import functools
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from api_requests import Api, assert_error, basic, make_jwt
from conftest import running_sandbox
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from vonage import Auth, HttpClientOptions, Vonage
from vonage_application import ApplicationConfig
from vonage_http_client.errors import AuthenticationError, HttpRequestError, NotFoundError
from vonage_voice import CreateCallRequest, Talk

MAGIC_ANSWERS = "447700900000"
MAGIC_BUSY = "447700900001"
MAGIC_REJECTS = "447700900003"
PHONE = "447700900123"  # an ordinary virtual phone


# -- helpers ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def other_private_key() -> str:
    """A well-formed RSA key that is not the application's (the same one each time)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def reason_for(body: dict, name: str) -> str:
    return next(p["reason"] for p in body["invalid_parameters"] if p["name"] == name)


def call_body(**changes) -> dict:
    """A valid create-call body; a change of None removes that field."""
    body = {
        "to": [{"type": "phone", "number": MAGIC_ANSWERS}],
        "from": {"type": "phone", "number": "447700900100"},
        "ncco": [{"action": "talk", "text": "Hello"}],
        "event_url": ["https://example.com/webhooks/event"],
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One sandbox for the tests that change nothing (starting one takes most of a second)."""
    with running_sandbox(tmp_path_factory.mktemp("shared-sandbox"), seed=11) as running:
        yield running


@pytest.fixture(scope="module")
def api(shared):
    session = Api(shared)
    yield session
    session.close()


@pytest.fixture
def fresh_api(sandbox):
    session = Api(sandbox)
    yield session
    session.close()


# -- authentication (reference 1.2) ---------------------------------------------------------
def test_a_well_made_jwt_is_accepted(api):
    response = api.get("/v1/calls")
    assert response.status_code == 200
    assert {"count", "page_size", "record_index", "_links", "_embedded"} <= set(response.json())


def test_no_authorization_header_is_401(api):
    body = assert_error(api.get("/v1/calls", auth=None), 401)
    assert "Bearer" in body["detail"]


@pytest.mark.parametrize("header", [
    "Basic " + base64.b64encode(b"key:secret").decode(),
    "Token abc",
    "Bearer",
    "Bearer   ",
], ids=["basic", "token", "bearer-no-token", "bearer-blank"])
def test_a_header_that_is_not_bearer_jwt_is_401(api, header):
    assert_error(api.get("/v1/calls", auth=header), 401)


def test_the_bearer_scheme_is_case_insensitive(api):
    response = api.get("/v1/calls", auth="bearer " + make_jwt(api.app))
    assert response.status_code == 200


BAD_TOKENS = {
    "expired": (lambda app: make_jwt(app, iat=int(time.time()) - 3600, exp=int(time.time()) - 60), "expired"),
    "forged": (lambda app: make_jwt(app, key_pem=other_private_key()), "signature"),
    "another application": (lambda app: make_jwt(app, application_id=str(uuid.uuid4())), "another application"),
    "no jti": (lambda app: make_jwt(app, jti=None), "jti"),
    "no application_id": (lambda app: make_jwt(app, application_id=None), "application_id"),
    "no iat": (lambda app: make_jwt(app, iat=None), "iat"),
    "lives over 24h": (
        lambda app: make_jwt(app, exp=int(time.time()) + 24 * 3600 + 600), "24 hours"),
    "HS256": (lambda app: jwt.encode(
        {"application_id": app.id, "iat": int(time.time()), "jti": "x"}, "s" * 32, algorithm="HS256"), "not valid"),
    "not a JWT": (lambda app: "not.a.jwt", "not valid"),
}


@pytest.mark.parametrize("make, why", list(BAD_TOKENS.values()), ids=list(BAD_TOKENS))
def test_a_bad_jwt_is_401_saying_why(api, make, why):
    body = assert_error(api.get("/v1/calls", auth="Bearer " + make(api.app)), 401)
    assert why in body["detail"]


def test_a_jwt_living_exactly_24h_is_accepted(api):
    now = int(time.time())
    assert api.get("/v1/calls", auth="Bearer " + make_jwt(api.app, iat=now, exp=now + 24 * 3600)).status_code == 200


@pytest.mark.parametrize("method, path", [
    ("POST", "/v1/calls"),
    ("GET", "/v1/calls/" + str(uuid.uuid4())),
    ("PUT", "/v1/calls/" + str(uuid.uuid4())),
    ("GET", "/v1/files/" + str(uuid.uuid4())),
    ("GET", "/sandbox"),
    ("GET", "/sandbox/phones"),
    ("PUT", f"/sandbox/phones/{PHONE}"),
    ("POST", f"/sandbox/phones/{PHONE}/calls"),
    ("GET", "/sandbox/webhooks"),
])
def test_every_voice_and_control_route_needs_the_jwt(api, method, path):
    # Auth comes first: even a request that would also be invalid is refused with 401.
    assert_error(api.request(method, path, auth=None, json={"action": "hangup"}), 401)
    forged = "Bearer " + make_jwt(api.app, key_pem=other_private_key())
    assert_error(api.request(method, path, auth=forged, json={"action": "hangup"}), 401)


def test_the_sdk_signed_with_another_key_gets_authentication_error(shared):
    app = shared.application
    client = Vonage(Auth(application_id=app.id, private_key=other_private_key()),
                    HttpClientOptions(api_host=shared.api_host, timeout=15))
    client.http_client._session.verify = str(shared.tls.ca_path)
    client.http_client._session.trust_env = False
    with pytest.raises(AuthenticationError) as caught:
        client.voice.get_call(str(uuid.uuid4()))
    assert_error(caught.value.response, 401)


# -- POST /v1/calls validation (reference 1.4) -------------------------------------------------
def test_malformed_json_is_400(api):
    response = api.post("/v1/calls", data="{not json", headers={"Content-Type": "application/json"})
    body = assert_error(response, 400)
    assert "JSON" in body["detail"]


def test_a_json_array_body_is_400(api):
    assert_error(api.post("/v1/calls", json=[call_body()]), 400, ["body"])


BAD_CALLS = {
    "missing to": (call_body(to=None), ["to"]),
    "to not a list": (call_body(to={"type": "phone", "number": MAGIC_ANSWERS}), ["to"]),
    "to with a leading +": (call_body(to=[{"type": "phone", "number": "+447700900000"}]), ["to[0].number"]),
    "to with letters": (call_body(to=[{"type": "phone", "number": "4477009abc"}]), ["to[0].number"]),
    "to too short": (call_body(to=[{"type": "phone", "number": "12345"}]), ["to[0].number"]),
    "unknown ncco action": (call_body(ncco=[{"action": "dance"}]), ["ncco[0]"]),
    "talk without text": (call_body(ncco=[{"action": "talk"}]), ["ncco[0].text"]),
    "second action bad": (
        call_body(ncco=[{"action": "talk", "text": "Hi"}, {"action": "input", "type": ["dtmf"],
                                                             "dtmf": {"maxDigits": 21}}]),
        ["ncco[1].dtmf.maxDigits"],
    ),
    "event_url a string": (call_body(event_url="https://example.com/event"), ["event_url"]),
    "event_url two URLs": (call_body(event_url=["https://a.example/e", "https://b.example/e"]), ["event_url"]),
    "length_timer 0": (call_body(length_timer=0), ["length_timer"]),
    "ringing_timer 121": (call_body(ringing_timer=121), ["ringing_timer"]),
    "event_method PUT": (call_body(event_method="PUT"), ["event_method"]),
}


@pytest.mark.parametrize("body, names", list(BAD_CALLS.values()), ids=list(BAD_CALLS))
def test_invalid_create_call_is_400_naming_the_field(api, body, names):
    assert_error(api.post("/v1/calls", json=body), 400, names)


def test_a_bad_number_is_explained(api):
    body = assert_error(api.post("/v1/calls", json=call_body(to=[{"type": "phone", "number": "+447700900000"}])),
                        400, ["to[0].number"])
    reason = reason_for(body, "to[0].number")
    assert "+447700900000" in reason and "no +" in reason


def test_an_app_destination_is_400_since_create_call_cannot_reach_app_users(api):
    body = assert_error(api.post("/v1/calls", json=call_body(to=[{"type": "app", "user": "alice"}])),
                        400, ["to[0].type"])
    reason = reason_for(body, "to[0].type")
    assert "phone" in reason and "sip" in reason and "websocket" in reason


def test_a_sip_destination_without_a_sip_uri_is_400_naming_the_uri(api):
    response = api.post("/v1/calls", json=call_body(to=[{"type": "sip", "uri": "alice@example.com"}]))
    assert response.status_code == 400
    assert any(p["name"].startswith("to[0]") for p in response.json()["invalid_parameters"])


def test_answer_url_as_a_plain_string_is_400_naming_answer_url(api):
    response = api.post("/v1/calls", json=call_body(ncco=None, answer_url="https://example.com/answer"))
    body = assert_error(response, 400, ["answer_url"])
    assert "array" in reason_for(body, "answer_url")


def test_answer_url_instead_of_ncco_is_accepted(api, receiver):
    receiver.respond("answer", always=[{"action": "talk", "text": "From the answer URL"}])
    response = api.post("/v1/calls", json=call_body(ncco=None, answer_url=[receiver.url("answer")],
                                                    event_url=[receiver.url("event")]))
    assert response.status_code == 201, response.text
    receiver.wait_for_status("completed", uuid=response.json()["uuid"])
    assert [r["method"] for r in receiver.requests if r["path"] == "answer"] == ["GET"]


@pytest.mark.parametrize("body, names", [
    (call_body(answer_url=["https://example.com/answer"]), {"ncco", "answer_url"}),
    (call_body(ncco=None), {"ncco", "answer_url"}),
    (call_body(random_from_number=True), {"from", "random_from_number"}),
    (call_body(**{"from": None}), {"from", "random_from_number"}),
], ids=["both-ncco-and-answer_url", "neither-ncco-nor-answer_url",
        "both-from-and-random_from_number", "neither-from-nor-random_from_number"])
def test_either_or_fields_are_400_naming_them(api, body, names):
    response = api.post("/v1/calls", json=body)
    result = assert_error(response, 400, names=[p["name"] for p in response.json().get("invalid_parameters", [])])
    # the problem may be filed under one of the fields or under `body`, but it names both
    text = " ".join(p["name"] + " " + p["reason"] for p in result["invalid_parameters"])
    assert all(name in text for name in names), result


def test_an_ncco_failing_an_sdk_cross_field_check_is_400_not_500(api):
    ncco = [{"action": "connect", "endpoint": [{"type": "phone", "number": MAGIC_ANSWERS}]}]
    assert_error(api.post("/v1/calls", json=call_body(ncco=ncco)), 400, ["ncco[0]"])


@pytest.mark.parametrize("method, body, name", [
    ("POST", call_body(ncco={"action": "talk", "text": "Hi"}), "ncco"),
    ("POST", call_body(ncco=[]), "ncco"),
    ("PUT", {"action": "transfer", "destination": {"type": "ncco", "ncco": []}}, "destination.ncco"),
], ids=["create-ncco-object", "create-ncco-empty", "transfer-ncco-empty"])
def test_a_problem_with_the_whole_ncco_names_the_ncco_field(api, method, body, name):
    path = "/v1/calls" if method == "POST" else f"/v1/calls/{uuid.uuid4()}"
    assert_error(api.request(method, path, json=body), 400, [name])


def test_nothing_is_dialled_for_a_refused_request(api):
    before = api.get("/v1/calls").json()["count"]
    for body in (call_body(to=None), call_body(ncco=[{"action": "talk"}]), call_body(length_timer=0)):
        assert api.post("/v1/calls", json=body).status_code == 400
    assert api.get("/v1/calls").json()["count"] == before


def test_event_url_is_required_until_the_application_has_one(sandbox, fresh_api, receiver):
    body = assert_error(fresh_api.post("/v1/calls", json=call_body(event_url=None)), 400, ["event_url"])
    assert "event_url" in reason_for(body, "event_url")

    sandbox.application.set_webhooks(event_url=receiver.url("app-event"))
    response = fresh_api.post("/v1/calls", json=call_body(event_url=None))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "started" and created["direction"] == "outbound"
    # the call's events go to the application's event_url, by POST (its default method)
    receiver.wait_for_status("completed", path="app-event", uuid=created["uuid"])
    assert {r["method"] for r in receiver.requests if r["path"] == "app-event"} == {"POST"}


def test_random_from_number_calls_from_the_applications_number(api, receiver):
    body = call_body(**{"from": None}, random_from_number=True, event_url=[receiver.url("event")])
    response = api.post("/v1/calls", json=body)
    assert response.status_code == 201, response.text
    call = api.get(f"/v1/calls/{response.json()['uuid']}").json()
    assert call["from"] == {"type": "phone", "number": api.app.number}
    assert call["to"] == {"type": "phone", "number": MAGIC_ANSWERS}
    receiver.wait_for_status("completed", uuid=call["uuid"])


def test_the_sdk_sees_a_400_as_http_request_error(client):
    # The sandbox's application has no event_url, and this request gives none.
    with pytest.raises(HttpRequestError) as caught:
        client.voice.create_call(CreateCallRequest(
            to=[{"type": "phone", "number": MAGIC_ANSWERS}],
            from_={"type": "phone", "number": "447700900100"},
            ncco=[Talk(text="Hello")],
        ))
    assert type(caught.value) is HttpRequestError
    assert_error(caught.value.response, 400, ["event_url"])


# -- GET / PUT one call (reference 1.6, 1.7) -------------------------------------------------
def test_an_unknown_call_is_404(api):
    unknown = str(uuid.uuid4())
    body = assert_error(api.get(f"/v1/calls/{unknown}"), 404)
    assert unknown in body["detail"]
    assert_error(api.put(f"/v1/calls/{unknown}", json={"action": "hangup"}), 404)
    assert_error(api.put(f"/v1/calls/{unknown}", json={"action": "mute"}), 404)


def test_the_sdk_sees_an_unknown_call_as_not_found(shared):
    client = shared.client()
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFoundError) as caught:
        client.voice.get_call(unknown)
    assert_error(caught.value.response, 404)
    with pytest.raises(NotFoundError):
        client.voice.hangup(unknown)


def test_an_unknown_modify_action_is_400_naming_action(api):
    body = assert_error(api.put(f"/v1/calls/{uuid.uuid4()}", json={"action": "dance"}), 400, ["action"])
    assert "hangup" in reason_for(body, "action")
    assert_error(api.put(f"/v1/calls/{uuid.uuid4()}", json={}), 400, ["action"])
    assert_error(api.put(f"/v1/calls/{uuid.uuid4()}", json=["hangup"]), 400, ["action"])


@pytest.mark.parametrize("destination, names", [
    ({"type": "url", "url": ["https://example.com/ncco"]}, ["destination"]),
    (None, ["destination"]),
    ({"type": "ncco", "url": "https://example.com/ncco"}, ["destination.url"]),
    ({"type": "ncco", "url": ["ftp://example.com/ncco"]}, ["destination.url"]),
    ({"type": "ncco", "ncco": [{"action": "talk"}]}, ["destination.ncco[0].text"]),
], ids=["type-url", "missing", "url-string", "url-ftp", "ncco-bad-talk"])
def test_a_transfer_with_a_bad_destination_is_400(api, destination, names):
    body = {"action": "transfer"}
    if destination is not None:
        body["destination"] = destination
    assert_error(api.put(f"/v1/calls/{uuid.uuid4()}", json=body), 400, names)


def test_a_malformed_modify_body_is_400(api):
    response = api.put(f"/v1/calls/{uuid.uuid4()}", data="hangup", headers={"Content-Type": "application/json"})
    assert_error(response, 400)


# -- GET /v1/calls query validation (reference 1.5) -----------------------------------------
@pytest.mark.parametrize("query, name", [
    ("page_size=0", "page_size"),
    ("page_size=101", "page_size"),
    ("page_size=ten", "page_size"),
    ("record_index=-1", "record_index"),
    ("status=bogus", "status"),
    ("order=up", "order"),
    ("date_start=yesterday", "date_start"),
    ("date_end=2026-11-24T07:45:14", "date_end"),  # no zone
])
def test_a_bad_list_query_is_400_naming_the_parameter(api, query, name):
    assert_error(api.get(f"/v1/calls?{query}"), 400, [name])


@pytest.mark.parametrize("name, value", [("page_size", "²"), ("record_index", "³")])
def test_a_unicode_digit_in_the_list_query_is_400_not_500(api, name, value):
    assert_error(api.get("/v1/calls", params={name: value}), 400, [name])


def test_every_bad_list_parameter_is_named_at_once(api):
    assert_error(api.get("/v1/calls?page_size=0&order=up&status=bogus"), 400, ["status", "page_size", "order"])


# -- routes, verbs, files --------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/v1/nope", "/v1/calls/a/b/c", "/", "/v3/applications"])
def test_an_unknown_route_is_404_in_the_error_shape(api, path):
    assert_error(api.get(path), 404)


@pytest.mark.parametrize("method, path", [
    ("DELETE", "/v1/calls"), ("PATCH", "/v1/calls"), ("POST", "/v1/calls/" + str(uuid.uuid4())),
    ("DELETE", "/v2/applications"),
])
def test_a_wrong_verb_is_405_in_the_error_shape(api, method, path):
    assert_error(api.request(method, path), 405)


def test_a_405_says_which_verbs_are_allowed(api):
    response = api.delete("/v1/calls")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_an_unknown_file_is_404_and_needs_auth(api):
    unknown = str(uuid.uuid4())
    body = assert_error(api.get(f"/v1/files/{unknown}"), 404)
    assert unknown in body["detail"]
    assert_error(api.get(f"/v1/files/{unknown}", auth=None), 401)


@pytest.mark.parametrize("file_id", ["..%2Fprivate.key", "..%2F..%2Fapplication.json", "private", "application"])
def test_files_outside_the_recordings_are_not_served(api, file_id):
    response = api.get(f"/v1/files/{file_id}")
    assert response.status_code == 404
    assert "PRIVATE KEY" not in response.text and "api_secret" not in response.text


# -- Application API v2 (reference 5) --------------------------------------------------------
def test_get_application_with_basic_auth(api):
    response = api.get(f"/v2/applications/{api.app.id}", auth="basic")
    assert response.status_code == 200
    resource = response.json()
    assert resource["id"] == api.app.id
    assert resource["keys"]["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    voice = resource["capabilities"]["voice"]
    assert voice["signed_callbacks"] is True
    assert voice["conversations_ttl"] == 48 and voice["leg_persistence_time"] == 2
    assert voice["region"] == "eu-west"
    assert resource["_links"]["self"]["href"] == f"/v2/applications/{api.app.id}"
    assert "api_secret" not in response.text and api.app.api_secret not in response.text


@pytest.mark.parametrize("header", [
    lambda app: basic(app.api_key, app.api_secret + "x"),
    lambda app: basic("wrongkey", app.api_secret),
    lambda app: "Bearer " + make_jwt(app),
    lambda app: "Basic !!!not-base64!!!",
    lambda app: None,
], ids=["wrong-secret", "wrong-key", "jwt", "bad-base64", "none"])
def test_the_application_api_needs_the_right_basic_auth(api, header):
    body = assert_error(api.get(f"/v2/applications/{api.app.id}", auth=header(api.app)), 401)
    assert api.app.api_secret not in body["detail"]


@pytest.mark.parametrize("credentials", ["clé:secret", "{key}:sécret"], ids=["key", "secret"])
def test_non_ascii_basic_credentials_are_401_not_500(api, credentials):
    raw = credentials.format(key=api.app.api_key).encode()
    header = "Basic " + base64.b64encode(raw).decode()
    assert_error(api.get(f"/v2/applications/{api.app.id}", auth=header), 401)


def test_an_unknown_application_is_404(api):
    unknown = str(uuid.uuid4())
    body = assert_error(api.get(f"/v2/applications/{unknown}", auth="basic"), 404)
    assert unknown in body["detail"]
    assert_error(api.put(f"/v2/applications/{unknown}", auth="basic", json={"name": "x"}), 404)


def test_the_sdk_application_errors(shared):
    client = shared.client()
    with pytest.raises(NotFoundError):
        client.application.get_application(str(uuid.uuid4()))
    app = shared.application
    wrong = Vonage(Auth(api_key=app.api_key, api_secret="wrong-secret"),
                   HttpClientOptions(api_host=shared.api_host, timeout=15))
    wrong.http_client._session.verify = str(shared.tls.ca_path)
    wrong.http_client._session.trust_env = False
    with pytest.raises(AuthenticationError) as caught:
        wrong.application.get_application(app.id)
    assert_error(caught.value.response, 401)


@pytest.mark.parametrize("body, names", [
    ({"capabilities": {"voice": {}}}, ["name"]),
    ({"name": "x", "capabilities": {"voice": {"webhooks": {"answer_url": {
        "address": "https://example.com/answer", "http_method": "GET", "connect_timeout": 5}}}}},
     ["capabilities.voice.webhooks.answer_url.connect_timeout"]),
    ({"name": "x", "capabilities": {"voice": {"webhooks": {"event_url": {
        "address": "https://example.com/event", "http_method": "PUT"}}}}},
     ["capabilities.voice.webhooks.event_url.http_method"]),
    ({"name": "x", "capabilities": {"voice": {"conversations_ttl": 0}}},
     ["capabilities.voice.conversations_ttl"]),
], ids=["no-name", "connect_timeout-5", "http_method-PUT", "ttl-0"])
def test_an_invalid_application_put_is_400_and_changes_nothing(api, body, names):
    before = api.get(f"/v2/applications/{api.app.id}", auth="basic").json()
    assert_error(api.put(f"/v2/applications/{api.app.id}", auth="basic", json=body), 400, names)
    assert api.get(f"/v2/applications/{api.app.id}", auth="basic").json() == before


@pytest.mark.parametrize("hook", ["answer_url", "fallback_answer_url"])
def test_answer_webhook_socket_timeout_over_5000_is_400(api, hook):
    body = {"name": "x", "capabilities": {"voice": {"webhooks": {hook: {
        "address": "https://example.com/answer", "http_method": "GET", "socket_timeout": 8000}}}}}
    before = api.get(f"/v2/applications/{api.app.id}", auth="basic").json()
    try:
        assert_error(api.put(f"/v2/applications/{api.app.id}", auth="basic", json=body), 400,
                     [f"capabilities.voice.webhooks.{hook}.socket_timeout"])
    finally:  # the shared application must stay as it was, even while this bug lets it change
        api.put(f"/v2/applications/{api.app.id}", auth="basic",
                json={"name": before["name"], "capabilities": {"voice": {
                    k: v for k, v in before["capabilities"]["voice"].items() if k != "webhooks"}}})


def test_an_application_put_with_malformed_json_is_400(api):
    response = api.put(f"/v2/applications/{api.app.id}", auth="basic", data="{",
                       headers={"Content-Type": "application/json"})
    assert_error(response, 400)


def test_the_sdk_updates_the_application_webhooks(sandbox, client, fresh_api, receiver):
    app = sandbox.application
    config = ApplicationConfig(name="My workshop app", capabilities={"voice": {"webhooks": {
        "answer_url": {"address": receiver.url("answer"), "http_method": "GET"},
        "event_url": {"address": receiver.url("event"), "http_method": "POST", "socket_timeout": 8000},
    }}})
    updated = client.application.update_application(app.id, config)
    assert updated.name == "My workshop app"
    assert updated.capabilities.voice.webhooks.answer_url.address == receiver.url("answer")

    resource = fresh_api.get(f"/v2/applications/{app.id}", auth="basic").json()
    assert resource["name"] == "My workshop app"
    webhooks = resource["capabilities"]["voice"]["webhooks"]
    assert webhooks["answer_url"] == {"address": receiver.url("answer"), "http_method": "GET",
                                      "connect_timeout": 1000, "socket_timeout": 5000}
    assert webhooks["event_url"] == {"address": receiver.url("event"), "http_method": "POST",
                                     "connect_timeout": 1000, "socket_timeout": 8000}
    assert "fallback_answer_url" not in webhooks
    assert app.webhook("answer_url")["address"] == receiver.url("answer")
    assert app.webhook("event_url")["socket_timeout"] == 8000
    assert client.application.get_application(app.id).capabilities.voice.webhooks.event_url.address == \
        receiver.url("event")

    # and the platform uses them: a virtual phone can now call the application
    receiver.respond("answer", always=[{"action": "talk", "text": "Welcome"}])
    response = fresh_api.post(f"/sandbox/phones/{PHONE}/calls")
    assert response.status_code == 201, response.text
    leg = response.json()["uuid"]
    receiver.wait_for_status("completed", uuid=leg)
    answers = [r for r in receiver.requests if r["path"] == "answer"]
    assert answers and answers[0]["method"] == "GET" and answers[0]["args"]["from"] == PHONE

    # PUT replaces: leaving the voice capability out removes the webhooks
    client.application.update_application(app.id, ApplicationConfig(name="Bare"))
    assert app.webhook("answer_url") is None and app.webhook("event_url") is None
    assert_error(fresh_api.post(f"/sandbox/phones/{PHONE}/calls"), 409)


# -- listing calls (reference 1.5) -------------------------------------------------------------
def query_of(href: str) -> dict:
    parts = urlsplit(href)
    assert parts.path == "/v1/calls" and not parts.netloc, href
    return {key: values[0] for key, values in parse_qs(parts.query).items()}


def test_listing_pages_links_order_and_filters(sandbox, fresh_api, receiver):
    api = fresh_api
    created = []
    for number in [MAGIC_ANSWERS] * 4 + [MAGIC_REJECTS]:
        body = call_body(to=[{"type": "phone", "number": number}], event_url=[receiver.url("event")])
        response = api.post("/v1/calls", json=body)
        assert response.status_code == 201, response.text
        created.append(response.json())
        final = "completed" if number == MAGIC_ANSWERS else "rejected"
        receiver.wait_for_status(final, uuid=created[-1]["uuid"])
    uuids = [c["uuid"] for c in created]

    def page(query: str) -> dict:
        response = api.get("/v1/calls?" + query)
        assert response.status_code == 200, response.text
        return response.json()

    first = page("page_size=2")
    assert (first["count"], first["page_size"], first["record_index"]) == (5, 2, 0)
    assert [c["uuid"] for c in first["_embedded"]["calls"]] == uuids[:2]
    links = first["_links"]
    assert set(links) == {"self", "first", "last", "next"}
    assert query_of(links["self"]["href"]) == {"page_size": "2"}
    assert query_of(links["first"]["href"]) == {"page_size": "2"}
    assert query_of(links["last"]["href"]) == {"page_size": "2", "record_index": "4"}
    assert query_of(links["next"]["href"]) == {"page_size": "2", "record_index": "2"}

    middle = page("page_size=2&record_index=2")
    assert middle["record_index"] == 2
    assert [c["uuid"] for c in middle["_embedded"]["calls"]] == uuids[2:4]
    assert set(middle["_links"]) == {"self", "first", "last", "next", "prev"}
    assert query_of(middle["_links"]["prev"]["href"]).get("record_index", "0") == "0"
    assert query_of(middle["_links"]["next"]["href"])["record_index"] == "4"

    last = page("page_size=2&record_index=4")
    assert [c["uuid"] for c in last["_embedded"]["calls"]] == uuids[4:]
    assert set(last["_links"]) == {"self", "first", "last", "prev"}
    assert query_of(last["_links"]["prev"]["href"])["record_index"] == "2"

    # following `next` from the first page visits every call once, in order
    seen, href = [], "/v1/calls?page_size=2"
    while href:
        body = page(href.split("?", 1)[1])
        seen += [c["uuid"] for c in body["_embedded"]["calls"]]
        href = body["_links"].get("next", {}).get("href")
    assert seen == uuids

    single = page("page_size=10")
    assert set(single["_links"]) == {"self", "first", "last"}
    assert [c["uuid"] for c in single["_embedded"]["calls"]] == uuids

    # order=desc reverses
    desc = page("page_size=10&order=desc")
    assert [c["uuid"] for c in desc["_embedded"]["calls"]] == uuids[::-1]
    assert query_of(desc["_links"]["self"]["href"])["order"] == "desc"

    # status filter, and the filter is kept in the links
    completed = page("status=completed&page_size=3")
    assert completed["count"] == 4
    assert [c["uuid"] for c in completed["_embedded"]["calls"]] == uuids[:3]
    assert all(c["status"] == "completed" for c in completed["_embedded"]["calls"])
    for name in ("self", "first", "last", "next"):
        assert query_of(completed["_links"][name]["href"])["status"] == "completed"
    rejected = page("status=rejected")
    assert rejected["count"] == 1 and rejected["_embedded"]["calls"][0]["uuid"] == uuids[4]
    assert page("status=ringing")["count"] == 0

    # conversation_uuid filter
    target = created[2]
    by_conversation = page(f"conversation_uuid={target['conversation_uuid']}")
    assert by_conversation["count"] == 1
    assert by_conversation["_embedded"]["calls"][0]["uuid"] == target["uuid"]
    assert page(f"conversation_uuid=CON-{uuid.uuid4()}")["count"] == 0

    # date filters take ISO-8601 with a zone
    assert page("date_start=2000-01-01T00:00:00Z")["count"] == 5
    assert page("date_end=2000-01-01T00:00:00Z")["count"] == 0

    # a record_index past the end is an empty page, not an error
    beyond = page("page_size=2&record_index=10")
    assert beyond["count"] == 5 and beyond["_embedded"]["calls"] == []
    assert "next" not in beyond["_links"]


# -- sandbox control API -------------------------------------------------------------------------
@pytest.mark.parametrize("behaviour, says", [
    ({"on_ring": "dance"}, "on_ring"),
    ({"script": [{"jump": 1}]}, "jump"),
    ({"script": [{"press": "12ab"}]}, "0-9"),
    ({"script": [{"wait": -1}]}, "wait"),
    ({"script": [{"say": ""}]}, "say"),
    ({"script": {"wait": 1}}, "list"),
    ({"answer_after": 500}, "answer_after"),
    ({"ring": "answer"}, "unknown"),
    (["answer"], "object"),
], ids=["on_ring-dance", "step-jump", "press-letters", "wait-negative", "say-empty", "script-object",
        "answer_after-500", "unknown-key", "not-an-object"])
def test_a_bad_phone_behaviour_is_400_with_a_clear_reason(api, behaviour, says):
    before = api.get(f"/sandbox/phones/{PHONE}").json()
    body = assert_error(api.put(f"/sandbox/phones/{PHONE}", json=behaviour), 400, ["behaviour"])
    assert says in reason_for(body, "behaviour")
    assert api.get(f"/sandbox/phones/{PHONE}").json() == before


def test_a_good_phone_behaviour_is_accepted(api):
    behaviour = {"on_ring": "answer", "answer_after": 2, "script": [{"wait": 1}, {"press": "12#"}, {"hangup": True}]}
    response = api.put("/sandbox/phones/447700900555", json=behaviour)
    assert response.status_code == 200, response.text
    assert response.json()["behaviour"]["script"] == behaviour["script"]
    assert api.get("/sandbox/phones/447700900555").json()["behaviour"]["answer_after"] == 2.0


def test_scripting_a_magic_number_is_409(api):
    body = assert_error(api.put(f"/sandbox/phones/{MAGIC_BUSY}", json={"on_ring": "answer"}), 409)
    assert "magic" in body["detail"]
    assert api.get(f"/sandbox/phones/{MAGIC_BUSY}").json()["behaviour"]["on_ring"] == "busy"


def test_pressing_keys_while_not_on_a_call_is_409(api):
    body = assert_error(api.post(f"/sandbox/phones/{PHONE}/press", json={"digits": "1"}), 409)
    assert "not on an answered call" in body["detail"]
    assert_error(api.post(f"/sandbox/phones/{PHONE}/hangup"), 409)
    assert_error(api.post(f"/sandbox/phones/{PHONE}/answer"), 409)


def test_pressing_letters_is_400_naming_digits(api):
    body = assert_error(api.post(f"/sandbox/phones/{PHONE}/press", json={"digits": "abc"}), 400, ["digits"])
    assert "0-9" in reason_for(body, "digits")


def test_calling_in_without_an_answer_url_is_409_saying_to_set_one(api):
    body = assert_error(api.post(f"/sandbox/phones/{PHONE}/calls"), 409)
    assert "answer_url" in body["detail"] and "set" in body["detail"].lower()


def test_an_unknown_phone_command_is_404(api):
    body = assert_error(api.post(f"/sandbox/phones/{PHONE}/dance"), 404)
    assert "press" in body["detail"]


@pytest.mark.parametrize("method, suffix", [
    ("GET", ""), ("PUT", ""), ("POST", "/calls"), ("POST", "/press"),
])
@pytest.mark.parametrize("number", ["123", "+447700900123", "4477abc00123", "1234567890123456"])
def test_a_bad_phone_number_in_the_path_is_400(api, method, suffix, number):
    body = {"digits": "1"} if suffix == "/press" else {}
    response = api.request(method, f"/sandbox/phones/{number}{suffix}", json=body)
    result = assert_error(response, 400, ["number"])
    assert "7 to 15 digits" in reason_for(result, "number")
