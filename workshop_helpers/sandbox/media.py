"""Audio for the sandbox: how long things take to say or play, and recording files.

A recording is rendered from the leg's transcript: silence where nobody spoke, dual-tone
audio for each key pressed, a beep where `beepStart` asked for one, and a soft tone for
each stretch of speech or audio (spoken words become real speech audio in part 2 of the
sandbox). Files are real WAV, MP3 or OGG, written with soundfile.
"""

from __future__ import annotations

import io
import re

import numpy as np
import soundfile

SAMPLE_RATE = 16_000  # recordings are 16-bit, 16 kHz, as the platform documents
SECONDS_PER_WORD = 0.4
DTMF_SECONDS = 0.2

#: Each key is the sum of a low and a high tone (the keypad's row and column).
DTMF_FREQUENCIES = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477),
}

CONTENT_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "ogg": "audio/ogg"}
_SOUNDFILE_FORMATS = {
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "wav": ("WAV", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
}


def speech_seconds(text: str) -> float:
    """How long text-to-speech takes to say `text` (SSML tags are not spoken)."""
    words = re.sub(r"<[^>]+>", " ", text).split()
    return max(1.0, SECONDS_PER_WORD * len(words))


def audio_seconds(data: bytes) -> float:
    """The length of an audio file (wav, mp3 or ogg); ValueError if it is not audio."""
    try:
        info = soundfile.info(io.BytesIO(data))
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise ValueError(f"not a wav, mp3 or ogg file ({error})") from None
    return info.frames / info.samplerate


def tone(frequencies: tuple[float, ...], seconds: float, volume: float = 0.3) -> np.ndarray:
    times = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = sum(np.sin(2 * np.pi * f * times) for f in frequencies) / len(frequencies)
    return (wave * volume).astype(np.float32)


def write_recording(path, transcript: list[dict], start: float, end: float,
                    channels: int, audio_format: str) -> None:
    """Write the audio of `transcript` between virtual times `start` and `end` to `path`.

    It is rendered a minute at a time, so even a two-hour recording needs little memory.
    With two or more channels the caller is on the first and the platform on the second.
    """
    container, subtype = _SOUNDFILE_FORMATS[audio_format]
    total = max(1, int((end - start) * SAMPLE_RATE))
    with soundfile.SoundFile(path, "w", SAMPLE_RATE, channels, subtype, format=container) as out:
        for first in range(0, total, BLOCK_SAMPLES):
            block = np.zeros((min(BLOCK_SAMPLES, total - first), channels), np.float32)
            _mix(block, transcript, start + first / SAMPLE_RATE, channels)
            out.write(np.clip(block, -1.0, 1.0))


BLOCK_SAMPLES = 60 * SAMPLE_RATE


def _mix(block: np.ndarray, transcript: list[dict], block_start: float, channels: int) -> None:
    """Add each sound that overlaps this block (the block starts at `block_start`)."""
    for entry in transcript:
        sound = _sound_of(entry)
        if sound is None:
            continue
        offset = int(round((entry["at"] - block_start) * SAMPLE_RATE))  # may be negative
        low, high = max(offset, 0), min(offset + len(sound), len(block))
        if low < high:
            channel = 0 if entry["who"] == "phone" or channels == 1 else 1
            block[low:high, channel] += sound[low - offset : high - offset]


def _sound_of(entry: dict) -> np.ndarray | None:
    if entry["kind"] == "dtmf":
        return tone(DTMF_FREQUENCIES[entry["text"]], DTMF_SECONDS)
    if entry["kind"] == "beep":
        return tone((1000,), 0.4)
    if entry["kind"] in ("talk", "stream", "said"):
        return tone((220, 330), entry.get("seconds", 1.0), volume=0.1)
    return None
