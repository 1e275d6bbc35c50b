"""Audio for the sandbox: sounds, how long they last, and the files and frames made of them.

Every sound on a call is a transcript entry (see transcript.py): when it started, who made
it, how long it lasted, and, for speech and streamed files, a key into the platform's
`AudioLibrary` holding the real samples. Recordings and websocket frames are rendered
from those entries, so they contain exactly what was said and heard: spoken prompts,
the phones' words, dual-tone audio for each key pressed, a beep where `beepStart` asked
for one, and silence in between. Everything is 16-bit, 16 kHz, as the platform documents.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import soundfile

from .private_file import create_private
from .transcript import TranscriptEntry

SAMPLE_RATE = 16_000
SECONDS_PER_WORD = 0.4
DTMF_SECONDS = 0.2
FRAME_SECONDS = 0.02  # websocket audio comes in 20 ms frames

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


class AudioLibrary:
    """The samples of every spoken prompt, streamed file and websocket reply, by key.

    Transcript entries stay small and JSON-friendly: they hold a key, not the audio.
    """

    def __init__(self):
        self._sounds: dict[str, np.ndarray] = {}

    def add(self, key: str, audio: np.ndarray) -> str:
        self._sounds[key] = audio
        return key

    def get(self, key: str | None) -> np.ndarray | None:
        return self._sounds.get(key) if key else None


# -- decoding ------------------------------------------------------------------------
def decode(data: bytes) -> np.ndarray:
    """16 kHz mono samples of an audio file (wav, mp3, ogg; others through ffmpeg).

    ValueError, saying why, if it is not audio.
    """
    try:
        audio, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as error:
        if not shutil.which("ffmpeg"):
            raise ValueError(f"not a wav, mp3 or ogg file ({error})") from None
        return _decode_with_ffmpeg(data)
    return resample(audio.mean(axis=1), rate)


def _decode_with_ffmpeg(data: bytes) -> np.ndarray:
    command = ["ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "s16le", "-ac", "1",
               "-ar", str(SAMPLE_RATE), "pipe:1"]
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ValueError(f"ffmpeg could not read it ({error})") from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise ValueError(f"not an audio file ffmpeg can read ({message[-1] if message else 'no audio'})")
    return np.frombuffer(done.stdout, "<i2").astype(np.float32) / 32768


def audio_seconds(data: bytes) -> float:
    """The length of an audio file; ValueError if it is not audio."""
    return len(decode(data)) / SAMPLE_RATE


def resample(audio: np.ndarray, rate: int, to: int = SAMPLE_RATE) -> np.ndarray:
    """Linear resampling: plenty for telephone-quality speech."""
    audio = np.asarray(audio, np.float32)
    if rate == to or len(audio) == 0:
        return audio
    count = int(round(len(audio) * to / rate))
    positions = np.arange(count) * (rate / to)
    return np.interp(positions, np.arange(len(audio)), audio).astype(np.float32)


# -- sounds --------------------------------------------------------------------------
def tone(frequencies: tuple[float, ...], seconds: float, volume: float = 0.3) -> np.ndarray:
    times = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = sum(np.sin(2 * np.pi * f * times) for f in frequencies) / len(frequencies)
    return (wave * volume).astype(np.float32)


def dtmf_tone(key: str) -> np.ndarray:
    return tone(DTMF_FREQUENCIES[key], DTMF_SECONDS)


def sound_of(entry: TranscriptEntry, library: AudioLibrary) -> np.ndarray | None:
    """The samples of one transcript entry, or None if it makes no sound."""
    kind = entry["kind"]
    if kind == "dtmf":
        return dtmf_tone(entry["text"]) if entry["text"] in DTMF_FREQUENCIES else None
    if kind == "beep":
        return tone((1000,), 0.4)
    if kind not in ("talk", "stream", "said", "audio", "music"):
        return None
    audio = library.get(entry.get("audio"))
    seconds = entry.get("seconds", 1.0)
    if audio is None:
        return tone((220, 330), seconds, volume=0.1)
    return audio[: int(seconds * SAMPLE_RATE)]  # a prompt cut short stops where it stopped


# -- rendering -----------------------------------------------------------------------
def render(transcript: list[TranscriptEntry], library: AudioLibrary, start: float, end: float,
           channel_of=lambda entry: 0, channels: int = 1) -> np.ndarray:
    """The mix of `transcript` between virtual times `start` and `end`: (samples, channels)."""
    block = np.zeros((max(0, int(round((end - start) * SAMPLE_RATE))), channels), np.float32)
    for entry in transcript:
        sound = sound_of(entry, library)
        if sound is None:
            continue
        offset = int(round((entry["at"] - start) * SAMPLE_RATE))  # may be negative
        low, high = max(offset, 0), min(offset + len(sound), len(block))
        if low < high:
            block[low:high, min(channel_of(entry), channels - 1)] += sound[low - offset : high - offset]
    return np.clip(block, -1.0, 1.0)


BLOCK_SECONDS = 60


def write_recording(path, transcript: list[TranscriptEntry], library: AudioLibrary, start: float,
                    end: float, channels: int, audio_format: str, channel_of) -> None:
    """Write the audio of `transcript` between virtual times `start` and `end` to `path`
    (a file only its owner can read).

    It is rendered a minute at a time, so even a two-hour recording needs little memory.
    """
    container, subtype = _SOUNDFILE_FORMATS[audio_format]
    end = max(end, start + 1 / SAMPLE_RATE)
    create_private(path)  # 0600 from the start: a recording is the caller's voice
    with soundfile.SoundFile(path, "w", SAMPLE_RATE, channels, subtype, format=container) as out:
        block_start = start
        while block_start < end:
            block_end = min(end, block_start + BLOCK_SECONDS)
            out.write(render(transcript, library, block_start, block_end, channel_of, channels))
            block_start = block_end


def to_l16(audio: np.ndarray, rate: int) -> bytes:
    """Signed 16-bit little-endian PCM at `rate` (the websocket's `audio/l16`)."""
    samples = resample(audio.reshape(-1), SAMPLE_RATE, rate)
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def from_l16(data: bytes, rate: int) -> np.ndarray:
    samples = np.frombuffer(data[: len(data) // 2 * 2], "<i2").astype(np.float32) / 32768
    return resample(samples, rate)


def wav_bytes(audio: np.ndarray) -> bytes:
    """A WAV file of 16 kHz samples, for a notebook's audio player or a download."""
    out = io.BytesIO()
    soundfile.write(out, audio, SAMPLE_RATE, "PCM_16", format="WAV")
    return out.getvalue()
