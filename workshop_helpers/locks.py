"""Lock files: how one process says "in use" to the others of the same user.

Each lock is an flock on a small file beside what it guards. The operating system lets go
of it when the process ends, however it ends (a kernel restart, a crash, kill -9), so a
lock file left on disk never blocks anyone: only a live holder does.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from .config import PRIVATE_FILE_MODE


def try_lock(path: Path) -> int | None:
    """Hold the lock file `path` and return its descriptor (close it to let go), or
    return None at once if another process, or another open in this one, holds it."""
    descriptor = _open(path)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


@contextlib.contextmanager
def locked(path: Path):
    """Hold the lock file `path` while the body runs, waiting for any other holder."""
    descriptor = _open(path)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _open(path: Path) -> int:
    """The lock file `path`, opened (made, 0600, with its folder, if it is not there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
