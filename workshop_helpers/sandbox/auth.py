"""Authentication both ways, as the real platform does it.

Requests *to* the platform carry an application JWT (RS256, signed with the application's
private key: the SDK makes these) or, for the Application API, Basic auth with the api
key and secret. Requests *from* the platform (webhooks) carry an HS256 JWT signed with the
account's signature secret, whose `payload_hash` claim is the SHA-256 of the body
(https://developer.vonage.com/en/getting-started/concepts/webhooks#decoding-signed-webhooks).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt

from .application import SandboxApplication

#: The documented ceiling on an application JWT's lifetime.
MAX_TOKEN_LIFETIME = 24 * 3600


class AuthError(Exception):
    """A request the platform refuses with 401; the message says why."""


def verify_application_jwt(header: str | None, app: SandboxApplication) -> dict:
    """Check an `Authorization: Bearer <JWT>` header; return the claims or raise AuthError."""
    token = _bearer_token(header)
    try:
        claims = jwt.decode(
            token,
            app.public_key_pem,
            algorithms=["RS256"],
            options={"require": ["application_id", "iat", "jti"], "verify_aud": False},
            leeway=5,
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("the JWT has expired; create a new one") from None
    except jwt.InvalidSignatureError:
        raise AuthError("the JWT signature does not match this application's public key (sign "
                        "with the sandbox's private.key: VONAGE_PRIVATE_KEY in its env)") from None
    except jwt.MissingRequiredClaimError as error:
        raise AuthError(f"the JWT has no `{error.claim}` claim") from None
    except jwt.InvalidTokenError as error:
        raise AuthError(f"the JWT is not valid ({error})") from None
    for name in ("iat", "exp", "nbf"):
        # PyJWT takes anything int() takes ("1700000000", true); a NumericDate is a JSON
        # number (RFC 7519) and a date (10^12 s is the year 33658), and the lifetime check
        # below does arithmetic with it. NaN fails the comparison too.
        value = claims.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not -1e12 < value < 1e12:
            raise AuthError(f"the JWT's `{name}` claim must be a number of seconds since 1970 "
                            f"(like {int(time.time())}), not {json.dumps(value)[:40]}")
    if claims["application_id"] != app.id:
        raise AuthError("the JWT is for another application (only the sandbox's own works here: "
                        "VONAGE_APPLICATION_ID in its env)")
    if "exp" in claims and claims["exp"] - claims["iat"] > MAX_TOKEN_LIFETIME:
        raise AuthError("the JWT lives longer than 24 hours after `iat`")
    return claims


def verify_basic_auth(header: str | None, app: SandboxApplication) -> None:
    """Check `Authorization: Basic base64(api_key:api_secret)` (the Application API)."""
    if not header or not header.startswith("Basic "):
        raise AuthError("send Basic auth with your api key and secret")
    try:
        key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:  # bad base64, or bytes that are not UTF-8 text
        raise AuthError("the Basic auth header must be base64 of api_key:api_secret") from None
    good_key = hmac.compare_digest(key.encode(), app.api_key.encode())
    if not (good_key and hmac.compare_digest(secret.encode(), app.api_secret.encode())):
        raise AuthError("the api key or secret is wrong")


def sign_webhook(body: bytes, app: SandboxApplication) -> str:
    """The `Authorization` header value for a webhook whose raw body is `body`.

    For GET webhooks the body is empty, so `payload_hash` is the hash of no bytes (the
    real platform does not document this case; this is the sandbox's choice).
    """
    claims = {
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": app.api_key,
        "application_id": app.id,
    }
    return "Bearer " + jwt.encode(claims, app.signature_secret, algorithm="HS256")


def _bearer_token(header: str | None) -> str:
    if not header:
        raise AuthError("send `Authorization: Bearer <JWT>` signed with your application's key")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be `Bearer <JWT>`")
    return token.strip()
