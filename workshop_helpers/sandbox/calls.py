"""`CallSetup`: everything the platform needs to start a leg, and the three ways one is made.

A leg starts from a create-call request (POST /v1/calls), from a `connect` action in a
running call, or from a virtual phone calling the application's number. Each builder
below turns its source into the one shape the engine starts every leg from, with the
platform's defaults filled in (developer.vonage.com/en/api/voice documents them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vonage_voice.models import CreateCallRequest
    from vonage_voice.models import ncco as models

#: The platform's defaults: how long a call may ring, and how long it may last, in seconds.
RINGING_TIMER = 60
LENGTH_TIMER = 7200


@dataclass
class CallSetup:
    """Everything needed to start a leg (from a REST request or an inbound call)."""

    direction: str
    to: dict
    from_: dict
    event_url: str | None
    event_method: str = "POST"
    ncco: list | None = None  # inline NCCO (validated models)
    answer_url: str | None = None
    answer_method: str = "GET"
    ringing_timer: float = RINGING_TIMER
    length_timer: float = LENGTH_TIMER
    machine_detection: str | None = None  # continue | hangup
    advanced_machine_detection: dict | None = None  # {behavior, mode, beep_timeout}
    # A `connect` action's leg: the leg (engine.Leg) that connected it, and the action's options.
    caller: Any = None
    synchronous: bool = False  # eventType synchronous: a failure's answer may be an NCCO
    on_answer_url: str | None = None  # onAnswer: an NCCO for the callee before it joins
    dtmf_answer: str | None = None  # keys played to the callee when it answers (any leg)

    @classmethod
    def for_create_call(cls, request: "CreateCallRequest", to: dict, ncco: list | None,
                        numbers: list[str], event: dict | None) -> "CallSetup":
        """An outbound call from a validated POST /v1/calls: `request` is the SDK's model,
        `to` the request's endpoint as sent, `ncco` its parsed NCCO; `numbers` are the
        application's (for random_from_number) and `event` its event webhook, the
        fallback for a request with no event_url."""
        to = dict(to)
        dtmf_answer = to.pop("dtmf_answer", None) or to.pop("dtmfAnswer", None)
        if request.random_from_number:
            from_number = numbers[0]
        elif isinstance(request.from_, str):
            from_number = request.from_
        else:
            from_number = request.from_.number
        return cls(
            direction="outbound",
            to=to,
            from_={"type": "phone", "number": from_number},
            event_url=(request.event_url or [event and event["address"]])[0],
            event_method=request.event_method or (
                event["http_method"] if event and not request.event_url else "POST"
            ),
            ncco=ncco,
            answer_url=request.answer_url[0] if request.answer_url else None,
            answer_method=request.answer_method or "GET",
            ringing_timer=request.ringing_timer or RINGING_TIMER,
            length_timer=request.length_timer or LENGTH_TIMER,
            machine_detection=request.machine_detection,
            advanced_machine_detection=_dumped(request.advanced_machine_detection),
            dtmf_answer=dtmf_answer,
        )

    @classmethod
    def for_connect(cls, action: "models.Connect", endpoint: dict, on_answer: dict,
                    caller: Any, app_number: str) -> "CallSetup":
        """The callee's leg of a `connect` action run by `caller` (a Leg): `endpoint` is
        the action's endpoint as JSON, without its onAnswer (`on_answer`). Events go to
        the action's eventUrl, else to the caller's."""
        to = dict(endpoint)
        dtmf_answer = to.pop("dtmfAnswer", None)
        return cls(
            direction="outbound",
            to=to,
            from_={"type": "phone", "number": action.from_ or app_number},
            event_url=action.eventUrl[0] if action.eventUrl else caller.setup.event_url,
            event_method=action.eventMethod or ("POST" if action.eventUrl else caller.setup.event_method),
            ringing_timer=action.timeout or RINGING_TIMER,
            length_timer=action.limit or LENGTH_TIMER,
            machine_detection=action.machineDetection,
            advanced_machine_detection=_dumped(action.advancedMachineDetection),
            caller=caller,
            synchronous=action.eventType == "synchronous",
            on_answer_url=on_answer.get("url"),
            dtmf_answer=dtmf_answer,
        )

    @classmethod
    def for_inbound(cls, from_number: str, to: str, answer: dict, event: dict | None) -> "CallSetup":
        """A virtual phone's call to the application's number `to`, answered by the
        application's `answer` webhook; its events go to the `event` webhook, if any."""
        event = event or {}
        return cls(
            direction="inbound",
            to={"type": "phone", "number": to},
            from_={"type": "phone", "number": from_number},
            event_url=event.get("address"),
            event_method=event.get("http_method", "POST"),
            answer_url=answer["address"],
            answer_method=answer["http_method"],
        )


def _dumped(detection) -> dict | None:
    """Advanced machine detection's settings as a dict, or None when not asked for."""
    return detection.model_dump(exclude_none=True) if detection else None
