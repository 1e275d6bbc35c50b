"""Hold music your webhook server serves, so a moderated conference works offline.

`musicOnHoldUrl` (and `stream`) need an audio file at a URL the platform can fetch. The
workshop's own server serves this one at `/audio/hold.wav` (`ws.hold_music_url`): in the
sandbox, and in live mode through the tunnel, with no download from anywhere.
"""

from __future__ import annotations

import functools
import io
import wave

import numpy as np

RATE = 16000
# A slow, quiet arpeggio (C major, then A minor), each note half a second: 8 s in all.
NOTES_HZ = [261.63, 329.63, 392.00, 329.63, 220.00, 261.63, 329.63, 261.63] * 2


@functools.lru_cache(maxsize=1)
def hold_music_wav() -> bytes:
    """The file's bytes: 16-bit mono WAV at 16 kHz, made once."""
    seconds = 0.5
    t = np.arange(int(RATE * seconds)) / RATE
    fade = np.minimum(1, np.minimum(t, seconds - t) / 0.05)  # no clicks between notes
    notes = [np.sin(2 * np.pi * hz * t) * fade for hz in NOTES_HZ]
    samples = (np.concatenate(notes) * 0.2 * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()
