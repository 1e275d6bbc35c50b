"""Requests anyone could send the sandbox, as hypothesis strategies, and a Target to send
them to: for the fuzz test (tests/test_sandbox_fuzz.py) and the fuzz benchmark
(benchmarks/fuzz_sandbox.py), which run the same ones, a few hundred and 10,000+ times.

The requests go to every REST and control route: methods, paths (known calls, unknown ids,
long or odd segments), query strings, headers, credentials (valid JWTs, JWTs whose claims
have odd types or values, other keys and algorithms, Basic auth) and bodies (well-formed
requests with odd fields, any JSON, bytes that are not JSON or not UTF-8). `problem` says
what is wrong with an answer: a 5xx, or an error outside the sandbox's one error shape.
"""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import requests
from api_requests import app_claims, basic, hs256, rs256
from conftest import APP_NUMBER, Receiver
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import strategies as st

from workshop_helpers.sandbox.api import create_app

MAGIC_NUMBERS = ["447700900000", "447700900001", "447700900002", "447700900003", "447700900004"]
#: A port nothing listens on (discard): webhooks sent there fail at once, on this machine.
DEAD_URL = "http://127.0.0.1:9/nothing"


# -- what the requests are made of -------------------------------------------------------
@dataclass
class FuzzRequest:
    method: str
    path: str
    query: dict = field(default_factory=dict)
    auth: tuple = ("jwt", {})  # how the Authorization header is made (see Target.authorization)
    headers: dict = field(default_factory=dict)
    body: bytes | None = None

    def describe(self) -> str:
        shown = (self.body or b"")[:300]
        return f"{self.method} {self.path}?{urlencode(self.query)} auth={self.auth!r} headers={self.headers} body={shown!r}"


def _big_int():
    return st.integers(min_value=-(2 ** 70), max_value=2 ** 70)


SCALARS = (st.none() | st.booleans() | _big_int() | st.integers(-3, 200)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
           | st.sampled_from(["", "0", "1.5", "NaN", "-1", "1e308", "true", "null", "∞", "\x00"]))
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)


def odd(good):
    """Mostly a plausible value, sometimes any JSON at all."""
    return st.one_of(good, good, JSON)


def maybe_fields(**fields) -> st.SearchStrategy[dict]:
    """A dict with any subset of `fields` (each an odd value), and now and then a stray key."""
    return st.fixed_dictionaries({}, optional={name: odd(value) for name, value in fields.items()}) | \
        st.fixed_dictionaries({}, optional={name: odd(value) for name, value in fields.items()}).flatmap(
            lambda d: st.dictionaries(st.text(max_size=8), JSON, max_size=2).map(lambda extra: {**extra, **d}))


NUMBERS = st.sampled_from(MAGIC_NUMBERS + [APP_NUMBER, "447700900123"]) | st.from_regex(r"\A[0-9]{1,17}\Z") | st.text(max_size=20)
LOCAL_URL = st.sampled_from([DEAD_URL, "http://127.0.0.1:9/a?b=c", "https://localhost:9/x", "ftp://x", "http://", ""])
URL_LIST = st.lists(LOCAL_URL, max_size=2) | LOCAL_URL
SECONDS = st.integers(-5, 100) | st.floats(-1, 8000) | st.sampled_from([0.1, 7200, 1e308, -1e308, float("nan"), float("inf"), "5", "NaN"])
DIGITS = st.from_regex(r"\A[0-9*#p]{0,6}\Z") | st.text(max_size=8)
SHORT_TEXT = st.text(max_size=40)

ENDPOINT = st.one_of(
    maybe_fields(type=st.just("phone"), number=NUMBERS, dtmfAnswer=DIGITS, onAnswer=JSON, shaken=JSON),
    maybe_fields(type=st.sampled_from(["sip", "websocket", "vbc", "app", "x"]), uri=st.sampled_from(
        ["sip:a@example.com", "ws://127.0.0.1:9/s", "wss://127.0.0.1:9/s", "x"]), user=SHORT_TEXT,
        extension=SHORT_TEXT, headers=JSON, **{"content-type": st.sampled_from(["audio/l16;rate=16000", "x"])}),
)

NCCO_ACTION = st.one_of(
    maybe_fields(action=st.just("talk"), text=SHORT_TEXT, bargeIn=st.booleans(), loop=st.integers(-1, 5),
                 level=st.floats(-2, 2), language=st.sampled_from(["en-GB", "xx", "de-DE"]), style=st.integers(-1, 3),
                 premium=st.booleans()),
    maybe_fields(action=st.just("stream"), streamUrl=URL_LIST, level=st.floats(-2, 2), bargeIn=st.booleans(),
                 loop=st.integers(-1, 5)),
    maybe_fields(action=st.just("input"), type=st.lists(st.sampled_from(["dtmf", "speech", "x"]), max_size=3),
                 dtmf=maybe_fields(maxDigits=st.integers(-1, 25), timeOut=SECONDS, submitOnHash=st.booleans()),
                 speech=maybe_fields(endOnSilence=SECONDS, maxDuration=SECONDS, startTimeout=SECONDS,
                                     language=st.sampled_from(["en-GB", "x"]), context=st.lists(SHORT_TEXT, max_size=2),
                                     saveAudio=st.booleans()),
                 eventUrl=URL_LIST, eventMethod=st.sampled_from(["GET", "POST", "PUT", ""]),
                 mode=st.sampled_from(["synchronous", "asynchronous", "x"])),
    maybe_fields(action=st.just("record"), format=st.sampled_from(["mp3", "wav", "ogg", "x"]),
                 split=st.sampled_from(["conversation", "x"]), channels=st.integers(-1, 40), endOnSilence=SECONDS,
                 endOnKey=DIGITS, timeOut=SECONDS, beepStart=st.booleans(), eventUrl=URL_LIST),
    maybe_fields(action=st.just("conversation"), name=SHORT_TEXT, musicOnHoldUrl=URL_LIST, startOnEnter=st.booleans(),
                 endOnExit=st.booleans(), record=st.booleans(), canSpeak=st.lists(SHORT_TEXT, max_size=2),
                 canHear=st.lists(SHORT_TEXT, max_size=2), mute=st.booleans()),
    maybe_fields(action=st.just("connect"), endpoint=st.lists(ENDPOINT, max_size=2), **{"from": NUMBERS},
                 randomFromNumber=st.booleans(), eventType=st.sampled_from(["synchronous", "x"]), timeout=SECONDS,
                 limit=SECONDS, machineDetection=st.sampled_from(["continue", "hangup", "x"]), eventUrl=URL_LIST,
                 ringbackTone=URL_LIST),
    maybe_fields(action=st.just("notify"), payload=JSON, eventUrl=URL_LIST, eventMethod=st.sampled_from(["GET", "POST"])),
    maybe_fields(action=st.just("wait"), timeout=SECONDS),
    maybe_fields(action=st.just("transfer"), conversationId=SHORT_TEXT, conversation_id=SHORT_TEXT,
                 canHear=st.lists(SHORT_TEXT, max_size=2), canSpeak=st.lists(SHORT_TEXT, max_size=2), mute=st.booleans()),
    maybe_fields(action=SHORT_TEXT),
)
NCCO = st.lists(NCCO_ACTION, max_size=3)

CREATE_CALL = maybe_fields(
    to=st.lists(ENDPOINT, max_size=2), **{"from": maybe_fields(type=st.just("phone"), number=NUMBERS) | NUMBERS},
    random_from_number=st.booleans(), ncco=NCCO, answer_url=URL_LIST, answer_method=st.sampled_from(["GET", "POST", "x"]),
    event_url=URL_LIST, event_method=st.sampled_from(["GET", "POST", "x"]), ringing_timer=SECONDS, length_timer=SECONDS,
    machine_detection=st.sampled_from(["continue", "hangup", "x"]),
    advanced_machine_detection=maybe_fields(behavior=st.sampled_from(["continue", "hangup"]),
                                            mode=st.sampled_from(["detect", "detect_beep", "default"]), beep_timeout=SECONDS),
)
MODIFY_CALL = maybe_fields(
    action=st.sampled_from(["hangup", "mute", "unmute", "earmuff", "unearmuff", "transfer", "x"]),
    destination=maybe_fields(type=st.sampled_from(["ncco", "x"]), ncco=NCCO, url=URL_LIST),
)
TALK = maybe_fields(text=SHORT_TEXT, language=st.sampled_from(["en-GB", "x"]), style=st.integers(-1, 3),
                    premium=st.booleans(), loop=st.integers(-1, 5), level=st.floats(-2, 2), voice_name=SHORT_TEXT)
STREAM = maybe_fields(stream_url=URL_LIST, loop=st.integers(-1, 5), level=st.floats(-2, 2))
SEND_DTMF = maybe_fields(digits=DIGITS)
LISTEN = maybe_fields(event_url=URL_LIST, event_method=st.sampled_from(["GET", "POST", "x", ""]))
STEP = st.dictionaries(st.sampled_from(["wait", "press", "say", "hangup", "x"]), JSON | DIGITS | SECONDS, min_size=1, max_size=2)
BEHAVIOUR = maybe_fields(on_ring=st.sampled_from(["answer", "reject", "busy", "ignore", "wait", "x"]),
                         answer_after=SECONDS, script=st.lists(STEP, max_size=3), description=SHORT_TEXT,
                         answered_by=st.sampled_from(["human", "machine", "x"]))
PHONE_CALL = maybe_fields(to=NUMBERS)
PRESS = maybe_fields(digits=DIGITS)
SAY = maybe_fields(text=SHORT_TEXT)
WAIT = maybe_fields(status=st.sampled_from(["started", "ringing", "answered", "completed", "x"]), timeout=SECONDS)
SLEEP = maybe_fields(seconds=SECONDS)
WEBHOOK = maybe_fields(address=LOCAL_URL, http_method=st.sampled_from(["GET", "POST", "x"]),
                       connect_timeout=st.integers(-1, 100000), socket_timeout=st.integers(-1, 100000))
APPLICATION = maybe_fields(
    name=SHORT_TEXT,
    capabilities=maybe_fields(voice=maybe_fields(
        webhooks=maybe_fields(answer_url=WEBHOOK, event_url=WEBHOOK, fallback_answer_url=WEBHOOK),
        signed_callbacks=st.booleans(), conversations_ttl=st.integers(-1, 1000),
        leg_persistence_time=st.integers(-1, 100), region=st.sampled_from(["eu-west", "x"]))),
)

#: (method, path template, body strategy): every route, and a few that are not routes.
ROUTES = [
    ("POST", "/v1/calls", CREATE_CALL), ("GET", "/v1/calls", None), ("GET", "/v1/calls/", None),
    ("GET", "/v1/calls/{call}", None), ("PUT", "/v1/calls/{call}", MODIFY_CALL),
    ("PUT", "/v1/calls/{call}/talk", TALK), ("DELETE", "/v1/calls/{call}/talk", None),
    ("PUT", "/v1/calls/{call}/stream", STREAM), ("DELETE", "/v1/calls/{call}/stream", None),
    ("PUT", "/v1/calls/{call}/dtmf", SEND_DTMF),
    ("PUT", "/v1/calls/{call}/input/dtmf", LISTEN), ("DELETE", "/v1/calls/{call}/input/dtmf", None),
    ("GET", "/v1/files/{file}", None),
    ("GET", "/account/numbers", None),
    ("GET", "/v2/applications", None), ("GET", "/v2/applications/{app}", None),
    ("PUT", "/v2/applications/{app}", APPLICATION),
    ("GET", "/sandbox", None), ("GET", "/sandbox/phones", None), ("GET", "/sandbox/phones/{number}", None),
    ("PUT", "/sandbox/phones/{number}", BEHAVIOUR), ("POST", "/sandbox/phones/{number}/calls", PHONE_CALL),
    ("POST", "/sandbox/phones/{number}/press", PRESS), ("POST", "/sandbox/phones/{number}/say", SAY),
    ("POST", "/sandbox/phones/{number}/{command}", None),
    ("GET", "/sandbox/calls/{call}/transcript", None), ("GET", "/sandbox/calls/{call}/audio", None),
    ("POST", "/sandbox/calls/{call}/wait", WAIT), ("POST", "/sandbox/clock/sleep", SLEEP),
    ("GET", "/sandbox/webhooks", None),
    ("GET", "/{anything}", None), ("POST", "/v1/{anything}/{anything}", None),
]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

#: What each placeholder in a path can be. "known:..." is filled in by the Target (a call it
#: has up, the application's id, a recording it made).
SEGMENT = st.one_of(
    st.text(max_size=12), st.text(min_size=200, max_size=300),
    st.sampled_from(["", ".", "..", "%", "%00", "a/b", " ", "null"]),
    st.sampled_from(["x", "é", "0", "-"]).flatmap(lambda c: st.integers(250, 5000).map(lambda n: c * n)),
    st.uuids().map(str),
)
PLACEHOLDERS = {
    "call": st.just("known:call") | st.just("known:ended") | SEGMENT,
    "file": st.just("known:file") | SEGMENT,
    "app": st.just("known:app") | SEGMENT,
    "number": NUMBERS | st.sampled_from(MAGIC_NUMBERS),
    "command": st.sampled_from(["answer", "reject", "hangup", "press", "say", "calls", "x"]) | SEGMENT,
    "anything": SEGMENT,
}

QUERY = st.one_of(
    st.just({}),
    st.fixed_dictionaries({}, optional={
        "page_size": st.sampled_from(["1", "100", "0", "101", "-1", "1e3", "١٢", "x"]) | st.text(max_size=5),
        "record_index": st.sampled_from(["0", "5", "-1", "99999999999999999999"]) | st.text(max_size=5),
        "order": st.sampled_from(["asc", "desc", "x"]),
        "status": st.sampled_from(["started", "completed", "x"]),
        "date_start": st.sampled_from(["2026-11-24T07:45:14Z", "2026-11-24", "x", "9999-12-31T23:59:59+14:00"]),
        "date_end": st.text(max_size=30),
        "conversation_uuid": st.text(max_size=10),
        "leg": st.just("known:call") | st.text(max_size=10),
        "application_id": st.just("known:app") | st.text(max_size=10),
    }),
    st.dictionaries(st.text(max_size=6), st.text(max_size=10), max_size=3),
)

CLAIM_NAMES = ["iat", "exp", "nbf", "jti", "application_id", "sub", "acl", "aud", "iss"]
ODD_CLAIM = st.one_of(
    st.sampled_from(["1700000000", "now", "", "1e3", " 12 ", True, False, None, [], {}, 1.5, -1, 0,
                     2 ** 64, -(2 ** 64), 10 ** 30, 1e300, "NaN", "known:app"]),
    st.integers(), st.floats(allow_nan=False, allow_infinity=False), JSON,
)
AUTH = st.one_of(
    st.just(("jwt", {})), st.just(("jwt", {})), st.just(("jwt", {})),
    st.dictionaries(st.sampled_from(CLAIM_NAMES), ODD_CLAIM, min_size=1, max_size=3).map(lambda c: ("jwt", c)),
    st.sampled_from([("other-key", {}), ("hs256-public-key", {}), ("alg-none", {}), ("basic", {}),
                     ("basic-wrong", {}), ("none", {})]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(lambda t: ("raw", t)),
    st.sampled_from(["Bearer", "Bearer ", "Bearer a.b.c", "Basic", "Basic !!!", "Basic " + base64.b64encode(b"\xff:\xfe").decode(),
                     "Basic " + base64.b64encode(b"nocolon").decode(), "bearer  x"]).map(lambda t: ("raw", t)),
)
HEADERS = st.fixed_dictionaries({}, optional={
    "Content-Type": st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded",
                                     "multipart/form-data; boundary=x", "application/json; charset=latin-1",
                                     "application/json; charset=nope", ""]),
    "Accept": st.sampled_from(["*/*", "application/xml", ""]),
    "X-Fuzz": st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255, blacklist_categories=["Cc"]),
                      max_size=30),
})


def _encode(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def _body(shape):
    raw = st.one_of(st.binary(max_size=60), st.sampled_from([b"", b"{", b"\xff\xfe{}", b"[]", b"null", b"NaN",
                                                             b'{"a": 1e99999}', b"[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]"]),
                    st.integers(1000, 200_000).map(lambda n: b"[" + b"1," * n + b"1]"))
    if shape is None:
        return st.none() | JSON.map(_encode) | raw
    return st.one_of(shape.map(_encode), shape.map(_encode), shape.map(_encode), JSON.map(_encode), raw, st.none())


@st.composite
def fuzz_requests(draw) -> FuzzRequest:
    """One request: usually a route's own method and a body of its shape, sometimes not."""
    method, template, shape = draw(st.sampled_from(ROUTES))
    if draw(st.integers(0, 9)) == 0:
        method = draw(st.sampled_from(METHODS))
    path = template
    while "{" in path:
        start = path.index("{")
        name = path[start + 1:path.index("}", start)]
        value = draw(PLACEHOLDERS[name])
        path = path[:start] + (value if value.startswith("known:") else quote(value, safe="")) + path[path.index("}") + 1:]
    return FuzzRequest(
        method=method, path=path, query=draw(QUERY), auth=draw(AUTH), headers=draw(HEADERS),
        body=draw(_body(shape)),
    )


# -- where they go -----------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Target:
    """A sandbox on a virtual clock with something to find: a call that is up, one that has
    ended, a recording; and a way to send a FuzzRequest to it (in-process, or over HTTPS)."""

    def __init__(self, sandbox, receiver: Receiver):
        self.sandbox = sandbox
        self.app = sandbox.application
        self.key = serialization.load_pem_private_key(self.app.private_key_path.read_bytes(), password=None)
        receiver.respond("answer", always=[{"action": "talk", "text": "Hi"}, {"action": "wait", "timeout": 7200}])
        self.app.set_webhooks(answer_url=receiver.url("answer"), event_url=receiver.url("event"))
        self.client = create_app(sandbox).test_client()
        self.known = {"known:app": self.app.id}
        up = self._place([{"action": "record", "eventUrl": [receiver.url("record")]},
                          {"action": "wait", "timeout": 7200}])
        ended = self._place([{"action": "talk", "text": "Bye"}])
        sandbox.wait_for_call(ended, "completed", timeout=600)
        sandbox.wait_for_call(up, "answered", timeout=600)
        self.known.update({"known:call": up, "known:ended": ended})
        # a recording to download: hang the recorded call up, then start another to keep one up
        self.sandbox.platform.run(lambda: sandbox.platform.leg(up).hang_up(by="platform"))
        receiver.wait_for(lambda r: r.payloads("record"), timeout=600)
        url = receiver.payloads("record")[0]["recording_url"]
        self.known["known:file"] = url.rsplit("/", 1)[1]
        again = self._place([{"action": "wait", "timeout": 7200}])
        sandbox.wait_for_call(again, "answered", timeout=600)
        self.known["known:call"] = again

    def _place(self, ncco) -> str:
        response = self.client.post("/v1/calls", headers={"Authorization": self.authorization(("jwt", {}))},
                                    json={"to": [{"type": "phone", "number": MAGIC_NUMBERS[0]}],
                                          "from": {"type": "phone", "number": APP_NUMBER}, "ncco": ncco})
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()["uuid"]

    def fill(self, text: str) -> str:
        for name, value in self.known.items():
            text = text.replace(name, value)
        return text

    def authorization(self, auth) -> str | None:
        kind, detail = auth
        claims = app_claims(self.app.id)
        if kind == "jwt":
            for name, value in detail.items():
                if value is None:
                    claims.pop(name, None)
                else:
                    claims[name] = self.known.get(value, value) if isinstance(value, str) else value
            return "Bearer " + rs256(claims, self.key)
        if kind == "other-key":
            return "Bearer " + rs256(claims, _other_key())
        if kind == "hs256-public-key":  # the classic key-confusion attack
            return "Bearer " + hs256(claims, self.app.public_key_pem.encode())
        if kind == "alg-none":
            header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
            body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
            return f"Bearer {header}.{body}."
        if kind == "basic":
            return basic(self.app.api_key, self.app.api_secret)
        if kind == "basic-wrong":
            return basic(self.app.api_key, "nope")
        if kind == "raw":
            return detail
        return None

    def prepare(self, request: FuzzRequest) -> tuple[str, dict, dict, bytes | None]:
        path = self.fill(request.path)
        query = {self.fill(k): self.fill(v) for k, v in request.query.items()}
        headers = dict(request.headers)
        authorization = self.authorization(request.auth)
        if authorization is not None:
            headers["Authorization"] = authorization
        if request.path.startswith("/v2/") or request.path.startswith("/account/"):
            if request.auth == ("jwt", {}):  # these routes take Basic auth: mostly give it
                headers["Authorization"] = self.authorization(("basic", {}))
        return path, query, headers, request.body

    def send(self, request: FuzzRequest) -> tuple[int, bytes, str]:
        """(status, body, content type) of the in-process app's answer."""
        path, query, headers, body = self.prepare(request)
        response = self.client.open(path, method=request.method, query_string=query, headers=headers, data=body)
        return response.status_code, response.get_data(), response.headers.get("Content-Type", "")

    def send_https(self, request: FuzzRequest, session: requests.Session) -> tuple[int, bytes, str] | None:
        """The same over HTTPS; None if `requests` itself will not send it (a header value
        it refuses). No answer at all (a dropped connection) raises."""
        path, query, headers, body = self.prepare(request)
        headers = {name: value.strip() for name, value in headers.items()}
        try:
            response = session.request(request.method, self.sandbox.base_url + path, params=query,
                                       headers=headers, data=body, timeout=60)
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL):
            return None
        return response.status_code, response.content, response.headers.get("Content-Type", "")


def problem(request: FuzzRequest, status: int, body: bytes, content_type: str) -> str | None:
    """What is wrong with the sandbox's answer to `request` (a 5xx, or an error that is not
    in the one error shape), or None."""
    if status >= 500:
        return f"{status}: {body[:300]!r}"
    if status >= 400 and request.method != "HEAD":
        try:
            error = json.loads(body)
        except ValueError:
            return f"{status} that is not JSON ({content_type}): {body[:200]!r}"
        if not (isinstance(error, dict) and {"type", "title", "detail", "instance"} <= set(error)):
            return f"{status} not in the error shape: {error!r:.300}"
    return None
