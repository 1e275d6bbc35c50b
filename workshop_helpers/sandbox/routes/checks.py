"""What every view does with a request: check its credentials, read its JSON body, check
it with the SDK's models, and find the backend it works on."""

from __future__ import annotations

import functools

from flask import current_app, request
from pydantic import ValidationError

from ...ncco import pydantic_problems
from ..auth import AuthError, verify_application_jwt, verify_basic_auth
from ..backend import SandboxBackend
from ..clock import check_seconds
from ..errors import BadRequest, Unauthorized, invalid
from ..phones import PhoneError, check_number


def backend() -> SandboxBackend:
    """The backend of the sandbox this app serves (create_app keeps the sandbox in the app)."""
    return current_app.extensions["sandbox"].backend


def _requires(verify):
    """A view decorator: `verify` the Authorization header first, 401 if it fails."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            try:
                verify(request.headers.get("Authorization"), backend().application)
            except AuthError as error:
                raise Unauthorized(f"You did not provide correct credentials: {error}.") from None
            return view(*args, **kwargs)
        return wrapper
    return decorator


jwt_required = _requires(verify_application_jwt)  # Voice API and sandbox control
basic_auth_required = _requires(verify_basic_auth)  # Application API


def json_body(default=None):
    """The request's JSON, whatever its Content-Type; a clear 400 when it is not JSON.
    With a `default` (an empty body's value, an object), the body must be an object too."""
    if not request.get_data() and default is not None:
        return default
    try:
        body = request.get_json(force=True)
    except Exception:  # werkzeug raises BadRequest with a parser message
        raise BadRequest("The request body is not valid JSON; send a JSON object.") from None
    if default is not None and not isinstance(body, dict):
        raise invalid([("body", "must be a JSON object")])
    return body


def validated(model, body):
    """`body` checked with one of the SDK's request models; 400 naming each bad field."""
    if not isinstance(body, dict):
        raise invalid([("body", "must be a JSON object")])
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise invalid(pydantic_problems(error)) from None


def one_url(value) -> bool:
    """Whether `value` is what the Voice API's URL fields take: an array of one http(s) URL."""
    return (
        isinstance(value, list) and len(value) == 1 and isinstance(value[0], str)
        and value[0].startswith(("http://", "https://"))
    )


def seconds_in(value, name: str, problems: list) -> float | None:
    """A number of seconds of call time from a request body, or a problem noted."""
    try:
        return check_seconds(value, name)
    except ValueError as error:
        problems.append((name, str(error)))
        return None


def phone_number(number: str) -> str:
    """A phone number from a path, or the 400 that says what a number looks like."""
    try:
        return check_number(number)
    except PhoneError as error:
        raise invalid([("number", str(error))]) from None
