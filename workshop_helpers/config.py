"""Where the kit keeps its state, and how that can be changed.

State (the sandbox's application keys, its CA, recordings) lives in one folder per user,
`~/.voice-workshop`, so it survives kernel restarts and is shared by every notebook. Set
`VOICE_WORKSHOP_HOME` to put it elsewhere (the tests do, to start clean).
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    return Path(os.environ.get("VOICE_WORKSHOP_HOME", Path.home() / ".voice-workshop"))


def sandbox_dir() -> Path:
    return home() / "sandbox"
