"""Your Vonage application's webhook settings, pointed at your server (live mode).

The tunnel's public URL can change every time you start, and the platform only knows
where your server is from the application's settings. So live mode updates them through
the Application API v2 (the SDK's `client.application`) on every start, and tells you
exactly what changed. The same code runs against the sandbox in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from vonage import Vonage
from vonage_application import ApplicationConfig

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
