"""Which standalone sandbox runs from a state folder, and its settings, for other shells.

`python -m workshop_helpers.sandbox` writes its start-up information to `running.json` in
its state folder and holds a lock on `running.lock` for as long as it runs; `... env`
reads them. The operating system drops the lock when the process ends, however it ends
(Ctrl-C, a crash, kill -9), so a file left behind is never mistaken for a live sandbox.
One standalone sandbox runs per state folder: a second would share the first's
application and recordings.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import sys
from pathlib import Path

from .. import config
from ..locks import try_lock
from .private_file import write_private

INFO_FILE = "running.json"
LOCK_FILE = "running.lock"


class NotRunning(Exception):
    """No standalone sandbox runs from that state folder; the message says how to start one."""


class AlreadyRunning(Exception):
    """Another standalone sandbox runs from that state folder; the message says what to do."""


@contextlib.contextmanager
def announce(state_dir: Path):
    """Hold the state folder's lock while the body runs (AlreadyRunning if another
    sandbox holds it); the body publishes its information with the function it gets."""
    lock = try_lock(state_dir / LOCK_FILE)
    if lock is None:
        raise AlreadyRunning(
            f"another sandbox already runs from {state_dir}: use it (its settings: "
            f"{start_command('env', state_dir)}), stop it, or give this one "
            "another --state-dir"
        )
    try:
        yield lambda info: write_private(state_dir / INFO_FILE, json.dumps(info, indent=1).encode())
    finally:
        (state_dir / INFO_FILE).unlink(missing_ok=True)
        os.close(lock)  # and with it the lock


def running_info(state_dir: Path) -> dict:
    """The start-up information of the sandbox running from `state_dir`."""
    not_running = NotRunning(
        f"no sandbox is running from {state_dir}: start one in another terminal with "
        f"{start_command('', state_dir)}"
    )
    try:
        lock = os.open(state_dir / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        raise not_running from None
    try:
        fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:  # held: a sandbox runs
        try:
            return json.loads((state_dir / INFO_FILE).read_text())
        except FileNotFoundError:  # it is just starting, or stopping
            raise not_running from None
    finally:
        os.close(lock)
    raise not_running


def start_command(command: str, state_dir: Path) -> str:
    """The command line that runs `command` for `state_dir`, with this very Python (so it
    works outside an activated virtual environment too)."""
    words = [sys.executable, "-m", "workshop_helpers.sandbox", command]
    if state_dir != config.sandbox_dir():
        words += ["--state-dir", str(state_dir)]
    return " ".join(shlex.quote(word) for word in words if word)
