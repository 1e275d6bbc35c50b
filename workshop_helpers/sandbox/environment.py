"""The sandbox's environment for another program: as `export` lines, or in a .env file.

`Sandbox.env()` says what the environment is; this module only writes it down, the way a
shell (`eval "$(python -m workshop_helpers.sandbox env)"`) or python-dotenv reads it.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from dotenv import dotenv_values, set_key

from .. import config


class DotenvClash(Exception):
    """The .env already sets some of the names to other values; the message says what to do."""


def export_lines(env: dict[str, str]) -> str:
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())


def write_dotenv(path: Path, env: dict[str, str], force: bool = False) -> Path | None:
    """Write `env` into the .env at `path` (0600: it holds the API secret), keeping the
    file's other lines. A setting the file has with another value (your live
    credentials, say) is replaced only with `force`, and then the old file is kept first
    as PATH.bak (PATH.bak.2, ... if that is taken, so a second run never overwrites the
    copy of the first); return where that copy is."""
    existing = dotenv_values(path) if path.exists() else {}
    clashes = [name for name, value in env.items() if name in existing and existing[name] != value]
    if clashes and not force:
        raise DotenvClash(
            f"{path} already sets {', '.join(clashes)} to other values; write the sandbox's "
            f"settings to another file (--dotenv .env.sandbox), or pass --force to replace "
            f"them (the old file is kept as {path.name}.bak)"
        )
    backup = _free_backup_path(path) if clashes else None
    if backup:
        shutil.copy2(path, backup)
    config.private_file(path)  # made private before the first secret is in it
    for name, value in env.items():
        set_key(path, name, value)
    config.private_file(path, create=False)  # (set_key writes a new file over the old one)
    return backup


def _free_backup_path(path: Path) -> Path:
    backup = path.with_name(path.name + ".bak")
    number = 2
    while backup.exists():
        backup = path.with_name(f"{path.name}.bak.{number}")
        number += 1
    return backup
