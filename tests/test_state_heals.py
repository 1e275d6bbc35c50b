"""The sandbox's state folder heals what it can make again, and explains what it cannot.

The state folder (`~/.voice-workshop/sandbox`, or --state-dir) holds the application's
identity (application.json and private.key: nothing can make them again), derived files
(ca.pem, server.pem, ca-bundle.pem: made again whenever they cannot be used) and the
recordings (files/). Everything in it is its owner's alone. Around it: the standalone
command's numeric options, two requests that made the sandbox fail, and the NCCO `wait`
action's time-out rule.
"""

from __future__ import annotations

import json
import logging
import os
import ssl

import certifi
import pytest
import requests
from api_requests import app_claims, rs256
from conftest import mode, place, running_sandbox
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from workshop_helpers import config
from workshop_helpers.ncco import NccoError, parse_ncco
from workshop_helpers.sandbox.__main__ import parser


# -- helpers -------------------------------------------------------------------------------
@pytest.fixture
def state(tmp_path):
    """A state folder a sandbox has started from and stopped: every file is there."""
    folder = tmp_path / "state"
    with running_sandbox(folder):
        pass
    return folder


def refusal(state_dir) -> str:
    """The message of the SandboxStateError that starting from `state_dir` raises."""
    from workshop_helpers.sandbox.application import SandboxStateError

    with pytest.raises(SandboxStateError) as raised:
        with running_sandbox(state_dir):
            pass
    return str(raised.value)


def assert_explains_a_new_application(message: str, state_dir, file_name: str) -> None:
    assert str(state_dir / file_name) in message
    assert "delete both application.json and private.key" in message
    assert "new sandbox application" in message
    assert "must use the new ones" in message  # what it means for scripts holding the old
    assert "Traceback" not in message


def snapshot(folder) -> dict:
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


def signed(claims: dict, key_path) -> str:
    """An RS256 JWT of exactly these claims, signed with the key at `key_path` (PyJWT
    would not make some of them)."""
    return rs256(claims, serialization.load_pem_private_key(key_path.read_bytes(), password=None))


def call_api(sandbox, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(sandbox.tls.ca_path)
        token = token or signed(app_claims(sandbox.application.id), sandbox.application.private_key_path)
        return session.request(method, sandbox.base_url + path, headers={"Authorization": "Bearer " + token},
                               timeout=30, **kwargs)


def assert_problem(response: requests.Response, status: int) -> dict:
    """The sandbox's one error shape (RFC 7807 style)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert {"type", "title", "detail", "instance"} <= set(body), body
    return body


# -- the application's identity: explained, never replaced -------------------------------
@pytest.mark.parametrize("garbage", [
    "{garbage", "", "[1, 2]", '"text"', '{"id": "x"}',
    '{"id": 5, "api_key": "k", "api_secret": "s", "signature_secret": "t", "number": "447700900100"}',
    '{"id": "x", "api_key": "k", "api_secret": "s", "signature_secret": "t", "number": "447700900100", '
    '"voice": {"webhooks": {"answer_url": "http://example.com"}}}',
], ids=["not-json", "empty", "a-list", "a-string", "fields-missing", "id-not-text", "webhook-not-an-object"])
def test_a_garbage_application_json_is_an_error_naming_the_file_and_how_to_make_a_new_application(state, garbage):
    (state / "application.json").write_text(garbage)
    before = snapshot(state)
    assert_explains_a_new_application(refusal(state), state, "application.json")
    assert snapshot(state) == before  # nothing replaced: a half-copied file can still be put back


@pytest.mark.parametrize("damage", ["cut-short", "empty", "a-public-key", "an-ec-key"])
def test_a_damaged_private_key_is_an_error_naming_the_file_and_how_to_make_a_new_application(state, damage):
    key_path = state / "private.key"
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    key_path.write_bytes({
        "cut-short": key_path.read_bytes()[:300],
        "empty": b"",
        "a-public-key": key.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo),
        "an-ec-key": ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    }[damage])
    before = snapshot(state)
    message = refusal(state)
    assert_explains_a_new_application(message, state, "private.key")
    assert "delete private.key alone" in message  # the same application, a new key pair
    assert snapshot(state) == before


def test_a_missing_private_key_gives_the_same_application_a_new_key_pair_and_says_so(state, caplog):
    old = json.loads((state / "application.json").read_text())
    old_key = serialization.load_pem_private_key((state / "private.key").read_bytes(), password=None)
    (state / "private.key").unlink()
    with caplog.at_level(logging.WARNING), running_sandbox(state) as sandbox:
        assert sandbox.application.id == old["id"]
        assert sandbox.application.api_secret == old["api_secret"]
        (notice,) = sandbox.application.notices
        assert str(state / "private.key") in notice and "new key pair" in notice and old["id"] in notice
        assert notice in caplog.text
        assert mode(state / "private.key") == 0o600
        # The new key signs; a copy of the old one no longer does.
        assert call_api(sandbox, "GET", "/v1/calls").status_code == 200
        old_copy = state.parent / "old.key"
        old_copy.write_bytes(old_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
        refused = call_api(sandbox, "GET", "/v1/calls", token=signed(app_claims(sandbox.application.id), old_copy))
        assert refused.status_code == 401


def test_a_missing_application_json_makes_a_new_application_that_keeps_the_key_and_says_so(state, caplog):
    old = json.loads((state / "application.json").read_text())
    key = (state / "private.key").read_bytes()
    (state / "application.json").unlink()
    with caplog.at_level(logging.WARNING), running_sandbox(state) as sandbox:
        assert sandbox.application.id != old["id"]
        assert (state / "private.key").read_bytes() == key
        (notice,) = sandbox.application.notices
        assert str(state / "application.json") in notice and sandbox.application.id in notice
        assert "must use the new ones" in notice
        assert notice in caplog.text


def test_an_ordinary_start_has_nothing_to_say(state):
    with running_sandbox(state) as sandbox:
        assert sandbox.application.notices == [] and sandbox.tls.notices == []


def test_the_standalone_sandbox_says_what_is_wrong_with_its_state_in_one_message(state, capsys):
    from workshop_helpers.sandbox.__main__ import main

    (state / "application.json").write_text("{garbage")
    assert main(["--port", "0", "--proxy-port", "0", "--clock", "virtual", "--state-dir", str(state)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and str(state / "application.json") in error
    assert "delete both application.json and private.key" in error


# -- derived files: made again ------------------------------------------------------------------
def handshake(sandbox) -> str:
    """A TLS handshake with the sandbox's own port, trusting only its ca.pem."""
    import socket

    context = ssl.create_default_context(cafile=str(sandbox.tls.ca_path))
    host, port = sandbox.api_host.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname=host) as tls:
            return tls.version()


def test_a_server_pem_without_its_key_is_made_again_with_a_note(state):
    pem = (state / "server.pem").read_bytes()
    end = pem.index(b"PRIVATE KEY-----\n", pem.index(b"-----END")) + len(b"PRIVATE KEY-----\n")
    (state / "server.pem").write_bytes(pem[end:])  # the certificate alone
    with running_sandbox(state) as sandbox:
        assert handshake(sandbox)
        (note,) = sandbox.tls.notices
        assert "server.pem" in note and "new CA" in note


def test_a_deleted_ca_is_made_again_and_said_and_the_bundle_follows_it(state):
    (state / "ca.pem").unlink()
    with running_sandbox(state) as sandbox:
        assert handshake(sandbox)
        (note,) = sandbox.tls.notices
        assert str(state / "ca.pem") in note
        assert (state / "ca-bundle.pem").read_text().endswith((state / "ca.pem").read_text())


def test_a_cut_short_ca_bundle_is_written_again(state):
    bundle = state / "ca-bundle.pem"
    bundle.write_bytes(bundle.read_bytes()[:1000])
    with running_sandbox(state):
        text = bundle.read_text()
        assert text.startswith(open(certifi.where()).read().rstrip())
        assert text.endswith((state / "ca.pem").read_text())


def test_a_state_file_in_the_way_of_a_derived_one_is_an_error_naming_it(state):
    (state / "server.pem").unlink()
    (state / "server.pem").mkdir()
    message = refusal(state)
    assert str(state / "server.pem") in message and "delete" in message


# -- permissions -----------------------------------------------------------------------------
def assert_private(folder) -> None:
    assert mode(folder) == 0o700, folder
    for root, folders, files in os.walk(folder):
        for name in folders:
            assert mode(os.path.join(root, name)) == 0o700, os.path.join(root, name)
        for name in files:
            assert mode(os.path.join(root, name)) == 0o600, os.path.join(root, name)


def test_the_state_folder_and_everything_in_it_are_the_owners_alone():
    old = os.umask(0o022)  # the usual one, which makes 0755 folders and 0644 files
    try:
        with running_sandbox(None) as sandbox:  # the default: config.sandbox_dir()
            assert sandbox.state_dir == config.sandbox_dir()
            assert mode(config.home()) == 0o700
            assert_private(sandbox.state_dir)
            assert (sandbox.state_dir / "files").is_dir()
    finally:
        os.umask(old)


def test_wider_modes_an_older_kit_left_are_tightened_on_start(state):
    os.chmod(state, 0o755)
    os.chmod(state / "files", 0o775)
    for name in ("ca.pem", "ca-bundle.pem", "application.json"):
        os.chmod(state / name, 0o644)
    with running_sandbox(state):
        assert_private(state)


def test_the_kit_home_folder_is_0700_whichever_part_of_the_kit_makes_it_first(tmp_path, monkeypatch):
    home = tmp_path / "fresh-home"
    monkeypatch.setenv("VOICE_WORKSHOP_HOME", str(home))
    assert config.home() == home and mode(home) == 0o700
    os.chmod(home, 0o755)
    config.events_path()  # what the event store asks first
    assert mode(home) == 0o700


def test_every_recording_is_0600(sandbox, client, receiver):
    old = os.umask(0o022)
    try:
        place(client, receiver, "447700900000", ncco=[
            {"action": "record", "format": "wav", "eventUrl": [receiver.url("recording")]},
            {"action": "talk", "text": "Recorded"}])
        receiver.wait_for(lambda r: r.payloads("recording"))
    finally:
        os.umask(old)
    (event,) = receiver.payloads("recording")
    (recording,) = (sandbox.state_dir / "files").iterdir()
    assert recording.stem == event["recording_url"].rsplit("/", 1)[1]
    assert mode(recording) == 0o600 and mode(recording.parent) == 0o700


# -- the standalone command's numeric options -------------------------------------------------
def usage_error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as raised:
        parser().parse_args(list(argv))
    assert raised.value.code == 2, argv
    error = capsys.readouterr().err
    assert error.startswith("usage:") and "Traceback" not in error
    return error


@pytest.mark.parametrize("option", ["--port", "--proxy-port"])
def test_a_port_is_0_for_any_free_one_or_1_to_65535_and_anything_else_is_a_usage_error(capsys, option):
    for good in ("0", "1", "8443", "65535"):
        assert getattr(parser().parse_args([option, good]), option[2:].replace("-", "_")) == int(good)
    for bad in ("70000", "65536", "-1", "abc", "1.5", ""):
        error = usage_error(capsys, f"{option}={bad}")
        assert f"argument {option}" in error and "1 to 65535" in error and "0 for any free one" in error


def test_a_clock_speed_is_a_finite_positive_number_in_range_and_anything_else_is_a_usage_error(capsys):
    assert parser().parse_args(["--speed", "20"]).speed == 20.0
    for bad in ("0", "-1", "nan", "inf", "1e-9", "1e9", "fast"):
        error = usage_error(capsys, f"--speed={bad}")
        assert "argument --speed" in error and "0.01 to 1000" in error


# -- two requests that made the sandbox fail (500) ----------------------------------------------
@pytest.mark.parametrize("odd", [
    {"iat": "1700000000"}, {"exp": "99999999999"}, {"nbf": "1"}, {"iat": True}, {"exp": 10 ** 400},
], ids=["iat-a-numeric-string", "exp-a-numeric-string", "nbf-a-numeric-string", "iat-true", "exp-beyond-any-date"])
def test_a_jwt_whose_time_claims_are_not_numbers_is_refused_with_401_naming_the_claim(sandbox, odd):
    claims = app_claims(sandbox.application.id)
    if "iat" in odd:
        claims.pop("exp")  # so the lifetime check has only `iat` to work with
    token = signed({**claims, **odd}, sandbox.application.private_key_path)
    body = assert_problem(call_api(sandbox, "GET", "/v1/calls", token=token), 401)
    (name,) = odd
    assert f"`{name}`" in body["detail"]


def test_a_file_id_too_long_for_the_disk_is_404_and_echoes_no_os_error(sandbox):
    body = assert_problem(call_api(sandbox, "GET", "/v1/files/" + "x" * 5000), 404)
    assert "Errno" not in body["detail"] and "too long" not in body["detail"].lower()
    assert "x" * 100 not in body["detail"]


@pytest.mark.parametrize("route", ["/sandbox/calls/{call}/wait", "/sandbox/clock/sleep",
                                   "/sandbox/phones/447700900000/calls", "/sandbox/phones/447700900000/press"])
@pytest.mark.parametrize("body", ["null", "[1]", "5", '"text"'])
def test_a_control_body_that_is_json_but_not_an_object_is_400(sandbox, client, receiver, route, body):
    call = place(client, receiver, "447700900000")
    response = call_api(sandbox, "POST", route.format(call=call), data=body)
    problem = assert_problem(response, 400)
    assert problem["invalid_parameters"] == [{"name": "body", "reason": "must be a JSON object"}]


# -- the NCCO wait action's time-out ---------------------------------------------------------
def test_a_wait_timeout_is_clamped_to_0_1_to_7200_and_nan_is_refused_naming_the_field():
    def timeout(value):
        return parse_ncco([{"action": "wait", "timeout": value}])[0].timeout

    assert parse_ncco([{"action": "wait"}])[0].timeout == 10
    assert [timeout(v) for v in (0.1, 5, 7200)] == [0.1, 5, 7200]
    assert [timeout(v) for v in (0, -5, 0.01, -1e308, "-inf")] == [0.1] * 5
    assert [timeout(v) for v in (7200.5, 86400, 1e308, "inf")] == [7200] * 4
    for nan in (float("nan"), "NaN"):
        with pytest.raises(NccoError) as raised:
            timeout(nan)
        assert raised.value.problems == [("ncco[0].timeout", "must be a number of seconds from 0.1 to 7200, not NaN")]


def test_an_inline_ncco_with_a_nan_wait_is_a_400_naming_the_field(sandbox, client, receiver):
    token = signed(app_claims(sandbox.application.id), sandbox.application.private_key_path)
    body = ('{"to": [{"type": "phone", "number": "447700900000"}], "from": {"type": "phone", "number": "447700900100"}, '
            f'"event_url": ["{receiver.url("event")}"], "ncco": [{{"action": "wait", "timeout": NaN}}]}}')
    problem = assert_problem(call_api(sandbox, "POST", "/v1/calls", token=token, data=body), 400)
    assert [p["name"] for p in problem["invalid_parameters"]] == ["ncco[0].timeout"]


def test_wh_start_prints_what_the_sandbox_had_to_make_again(capsys):
    import workshop_helpers as wh
    from workshop_helpers import config

    wh.start(clock="virtual")
    wh.stop()
    (config.sandbox_dir() / "private.key").unlink()
    capsys.readouterr()
    try:
        wh.start(clock="virtual")
        printed = capsys.readouterr().out
    finally:
        wh.stop()
    assert "private.key" in printed and "new key pair" in printed
