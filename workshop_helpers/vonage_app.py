"""Your Vonage application: its webhook settings, pointed at your server (live mode), the
client that reaches it, and what its API's errors mean.

The tunnel's public URL can change every time you start, and the platform only knows
where your server is from the application's settings. So live mode updates them through
the Application API v2 (the SDK's `client.application`) on every start, and tells you
exactly what changed. The same code runs against the sandbox in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from vonage import Auth, HttpClientOptions, Vonage
from vonage_application import ApplicationConfig
from vonage_http_client.errors import AuthenticationError, ForbiddenError, NotFoundError
from vonage_jwt.errors import VonageJwtError

from .config import ConfigError

#: Where each voice webhook should point (below the public URL), and with which method.
#: POST for all: the signature's payload_hash covers a POST body, but not a GET query.
ROUTES = {
    "answer_url": ("/webhooks/answer", "POST"),
    "event_url": ("/webhooks/event", "POST"),
    "fallback_answer_url": ("/webhooks/fallback", "POST"),
}


@dataclass
class Drift:
    """One voice webhook that is not set to where your server listens."""

    name: str
    address: str | None  # what it is now (None: not set)
    method: str | None
    wanted_address: str
    wanted_method: str


def drift(webhooks: dict, base_url: str) -> list[Drift]:
    """The voice webhooks (as the Application API gives them) not set to `base_url`'s routes.

    A webhook with no method counts as drifted: the platform would use its own default
    (GET for answer_url), not the method your server expects.
    """
    found = []
    for name, (path, method) in ROUTES.items():
        current = webhooks.get(name) or {}
        wanted = base_url + path
        if (current.get("address"), current.get("http_method")) != (wanted, method):
            found.append(Drift(name, current.get("address"), current.get("http_method"), wanted, method))
    return found


def point_webhooks(client: Vonage, application_id: str, base_url: str) -> list[str]:
    """Point the application's voice webhooks at `base_url`; return what changed."""
    current = client.application.get_application(application_id)
    config = current.model_dump(exclude_none=True, exclude={"id", "link", "links", "keys"})
    voice = config.setdefault("capabilities", {}).setdefault("voice", {})
    webhooks = voice.setdefault("webhooks", {})

    changes = []
    for wrong in drift(webhooks, base_url):
        before = f"{wrong.method or ''} {wrong.address or '(not set)'}".strip()
        changes.append(f"{wrong.name}: {before} -> {wrong.wanted_method} {wrong.wanted_address}")
        webhooks[wrong.name] = {
            **webhooks.get(wrong.name, {}),
            "address": wrong.wanted_address,
            "http_method": wrong.wanted_method,
        }
    if voice.get("signed_callbacks") is not True:
        changes.append("signed_callbacks: off -> on (your server refuses unsigned webhooks)")
        voice["signed_callbacks"] = True

    if changes:
        client.application.update_application(application_id, ApplicationConfig(**config))
    return changes


def point_live_webhooks(client: Vonage, credentials, base_url: str) -> list[str]:
    """point_webhooks for your own application (live mode). It is a live start's first
    request to Vonage's API, so each way it can fail becomes a ConfigError that says
    what to do (see api_problem); an error this does not know shows as it is."""
    try:
        return point_webhooks(client, credentials.application_id, base_url)
    except Exception as error:
        problem = api_problem(error, credentials)
        if problem is None:
            raise
        # (the library's error stays in __context__, for %debug)
        raise ConfigError(problem) from None


def api_problem(error: Exception, credentials) -> str | None:
    """What an error from Vonage's API means for you, and what to do, in one paragraph;
    None for an error this does not know (let it show as it is)."""
    host, application = credentials.api_host, credentials.application_id
    if isinstance(error, requests.exceptions.SSLError):
        return (f"The Voice API at {host} answered with a certificate this machine does not "
                "trust: a company proxy or firewall may be in the way. Try another network, or ask "
                "for its certificate and set the environment variable REQUESTS_CA_BUNDLE to its "
                "file before starting Jupyter (the .env is not read for this).")
    if isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        # (a read that timed out, retried, arrives as a ConnectionError that says so)
        slow = isinstance(error, requests.exceptions.Timeout) or "timed out" in str(error)
        what = "took too long to answer" if slow else "cannot be reached"
        return (f"The Voice API at {host} {what} from this machine. Check your internet "
                "connection (and VONAGE_API_HOST in .env, if you set it); until then, sandbox mode "
                "works offline: wh.start().")
    if isinstance(error, ForbiddenError):
        return (f"Vonage refused the request (403 Forbidden): the account may not be allowed to "
                f"change application {application}. Check that VONAGE_API_KEY is the account that "
                "owns the application (the dashboard's Applications page).")
    if isinstance(error, AuthenticationError):
        return ("Vonage did not accept VONAGE_API_KEY and VONAGE_API_SECRET: copy them again from "
                "the dashboard's API settings into .env.")
    if isinstance(error, NotFoundError):
        return (f"Vonage has no application {application} for this account: check "
                "VONAGE_APPLICATION_ID in .env (the dashboard's Applications page).")
    if isinstance(error, VonageJwtError):
        return ("VONAGE_PRIVATE_KEY_PATH is not a usable private key: download private.key again "
                "from your application's page and point VONAGE_PRIVATE_KEY_PATH at it.")
    return None


#: Seconds to wait for an answer from Vonage's API (the SDK's default is to wait for ever,
#: which would hang a live start on a network that swallows requests).
API_TIMEOUT = 30


def live_client(credentials) -> Vonage:
    """The SDK's client for your own account and application (live mode)."""
    return Vonage(
        Auth(
            application_id=credentials.application_id,
            private_key=credentials.private_key(),
            api_key=credentials.api_key,
            api_secret=credentials.api_secret,
            signature_secret=credentials.signature_secret,
        ),
        HttpClientOptions(api_host=credentials.api_host, rest_host=credentials.rest_host,
                          timeout=API_TIMEOUT),
    )


def unlinked_number(client: Vonage, credentials) -> str | None:
    """Why calls to VONAGE_NUMBER would not reach your webhooks, if they would not: it is
    not linked to the application (or not one of yours). None when it is linked."""
    from vonage_numbers import ListOwnedNumbersFilter

    numbers, _, _ = client.numbers.list_owned_numbers(
        ListOwnedNumbersFilter(application_id=credentials.application_id))
    if credentials.number in [number.msisdn for number in numbers]:
        return None
    return (f"VONAGE_NUMBER {credentials.number} is not linked to application "
            f"{credentials.application_id}, so calls to it will not reach your webhooks (calls you "
            "make still work). Link it on the dashboard's Numbers page (Your numbers, then Link), "
            "or set VONAGE_NUMBER to a number that is.")
