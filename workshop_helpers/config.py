"""Where the kit keeps its state, and the credentials live mode needs.

State (the sandbox's keys and CA, recordings, the event store) lives in one folder per
user, `~/.voice-workshop`, so it survives kernel restarts and is shared by every
notebook. Set `VOICE_WORKSHOP_HOME` to put it elsewhere (the tests do, to start clean).

Live mode reads your Vonage application's credentials from a `.env` file (the one in the
current folder or the nearest parent), then from the environment, and asks for anything
still missing with getpass, so a secret never lands in a notebook's output.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable

from dotenv import dotenv_values, find_dotenv


def home() -> Path:
    return Path(os.environ.get("VOICE_WORKSHOP_HOME", Path.home() / ".voice-workshop"))


def sandbox_dir() -> Path:
    return home() / "sandbox"


def sandbox_clock() -> str:
    """The sandbox's clock unless `wh.start(clock=...)` says: `VOICE_WORKSHOP_CLOCK`
    ("virtual" in the kit's own tests and notebook checks), else "real"."""
    return os.environ.get("VOICE_WORKSHOP_CLOCK") or "real"


#: Live-mode settings: (variable, what it is, secret?, required?).
LIVE_SETTINGS = [
    ("VONAGE_APPLICATION_ID", "your Vonage application's id", False, True),
    ("VONAGE_PRIVATE_KEY_PATH", "the path of the application's private.key file", False, True),
    ("VONAGE_API_KEY", "your account's api key", False, True),
    ("VONAGE_API_SECRET", "your account's api secret", True, True),
    ("VONAGE_SIGNATURE_SECRET", "your account's signature secret (Settings in the dashboard)", True, True),
    ("VONAGE_NUMBER", "the Vonage number linked to the application", False, True),
    ("NGROK_AUTHTOKEN", "your ngrok authtoken (dashboard.ngrok.com)", True, True),
    ("VONAGE_API_HOST", "the Voice API host", False, False),
    ("NGROK_PATH", "where the ngrok binary lives (pyngrok installs it if missing)", False, False),
]


@dataclass(frozen=True)
class LiveCredentials:
    """Everything live mode needs. Its repr never shows a secret."""

    application_id: str
    private_key_path: str
    api_key: str
    api_secret: str
    signature_secret: str
    number: str
    ngrok_authtoken: str
    api_host: str = "api.nexmo.com"
    ngrok_path: str | None = None

    def __repr__(self) -> str:
        secret = {name.lower().removeprefix("vonage_") for name, _, is_secret, _ in LIVE_SETTINGS if is_secret}
        shown = ", ".join(
            f"{f.name}={'***' if f.name in secret else repr(getattr(self, f.name))}" for f in fields(self)
        )
        return f"LiveCredentials({shown})"

    def private_key(self) -> str:
        path = Path(self.private_key_path).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"VONAGE_PRIVATE_KEY_PATH points at {path}, which is not a file: download "
                "private.key from your application's page in the Vonage dashboard and set the path"
            )
        return path.read_text()


class ConfigError(ValueError):
    """A setting that is missing or wrong; the message says how to fix it."""


def live_credentials(env_file: str | Path | None = None,
                     ask: Callable[[str], str] | None = getpass.getpass) -> LiveCredentials:
    """Read the live-mode settings from .env, the environment, and (if missing) getpass.

    Pass ask=None to never prompt: a missing setting is then a ConfigError listing
    what to put in .env.
    """
    path = env_file or find_dotenv(usecwd=True)
    from_file = dotenv_values(path) if path else {}
    values, missing = {}, []
    for name, what, is_secret, required in LIVE_SETTINGS:
        value = from_file.get(name) or os.environ.get(name)
        if not value and required and ask is not None:
            value = ask(f"{name} ({what}): ").strip()
        if value:
            values[name.lower().removeprefix("vonage_")] = value
        elif required:
            missing.append(f"{name}=...   # {what}")
    if missing:
        where = f"in {path}" if path else "in a .env file next to the notebooks"
        raise ConfigError("Live mode needs these settings; put them " + where + ":\n  " + "\n  ".join(missing))
    return LiveCredentials(**values)
