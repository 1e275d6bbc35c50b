"""Stream URLs' audio: fetched once, decoded, and reused as long as the host allows.

A `stream` action, hold music, a ringback tone and `PUT .../stream` all play the audio
file at a URL; the platform fetches it again once its Cache-Control says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from . import media
from .clock import Clock
from .ids import IdFactory
from .webhooks import WebhookClient


@dataclass
class KeptStream:
    """A stream URL's audio, and until when (real time) it may be reused."""

    key: str
    seconds: float
    expires: float | None


class StreamCache:
    """The audio of every stream URL played so far, by URL."""

    def __init__(self, webhooks: WebhookClient, audio: media.AudioLibrary, ids: IdFactory, clock: Clock):
        self.webhooks, self.audio, self.ids, self.clock = webhooks, audio, ids, clock
        self._kept: dict[str, KeptStream] = {}

    async def audio_of(self, url: str) -> tuple[str, float]:
        """The audio at `url`: its key in the platform's AudioLibrary and how long it
        plays. ValueError, saying why, if it cannot be fetched or is not audio."""
        kept = self._kept.get(url)
        if kept is None or (kept.expires is not None and time.monotonic() >= kept.expires):
            data, keep_for = await self.webhooks.download(url)
            audio = await self.clock.in_thread(media.decode, data)
            key = self.audio.add(f"stream:{self.ids.uuid()}", audio)  # old calls keep theirs
            expires = None if keep_for is None else time.monotonic() + keep_for
            kept = self._kept[url] = KeptStream(key, len(audio) / media.SAMPLE_RATE, expires)
        return kept.key, kept.seconds
