"""Your webhook server: the Flask app the Voice API platform calls, run in the background.

The platform calls one route per kind of webhook (`/webhooks/answer`, `/webhooks/event`,
...), with POST (the kit sets your application's webhooks so), or, for an NCCO it fetches
from a URL given in a call (`answer_url`, a transfer), with GET. In live mode the server
is on the internet, through the tunnel, so for each request it:
1. refuses, before reading it, a body far larger than any webhook (413), and any method
   the webhook is not sent with (405): GET only for answer and fallback;
2. checks the signature (an HS256 JWT whose `payload_hash` is the body's SHA-256),
   refusing anything unsigned, forged, stale or replayed (a `jti` seen before) with 401.
   A GET's query string is not covered by the signature (its body is empty): what keeps
   it honest is that each token is let in once, so a token seen on the way (in a log, a
   proxy) cannot carry a rewritten query, and HTTPS (the tunnel) keeps it from being seen;
3. stores the request in the event store (so it shows in `ws.events`): a refused one only
   as a short summary (method, path, size, why), never its whole body;
4. calls your handler, if you wrote one for that kind, and validates the NCCO it returns
   before it leaves;
5. answers: the NCCO as JSON, or an empty 200.
A handler that raises, or returns an NCCO that is not valid, gets a 500 and a traceback in
the log, and the server keeps serving. What went wrong (with the line of your code, or
the field and why) is written beside the webhook, in its `handler_error`, for the cell
that waits on the call to print (problems.py).

The webhooks and their fields: https://developer.vonage.com/en/voice/voice-api/webhook-reference;
the signature: https://developer.vonage.com/en/getting-started/concepts/webhooks#decoding-signed-webhooks
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import math
import threading
import time
import traceback
from typing import Callable

from flask import Flask, Response, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from . import problems
from .events import EventStore
from .ncco import NccoError, validate_ncco
from .serving import BackgroundServer
from .sounds import SOUNDS, sound_wav

log = logging.getLogger(__name__)

#: The webhooks the platform sends, and whether their answer may be an NCCO.
KINDS = {
    "answer": True,      # a call starts: return its NCCO
    "event": True,       # status events (an NCCO only matters for synchronous connect)
    "input": True,       # DTMF or speech from an input action: return the next NCCO
    "notify": True,      # a notify action: an NCCO replaces the rest, or none to go on
    "fallback": True,    # the answer or an event webhook failed: return an NCCO
    "recording": False,  # a record action finished: nothing to return
}

#: What a call hears when you have not written an answer handler yet.
DEFAULT_ANSWER = [{
    "action": "talk",
    "text": "Hello from the workshop. This number has no answer handler yet.",
}]

Handler = Callable[[dict], object]

#: The methods each webhook comes with: the platform fetches an NCCO from a URL given in a
#: call (create_call's answer_url, a transfer) with GET unless told otherwise.
METHODS = {kind: ("GET", "POST") if kind in ("answer", "fallback") else ("POST",) for kind in KINDS}

#: How far a webhook token's `iat` may be from now: older ones may be replays.
MAX_TOKEN_AGE = 600

#: The largest body the server reads. A webhook is a few kilobytes; anything far larger
#: is refused from its Content-Length (or once that much has arrived), never read whole.
MAX_BODY = 256 * 1024

#: How much of a refused request's body is kept, to show what it was.
REFUSED_PREVIEW = 200

#: At most this many refused requests are kept a minute; the others are only counted
#: (`refusals_not_kept`): a flood of them, which anyone can send, must fill neither the
#: disk nor the kernel's memory, nor slow the tables down.
REFUSALS_KEPT_PER_MINUTE = 60


class WebhookServer:
    """The attendee's webhook server: routes, handlers, verification, storage."""

    def __init__(self, store: EventStore, signature_secret: str,
                 host: str = "127.0.0.1", port: int = 0):
        self.store = store
        self.signature_secret = signature_secret
        self.handlers: dict[str, Handler] = {}
        self.refusals_not_kept = 0
        self._refusal_minute, self._refusals_kept = 0, 0  # the minute now, and how many kept in it
        self._refusals_lock = threading.Lock()  # (requests are served by many threads)
        self.app = self._create_app()
        self._server = BackgroundServer(self.app, host, port, name="webhook-server")

    @property
    def url(self) -> str:
        """Where this server listens, e.g. http://localhost:5000 (no trailing slash)."""
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> "WebhookServer":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def handler(self, kind: str) -> Callable[[Handler], Handler]:
        """A decorator that makes a function the handler for one kind of webhook."""
        if kind not in KINDS:
            raise ValueError(f"no webhook called {kind!r}; the kinds are: {', '.join(KINDS)}")

        def register(function: Handler) -> Handler:
            self.handlers[kind] = function
            return function

        return register

    # -- the Flask app ------------------------------------------------------------------------
    def _create_app(self) -> Flask:
        app = Flask("workshop_helpers.webhooks")
        app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

        # Every webhook route takes GET and POST here, so that a method a webhook does not
        # come with is refused by _handle, with a reason you can read in ws.events.
        @app.route("/webhooks/<kind>", methods=["GET", "POST"])
        def webhook(kind: str):
            if kind not in KINDS:
                return Response(f"No webhook called {kind}.", status=404)
            return self._handle(kind)

        @app.get("/audio/<name>.wav")
        def sound(name: str):
            if name not in SOUNDS:
                names = ", ".join(f"/audio/{known}.wav" for known in SOUNDS)
                return Response(f"No sound called {name}; there are {names}.", status=404)
            return Response(sound_wav(name), mimetype="audio/wav")

        @app.get("/")
        def index():
            routes = "\n".join(f"  /webhooks/{kind}" for kind in KINDS)
            return Response(f"Voice API workshop webhook server. Routes:\n{routes}\n", mimetype="text/plain")

        return app

    def _handle(self, kind: str) -> Response:
        if request.method not in METHODS[kind]:
            why = f"{kind} webhooks are let in only with {' or '.join(METHODS[kind])}"
            if request.method == "GET":
                why += (": a GET's query string is not covered by the signature (leave eventMethod "
                        "out of your NCCOs, and event_method out of create_call: POST is the default)")
            return self._refuse(kind, why, 405, b"", headers={"Allow": ", ".join(METHODS[kind])})
        try:
            body = request.get_data()
        except RequestEntityTooLarge:  # its Content-Length says so: never read
            body = None
        except (ClientDisconnected, ValueError, OSError) as error:  # a broken or malformed body
            return self._refuse(kind, f"the body could not be read ({type(error).__name__})", 400, b"")
        if body is None or len(body) >= MAX_BODY:  # a chunked body stops at the limit, unread beyond it
            return self._refuse(kind, f"the body is {MAX_BODY} bytes or more: no webhook is", 413, b"")
        claims, refused = self._claims(request.headers.get("Authorization"), body)
        if refused:
            return self._refuse(kind, refused, 401, body)
        payload = _payload(body) if request.method == "POST" else _query(request.args)
        if payload is None:
            return self._refuse(kind, "the body is signed but is not JSON this server can read", 400, body)
        # Stored only if its token's jti never was, even before a restart: else a replay.
        event_id = self.store.add(kind, request.method, payload, verified=True,
                                  token=(claims["jti"], claims["iat"] + MAX_TOKEN_AGE))
        if event_id is None:
            return self._refuse(kind, "this token was used before (a replay: each webhook's jti is new)", 401, body)
        return self._answer(kind, event_id, payload)

    def _refuse(self, kind: str, why: str, status: int, body: bytes, headers: dict | None = None) -> Response:
        """Refuse a request, keeping only a summary of it: anyone can send one."""
        if not self._keep_refusal():
            return Response(f"Refused: {why}", status=status, headers=headers)
        log.warning("refused a %s webhook: %s", kind, why)
        summary = {"method": request.method, "path": request.path,
                   "size": request.content_length if request.content_length is not None else len(body),
                   "why": why, "preview": body[:REFUSED_PREVIEW].decode(errors="replace")}
        event_id = self.store.add(kind, request.method, summary, verified=False, refused=why)
        self.store.answered(event_id, status)
        return Response(f"Refused: {why}", status=status, headers=headers)

    def _keep_refusal(self) -> bool:
        """Whether this minute's allowance of kept refusals has room for one more."""
        with self._refusals_lock:
            minute = int(time.monotonic() // 60)
            if minute != self._refusal_minute:
                self._refusal_minute, self._refusals_kept = minute, 0
            if self._refusals_kept < REFUSALS_KEPT_PER_MINUTE:
                self._refusals_kept += 1
                return True
            self.refusals_not_kept += 1
            if self.refusals_not_kept % 1000 == 1:
                log.warning("more than %d refused requests this minute: counting them, not keeping "
                            "them (%d so far)", REFUSALS_KEPT_PER_MINUTE, self.refusals_not_kept)
            return False

    def _answer(self, kind: str, event_id: int, payload: dict) -> Response:
        """Your handler's answer to a verified webhook (the default one if you wrote none)."""
        handler = self.handlers.get(kind)
        if handler is None:
            answer = DEFAULT_ANSWER if kind == "answer" else None
            self.store.answered(event_id, 200)
        else:
            try:
                result = handler(payload)
            except Exception as error:  # your code: write it down, keep serving
                log.error("your %s handler failed:\n%s", kind, "".join(traceback.format_exception(error)))
                self.store.answered(event_id, 500, handler_error=problems.handler_raised(kind, error))
                return Response(f"The {kind} handler failed: {error}", status=500)
            try:
                answer = self._ncco(kind, result)
            except NccoError as error:
                log.error("your %s handler returned an NCCO that is not valid: %s", kind, error)
                self.store.answered(event_id, 500, handler_error=problems.ncco_refused(kind, error))
                return Response(f"The {kind} handler returned an invalid NCCO: {error}", status=500)
            # A handler that returned nothing useful is answered as it asked, and told.
            self.store.answered(event_id, 200, handler_error=problems.handler_returned(kind, result))
        if answer is None:
            return Response(status=200)
        return Response(json.dumps(answer), status=200, mimetype="application/json")

    @staticmethod
    def _ncco(kind: str, result: object) -> list | None:
        """A handler's result as a validated NCCO, or None for an empty answer."""
        if result is None or not KINDS[kind] or isinstance(result, problems.NOT_AN_NCCO):
            return None
        if not isinstance(result, (list, tuple)):
            result = [result]  # a single action is fine: it is an NCCO of one
        return validate_ncco(list(result))  # NccoError names the bad field

    def _claims(self, header: str | None, body: bytes) -> tuple[dict, None] | tuple[None, str]:
        """The token's claims if the platform signed this request; else why it did not."""
        if not header or not header.startswith("Bearer "):
            return None, f"{problems.UNSIGNED} (no Authorization: Bearer header)"
        try:
            claims = verify_hs256(header[7:], self.signature_secret)
        except ValueError as error:
            return None, f"{problems.FORGED} ({error})"
        expected = hashlib.sha256(body).hexdigest()
        # (As bytes: compare_digest refuses str with characters beyond ASCII.)
        if not hmac.compare_digest(str(claims.get("payload_hash", "")).encode(), expected.encode()):
            return None, "payload_hash does not match the body (changed on the way?)"
        issued = claims.get("iat")
        if (not isinstance(issued, (int, float)) or isinstance(issued, bool) or not math.isfinite(issued)
                or abs(time.time() - issued) > MAX_TOKEN_AGE):
            return None, "the token is stale or from the future (a replay? or check this machine's clock)"
        if not isinstance(claims.get("jti"), str) or not claims["jti"]:
            return None, "the token has no jti (the platform's always have one: a replay cannot be told apart)"
        return claims, None


def verify_hs256(token: str, secret: str) -> dict:
    """Check a webhook's JWT and return its claims; ValueError says what is wrong.

    This is all "signed with HS256" means: the token is header.claims.signature (each
    base64url), and the signature is the HMAC-SHA256, keyed with your signature secret,
    of "header.claims". (PyJWT does the same with more generality, at five times the
    cost; every webhook passes through here.)
    """
    signed_part, _, signature = token.rpartition(".")
    header, _, claims = signed_part.partition(".")
    try:
        if json.loads(_base64url(header)).get("alg") != "HS256":
            raise ValueError("the token is not signed with HS256")
        expected = hmac.new(secret.encode(), signed_part.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_base64url(signature), expected):
            raise ValueError("the signature does not match your signature secret")
        claims = json.loads(_base64url(claims))
    except (binascii.Error, UnicodeError, AttributeError, TypeError) as error:
        raise ValueError(f"not a JWT ({error})") from None
    except (json.JSONDecodeError, RecursionError):
        raise ValueError("not a JWT (its parts are not JSON objects)") from None
    if not isinstance(claims, dict):
        raise ValueError("not a JWT (its claims are not a JSON object)")
    return claims


def _base64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _query(args) -> dict:
    """A GET webhook's data, from its query string, where nested objects (dtmf, speech,
    payload, ...) arrive JSON-encoded: they are decoded here."""
    data = {}
    for key, value in args.items():
        if value.startswith(("{", "[")):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                pass  # kept as the text it is
        data[key] = value
    return data


def _payload(body: bytes) -> dict | None:
    """The webhook's data, from its JSON body; None if it is not JSON that can be read
    (too deeply nested, say). A body that is JSON but not an object is kept under "body"."""
    try:
        data = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else {"body": data}
