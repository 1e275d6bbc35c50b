"""Run the sandbox on its own, and hand its settings to other programs.

    python -m workshop_helpers.sandbox [--port 8443] [--proxy-port 8444] [--event-url URL]
    eval "$(python -m workshop_helpers.sandbox env)"     # in the shell that runs your app
    python -m workshop_helpers.sandbox env --dotenv .env

The first line the sandbox prints is one JSON object with everything a client needs (host,
proxy, keys, CA path, numbers, and `env`), so a test harness in any language can start it
and read that line; people read the summary it writes to stderr. It serves until
interrupted (Ctrl-C or SIGTERM). While it runs, `env` finds it through its state folder
(see running.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from pathlib import Path

from .. import config
from .clock import CLOCKS
from .environment import DotenvClash, export_lines, write_dotenv
from .private_file import SandboxStateError
from .running import AlreadyRunning, NotRunning, announce, running_info, start_command


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    given = getattr(args, "state_dir", None)
    state_dir = Path(given).expanduser() if given else config.sandbox_dir()
    if args.command == "env":
        return print_env(state_dir, args.dotenv, args.force)
    return serve(args, state_dir)


def parser() -> argparse.ArgumentParser:
    state = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: given before or after `env`, neither parser's default hides the other's value.
    state.add_argument("--state-dir", default=argparse.SUPPRESS,
                       help="where keys, CA and recordings live (default ~/.voice-workshop/sandbox)")
    main_parser = argparse.ArgumentParser(
        prog="python -m workshop_helpers.sandbox", parents=[state],
        description="A local Vonage Voice API platform with virtual phones.",
    )
    main_parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    main_parser.add_argument("--port", type=port_number, default=8443,
                             help="HTTPS port, 1-65535; 0 picks a free one (default 8443)")
    main_parser.add_argument("--proxy-port", type=port_number, default=8444,
                             help="port of the HTTPS proxy that serves api.nexmo.com and the other "
                                  "Vonage API hosts; 0 picks a free one (default 8444)")
    main_parser.add_argument("--speed", type=clock_speed, default=1.0,
                             help=f"clock speed, {SLOWEST:g} to {FASTEST:g}: 10 runs calls ten times faster")
    main_parser.add_argument("--clock", choices=CLOCKS, default="real",
                             help="virtual: time stands still until a client waits "
                                  "(POST /sandbox/calls/{uuid}/wait or /sandbox/clock/sleep), then jumps ahead")
    main_parser.add_argument("--seed", type=whole_number, help="make ids reproducible (a whole number)")
    main_parser.add_argument("--answer-url", metavar="URL", type=webhook_url,
                             help="set the application's answer webhook (kept in the state folder)")
    main_parser.add_argument("--event-url", metavar="URL", type=webhook_url,
                             help="set the application's event webhook, for calls that do not give "
                                  "one (kept in the state folder)")
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


#: The clock speeds `--speed` takes. Slower than SLOWEST, a day of call time would be a
#: wait longer than a thread can; faster than FASTEST, a webhook's few seconds of time-out
#: would be a millisecond of real time, which no real server answers in.
SLOWEST, FASTEST = 0.01, 1000


def port_number(text: str) -> int:
    """A TCP port for argparse: 0 (any free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = None
    if port is None or not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give one from 1 to 65535, or 0 for any free one")
    return port


def clock_speed(text: str) -> float:
    try:
        speed = float(text)
    except ValueError:
        speed = None
    if speed is None or not SLOWEST <= speed <= FASTEST:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a clock speed: give a number from {SLOWEST:g} to {FASTEST:g} "
            "(1 is real time, 10 ten times faster)")
    return speed


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def webhook_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL: write it in full, like http://localhost:3000/webhooks/event")
    return text


def serve(args: argparse.Namespace, state_dir: Path) -> int:
    from .service import Sandbox  # here, so that `env` starts quickly

    # Warnings (a refused proxy request, no espeak-ng) go to stderr; stdout stays the JSON line.
    logging.basicConfig(level=logging.WARNING, format="sandbox: %(message)s")
    try:
        sandbox = Sandbox(state_dir, args.host, args.port, args.speed, args.seed, args.clock,
                          proxy_port=args.proxy_port)
    except ValueError as error:
        return fail(error)
    # SIGTERM stops the sandbox the way Ctrl-C does. (Setting a threading.Event from a
    # signal handler can deadlock with a wait() in progress; an exception cannot.)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with announce(state_dir) as publish:
            sandbox.start()
            webhooks = {"answer_url": args.answer_url, "event_url": args.event_url}
            sandbox.application.set_webhooks(**{name: url for name, url in webhooks.items() if url})
            info = sandbox.info()
            publish(info)
            print(summary(sandbox, state_dir), file=sys.stderr, flush=True)
            print(json.dumps(info), flush=True)  # last: the line a harness waits for
            while True:
                time.sleep(3600)
    except (AlreadyRunning, SandboxStateError, OSError) as error:
        return fail(error)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


def summary(sandbox, state_dir: Path) -> str:
    """What a person starting the sandbox in a terminal wants to read."""
    lines = [
        f"sandbox: the Voice API at {sandbox.base_url}, and as api.nexmo.com through the "
        f"proxy {sandbox.proxy_url}",
        f"sandbox: in the shell that runs your app: eval \"$({start_command('env', state_dir)})\"",
    ]
    event = sandbox.application.webhook("event_url")
    if event:
        lines.append(f"sandbox: the application's event webhook is {event['address']}")
    else:
        lines.append("sandbox: the application has no event webhook, so calls that give no "
                     "event_url are refused: restart with --event-url URL")
    lines.append("sandbox: Ctrl-C stops it")
    return "\n".join(lines)


def print_env(state_dir: Path, dotenv_path: str | None, force: bool) -> int:
    try:
        env = running_info(state_dir)["env"]
        if dotenv_path is not None:
            backup = write_dotenv(Path(dotenv_path), env, force)
    except (NotRunning, DotenvClash, OSError) as error:  # OSError: the .env cannot be written
        if dotenv_path is None:
            # stdout says `false`, so that `eval "$(… env)" && your-app` stops here, and
            # never runs your app without the sandbox (on live credentials from a .env, say).
            print("false")
        return fail(error)
    if dotenv_path is None:
        print(export_lines(env), end="")
    else:
        kept = f" (the old file is kept as {backup})" if backup else ""
        print(f"wrote the sandbox's settings to {dotenv_path}{kept}", file=sys.stderr)
    return 0


def fail(error: Exception) -> int:
    print(f"error: {error}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
