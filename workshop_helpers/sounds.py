"""Sounds your webhook server serves, so `stream` and hold music work offline.

`stream` and `musicOnHoldUrl` need an audio file at a URL the platform can fetch. The
workshop's own server serves these at `/audio/<name>.wav` (`ws.sound_url(name)`): in the
sandbox, and in live mode through the tunnel, with no download from anywhere. Each is made
here, once, the first time it is asked for.
"""

from __future__ import annotations

import functools
import io
import wave

import numpy as np

RATE = 16000
# A slow, quiet arpeggio (C major, then A minor), each note half a second: 8 s in all.
NOTES_HZ = [261.63, 329.63, 392.00, 329.63, 220.00, 261.63, 329.63, 261.63] * 2
ANNOUNCEMENT = "This is a sample announcement, played from your own server."


def _tone(hz: float, seconds: float) -> np.ndarray:
    """A sine tone with 50 ms fades, so notes join without clicks."""
    t = np.arange(int(RATE * seconds)) / RATE
    return np.sin(2 * np.pi * hz * t) * np.minimum(1, np.minimum(t, seconds - t) / 0.05)


def _wav(samples: np.ndarray) -> bytes:
    """16-bit mono WAV at 16 kHz of `samples` (floats from -1 to 1)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def hold_music() -> bytes:
    """8 s of quiet music, for callers waiting in a conference."""
    return _wav(np.concatenate([_tone(hz, 0.5) for hz in NOTES_HZ]) * 0.2)


def beep() -> bytes:
    """Half a second at 1 kHz: the sound of "go ahead"."""
    return _wav(_tone(1000, 0.5) * 0.3)


def announcement() -> bytes:
    """A sentence spoken by espeak-ng (as the sandbox speaks; a hum where it is missing)."""
    from .sandbox.speech import Speech  # the sandbox's synthesiser, and its cache

    return _wav(Speech().say(ANNOUNCEMENT, "en-GB"))


#: Each sound by its name in `/audio/<name>.wav`.
SOUNDS = {"hold": hold_music, "beep": beep, "announcement": announcement}


@functools.lru_cache(maxsize=None)
def sound_wav(name: str) -> bytes:
    """The WAV file of sound `name` (one of SOUNDS), made once."""
    return SOUNDS[name]()
