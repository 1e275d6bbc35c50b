"""The sandbox's HTTP API: Voice API v1, the Application API v2 subset, sandbox control.

Each route checks credentials, validates its input (with the SDK's pydantic models where
the SDK has one), then hands the work to the platform's loop with `platform.run`. Every
error is one documented shape (RFC 7807, as newer Vonage APIs use):
`{"type", "title", "detail", "instance"}`, plus `invalid_parameters: [{name, reason}]`
on 400 validation errors.
"""

from __future__ import annotations

import functools
import logging
import re
import uuid
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, request, send_file
from pydantic import ValidationError
from vonage_application import ApplicationConfig
from vonage_voice.errors import VoiceError
from vonage_voice.models import AudioStreamOptions, CallState, CreateCallRequest, TtsStreamOptions
from werkzeug.exceptions import HTTPException

from ..ncco import NccoError, parse_ncco, pydantic_problems
from . import control
from .auth import AuthError, verify_application_jwt, verify_basic_auth
from .clock import check_seconds, iso_millis
from .engine import CALL_STATUSES, CallSetup, SandboxError
from .media import CONTENT_TYPES
from .phones import Behaviour, PhoneError, check_digits, check_number
from .webhooks import NccoFetchError, Webhook

if TYPE_CHECKING:
    from .service import Sandbox

log = logging.getLogger(__name__)

#: A recording's file id: a uuid, as `IdFactory` makes them (any case, as the platform's are).
FILE_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

ERROR_TYPES = {
    400: ("bad-request", "Bad Request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not Found"),
    405: ("wrong-verb", "Method Not Allowed"),
    408: ("timeout", "Request Timeout"),  # a control-API wait that ran out of call time
    409: ("conflict", "Conflict"),
    415: ("content-type-header", "Unsupported Media Type"),
    500: ("internal-error", "Internal Server Error"),
    503: ("unavailable", "Service Unavailable"),  # the sandbox stopped during a wait
}


class ApiError(Exception):
    def __init__(self, status: int, detail: str, invalid_parameters: list | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.invalid_parameters = invalid_parameters


def invalid(problems: list[tuple[str, str]]) -> ApiError:
    names = ", ".join(name for name, _ in problems)
    return ApiError(
        400,
        f"The request failed validation: check {names}.",
        [{"name": name, "reason": reason} for name, reason in problems],
    )


def create_app(sandbox: "Sandbox") -> Flask:
    """The Flask app that serves the sandbox's API for `sandbox`."""
    app = Flask("workshop_helpers.sandbox.api")
    platform = sandbox.platform
    application = sandbox.application

    # -- errors and auth ---------------------------------------------------------------
    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        slug, title = ERROR_TYPES[error.status]
        body = {
            "type": f"https://developer.vonage.com/api-errors#{slug}",
            "title": title,
            "detail": error.detail,
            "instance": str(uuid.uuid4()),
        }
        if error.invalid_parameters is not None:
            body["invalid_parameters"] = error.invalid_parameters
        return jsonify(body), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code if error.code in ERROR_TYPES else 400
        response, status = api_error(ApiError(status, error.description))
        if getattr(error, "valid_methods", None):  # a 405 says which methods would work
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response, status

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("sandbox API error")  # the whole story goes to the log, not to the client
        return api_error(ApiError(500, "The sandbox failed on this request; its log says why "
                                       "(ws.show_logs() in a notebook)."))

    def requires(verify):
        """A view decorator: `verify` the Authorization header first, 401 if it fails."""
        def decorator(view):
            @functools.wraps(view)
            def wrapper(*args, **kwargs):
                try:
                    verify(request.headers.get("Authorization"), application)
                except AuthError as error:
                    raise ApiError(401, f"You did not provide correct credentials: {error}.") from None
                return view(*args, **kwargs)
            return wrapper
        return decorator

    jwt_required = requires(verify_application_jwt)  # Voice API and sandbox control
    basic_auth_required = requires(verify_basic_auth)  # Application API

    def find_leg(call_uuid: str):
        leg = platform.legs.get(call_uuid)
        if leg is None:
            raise ApiError(404, f"Call {call_uuid} does not exist, or you do not have access.")
        return leg

    # -- Voice API v1 ------------------------------------------------------------------
    # The public OpenAPI file's server is https://api.nexmo.com/v1/calls with the path "/",
    # so clients generated from it ask for /v1/calls/: strict_slashes=False accepts both.
    @app.post("/v1/calls", strict_slashes=False)
    @jwt_required
    def create_call():
        setup = parse_create_call(json_body(), application)
        call_uuid, conversation_uuid = platform.place_call(setup)
        return jsonify(
            uuid=call_uuid, status="started", direction="outbound",
            conversation_uuid=conversation_uuid,
        ), 201

    @app.get("/v1/calls", strict_slashes=False)
    @jwt_required
    def list_calls():
        query = parse_list_query(request.args)
        page = platform.run(lambda: list_page(platform.legs.values(), query))
        return jsonify(page)

    @app.get("/v1/calls/<call_uuid>")
    @jwt_required
    def get_call(call_uuid):
        return jsonify(platform.run(lambda: find_leg(call_uuid).info()))

    @app.put("/v1/calls/<call_uuid>")
    @jwt_required
    def modify_call(call_uuid):
        body = json_body()
        action = body.get("action") if isinstance(body, dict) else None
        if action not in MODIFY_ACTIONS:
            raise invalid([("action", f"must be one of {', '.join(MODIFY_ACTIONS)}")])
        ncco = parse_transfer(body) if action == "transfer" else None
        platform.run(lambda: modify(find_leg(call_uuid), action, ncco, body))
        return Response(status=204)

    def modify(leg, action, ncco, body):
        if action == "hangup":
            require_live(leg, answered=False)
            leg.hang_up(by="platform")
            return
        require_live(leg)
        if action in ("mute", "unmute"):
            leg.muted = action == "mute"
        elif action in ("earmuff", "unearmuff"):
            leg.earmuffed = action == "earmuff"
        elif ncco is not None:
            leg.transfer(ncco)
        else:
            leg.start_child(transfer_from_url(leg, body["destination"]["url"][0]))
        leg.note("platform", "control", action)

    async def transfer_from_url(leg, url):
        webhook = Webhook(url, "GET", {**leg.base_payload()}, "answer", leg=leg.uuid)
        try:
            ncco = await leg.outbox.fetch_ncco(webhook)  # in order with the leg's events
        except NccoFetchError as error:
            leg.emit_error(error.reason, error.detail)
            return
        if ncco:
            leg.transfer(ncco)

    def require_live(leg, answered=True):
        """400 unless the leg is up (and, for most verbs, answered), as the platform does."""
        if leg.ended:
            raise ApiError(400, f"Call {leg.uuid} has already ended ({leg.status}).")
        if answered and leg.status != "answered":
            raise ApiError(400, f"Call {leg.uuid} is not answered yet ({leg.status}); try again once it is.")

    # -- playing into a live call ------------------------------------------------------
    @app.put("/v1/calls/<call_uuid>/talk")
    @jwt_required
    def start_talk(call_uuid):
        options = validated(TtsStreamOptions, json_body())
        return play_into(call_uuid, control.start_talk, options, "Talk started")

    @app.put("/v1/calls/<call_uuid>/stream")
    @jwt_required
    def start_stream(call_uuid):
        body = json_body()
        if isinstance(body, dict) and not _one_url(body.get("stream_url")):
            raise invalid([("stream_url", 'must be an array with one URL, like ["https://example.com/music.mp3"]')])
        options = validated(AudioStreamOptions, body)
        return play_into(call_uuid, control.start_stream, options, "Stream started")

    @app.delete("/v1/calls/<call_uuid>/talk")
    @jwt_required
    def stop_talk(call_uuid):
        return play_into(call_uuid, lambda leg: control.stop(leg, "talk"), None, "Talk stopped")

    @app.delete("/v1/calls/<call_uuid>/stream")
    @jwt_required
    def stop_stream(call_uuid):
        return play_into(call_uuid, lambda leg: control.stop(leg, "stream"), None, "Stream stopped")

    @app.put("/v1/calls/<call_uuid>/dtmf")
    @jwt_required
    def send_dtmf(call_uuid):
        body = json_body()
        digits = body.get("digits") if isinstance(body, dict) else None
        if not isinstance(digits, str) or not digits or set(digits) - set("0123456789*#p"):
            raise invalid([("digits", 'must be keys from 0-9, *, # and p (a half-second pause), like "1p2#"')])
        return play_into(call_uuid, lambda leg: control.send_dtmf(leg, digits), None, "DTMF sent")

    def play_into(call_uuid, work, options, message):
        def on_loop():
            leg = find_leg(call_uuid)
            require_live(leg)
            return work(leg) if options is None else work(leg, options)
        platform.run(on_loop)
        return jsonify(message=message, uuid=call_uuid)

    @app.put("/v1/calls/<call_uuid>/input/dtmf")
    @jwt_required
    def listen_for_dtmf(call_uuid):
        body = json_body()
        url = body.get("event_url") if isinstance(body, dict) else None
        if not _one_url(url):
            raise invalid([("event_url", 'must be an array with one URL, like ["https://example.com/dtmf"]')])
        method = str(body.get("event_method") or "POST").upper()
        if method not in ("GET", "POST"):
            raise invalid([("event_method", "must be GET or POST")])
        platform.run(lambda: control.listen_for_dtmf(live(call_uuid), url[0], method))
        return Response(status=200)

    @app.delete("/v1/calls/<call_uuid>/input/dtmf")
    @jwt_required
    def stop_listening_for_dtmf(call_uuid):
        platform.run(lambda: control.listen_for_dtmf(live(call_uuid), None))
        return Response(status=200)

    def live(call_uuid):
        leg = find_leg(call_uuid)
        require_live(leg)
        return leg

    @app.get("/v1/files/<file_id>")
    @jwt_required
    def download_file(file_id):
        # A file id is a uuid: anything else (a name too long for the disk, say) is no file
        # of ours, so it is never looked up, and its text is never echoed.
        if not FILE_ID.fullmatch(file_id):
            raise ApiError(404, "No such file: a file id is a UUID, as in the recording_url of "
                                "a record event.")
        for audio_format, content_type in CONTENT_TYPES.items():
            path = platform.files_dir / f"{file_id}.{audio_format}"
            if path.is_file():
                return send_file(path, mimetype=content_type)
        raise ApiError(404, f"File {file_id} does not exist, or you do not have access.")

    # -- Numbers API (the subset live mode uses: which numbers are linked where) -----------
    @app.get("/account/numbers")
    @basic_auth_required
    def list_owned_numbers():
        """The numbers you own (the sandbox's one), optionally those of one application."""
        owned = [{"country": "GB", "msisdn": number, "type": "mobile-lvn", "features": ["VOICE", "SMS"],
                  "app_id": application.id} for number in application.numbers]
        wanted = request.args.get("application_id")
        if wanted:
            owned = [number for number in owned if number["app_id"] == wanted]
        return jsonify(count=len(owned), numbers=owned)

    # -- Application API v2 (the subset live mode uses) ------------------------------------
    @app.get("/v2/applications", strict_slashes=False)
    @basic_auth_required
    def list_applications():
        return jsonify(
            page_size=100, page=1, total_items=1, total_pages=1,
            _embedded={"applications": [application.resource()]},
            _links={"self": {"href": "/v2/applications?page_size=100&page=1"}},
        )

    @app.get("/v2/applications/<app_id>")
    @basic_auth_required
    def get_application(app_id):
        require_application(app_id)
        return jsonify(application.resource())

    @app.put("/v2/applications/<app_id>")
    @basic_auth_required
    def update_application(app_id):
        require_application(app_id)
        body = json_body()
        try:
            config = ApplicationConfig.model_validate(body)
        except ValidationError as error:
            raise invalid(pydantic_problems(error)) from None
        settings = config.model_dump(exclude_none=True, mode="json")
        raise_for_answer_timeouts(settings)
        application.replace(settings)
        return jsonify(application.resource())

    def require_application(app_id):
        if app_id != application.id:
            raise ApiError(404, f"Application {app_id} does not exist, or you do not have access.")

    # -- sandbox control ----------------------------------------------------------------
    @app.get("/sandbox")
    @jwt_required
    def sandbox_info():
        return jsonify(sandbox.info())

    @app.get("/sandbox/phones")
    @jwt_required
    def list_phones():
        return jsonify(phones=platform.run(lambda: [p.describe() for p in platform.phones.all()]))

    @app.get("/sandbox/phones/<number>")
    @jwt_required
    def get_phone(number):
        return jsonify(sandbox.phone(phone_number(number)).describe())

    @app.put("/sandbox/phones/<number>")
    @jwt_required
    def script_phone(number):
        number = phone_number(number)
        try:
            behaviour = Behaviour.from_dict(json_body())
        except PhoneError as error:
            raise invalid([("behaviour", str(error))]) from None
        return jsonify(as_phone_error(lambda: platform.phones.script(number, behaviour).describe()))

    @app.post("/sandbox/phones/<number>/calls")
    @jwt_required
    def phone_calls(number):
        body = json_body(default={})
        to = body.get("to", application.number)
        phone = sandbox.phone(phone_number(number))
        call_uuid = as_phone_error(lambda: phone.call(to))
        return jsonify(as_phone_error(lambda: platform.leg(call_uuid).info())), 201

    @app.post("/sandbox/phones/<number>/<command>")
    @jwt_required
    def phone_command(number, command):
        phone = sandbox.phone(phone_number(number))
        body = json_body(default={})
        if command == "press":
            try:
                digits = check_digits(body.get("digits"), "digits")
            except PhoneError as error:
                raise invalid([("digits", str(error))]) from None
            as_phone_error(lambda: phone.press(digits))
        elif command == "say":
            as_phone_error(lambda: phone.say(body.get("text", "")))
        elif command in ("answer", "reject", "hangup"):
            as_phone_error(getattr(phone, command))
        else:
            raise ApiError(404, f"Phones do not {command}: use calls, answer, reject, press, say or hangup.")
        return jsonify(phone.describe())

    @app.get("/sandbox/calls/<call_uuid>/transcript")
    @jwt_required
    def transcript(call_uuid):
        return jsonify(transcript=platform.run(lambda: list(find_leg(call_uuid).transcript)))

    @app.get("/sandbox/calls/<call_uuid>/audio")
    @jwt_required
    def call_audio(call_uuid):
        platform.run(lambda: find_leg(call_uuid))  # 404 for an unknown leg
        return Response(sandbox.call_audio(call_uuid), mimetype="audio/wav")

    @app.post("/sandbox/calls/<call_uuid>/wait")
    @jwt_required
    def wait_for_call(call_uuid):
        body = json_body(default={})
        status = body.get("status", "completed")
        problems = [] if status in CALL_STATUSES else [("status", f"one of {', '.join(CALL_STATUSES)}")]
        timeout = seconds_in(body.get("timeout", 60), "timeout", problems)
        if problems:
            raise invalid(problems)
        platform.run(lambda: find_leg(call_uuid))  # 404 for an unknown leg
        try:
            return jsonify(while_running(lambda: sandbox.wait_for_call(call_uuid, status, timeout)))
        except TimeoutError:
            raise ApiError(408, f"Call {call_uuid} did not report {status!r} within {timeout:g} s of call time.") from None

    @app.post("/sandbox/clock/sleep")
    @jwt_required
    def sleep():
        problems = []
        seconds = seconds_in(json_body(default={}).get("seconds"), "seconds", problems)
        if problems:
            raise invalid(problems)
        while_running(lambda: sandbox.sleep(seconds))
        return jsonify(clock=sandbox.clock.kind, elapsed=sandbox.clock.elapsed(),
                       now=iso_millis(sandbox.clock.now()))

    def while_running(wait):
        """A wait that the sandbox's stopping cut short is a 503 that says so."""
        try:
            return wait()
        except SandboxError as error:
            raise ApiError(503, str(error)) from None

    @app.get("/sandbox/webhooks")
    @jwt_required
    def webhooks():
        leg = request.args.get("leg")
        return jsonify(webhooks=sandbox.webhooks(leg=leg))

    def as_phone_error(work):
        """A phone that cannot do what was asked (not on a call, ...) is a 409 that says why."""
        try:
            return work()
        except (PhoneError, SandboxError) as error:
            raise ApiError(409, str(error)) from None

    return app


def validated(model, body):
    """`body` checked with one of the SDK's request models; 400 naming each bad field."""
    if not isinstance(body, dict):
        raise invalid([("body", "must be a JSON object")])
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise invalid(pydantic_problems(error)) from None


def seconds_in(value, name: str, problems: list) -> float | None:
    """A number of seconds of call time from a request body, or a problem noted."""
    try:
        return check_seconds(value, name)
    except ValueError as error:
        problems.append((name, str(error)))
        return None


def json_body(default=None):
    """The request's JSON, whatever its Content-Type; a clear 400 when it is not JSON.
    With a `default` (an empty body's value, an object), the body must be an object too."""
    if not request.get_data() and default is not None:
        return default
    try:
        body = request.get_json(force=True)
    except Exception:  # werkzeug raises BadRequest with a parser message
        raise ApiError(400, "The request body is not valid JSON; send a JSON object.") from None
    if default is not None and not isinstance(body, dict):
        raise invalid([("body", "must be a JSON object")])
    return body


def raise_for_answer_timeouts(settings: dict) -> None:
    """The SDK model allows 10 s reads on every webhook; answer URLs get 5 s at most."""
    webhooks = settings.get("capabilities", {}).get("voice", {}).get("webhooks", {})
    problems = [
        (f"capabilities.voice.webhooks.{name}.socket_timeout", "must be from 1000 to 5000 ms")
        for name in ("answer_url", "fallback_answer_url")
        if webhooks.get(name, {}).get("socket_timeout", 1000) > 5000
    ]
    if problems:
        raise invalid(problems)


def phone_number(number: str) -> str:
    try:
        return check_number(number)
    except PhoneError as error:
        raise invalid([("number", str(error))]) from None


# -- POST /v1/calls -------------------------------------------------------------------------
def parse_create_call(body, application) -> CallSetup:
    """Validate a create-call body with the SDK's model plus the platform's own rules."""
    if not isinstance(body, dict):
        raise invalid([("body", "must be a JSON object")])
    problems = []
    data = dict(body)
    ncco_data = data.pop("ncco", None)
    if "from" in data:
        data["from_"] = data.pop("from")
    for field in ("answer_url", "event_url"):
        if field in data and not _one_url(data[field]):
            problems.append((field, 'must be an array with one URL, like ["https://example.com/answer"]'))
    problems += _check_to(data.get("to"))
    ncco = None
    if ncco_data is not None:
        try:
            ncco = parse_ncco(ncco_data)
        except NccoError as error:
            problems += [(name or "ncco", reason) for name, reason in error.problems]
    try:
        # The NCCO was checked above with better error paths; the model sees a placeholder.
        placeholder = {"ncco": []} if ncco_data is not None else {}
        request_model = CreateCallRequest.model_validate({**data, **placeholder})
    except ValidationError as error:
        flagged = {name.split("[")[0] for name, _ in problems}
        problems += [p for p in pydantic_problems(error) if p[0].split("[")[0].split(".")[0] not in flagged]
        request_model = None
    except VoiceError as error:  # the SDK model's own either/or checks
        problems.append(("body", str(error)))
        request_model = None

    event = application.webhook("event_url")
    if "event_url" not in data and not event:
        problems.append(("event_url", "is required: the application has no event_url to fall back on "
                                      "(give it one: --event-url when you start the sandbox, or the "
                                      "Application API)"))
    if problems:
        raise invalid(problems)

    to = dict(data["to"][0])
    dtmf_answer = to.pop("dtmf_answer", None) or to.pop("dtmfAnswer", None)
    if request_model.random_from_number:
        from_ = {"type": "phone", "number": application.numbers[0]}
    elif isinstance(request_model.from_, str):
        from_ = {"type": "phone", "number": request_model.from_}
    else:
        from_ = {"type": "phone", "number": request_model.from_.number}
    return CallSetup(
        direction="outbound",
        to=to,
        from_=from_,
        event_url=(request_model.event_url or [event and event["address"]])[0],
        event_method=request_model.event_method or (
            event["http_method"] if event and not request_model.event_url else "POST"
        ),
        ncco=ncco,
        answer_url=request_model.answer_url[0] if request_model.answer_url else None,
        answer_method=request_model.answer_method or "GET",
        ringing_timer=request_model.ringing_timer or 60,
        length_timer=request_model.length_timer or 7200,
        machine_detection=request_model.machine_detection,
        advanced_machine_detection=(
            request_model.advanced_machine_detection.model_dump(exclude_none=True)
            if request_model.advanced_machine_detection else None
        ),
        dtmf_answer=dtmf_answer,
    )


def _check_to(to) -> list[tuple[str, str]]:
    if not isinstance(to, list) or len(to) != 1 or not isinstance(to[0], dict):
        return [("to", 'must be an array with one endpoint, like [{"type": "phone", "number": "447700900000"}]')]
    endpoint = to[0]
    if endpoint.get("type") not in ("phone", "sip", "websocket", "vbc"):
        return [("to[0].type", "must be phone, sip, websocket or vbc")]
    kind = endpoint["type"]
    if kind == "sip" and not str(endpoint.get("uri", "")).startswith(("sip:", "sips:")):
        return [("to[0].uri", 'must be a SIP URI, like "sip:alice@example.com"')]
    if kind == "websocket" and not str(endpoint.get("uri", "")).startswith(("ws://", "wss://")):
        return [("to[0].uri", 'must be a WebSocket URI, like "wss://example.com/socket"')]
    if kind == "vbc" and not endpoint.get("extension"):
        return [("to[0].extension", "is required: the VBC extension to call")]
    if kind != "phone":
        return []  # the SDK's model checks the rest
    try:
        check_number(endpoint.get("number"))
    except PhoneError as error:
        return [("to[0].number", str(error))]
    return []


def _one_url(value) -> bool:
    return (
        isinstance(value, list) and len(value) == 1 and isinstance(value[0], str)
        and value[0].startswith(("http://", "https://"))
    )


# -- PUT /v1/calls/{uuid} -------------------------------------------------------------------
MODIFY_ACTIONS = ("hangup", "mute", "unmute", "earmuff", "unearmuff", "transfer")


def parse_transfer(body: dict):
    """A transfer destination: {"type": "ncco", "ncco": [...]} or {"type": "ncco", "url": [...]}."""
    destination = body.get("destination")
    if not isinstance(destination, dict) or destination.get("type") != "ncco":
        raise invalid([("destination", 'must be {"type": "ncco", "ncco": [...]} or {"type": "ncco", "url": ["https://..."]}')])
    if "ncco" in destination:
        try:
            return parse_ncco(destination["ncco"])
        except NccoError as error:
            raise invalid([(f"destination.{name or 'ncco'}", reason) for name, reason in error.problems]) from None
    if not _one_url(destination.get("url")):
        raise invalid([("destination.url", "must be an array with one URL")])
    return None


# -- GET /v1/calls --------------------------------------------------------------------------
def parse_list_query(args) -> dict:
    problems, query = [], {}
    statuses = [state.value for state in CallState]
    if "status" in args:
        if args["status"] not in statuses:
            problems.append(("status", f"must be one of {', '.join(statuses)}"))
        query["status"] = args["status"]
    for name, low, high, default in (("page_size", 1, 100, 10), ("record_index", 0, None, 0)):
        value = args.get(name, str(default))
        if not (value.isascii() and value.isdigit()) or int(value) < low or (high and int(value) > high):
            problems.append((name, f"must be a whole number from {low}" + (f" to {high}" if high else " up")))
        else:
            query[name] = int(value)
    query["order"] = args.get("order", "asc")
    if query["order"] not in ("asc", "desc"):
        problems.append(("order", "must be asc or desc"))
    for name in ("date_start", "date_end"):
        if name in args:
            try:
                query[name] = datetime.fromisoformat(args[name].replace("Z", "+00:00"))
                if query[name].tzinfo is None:
                    raise ValueError
            except ValueError:
                problems.append((name, "must be an ISO-8601 date-time with a zone, like 2026-11-24T07:45:14Z"))
    if "conversation_uuid" in args:
        query["conversation_uuid"] = args["conversation_uuid"]
    if problems:
        raise invalid(problems)
    return query


def list_page(legs, query: dict) -> dict:
    """One HAL page of calls, with self/first/last and next/prev only where they exist."""
    matching = [
        leg for leg in legs
        if query.get("status") in (None, leg.status)
        and query.get("conversation_uuid") in (None, leg.conversation_uuid)
        and ("date_start" not in query or leg.created_at >= query["date_start"])
        and ("date_end" not in query or leg.created_at <= query["date_end"])
    ]
    if query["order"] == "desc":
        matching.reverse()
    size, index, count = query["page_size"], query["record_index"], len(matching)
    filters = {k: v for k, v in request.args.items() if k not in ("page_size", "record_index")}

    def href(record_index: int | None) -> dict:
        params = {**filters, "page_size": size}
        if record_index:
            params["record_index"] = record_index
        return {"href": "/v1/calls?" + urlencode(params)}

    links = {"self": href(index), "first": href(None), "last": href(max(0, (count - 1) // size * size))}
    if index + size < count:
        links["next"] = href(index + size)
    if index > 0:
        links["prev"] = href(max(0, index - size))
    return {
        "count": count,
        "page_size": size,
        "record_index": index,
        "_links": links,
        "_embedded": {"calls": [leg.info() for leg in matching[index:index + size]]},
    }
