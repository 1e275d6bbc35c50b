"""Files that hold secrets (keys, the API secret) in the sandbox's state folder."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can ever read, all at once: it is made 0600 before a
    byte goes in, and a reader sees the old file or the new one, never half of one."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)  # left by an interrupted run, perhaps with other modes
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(partial, path)
