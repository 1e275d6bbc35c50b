"""The Voice API v1 routes: create, list, read and change calls; play into a live call;
download recordings (developer.vonage.com/en/api/voice).

Each view checks the app's JWT, validates its input's shape (with the SDK's pydantic models
where the SDK has one), calls the backend, which holds the platform's rules, and answers as
the platform does. The public OpenAPI file's server is https://api.nexmo.com/v1/calls with the
path "/", so clients generated from it ask for /v1/calls/: strict_slashes=False accepts both.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request, send_file
from pydantic import ValidationError
from vonage_voice.errors import VoiceError
from vonage_voice.models import (
    AudioStreamOptions,
    CallMessage,
    CallState,
    CreateCallRequest,
    CreateCallResponse,
    TtsStreamOptions,
)

from ...ncco import NccoError, parse_ncco, pydantic_problems
from ..errors import invalid
from ..phones import PhoneError, check_number
from .checks import backend, json_body, jwt_required, one_url, validated

voice = Blueprint("voice", __name__)


# -- calls ---------------------------------------------------------------------------------
@voice.post("/v1/calls", strict_slashes=False)
@jwt_required
def create_call():
    request_model, to, ncco = parse_create_call(json_body())
    call_uuid, conversation_uuid = backend().create_call(request_model, to, ncco)
    created = CreateCallResponse(uuid=call_uuid, status="started", direction="outbound",
                                 conversation_uuid=conversation_uuid)
    return jsonify(created.model_dump()), 201


@voice.get("/v1/calls", strict_slashes=False)
@jwt_required
def list_calls():
    query = parse_list_query(request.args)
    count, calls = backend().list_calls(**query)
    return jsonify(calls_page(count, calls, query))


@voice.get("/v1/calls/<call_uuid>")
@jwt_required
def get_call(call_uuid):
    return jsonify(backend().get_call(call_uuid))


@voice.put("/v1/calls/<call_uuid>")
@jwt_required
def modify_call(call_uuid):
    body = json_body()
    action = body.get("action") if isinstance(body, dict) else None
    transfer_to = parse_transfer(body) if action == "transfer" else None
    backend().modify_call(call_uuid, action, transfer_to)
    return Response(status=204)


# -- playing into a live call ----------------------------------------------------------------
@voice.put("/v1/calls/<call_uuid>/talk")
@jwt_required
def start_talk(call_uuid):
    options = validated(TtsStreamOptions, json_body())
    backend().start_talk(call_uuid, options)
    return played(call_uuid, "Talk started")


@voice.put("/v1/calls/<call_uuid>/stream")
@jwt_required
def start_stream(call_uuid):
    body = json_body()
    if isinstance(body, dict) and not one_url(body.get("stream_url")):
        raise invalid([("stream_url", 'must be an array with one URL, like ["https://example.com/music.mp3"]')])
    options = validated(AudioStreamOptions, body)
    backend().start_stream(call_uuid, options)
    return played(call_uuid, "Stream started")


@voice.delete("/v1/calls/<call_uuid>/talk")
@jwt_required
def stop_talk(call_uuid):
    backend().stop_playing(call_uuid, "talk")
    return played(call_uuid, "Talk stopped")


@voice.delete("/v1/calls/<call_uuid>/stream")
@jwt_required
def stop_stream(call_uuid):
    backend().stop_playing(call_uuid, "stream")
    return played(call_uuid, "Stream stopped")


@voice.put("/v1/calls/<call_uuid>/dtmf")
@jwt_required
def send_dtmf(call_uuid):
    body = json_body()
    backend().send_dtmf(call_uuid, body.get("digits") if isinstance(body, dict) else None)
    return played(call_uuid, "DTMF sent")


def played(call_uuid: str, message: str):
    """What the talk, stream and dtmf verbs answer: what was done, to which call."""
    return jsonify(CallMessage(message=message, uuid=call_uuid).model_dump())


@voice.put("/v1/calls/<call_uuid>/input/dtmf")
@jwt_required
def listen_for_dtmf(call_uuid):
    body = json_body()
    url = body.get("event_url") if isinstance(body, dict) else None
    if not one_url(url):
        raise invalid([("event_url", 'must be an array with one URL, like ["https://example.com/dtmf"]')])
    method = str(body.get("event_method") or "POST").upper()
    if method not in ("GET", "POST"):
        raise invalid([("event_method", "must be GET or POST")])
    backend().listen_for_dtmf(call_uuid, url[0], method)
    return Response(status=200)


@voice.delete("/v1/calls/<call_uuid>/input/dtmf")
@jwt_required
def stop_listening_for_dtmf(call_uuid):
    backend().listen_for_dtmf(call_uuid, None)
    return Response(status=200)


# -- recordings ------------------------------------------------------------------------------
@voice.get("/v1/files/<file_id>")
@jwt_required
def download_file(file_id):
    path, content_type = backend().recording(file_id)
    return send_file(path, mimetype=content_type)


# -- POST /v1/calls --------------------------------------------------------------------------
def parse_create_call(body) -> tuple[CreateCallRequest, dict, list | None]:
    """A create-call body as the SDK's model, its endpoint as sent and its parsed NCCO;
    one 400 names every problem, the backend's rules for the request included."""
    if not isinstance(body, dict):
        raise invalid([("body", "must be a JSON object")])
    data = dict(body)
    ncco_data = data.pop("ncco", None)
    if "from" in data:
        data["from_"] = data.pop("from")
    problems = [
        (field, 'must be an array with one URL, like ["https://example.com/answer"]')
        for field in ("answer_url", "event_url") if field in data and not one_url(data[field])
    ]
    problems += _check_to(data.get("to"))
    ncco = _parse_ncco(ncco_data, problems)
    request_model = _validated_request(data, ncco_data is not None, problems)
    problems += backend().create_call_problems(has_event_url="event_url" in data)
    if problems:
        raise invalid(problems)
    return request_model, data["to"][0], ncco


def _parse_ncco(ncco_data, problems: list) -> list | None:
    """The request's NCCO, parsed; None if it has none, or a problem noted."""
    if ncco_data is None:
        return None
    try:
        return parse_ncco(ncco_data)
    except NccoError as error:
        problems.extend((name or "ncco", reason) for name, reason in error.problems)
        return None


def _validated_request(data: dict, has_ncco: bool, problems: list) -> CreateCallRequest | None:
    """The body as the SDK's model, or None with its problems noted (except for fields
    already flagged, whose problems say it better)."""
    try:
        # The NCCO was checked above with better error paths; the model sees a placeholder.
        placeholder = {"ncco": []} if has_ncco else {}
        return CreateCallRequest.model_validate({**data, **placeholder})
    except ValidationError as error:
        flagged = {name.split("[")[0] for name, _ in problems}
        problems.extend(p for p in pydantic_problems(error) if p[0].split("[")[0].split(".")[0] not in flagged)
    except VoiceError as error:  # the SDK model's own either/or checks
        problems.append(("body", str(error)))
    return None


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


# -- PUT /v1/calls/{uuid} --------------------------------------------------------------------
def parse_transfer(body: dict) -> list | str:
    """A transfer destination: {"type": "ncco", "ncco": [...]}, as the parsed NCCO, or
    {"type": "ncco", "url": [...]}, as the URL."""
    destination = body.get("destination")
    if not isinstance(destination, dict) or destination.get("type") != "ncco":
        raise invalid([("destination", 'must be {"type": "ncco", "ncco": [...]} or {"type": "ncco", "url": ["https://..."]}')])
    if "ncco" in destination:
        try:
            return parse_ncco(destination["ncco"])
        except NccoError as error:
            raise invalid([(f"destination.{name or 'ncco'}", reason) for name, reason in error.problems]) from None
    if not one_url(destination.get("url")):
        raise invalid([("destination.url", "must be an array with one URL")])
    return destination["url"][0]


# -- GET /v1/calls ---------------------------------------------------------------------------
def parse_list_query(args) -> dict:
    """The list's filters and page, checked; a 400 names every bad parameter at once."""
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


def calls_page(count: int, calls: list[dict], query: dict) -> dict:
    """One HAL page of calls, with self/first/last and next/prev only where they exist."""
    size, index = query["page_size"], query["record_index"]
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
        "_embedded": {"calls": calls},
    }
