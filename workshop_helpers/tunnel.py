"""A public URL for your webhook server: a pyngrok tunnel (live mode).

The real Voice API platform is on the internet and your webhook server is on your
machine, so live mode opens an ngrok tunnel: a public https URL that forwards to your
server's local port. Running the cell again reuses the tunnel rather than opening another
(free ngrok accounts get one agent and few tunnels). Every known failure becomes a
TunnelError that says what to do, with ngrok's error code (`code`) and pyngrok's error as
its cause.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pyngrok import conf, ngrok
from pyngrok.exception import (
    PyngrokError,
    PyngrokNgrokError,
    PyngrokNgrokHTTPError,
    PyngrokNgrokInstallError,
)

from .config import private_file

#: ngrok's error codes that attendees meet, and what to do about each.
FIXES = {
    "ERR_NGROK_4018": (
        "ngrok needs a verified account and its authtoken. Sign up (free) at "
        "https://dashboard.ngrok.com/signup, copy your authtoken from "
        "https://dashboard.ngrok.com/get-started/your-authtoken, and put "
        "NGROK_AUTHTOKEN=... in your .env file."
    ),
    "ERR_NGROK_105": (
        "ngrok does not recognise your authtoken. Copy it again from "
        "https://dashboard.ngrok.com/get-started/your-authtoken into NGROK_AUTHTOKEN in .env."
    ),
    "ERR_NGROK_108": (
        "Your ngrok account already has an agent running (free accounts get one at a "
        "time): stop it (wh.stop() in the other notebook, or quit ngrok elsewhere), or "
        "see https://dashboard.ngrok.com/agents, then run this cell again."
    ),
    "ERR_NGROK_324": (
        "Your ngrok account has reached its tunnel limit: close tunnels you opened "
        "elsewhere (wh.stop() in other notebooks), then run this cell again."
    ),
}

OFFLINE = (
    "ngrok could not reach its service: this machine seems to be offline or behind a "
    "firewall. Live mode needs the internet; without it, use sandbox mode: wh.start()."
)


#: How ngrok names its errors, wherever they appear (https://ngrok.com/docs/errors/).
NGROK_CODE = re.compile(r"ERR_NGROK_\d+")


class TunnelError(RuntimeError):
    """The tunnel could not be opened; the message says what to do.

    `code` is ngrok's own name for the error (like "ERR_NGROK_4018"), for a program to act
    on; None when ngrok gave none. pyngrok's error is the `__cause__`, for %debug and logs.
    """

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code

    def _render_traceback_(self) -> list[str]:
        """In a notebook, the message alone (the traceback stays in %debug and %tb)."""
        return [f"TunnelError: {self}"]


def pyngrok_config(authtoken: str, ngrok_path: str | None, state_dir: Path) -> conf.PyngrokConfig:
    """Our own ngrok config file (in the kit's state folder) and binary location.

    The authtoken goes in that file, readable only by you, not on ngrok's command line,
    where anyone on a shared machine could read it with `ps`.
    """
    config_path = Path(state_dir) / "ngrok.yml"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    private_file(config_path)  # the authtoken goes in it
    config_path.write_text(yaml.safe_dump({"version": "3", "agent": {"authtoken": authtoken}}))
    return conf.PyngrokConfig(
        ngrok_path=ngrok_path or conf.DEFAULT_NGROK_PATH,
        config_path=str(config_path),
        startup_timeout=20,
        monitor_thread=False,
    )


def open_tunnel(port: int, config: conf.PyngrokConfig) -> str:
    """The public https URL that forwards to local `port`: an open one, or a new one."""
    try:
        for tunnel in ngrok.get_tunnels(config):
            if tunnel.upstream.get("url", "").rstrip("/").endswith(f":{port}"):
                return tunnel.public_url
        return ngrok.connect(str(port), "http", pyngrok_config=config).public_url
    except PyngrokNgrokInstallError as error:
        raise TunnelError(
            "pyngrok could not download the ngrok agent (it does so on first use, and "
            f"this failed: {error}). Connect to the internet and run this cell again, or "
            "install ngrok yourself and set NGROK_PATH in .env to where it is."
        ) from error
    except PyngrokNgrokHTTPError as error:  # the agent runs, but refused the tunnel
        raise _explained(f"{error} {error.body}") from error
    except PyngrokNgrokError as error:  # the agent stopped: its last log lines say why
        logs = " ".join(log.line for log in error.ngrok_logs)
        raise _explained(f"{error} {error.ngrok_error or ''} {logs}") from error
    except PyngrokError as error:
        raise TunnelError(f"ngrok failed: {error}", _code(str(error))) from error


def close_tunnel(config: conf.PyngrokConfig) -> None:
    """Close our tunnels and stop the ngrok agent this kit started."""
    try:
        ngrok.kill(config)
    except PyngrokError:
        pass


def _code(text: str) -> str | None:
    """The first ngrok error code in `text`, if there is one."""
    found = NGROK_CODE.search(text)
    return found.group(0) if found else None


def _explained(text: str) -> TunnelError:
    """The TunnelError for what ngrok said (`text`): its fix, and its code."""
    return TunnelError(_explain(text), _code(text))


def _explain(text: str) -> str:
    for code, fix in FIXES.items():
        if code in text:
            return f"{fix} ({code})"
    if "failed to dial" in text or "no such host" in text or "network is unreachable" in text:
        return OFFLINE
    return f"ngrok could not open a tunnel: {text.strip()}"
