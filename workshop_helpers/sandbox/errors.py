"""The sandbox's errors: `SandboxError`, and the typed errors its HTTP API answers with.

Each `ApiError` carries the HTTP status it is answered with; the API's one error handler
(routes/error_bodies.py) turns it into the RFC 7807 body every error has:
`{"type", "title", "detail", "instance"}`, plus `invalid_parameters` on a 400 that names
the bad fields. This module imports nothing of the sandbox, so any module can raise
these: the engine and the state files raise `SandboxError`, the backend the `ApiError`s.

An `ApiError` is not a `SandboxError`: it is the answer to a request, while a
`SandboxError` says the sandbox itself cannot do something (it is stopped, its state is
damaged), so code that catches one never catches the other by accident.
"""

from __future__ import annotations


class SandboxError(Exception):
    """Something asked of the sandbox that cannot be done; the message says what to do."""


class ApiError(Exception):
    """An error the HTTP API answers with `status` and `detail`, its message."""

    status = 500

    def __init__(self, detail: str, invalid_parameters: list[dict] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.invalid_parameters = invalid_parameters

    def __str__(self) -> str:
        return self.detail  # the message, even for an error that is a KeyError too


class BadRequest(ApiError):
    """A request that cannot be read (not JSON); or, with `invalid_parameters`, one that
    fails validation (see `invalid`)."""

    status = 400


def invalid(problems: list[tuple[str, str]]) -> BadRequest:
    """The 400 for a request that fails validation, naming each bad field and why."""
    names = ", ".join(name for name, _ in problems)
    return BadRequest(
        f"The request failed validation: check {names}.",
        [{"name": name, "reason": reason} for name, reason in problems],
    )


class Unauthorized(ApiError):
    status = 401


class NotFound(ApiError):
    status = 404


class UnknownCall(NotFound, KeyError):
    """No leg has this uuid. A KeyError too, as a missing leg always was: code that reads
    `sandbox.transcript(uuid)` for a leg of an earlier run catches KeyError."""

    def __init__(self, call_uuid: str):
        super().__init__(f"Call {call_uuid} does not exist, or you do not have access.")


class UnknownApplication(NotFound):
    def __init__(self, app_id: str):
        super().__init__(f"Application {app_id} does not exist, or you do not have access.")


class UnknownFile(NotFound):
    """No recording has this file id (or the id is not a uuid, so none could)."""


class CallEnded(ApiError):
    """A call that has ended cannot be changed (the platform answers 400)."""

    status = 400

    def __init__(self, call_uuid: str, status: str):
        super().__init__(f"Call {call_uuid} has already ended ({status}).")


class CallNotAnswered(ApiError):
    """Most changes to a call need it answered: one still ringing is a 400, as on the platform."""

    status = 400

    def __init__(self, call_uuid: str, status: str):
        super().__init__(f"Call {call_uuid} is not answered yet ({status}); try again once it is.")


class Conflict(ApiError):
    """What a virtual phone (or the platform) cannot do in its state: not on a call, a
    magic number's fixed behaviour, no answer_url to call."""

    status = 409


class WaitTimedOut(ApiError):
    """A control-API wait that ran out of call time."""

    status = 408


class SandboxStopped(ApiError):
    """The sandbox stopped while a control-API wait waited."""

    status = 503
