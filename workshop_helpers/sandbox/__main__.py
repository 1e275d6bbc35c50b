"""Run the sandbox on its own: `python -m workshop_helpers.sandbox [--port 0]`.

The first line printed is one JSON object with everything a client needs (host, keys,
CA path, numbers), so a test harness in any language can start it and read that line.
It serves until interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time

from .clock import CLOCKS
from .service import Sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workshop_helpers.sandbox",
        description="A local Vonage Voice API platform with virtual phones.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8443, help="HTTPS port; 0 picks a free one (default 8443)")
    parser.add_argument("--state-dir", help="where keys, CA and recordings live (default ~/.voice-workshop/sandbox)")
    parser.add_argument("--speed", type=float, default=1.0, help="clock speed: 10 runs calls ten times faster")
    parser.add_argument("--clock", choices=CLOCKS, default="real",
                        help="virtual: time stands still until a client waits "
                             "(POST /sandbox/calls/{uuid}/wait or /sandbox/clock/sleep), then jumps ahead")
    parser.add_argument("--seed", type=int, help="make ids reproducible")
    args = parser.parse_args(argv)

    try:
        sandbox = Sandbox(args.state_dir, args.host, args.port, args.speed, args.seed, args.clock).start()
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # SIGTERM stops the sandbox the way Ctrl-C does. (Setting a threading.Event from a
    # signal handler can deadlock with a wait() in progress; an exception cannot.)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        print(json.dumps(sandbox.info()), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
