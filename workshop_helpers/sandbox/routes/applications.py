"""The Application API v2 routes, and the Numbers API route, in the subset live mode uses
(developer.vonage.com/en/api/application.v2): Basic auth with the account's key and
secret, and the application's voice settings read and replaced."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from pydantic import ValidationError
from vonage_application import ApplicationConfig

from ...ncco import pydantic_problems
from ..errors import invalid
from .checks import backend, basic_auth_required, json_body

applications = Blueprint("applications", __name__)


@applications.get("/account/numbers")
@basic_auth_required
def list_owned_numbers():
    """The numbers you own (the sandbox's one), optionally those of one application."""
    owned = backend().owned_numbers(request.args.get("application_id"))
    return jsonify(count=len(owned), numbers=owned)


@applications.get("/v2/applications", strict_slashes=False)
@basic_auth_required
def list_applications():
    found = backend().applications()
    return jsonify(
        page_size=100, page=1, total_items=len(found), total_pages=1,
        _embedded={"applications": found},
        _links={"self": {"href": "/v2/applications?page_size=100&page=1"}},
    )


@applications.get("/v2/applications/<app_id>")
@basic_auth_required
def get_application(app_id):
    return jsonify(backend().get_application(app_id))


@applications.put("/v2/applications/<app_id>")
@basic_auth_required
def update_application(app_id):
    backend().get_application(app_id)  # 404 for another application, before its body is read
    try:  # any JSON at all: the model names what is wrong with it
        config = ApplicationConfig.model_validate(json_body())
    except ValidationError as error:
        raise invalid(pydantic_problems(error)) from None
    settings = config.model_dump(exclude_none=True, mode="json")
    return jsonify(backend().replace_application(app_id, settings))
