"""The body of every error the API answers, and its one error handler: an RFC 7807 problem,
as newer Vonage APIs answer (developer.vonage.com/en/api-errors): `{"type", "title", "detail", "instance"}`,
plus `invalid_parameters: [{name, reason}]` on a 400 that names the bad fields."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import ApiError

log = logging.getLogger(__name__)

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


def problem(status: int, detail: str, invalid_parameters: list | None = None):
    """The response for an error: its status, and the problem body that explains it."""
    slug, title = ERROR_TYPES[status]
    body = {
        "type": f"https://developer.vonage.com/api-errors#{slug}",
        "title": title,
        "detail": detail,
        "instance": str(uuid.uuid4()),
    }
    if invalid_parameters is not None:
        body["invalid_parameters"] = invalid_parameters
    return jsonify(body), status


def api_error(error: ApiError):
    """A typed error from a view or the backend: its own status and message."""
    return problem(error.status, error.detail, error.invalid_parameters)


def http_error(error: HTTPException):
    """Flask's own errors (no such route, a wrong verb, ...), in the same shape."""
    response, status = problem(error.code if error.code in ERROR_TYPES else 400, error.description)
    if getattr(error, "valid_methods", None):  # a 405 says which methods would work
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response, status


def unexpected(error: Exception):
    """A bug: the whole story goes to the log, not to the client."""
    log.exception("sandbox API error")
    return problem(500, "The sandbox failed on this request; its log says why (ws.show_logs() in a notebook).")


def register(app: Flask) -> None:
    """Answer every error `app` meets as a problem."""
    app.register_error_handler(ApiError, api_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)
