"""The sandbox's own routes, under /sandbox: its details, its virtual phones, what a call
said and sounded like, the webhooks it sent, and waits on its clock. They take the app's
JWT, as the Voice API does. Phones are driven through the backend's phone operations, as
`PhoneHandle` drives them in a notebook, so a phone's PhoneError (or the platform's
SandboxError) becomes a 409 here that says why."""

from __future__ import annotations

from contextlib import contextmanager

from flask import Blueprint, Response, current_app, jsonify, request

from ..engine import CALL_STATUSES, check_status
from ..errors import Conflict, NotFound, SandboxError, SandboxStopped, WaitTimedOut, invalid
from ..phones import Behaviour, PhoneError, check_digits
from .checks import backend, json_body, jwt_required, phone_number, seconds_in

control = Blueprint("control", __name__)


@control.get("/sandbox")
@jwt_required
def sandbox_info():
    return jsonify(current_app.extensions["sandbox"].info())


# -- virtual phones ----------------------------------------------------------------------------
@control.get("/sandbox/phones")
@jwt_required
def list_phones():
    return jsonify(phones=backend().phones())


@control.get("/sandbox/phones/<number>")
@jwt_required
def get_phone(number):
    return jsonify(backend().phone_describe(phone_number(number)))


@control.put("/sandbox/phones/<number>")
@jwt_required
def script_phone(number):
    number = phone_number(number)
    try:
        behaviour = Behaviour.from_dict(json_body())
    except PhoneError as error:
        raise invalid([("behaviour", str(error))]) from None
    with phone_conflicts():
        backend().phone_script(number, behaviour)
    return jsonify(backend().phone_describe(number))


@control.post("/sandbox/phones/<number>/calls")
@jwt_required
def phone_calls(number):
    to = json_body(default={}).get("to")  # None: the application's number; a body that is not JSON is said first
    number = phone_number(number)
    with phone_conflicts():
        call_uuid = backend().phone_call(number, to)
    return jsonify(backend().get_call(call_uuid)), 201


@control.post("/sandbox/phones/<number>/<command>")
@jwt_required
def phone_command(number, command):
    number = phone_number(number)
    body = json_body(default={})
    with phone_conflicts():
        if command == "press":
            backend().phone_press(number, digits_in(body))
        elif command == "say":
            backend().phone_say(number, body.get("text", ""))
        elif command == "answer":
            backend().phone_answer(number)
        elif command == "reject":
            backend().phone_reject(number)
        elif command == "hangup":
            backend().phone_hangup(number)
        else:
            raise NotFound(f"Phones do not {command}: use calls, answer, reject, press, say or hangup.")
    return jsonify(backend().phone_describe(number))


def digits_in(body: dict) -> str:
    """The keys a press body asks for, or the 400 that says which keys there are."""
    try:
        return check_digits(body.get("digits"), "digits")
    except PhoneError as error:
        raise invalid([("digits", str(error))]) from None


@contextmanager
def phone_conflicts():
    """A phone that cannot do what was asked (not on a call, ...) is a 409 that says why;
    the API's own errors (a 400, a 404) pass as they are."""
    try:
        yield
    except (PhoneError, SandboxError) as error:
        raise Conflict(str(error)) from None


# -- what a call said, and what the platform sent ----------------------------------------------
@control.get("/sandbox/calls/<call_uuid>/transcript")
@jwt_required
def transcript(call_uuid):
    return jsonify(transcript=backend().transcript(call_uuid))


@control.get("/sandbox/calls/<call_uuid>/audio")
@jwt_required
def call_audio(call_uuid):
    return Response(backend().call_audio(call_uuid), mimetype="audio/wav")


@control.get("/sandbox/webhooks")
@jwt_required
def webhooks():
    return jsonify(webhooks=backend().webhooks(leg=request.args.get("leg")))


# -- waits on the call clock ----------------------------------------------------------------
@control.post("/sandbox/calls/<call_uuid>/wait")
@jwt_required
def wait_for_call(call_uuid):
    body = json_body(default={})
    status = body.get("status", "completed")
    problems = []
    try:
        check_status(status)
    except ValueError:
        problems.append(("status", f"one of {', '.join(CALL_STATUSES)}"))
    timeout = seconds_in(body.get("timeout", 60), "timeout", problems)
    if problems:
        raise invalid(problems)
    backend().get_call(call_uuid)  # 404 for an unknown call, before any wait
    try:
        with while_running():
            return jsonify(backend().wait_for_call(call_uuid, status, timeout))
    except TimeoutError:
        raise WaitTimedOut(f"Call {call_uuid} did not report {status!r} within {timeout:g} s of call time.") from None


@control.post("/sandbox/clock/sleep")
@jwt_required
def sleep():
    problems = []
    seconds = seconds_in(json_body(default={}).get("seconds"), "seconds", problems)
    if problems:
        raise invalid(problems)
    with while_running():
        backend().sleep(seconds)
    return jsonify(backend().clock_reading())


@contextmanager
def while_running():
    """A wait that the sandbox's stopping cut short is a 503 that says so."""
    try:
        yield
    except SandboxError as error:
        raise SandboxStopped(str(error)) from None
