"""Text to speech for the sandbox: real spoken audio from espeak-ng, when it is installed.

The platform says `talk` texts and the virtual phones say their phrases with espeak-ng, a
small open-source speech synthesiser (Debian/Ubuntu: `apt install espeak-ng`, macOS:
`brew install espeak-ng`). Its audio sets how long a prompt takes on the call's clock, and
recordings contain it. Without espeak-ng everything still works: speech lasts 0.4 s a word
and sounds like a soft hum in recordings, and `Speech.available` says which you have.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess

import numpy as np
import soundfile

from .media import SAMPLE_RATE, SECONDS_PER_WORD, resample, tone

log = logging.getLogger(__name__)

#: The platform speaks with a US voice by default (the Voice API's `en-US`); virtual
#: phones with a British one, so the two sides of a recording sound different.
PLATFORM_VOICE, PHONE_VOICE = "en-US", "en-GB"
WORDS_PER_MINUTE = 165

INSTALL_HINT = (
    "install espeak-ng for real speech audio (Debian/Ubuntu: sudo apt install espeak-ng; "
    "macOS: brew install espeak-ng); until then speech is a hum of 0.4 s a word"
)


class Speech:
    """Says text: returns 16 kHz mono audio, cached, so a repeated prompt costs nothing."""

    #: Shared by every sandbox in the process (the same text always sounds the same), so
    #: a second sandbox, or the next test, does not run espeak-ng again. Keyed by
    #: (program, language, text).
    _cache: dict[tuple[str, str, str], np.ndarray] = {}
    CACHE_SIZE = 2000

    def __init__(self, program: str | None = None):
        self.program = program if program is not None else shutil.which("espeak-ng")
        self._warned = False

    @property
    def available(self) -> bool:
        return bool(self.program)

    def say(self, text: str, language: str = PLATFORM_VOICE) -> np.ndarray:
        """The audio of `text` (SSML allowed) in the BCP-47 `language`, like "en-GB"."""
        key = (self.program or "", language, text)
        if key not in self._cache:
            if len(self._cache) >= self.CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))  # forget the oldest
            self._cache[key] = self._synthesise(text, language)
        return self._cache[key]

    def seconds(self, text: str, language: str = PLATFORM_VOICE) -> float:
        return len(self.say(text, language)) / SAMPLE_RATE

    def _synthesise(self, text: str, language: str) -> np.ndarray:
        if self.program:
            for voice in _voices_for(language):
                audio = self._espeak(text, voice)
                if audio is not None:
                    return audio
        elif not self._warned:
            self._warned = True
            log.warning("no espeak-ng: %s", INSTALL_HINT)
        return hum(text)

    def _espeak(self, text: str, voice: str) -> np.ndarray | None:
        command = [self.program, "--stdout", "-v", voice, "-s", str(WORDS_PER_MINUTE)]
        if text.lstrip().startswith("<speak"):
            command.append("-m")  # espeak-ng reads SSML itself: breaks, emphasis, ...
        try:
            done = subprocess.run(command + ["--", text], capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as error:
            log.warning("espeak-ng failed (%s); falling back to a hum", error)
            return None
        if done.returncode != 0 or not done.stdout:
            return None  # usually "voice does not exist": try the next one
        audio, rate = soundfile.read(io.BytesIO(done.stdout), dtype="float32")
        return resample(audio, rate)


def _voices_for(language: str) -> list[str]:
    """espeak-ng voice names to try for a BCP-47 tag: "en-GB" → en-gb, en, then en-us."""
    tag = (language or PLATFORM_VOICE).lower()
    return list(dict.fromkeys([tag, tag.split("-")[0], "en-us"]))


def estimated_seconds(text: str) -> float:
    """How long `text` takes to say without a synthesiser (SSML tags are not spoken)."""
    words = re.sub(r"<[^>]+>", " ", text).split()
    return max(1.0, SECONDS_PER_WORD * len(words))


def hum(text: str) -> np.ndarray:
    """The stand-in for speech when espeak-ng is missing: a soft two-note hum."""
    return tone((220, 330), estimated_seconds(text), volume=0.1)
