"""The sandbox's Vonage application: its credentials, its number and its voice settings.

A real Vonage application has an id, an RSA key pair (the private key signs the JWTs the
SDK sends), account credentials (api key and secret, a signature secret for signed
webhooks), linked numbers, and voice webhooks. The sandbox creates one of each on its
first start and keeps them in its state folder, so a restarted sandbox is the same
application and `.env` files or notebooks that name it keep working.

The Application API's reference: https://developer.vonage.com/en/api/application.v2
"""

from __future__ import annotations

import copy
import json
import logging
import os
import secrets
import threading
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .ids import IdFactory
from .private_file import SandboxStateError, prepare_state_dir, write_private
from .running import start_command

log = logging.getLogger(__name__)

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
        prepare_state_dir(self.state_dir)  # 0700, and every file in it 0600
        self.config_path = self.state_dir / "application.json"
        self.private_key_path = self.state_dir / "private.key"
        self._lock = threading.Lock()
        #: What this start did to the application that whoever uses it must hear about (a
        #: new key pair, a new application), as sentences to print; empty on an ordinary
        #: start and on the very first one. Each is also logged at WARNING.
        self.notices: list[str] = []
        ids = ids or IdFactory()
        have_config, have_key = _exists(self.config_path), _exists(self.private_key_path)
        # A damaged file is never replaced: it may be a good one half-copied, and what it
        # held cannot be made again. A missing one is made, and said.
        self._config = self._load_config() if have_config else None
        self.public_key_pem = self._load_key() if have_key else self._new_key()
        if self._config is None:
            self._config = self._create(ids)
        if have_config and not have_key:
            self._notice(
                f"{self.private_key_path} was missing, so the sandbox made a new key pair for its "
                f"application {self.id} (as regenerating the keys in the dashboard does; the id, "
                "api key, secrets and webhooks are unchanged). Anything that signs JWTs with a copy "
                "of the old private.key is refused (401) until it uses this file. If you still "
                "have the old private.key, stop the sandbox and put it back."
            )
        elif have_key and not have_config:
            self._notice(
                f"{self.config_path} was missing, so the sandbox made a new application, "
                f"{self.id}, with new api key, api secret and signature secret (its key is the "
                f"private.key already there, and it has no webhooks yet). Scripts, .env files and "
                "notebooks holding the old application id or secrets must use the new ones "
                f"({start_command('env', self.state_dir)} prints them). If you still have the old "
                "application.json, stop the sandbox and put it back."
            )

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
    def _notice(self, text: str) -> None:
        self.notices.append(text)
        log.warning("%s", text)

    def _load_config(self) -> dict:
        """application.json, checked: SandboxStateError naming what is wrong in it."""
        try:
            config = json.loads(self.config_path.read_bytes())
        except OSError as error:
            raise self._damaged(self.config_path, f"it cannot be read ({error.strerror or error})") from None
        except ValueError as error:  # not JSON, or not UTF-8 text
            raise self._damaged(self.config_path, f"it is not JSON ({error})") from None
        problem = _config_problem(config)
        if problem:
            raise self._damaged(self.config_path, problem)
        config.setdefault("name", "Voice API Workshop (sandbox)")
        config.setdefault("voice", {})
        return config

    def _load_key(self) -> str:
        """The public half of private.key; SandboxStateError if it is not an RSA private key."""
        try:
            data = self.private_key_path.read_bytes()
        except OSError as error:
            raise self._damaged(self.private_key_path, f"it cannot be read ({error.strerror or error})") from None
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):  # TypeError: it needs a password
            raise self._damaged(self.private_key_path, "it is not a PEM private key (cut short, or "
                                "changed)") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise self._damaged(self.private_key_path, "it is not an RSA key, and application JWTs "
                                "are signed with RSA (RS256)")
        return _public_key_pem(key)

    def _damaged(self, path: Path, problem: str) -> SandboxStateError:
        """The error for an application file the sandbox cannot use, with every way out."""
        one_key = (
            " Or delete private.key alone: the same application gets a new key pair, and "
            "whatever signs with a copy of the old key must use the new private.key."
            if path == self.private_key_path else ""
        )
        return SandboxStateError(
            f"The sandbox cannot use {path}: {problem}. It holds part of the sandbox "
            "application's identity, which cannot be made again, so the sandbox does not "
            "replace it. Put back a good copy if you have one." + one_key + " Or delete both "
            f"application.json and private.key in {self.state_dir} to make a new sandbox "
            "application: it gets a new application id, key pair, api key and secrets, so "
            "scripts, .env files and notebooks that hold the old id or key must use the new "
            f"ones ({start_command('env', self.state_dir)} prints them while it runs), and "
            "webhooks set with --answer-url or --event-url must be set again."
        )

    def _new_key(self) -> str:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(self.private_key_path, pem)
        return _public_key_pem(key)

    def _create(self, ids: IdFactory) -> dict:
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


def _exists(path: Path) -> bool:
    """Whether something is at `path` (a file that cannot be read counts: it is there)."""
    return os.path.lexists(path)


def _config_problem(config) -> str | None:
    """What makes application.json unusable, in its own words; None if nothing."""
    if not isinstance(config, dict):
        return f"it holds {type(config).__name__}, not a JSON object"
    for name in ("id", "api_key", "api_secret", "signature_secret", "number"):
        if not isinstance(config.get(name), str) or not config[name]:
            return f"its `{name}` is {'missing' if name not in config else 'not a text'}"
    if not isinstance(config.get("name", ""), str):
        return "its `name` is not a text"
    voice = config.get("voice", {})
    if not isinstance(voice, dict):
        return "its `voice` is not an object"
    webhooks = voice.get("webhooks", {})
    if not isinstance(webhooks, dict):
        return "its `voice.webhooks` is not an object"
    for name in WEBHOOK_DEFAULTS:
        problem = _webhook_problem(f"`voice.webhooks.{name}`", webhooks.get(name))
        if problem:
            return problem
    return None


def _webhook_problem(where: str, webhook) -> str | None:
    """What makes one webhook's settings in application.json unusable; None if nothing
    (or if the webhook is not set)."""
    if webhook is None:
        return None
    if not isinstance(webhook, dict):
        return f"its {where} is not an object"
    if not isinstance(webhook.get("address", ""), str):
        return f"its {where}.address is not a text"
    if not isinstance(webhook.get("http_method", ""), str):
        return f"its {where}.http_method is not a text"
    for timeout in ("connect_timeout", "socket_timeout"):
        value = webhook.get(timeout, 1000)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 10**6:
            return f"its {where}.{timeout} is not a number of milliseconds"
    return None


def _public_key_pem(key) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
