"""The sandbox's HTTP API: Voice API v1, the Application API v2 subset, sandbox control.

One Flask blueprint per API (routes/voice.py, routes/applications.py, routes/control.py)
reads each request and writes its answer; the backend (backend.py) does the work and
raises typed errors (errors.py); routes/error_bodies.py answers every error in the one
documented shape (RFC 7807, as newer Vonage APIs use): `{"type", "title", "detail",
"instance"}`, plus `invalid_parameters: [{name, reason}]` on 400 validation errors.
"""

from __future__ import annotations

from flask import Flask

from .routes import error_bodies
from .routes.applications import applications
from .routes.control import control
from .routes.voice import voice


def create_app(sandbox) -> Flask:
    """The Flask app that serves the API of `sandbox`, a started `Sandbox` (service.py):
    its views reach it through `sandbox.backend` (and its details, `sandbox.info()`)."""
    app = Flask("workshop_helpers.sandbox.api")
    app.extensions["sandbox"] = sandbox
    app.register_blueprint(voice)
    app.register_blueprint(applications)
    app.register_blueprint(control)
    error_bodies.register(app)
    return app
