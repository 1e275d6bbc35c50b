"""Your Vonage application's webhook settings, pointed at your server (live mode).

The tunnel's public URL can change every time you start, and the platform only knows
where your server is from the application's settings. So live mode updates them through
the Application API v2 (the SDK's `client.application`) on every start, and tells you
exactly what changed. The same code runs against the sandbox in the tests.
"""

from __future__ import annotations

from vonage import Vonage
from vonage_application import ApplicationConfig

#: Where each voice webhook should point (below the public URL), and with which method.
#: POST for all: the signature's payload_hash covers a POST body, but not a GET query.
ROUTES = {
    "answer_url": ("/webhooks/answer", "POST"),
    "event_url": ("/webhooks/event", "POST"),
    "fallback_answer_url": ("/webhooks/fallback", "POST"),
}


def point_webhooks(client: Vonage, application_id: str, base_url: str) -> list[str]:
    """Point the application's voice webhooks at `base_url`; return what changed."""
    current = client.application.get_application(application_id)
    config = current.model_dump(exclude_none=True, exclude={"id", "link", "links", "keys"})
    voice = config.setdefault("capabilities", {}).setdefault("voice", {})
    webhooks = voice.setdefault("webhooks", {})

    changes = []
    for name, (path, method) in ROUTES.items():
        wanted = {"address": base_url + path, "http_method": method}
        old = webhooks.get(name, {})
        if (old.get("address"), old.get("http_method")) != (wanted["address"], method):
            before = f"{old.get('http_method', '')} {old.get('address', '(not set)')}".strip()
            changes.append(f"{name}: {before} -> {method} {wanted['address']}")
        webhooks[name] = {**old, **wanted}
    if voice.get("signed_callbacks") is not True:
        changes.append("signed_callbacks: off -> on (your server refuses unsigned webhooks)")
        voice["signed_callbacks"] = True

    if changes:
        client.application.update_application(application_id, ApplicationConfig(**config))
    return changes
