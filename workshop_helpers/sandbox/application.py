"""The sandbox's Vonage application: its credentials, its number and its voice settings.

A real Vonage application has an id, an RSA key pair (the private key signs the JWTs the
SDK sends), account credentials (api key and secret, a signature secret for signed
webhooks), linked numbers, and voice webhooks. The sandbox creates one of each on its
first start and keeps them in its state folder, so a restarted sandbox is the same
application and `.env` files or notebooks that name it keep working.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .ids import IdFactory
from .private_file import write_private

#: The application's own number: inbound calls to it reach the answer webhook.
#: Numbers 447700900000-447700900999 are reserved by Ofcom for fiction, so no real
#: phone can ever be dialled by mistake.
APPLICATION_NUMBER = "447700900100"

WEBHOOK_DEFAULTS = {
    "answer_url": {"http_method": "GET", "connect_timeout": 1000, "socket_timeout": 5000},
    "fallback_answer_url": {"http_method": "GET", "connect_timeout": 1000, "socket_timeout": 5000},
    "event_url": {"http_method": "POST", "connect_timeout": 1000, "socket_timeout": 10000},
}

VOICE_DEFAULTS = {
    "signed_callbacks": True,
    "conversations_ttl": 48,
    "leg_persistence_time": 2,
    "region": "eu-west",
}


class SandboxApplication:
    """One application, loaded from (or created in) `state_dir`. Thread-safe."""

    def __init__(self, state_dir: Path, ids: IdFactory | None = None):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.state_dir / "application.json"
        self.private_key_path = self.state_dir / "private.key"
        self._lock = threading.Lock()
        if self.config_path.exists() and self.private_key_path.exists():
            self._config = json.loads(self.config_path.read_text())
        else:
            self._config = self._create(ids or IdFactory())
        self.public_key_pem = _public_key_pem(self.private_key_path.read_bytes())

    # -- credentials -----------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._config["id"]

    @property
    def api_key(self) -> str:
        return self._config["api_key"]

    @property
    def api_secret(self) -> str:
        return self._config["api_secret"]

    @property
    def signature_secret(self) -> str:
        return self._config["signature_secret"]

    @property
    def number(self) -> str:
        return self._config["number"]

    @property
    def numbers(self) -> list[str]:
        """The numbers linked to the application (used by `random_from_number`)."""
        return [self.number]

    # -- voice settings --------------------------------------------------------------
    def voice(self) -> dict:
        """The voice capability, with every default filled in (a copy: safe to keep)."""
        with self._lock:
            voice = copy.deepcopy(self._config["voice"])
        settings = {**VOICE_DEFAULTS, **{k: v for k, v in voice.items() if k != "webhooks"}}
        settings["webhooks"] = {
            name: {**defaults, **voice.get("webhooks", {})[name]}
            for name, defaults in WEBHOOK_DEFAULTS.items()
            if voice.get("webhooks", {}).get(name, {}).get("address")
        }
        return settings

    def webhook(self, name: str) -> dict | None:
        """One voice webhook (`answer_url`, `event_url`, `fallback_answer_url`) or None."""
        return self.voice()["webhooks"].get(name)

    def timeouts(self, name: str) -> tuple[float, float]:
        """(connect, read) timeouts in seconds for a webhook, configured or default."""
        settings = {**WEBHOOK_DEFAULTS[name], **(self.webhook(name) or {})}
        return settings["connect_timeout"] / 1000, settings["socket_timeout"] / 1000

    def set_webhooks(self, **addresses: str | None) -> None:
        """Point voice webhooks at new addresses, e.g. set_webhooks(answer_url=...)."""
        with self._lock:
            webhooks = self._config["voice"].setdefault("webhooks", {})
            for name, address in addresses.items():
                if name not in WEBHOOK_DEFAULTS:
                    raise ValueError(f"unknown webhook {name!r}; use {', '.join(WEBHOOK_DEFAULTS)}")
                if address is None:
                    webhooks.pop(name, None)
                else:
                    webhooks[name] = {**webhooks.get(name, {}), "address": address}
            self._save()

    def replace(self, config: dict) -> None:
        """Apply an Application API v2 PUT body (already validated by the SDK's model).

        PUT replaces the application: a voice capability that is left out is removed.
        """
        with self._lock:
            self._config["name"] = config["name"]
            voice = config.get("capabilities", {}).get("voice")
            self._config["voice"] = copy.deepcopy(voice) if voice else {}
            self._save()

    def resource(self) -> dict:
        """The application as the Application API v2 returns it."""
        with self._lock:
            name = self._config["name"]
        return {
            "id": self.id,
            "name": name,
            "capabilities": {"voice": self.voice()},
            "keys": {"public_key": self.public_key_pem},
            "privacy": {"improve_ai": False},
            "_links": {"self": {"href": f"/v2/applications/{self.id}"}},
        }

    # -- storage ---------------------------------------------------------------------
    def _create(self, ids: IdFactory) -> dict:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(self.private_key_path, pem)
        self._config = {
            "id": ids.uuid(),
            "name": "Voice API Workshop (sandbox)",
            "api_key": secrets.token_hex(4),
            "api_secret": secrets.token_urlsafe(12),
            "signature_secret": secrets.token_urlsafe(24),
            "number": APPLICATION_NUMBER,
            "voice": {},
        }
        self._save()
        return self._config

    def _save(self) -> None:
        write_private(self.config_path, json.dumps(self._config, indent=2).encode())


def _public_key_pem(private_pem: bytes) -> str:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
