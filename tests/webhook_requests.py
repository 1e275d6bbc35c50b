"""Requests anyone on the internet could send the webhook server, as hypothesis strategies:
for the fuzz test (tests/test_webhook_fuzz.py) and the fuzz benchmark
(benchmarks/fuzz_webhooks.py), which run the same ones, a few hundred and 10,000 times.

Some requests are signed with the server's own secret (so they get past the signature
check and reach the JSON and the claims), most are not.
"""

from __future__ import annotations

import hashlib
import json
import time

from api_requests import hs256
from hypothesis import strategies as st

from workshop_helpers.events import EventStore
from workshop_helpers.server import KINDS, WebhookServer

SECRET = "a-signature-secret-for-fuzzing-0123456789"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
nested = st.integers(min_value=1, max_value=3000).map(lambda depth: b"[" * depth + b"]" * depth)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.dictionaries(st.sampled_from(["uuid", "status", "dtmf", "speech", "from", "to", "timestamp"]),
                    json_values, max_size=5).map(lambda value: json.dumps(value).encode()),
    nested,
)
claim_values = st.one_of(json_values, st.just(float("nan")), st.just(float("inf")),
                         st.just(int(time.time())), st.text(max_size=40))
paths = st.one_of(st.sampled_from([f"/webhooks/{kind}" for kind in KINDS]),
                  st.text(alphabet=st.characters(codec="ascii", exclude_characters="?#"), max_size=30)
                  .map(lambda text: "/" + text.lstrip("/")))  # ("//x" is a host to a test client)


@st.composite
def requests(draw) -> dict:
    """One request: method, path, headers and body."""
    body = draw(bodies)
    signing = draw(st.sampled_from(["none", "garbage", "signed", "signed-odd-claims"]))
    headers = {"Content-Type": draw(st.sampled_from(["application/json", "text/plain", ""]))}
    if signing == "garbage":
        headers["Authorization"] = "Bearer " + draw(st.text(st.characters(exclude_characters="\r\n\x00"), max_size=200))
    elif signing.startswith("signed"):
        claims = {"iat": int(time.time()), "jti": draw(st.uuids()).hex, "iss": "Vonage",
                  "payload_hash": hashlib.sha256(body).hexdigest()}
        if signing == "signed-odd-claims":
            claims.update(draw(st.dictionaries(st.sampled_from(["iat", "jti", "payload_hash", "iss"]),
                                               claim_values, min_size=1)))
        headers["Authorization"] = "Bearer " + hs256(claims, SECRET.encode())
    method = draw(st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE", "HEAD", "OPTIONS"]))
    return {"method": method, "path": draw(paths), "headers": headers, "body": body}


def server(store_path) -> WebhookServer:
    """A webhook server (not listening: requests go straight to its Flask app), with an
    answer handler that returns an NCCO, as an attendee's would."""
    webhooks = WebhookServer(EventStore(store_path), SECRET)
    webhooks.handlers["answer"] = lambda call: [{"action": "talk", "text": "hello"}]
    return webhooks


def send(client, request: dict) -> int:
    """Send one request through the Flask test client; its status code."""
    return client.open(request["path"], method=request["method"], headers=request["headers"],
                       data=request["body"]).status_code
