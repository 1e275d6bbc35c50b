"""Recordings: audio files rendered from transcripts, served at /v1/files/{id}.

A `record` action, an input's `saveAudio` and a conversation's `record: true` all end
here: the sounds between two moments are written to a file, and the documented record
event describes it (https://developer.vonage.com/en/voice/voice-api/webhook-reference#record).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Callable

from . import media
from .clock import Clock, iso_seconds
from .ids import IdFactory
from .transcript import TranscriptEntry


class Recorder:
    """Saves recordings into the platform's files folder, under its public URL."""

    def __init__(self, clock: Clock, ids: IdFactory, audio: media.AudioLibrary,
                 files_dir: Path, public_url: str):
        self.clock, self.ids, self.audio = clock, ids, audio
        self.files_dir, self.public_url = files_dir, public_url

    async def save(self, transcript: list[TranscriptEntry], start: float, end: float,
                   audio_format: str, channels: int = 1,
                   channel_of: Callable[[TranscriptEntry], int] = lambda entry: 0) -> tuple[str, int]:
        """Render `transcript` between `start` and `end` to a new file served at
        /v1/files/{id} (in a worker thread: encoding is slow); return its URL and size."""
        file_id = self.ids.uuid()
        path = self.path(file_id, audio_format)
        await self.clock.in_thread(
            media.write_recording, path, transcript, self.audio, start, end, channels,
            audio_format, channel_of,
        )
        return f"{self.public_url}/v1/files/{file_id}", path.stat().st_size

    def path(self, file_id: str, audio_format: str) -> Path:
        """Where the recording `file_id` in `audio_format` is kept."""
        return self.files_dir / f"{file_id}.{audio_format}"

    def event(self, url: str, size: int, started_at: datetime, ended_at: datetime,
              conversation_uuid: str) -> dict:
        """The documented record event for a recording saved by `save`."""
        return {
            "start_time": iso_seconds(started_at),
            "end_time": iso_seconds(ended_at),
            "recording_url": url,
            "recording_uuid": self.ids.uuid(),
            "size": size,
            "conversation_uuid": conversation_uuid,
        }
