"""`python -m workshop_helpers setup`: live mode's settings, asked for in a terminal.

The same walk as `wh.setup()` in a notebook: only what is missing, each answer checked at
once, then an offer to write the .env (in this folder, or the nearest one above it).
"""

from __future__ import annotations

import sys

from .config import ConfigError
from .live_setup import setup

USAGE = "usage: python -m workshop_helpers setup   (asks for live mode's missing settings)"


def main(argv: list[str]) -> int:
    if argv != ["setup"]:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        setup()
    except (ConfigError, KeyboardInterrupt, EOFError) as error:
        print(f"\n{error}" if str(error) else "\nSet-up stopped: nothing was written.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
