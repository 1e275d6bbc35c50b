"""Requests to the sandbox's HTTP API as an application makes them (an application JWT,
Basic auth or any header at all), JWTs of any claims at all (rs256, hs256: PyJWT refuses
some), and the check of the one error shape the Voice API
documents: for the API error tests (tests/test_api_errors.py) and the call-control tests
that check an error.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
import uuid

import jwt
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from workshop_helpers.sandbox import Sandbox

ERROR_KINDS = {
    400: ("bad-request", "Bad Request"),
    401: ("unauthorized", "Unauthorized"),
    404: ("not-found", "Not Found"),
    405: ("wrong-verb", "Method Not Allowed"),
    409: ("conflict", "Conflict"),
}


@functools.lru_cache(maxsize=None)
def _signing_key(pem: str):
    """Loading (and checking) an RSA key takes ~50 ms: do it once per key, not per JWT."""
    return serialization.load_pem_private_key(pem.encode(), password=None)


def app_claims(app_id: str, **extra) -> dict:
    """An application JWT's claims as the SDK sets them (valid for 15 minutes); `extra`
    replace or add claims."""
    now = int(time.time())
    return {"application_id": app_id, "iat": now, "jti": str(uuid.uuid4()), "exp": now + 900, **extra}


def make_jwt(application, key_pem: str | None = None, **claims) -> str:
    """An application JWT as the SDK makes one; a claim given as None is left out."""
    body = {name: value for name, value in app_claims(application.id, **claims).items() if value is not None}
    key = _signing_key(key_pem or application.private_key_path.read_text())
    return jwt.encode(body, key, algorithm="RS256")


# -- JWTs PyJWT will not make: any claims at all, written as Python's json writes them --------------
def _part(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rs256(claims, key) -> str:
    """A correctly signed RS256 JWT of any claims at all, with a loaded private key (PyJWT
    refuses to make some, like a non-string `iss`); NaN and Infinity are written as
    Python's json writes them, as a careless client would."""
    signing_input = _part(b'{"alg":"RS256","typ":"JWT"}') + "." + _part(json.dumps(claims, allow_nan=True).encode())
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _part(signature)


def hs256(claims, secret: bytes) -> str:
    """A JWT signed with `secret` (HMAC-SHA256), whatever its claims hold: even a list."""
    signing_input = _part(b'{"alg":"HS256","typ":"JWT"}') + "." + _part(json.dumps(claims).encode())
    return signing_input + "." + _part(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


class Api:
    """HTTPS requests to one sandbox; `auth` is "jwt" (default), "basic", None or a header."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.app = sandbox.application
        self.http = requests.Session()
        self.http.trust_env = False  # this machine sets REQUESTS_CA_BUNDLE
        self.http.verify = str(sandbox.tls.ca_path)

    def request(self, method: str, path: str, auth="jwt", **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if auth == "jwt":
            headers["Authorization"] = "Bearer " + make_jwt(self.app)
        elif auth == "basic":
            headers["Authorization"] = basic(self.app.api_key, self.app.api_secret)
        elif auth is not None:
            headers["Authorization"] = auth
        return self.http.request(method, self.sandbox.base_url + path, headers=headers, timeout=15, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def close(self):
        self.http.close()


def assert_error(response: requests.Response, status: int, names: list[str] | None = None) -> dict:
    """Check the documented error shape; with `names`, exactly those invalid_parameters."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    expected_keys = {"type", "title", "detail", "instance"}
    if names is not None:
        expected_keys.add("invalid_parameters")
    assert set(body) == expected_keys, body
    slug, title = ERROR_KINDS[status]
    assert body["type"] == f"https://developer.vonage.com/api-errors#{slug}"
    assert body["title"] == title
    assert isinstance(body["detail"], str) and body["detail"].strip()
    assert str(uuid.UUID(body["instance"])) == body["instance"]
    if names is not None:
        params = body["invalid_parameters"]
        for param in params:
            assert set(param) == {"name", "reason"}, param
            assert isinstance(param["reason"], str) and param["reason"].strip()
        assert [p["name"] for p in params] == names, params
        for name in names:
            assert name in body["detail"]
    return body
