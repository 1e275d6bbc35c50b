"""Setting up live mode: from a missing .env to a complete one, one question at a time.

`wh.setup()` (or `python -m workshop_helpers setup` in a terminal, and `wh.start(mode=
"live")` when settings are missing) asks only for what the .env and the environment do not
have. What is not secret (an application id, a number) shows as you type it; secrets do
not. Each answer is checked at once (the key file parses, the id has the right shape, the
number is E.164 digits), and at the end it offers to write the answers into the .env,
readable only by you.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Callable

from . import config
from .sandbox.environment import write_dotenv

TRIES = 3  # wrong answers to one question before the set-up stops

#: Said before the first real call (and at the end of the set-up).
COST_AND_SAFETY = (
    "Before your first call: live calls are real, and each minute costs credit, inbound "
    "and outbound (https://www.vonage.com/communications-apis/voice/pricing/). The kit "
    "rings only numbers you give it. The tunnel reaches only your webhook server, which "
    "answers only /webhooks/... (signed requests), its own sounds (/audio/...) and a page "
    "saying what it is (/); wh.stop() closes it."
)


def setup(ask: Callable[[str], str] = input, ask_secret: Callable[[str], str] = getpass.getpass,
          env_file: str | Path | None = None) -> config.Settings:
    """Ask for each live-mode setting that is missing, check it, offer to write them all
    to the .env; return the answers (written or not; their repr hides the secrets)."""
    if config.on_binder():
        raise config.ConfigError(config.ON_BINDER)
    path = Path(env_file or config.dotenv_path() or Path.cwd() / ".env")
    known = config.known_settings(path)
    missing = [(name, what, secret) for name, what, secret, required in config.LIVE_SETTINGS
               if required and name not in known]
    if not missing:
        problem = ready()
        where = path if path.exists() else "the environment"
        print(problem or f"Live mode's settings are all there ({where}).")
        return config.Settings()
    print(f"Live mode needs {len(missing)} more setting(s); .env.example says where to find each. "
          "Secrets do not show as you type. An empty answer stops the set-up.")
    answers = config.Settings()
    for name, what, secret in missing:
        answers[name] = _answer(name, what, ask_secret if secret else ask)
    if ask(f"Write them to {path} (readable only by you)? [Y/n] ").strip().lower() in ("", "y", "yes"):
        write_dotenv(path, answers)
        print(f"Written to {path}.")
    else:
        print("Not written: nothing is kept (wh.start(mode=\"live\") uses them this once).")
    print(COST_AND_SAFETY)
    return answers


def ready() -> str | None:
    """What would stop live mode from starting, asking nothing and starting nothing (Binder,
    a setting missing or wrong); None when it is ready."""
    if config.on_binder():
        return config.ON_BINDER
    try:
        config.preflight(config.live_credentials())
    except config.ConfigError as error:
        return str(error)
    return None


def _answer(name: str, what: str, ask: Callable[[str], str]) -> str:
    """One setting, asked until it passes its check (or TRIES times)."""
    for _ in range(TRIES):
        value = ask(f"{name} ({what}): ").strip()
        if not value:
            raise config.ConfigError(f"Set-up stopped at {name}: nothing was written. Run it "
                                     "again when you have it (.env.example says where it is).")
        problem = config.setting_problem(name, value)
        if problem is None:
            return value
        print(problem)
    raise config.ConfigError(f"Set-up stopped: {name} was not right {TRIES} times, and nothing "
                             "was written. .env.example says where to find it.")
