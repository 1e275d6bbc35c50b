"""Transcript entries: every sound and event on a leg, as one typed record.

A leg's transcript is what its party said and heard, and when (see `Leg.note`);
recordings and websocket frames are rendered from it, the sandbox-control API serves it
as JSON, and notebooks read it. So an entry is a `TypedDict`: a typed, documented shape
for the code that builds and reads it, and still the plain dict that `jsonify`, the
notebooks (`entry["text"]`) and the tests see, unchanged. A dataclass would need a
conversion at every one of those boundaries, and a prompt cut short changes its entry's
`seconds` after it was noted, which a converted copy would not show.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, NotRequired, TypedDict

from .clock import iso_millis

if TYPE_CHECKING:
    from .clock import Clock

#: Who made the sound of an entry that is this leg's own party (not the platform, not another party).
OWN_PARTY = "phone"


class TranscriptEntry(TypedDict):
    """One thing that happened on a leg: who did what, when, and for how long."""

    at: float  # when it began, in seconds on the call's clock
    time: str  # the same moment, as an ISO 8601 timestamp
    who: str  # "platform", "phone" (this leg's own party), or another party's address
    kind: str  # a sound (talk, stream, said, dtmf, beep, music, ringback, audio) or an event (action, error, ...)
    text: str  # what was said, played or pressed, or what happened
    seconds: float  # how long it lasted (how much was played, if it was stopped early)
    audio: NotRequired[str]  # the key of its samples in the platform's AudioLibrary
    leg: NotRequired[str]  # the uuid of the other party's leg, for something heard from it


def new_entry(clock: "Clock", who: str, kind: str, text: str, seconds: float = 0.0,
              audio: str | None = None, at: float | None = None, leg: str | None = None) -> TranscriptEntry:
    """An entry for something that began at `at` on the call's clock (default: now)."""
    now, elapsed = clock.now(), clock.elapsed()
    at = elapsed if at is None else at
    entry = TranscriptEntry(
        at=at,
        time=iso_millis(now - timedelta(seconds=elapsed - at)),  # the same moment
        who=who,
        kind=kind,
        text=text,
        seconds=seconds,
    )
    if audio:
        entry["audio"] = audio
    if leg:
        entry["leg"] = leg
    return entry


def said_by_caller(entry: TranscriptEntry) -> bool:
    """A phrase this leg's own party said (not one heard from another party)."""
    return entry["kind"] == "said" and entry["who"] == OWN_PARTY


def by_own_party(entry: TranscriptEntry) -> bool:
    """A sound this leg's own party made: its words, keys, audio or beep."""
    return entry["who"] == OWN_PARTY
