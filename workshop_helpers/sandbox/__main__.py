"""Run the sandbox on its own, and hand its settings to other programs.

    python -m workshop_helpers.sandbox [--port 8443] [--proxy-port 8444]
    eval "$(python -m workshop_helpers.sandbox env)"     # in the shell that runs your app
    python -m workshop_helpers.sandbox env --dotenv .env

The first line the sandbox prints is one JSON object with everything a client needs (host,
proxy, keys, CA path, numbers, and `env`), so a test harness in any language can start it
and read that line. It serves until interrupted (Ctrl-C or SIGTERM). While it runs, its
settings are also in `running.json` in its state folder, which is where `env` reads them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import shutil
import signal
import sys
import time
from pathlib import Path

from dotenv import dotenv_values, set_key

from .. import config
from .clock import CLOCKS
from .service import Sandbox

RUNNING_FILE = "running.json"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    given = getattr(args, "state_dir", None)
    state_dir = Path(given).expanduser() if given else config.sandbox_dir()
    try:
        if args.command == "env":
            return print_env(state_dir, args.dotenv, args.force)
        return serve(args, state_dir)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def parser() -> argparse.ArgumentParser:
    state = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: given before or after `env`, neither parser's default hides the other's value.
    state.add_argument("--state-dir", default=argparse.SUPPRESS, help="where keys, CA and recordings live (default ~/.voice-workshop/sandbox)")
    main_parser = argparse.ArgumentParser(
        prog="python -m workshop_helpers.sandbox", parents=[state],
        description="A local Vonage Voice API platform with virtual phones.",
    )
    main_parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    main_parser.add_argument("--port", type=int, default=8443, help="HTTPS port; 0 picks a free one (default 8443)")
    main_parser.add_argument("--proxy-port", type=int, default=8444,
                             help="port of the HTTPS proxy that serves api.nexmo.com and the other "
                                  "Vonage API hosts; 0 picks a free one (default 8444)")
    main_parser.add_argument("--speed", type=float, default=1.0, help="clock speed: 10 runs calls ten times faster")
    main_parser.add_argument("--clock", choices=CLOCKS, default="real",
                             help="virtual: time stands still until a client waits "
                                  "(POST /sandbox/calls/{uuid}/wait or /sandbox/clock/sleep), then jumps ahead")
    main_parser.add_argument("--seed", type=int, help="make ids reproducible")
    main_parser.add_argument("--answer-url", metavar="URL", type=webhook_url,
                             help="set the application's answer webhook (kept in the state folder)")
    main_parser.add_argument("--event-url", metavar="URL", type=webhook_url,
                             help="set the application's event webhook, for calls that do not give one")
    commands = main_parser.add_subparsers(dest="command", metavar="{env}")
    env = commands.add_parser(
        "env", parents=[state],
        help="print the running sandbox's environment for your app, as export lines",
        description="Print the environment that sends an unmodified Vonage app to the running "
                    "sandbox: use it as eval \"$(python -m workshop_helpers.sandbox env)\".",
    )
    env.add_argument("--dotenv", metavar="PATH", help="write (or update) a .env file instead of printing")
    env.add_argument("--force", action="store_true",
                     help="with --dotenv: replace settings the file already has (a copy is kept as PATH.bak)")
    return main_parser


def webhook_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL: write it in full, like http://localhost:3000/webhooks/event")
    return text


def serve(args: argparse.Namespace, state_dir: Path) -> int:
    # Warnings (a refused proxy request, no espeak-ng) go to stderr; stdout stays the JSON line.
    logging.basicConfig(level=logging.WARNING, format="sandbox: %(message)s")
    try:
        sandbox = Sandbox(state_dir, args.host, args.port, args.speed, args.seed, args.clock,
                          proxy_port=args.proxy_port).start()
        webhooks = {"answer_url": args.answer_url, "event_url": args.event_url}
        sandbox.application.set_webhooks(**{name: url for name, url in webhooks.items() if url})
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # SIGTERM stops the sandbox the way Ctrl-C does. (Setting a threading.Event from a
    # signal handler can deadlock with a wait() in progress; an exception cannot.)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    running = state_dir / RUNNING_FILE
    try:
        info = sandbox.info()
        _write_private(running, json.dumps({"pid": os.getpid(), "info": info}, indent=1))
        print(json.dumps(info), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        if _running_pid(running) == os.getpid():  # another sandbox may have started since
            running.unlink(missing_ok=True)
    return 0


class SettingsError(Exception):
    """No running sandbox to read, or a .env that would lose settings: says what to do."""


def print_env(state_dir: Path, dotenv_path: str | None, force: bool) -> int:
    env = running_env(state_dir)
    if dotenv_path is None:
        for name, value in env.items():
            print(f"export {name}={shlex.quote(value)}")
        return 0
    path = Path(dotenv_path)
    write_dotenv(path, env, force)
    print(f"wrote {len(env)} settings to {path}", file=sys.stderr)
    return 0


def running_env(state_dir: Path) -> dict[str, str]:
    """The `env` of the sandbox running from `state_dir`."""
    running = state_dir / RUNNING_FILE
    start = "start one in another terminal with `python -m workshop_helpers.sandbox`" + (
        "" if state_dir == config.sandbox_dir() else f" --state-dir {state_dir}"
    )
    pid = _running_pid(running)
    if pid is None:
        raise SettingsError(f"no sandbox is running from {state_dir}: {start}")
    if not _alive(pid):
        raise SettingsError(f"the sandbox that was running from {state_dir} (process {pid}) has "
                            f"stopped: {start}")
    return json.loads(running.read_text())["info"]["env"]


def write_dotenv(path: Path, env: dict[str, str], force: bool) -> None:
    """Write `env` into the .env at `path`, keeping the file's other lines. A setting the
    file has with another value (your live credentials, say) is only replaced with
    `force`, and then the old file is kept beside it as PATH.bak."""
    existing = dotenv_values(path) if path.exists() else {}
    clashes = [name for name, value in env.items() if name in existing and existing[name] != value]
    if clashes and not force:
        raise SettingsError(
            f"{path} already sets {', '.join(clashes)} to other values; write the sandbox's "
            f"settings to another file (--dotenv .env.sandbox), or pass --force to replace "
            f"them (the old file is kept as {path}.bak)"
        )
    if clashes:
        shutil.copy2(path, path.with_name(path.name + ".bak"))
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)  # it holds the API secret
    for name, value in env.items():
        set_key(path, name, value)
    path.chmod(0o600)


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)  # the API secret is in it
    path.write_text(text)


def _running_pid(running: Path) -> int | None:
    try:
        return int(json.loads(running.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, and someone else's
    return True


if __name__ == "__main__":
    sys.exit(main())
