"""Identifiers: leg uuids, `CON-` conversation ids, recording and file ids.

With a seed the sequence of ids is the same on every run, so tests and notebooks that
print ids can compare them; without one they are random like the real platform's.
"""

from __future__ import annotations

import random
import threading
import uuid


class IdFactory:
    """Makes version-4 UUIDs from a (possibly seeded) random source, thread-safely."""

    def __init__(self, seed: int | None = None):
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def uuid(self) -> str:
        with self._lock:
            bits = self._random.getrandbits(128)
        return str(uuid.UUID(int=bits, version=4))

    def conversation(self) -> str:
        return "CON-" + self.uuid()
