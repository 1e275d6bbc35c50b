"""Answering-machine detection: did a person or a machine answer?

Asked for with `machine_detection` (create call) or `machineDetection` (connect), or their
`advanced` forms. A virtual phone knows what it is (`answered_by` in its behaviour; the
magic number 447700900008 is a voicemail box), and the platform tells after listening to
the first couple of seconds, with the documented `human` or `machine` event. With
`behavior: hangup` a machine is hung up on; with advanced `mode: detect_beep` a second
`machine` event says when the voicemail's beep came (`sub_state: beep_start`), or that
none came in time (`beep_timeout`).

The docs: https://developer.vonage.com/en/voice/voice-api/concepts/advanced-machine-detection
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .transcript import by_own_party

if TYPE_CHECKING:
    from .leg_interface import CallLeg

LISTEN_SECONDS = 2.0  # how much of the greeting the platform hears before it decides
BEEP_TIMEOUT = 45  # the documented default for advanced detection


async def detect(leg: "CallLeg", machine: bool) -> None:
    """Tell whether a person or a `machine` answered (the party knows which it is)."""
    advanced = leg.setup.advanced_machine_detection
    behavior = (advanced or {}).get("behavior") or leg.setup.machine_detection or "continue"
    await leg.clock.sleep(LISTEN_SECONDS)
    _emit(leg, "machine" if machine else "human")
    if not machine:
        return
    if behavior == "hangup":
        leg.hang_up(by="platform")
        return
    if advanced and advanced.get("mode") == "detect_beep":
        timeout = advanced.get("beep_timeout") or BEEP_TIMEOUT
        try:
            await leg.clock.wait_for(_beep(leg), timeout)
        except asyncio.TimeoutError:
            _emit(leg, "machine", sub_state="beep_timeout")
        else:
            _emit(leg, "machine", sub_state="beep_start")


async def _beep(leg: "CallLeg") -> None:
    """Return when the party's beep is heard."""
    while not any(e["kind"] == "beep" and by_own_party(e) for e in leg.transcript):
        await leg.activity.wait()


def _emit(leg: "CallLeg", status: str, **extra) -> None:
    """The detection event: note `call_uuid` where other events have `uuid`."""
    payload = {
        "call_uuid": leg.uuid,
        "conversation_uuid": leg.conversation_uuid,
        "status": status,
        "direction": leg.setup.direction,
        "from": leg.from_number,
        "to": leg.to_number,
        **extra,
    }
    leg.note("platform", "detection", f"{status} {extra.get('sub_state', '')}".strip())
    leg.emit(payload)
