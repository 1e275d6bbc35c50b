"""Files in the sandbox's state folder: written so only their owner can read them, and
one error for a state file that cannot be used as it is."""

from __future__ import annotations

import os
from pathlib import Path

from .. import config
from .errors import SandboxError


class SandboxStateError(SandboxError):
    """A file in the sandbox's state folder that the sandbox cannot use, and will not
    replace on its own (it holds something that cannot be made again). The message names
    the file and says how to fix it."""

    def _render_traceback_(self) -> list[str]:
        """In a notebook, the message alone: it is the fix (the whole traceback is still
        in %debug and %tb)."""
        return [f"SandboxStateError: {self}"]


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can ever read, all at once: it is made 0600 before a
    byte goes in, and a reader sees the old file or the new one, never half of one."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)  # left by an interrupted run, perhaps with other modes
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, config.PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(partial, path)


def create_private(path: Path) -> None:
    """Make `path` an empty file only its owner can read (0600), ready for a library that
    writes it by name (a recording): made so, never widened, even where it was before."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, config.PRIVATE_FILE_MODE)
    try:
        os.fchmod(descriptor, config.PRIVATE_FILE_MODE)  # one left by an earlier run kept its mode
    finally:
        os.close(descriptor)


def prepare_state_dir(state_dir: Path) -> None:
    """The state folder and its `files/` (recordings) as folders only their owner can
    enter, and every file in them readable by their owner alone: made so, or tightened
    where an older kit (or a umask) left them wider."""
    state_dir = Path(state_dir)
    try:
        config.private_dir(state_dir)
        config.private_dir(state_dir / "files")
        config.tighten_tree(state_dir)
    except OSError as error:
        raise SandboxStateError(
            f"The sandbox cannot use its state folder {state_dir} ({error.strerror or error}): "
            "make it a folder you can write, or give the sandbox another one "
            "(--state-dir, or VOICE_WORKSHOP_HOME)."
        ) from None
