"""NCCO validation: the official `vonage_voice` models, plus the platform rules they miss.

The sandbox uses this on every NCCO it receives, and the attendee's webhook server uses it
on every NCCO a handler returns, so both agree on what a valid NCCO is. The pydantic
models are the single source of truth for each action's fields, types and ranges; this
module only adds what the real platform also enforces (one-element URL arrays, `input.mode`,
a single `connect` endpoint, ...). Like the platform, it tolerates string-encoded scalars
("5", "true") and ignores keys it does not know.
"""

from __future__ import annotations

import json
import math
from enum import Enum
from typing import Any, Literal, Optional

from pydantic import BaseModel, ValidationError, field_validator, model_validator
from vonage_voice.errors import VoiceError
from vonage_voice.models import ncco as models


class Input(models.Input):
    """The SDK's input action plus `mode`, which the platform documents and the SDK lacks."""

    mode: Optional[Literal["synchronous", "asynchronous"]] = None


class Connect(models.Connect):
    """The SDK's connect action, with `from` optional where the platform allows it.

    The SDK demands `from` (or `randomFromNumber`) for every endpoint, but the platform
    only needs a caller ID to dial a phone; app users, websockets, SIP and VBC do not.
    """

    @model_validator(mode="after")
    def validate_from_and_random_from_number(self):
        if self.randomFromNumber and self.from_ is not None:
            raise VoiceError("`from` and `randomFromNumber` cannot be used together.")
        dials_a_phone = any(e.type.value == "phone" for e in self.endpoint)
        if dials_a_phone and self.from_ is None and not self.randomFromNumber:
            raise VoiceError("Either `from` or `randomFromNumber` must be set to dial a phone.")
        return self


class Wait(models.Wait):
    """The SDK's wait action: a pause, then the next action. The platform's rule for
    `timeout` is stated here rather than left to the SDK's version. NaN is refused: it is
    neither below nor above the range, so no clamp says what it means (and JSON has no
    NaN); pausing the default 10 s would hide the bug, a 0/0 say, that made it.

    Args:
        timeout (Optional[float]): Duration of the wait period in seconds. Valid values
            are from 0.1 to 7200. Values below 0.1 are treated as 0.1; values above
            7200 are treated as 7200. If not specified, defaults to 10 seconds.
    """

    @field_validator("timeout", mode="after")
    @classmethod
    def clamp_timeout_to_the_platform_range(cls, timeout: Optional[float]) -> Optional[float]:
        if timeout is None:
            return 10.0
        if math.isnan(timeout):
            raise ValueError("must be a number of seconds from 0.1 to 7200, not NaN")
        return min(max(timeout, 0.1), 7200.0)


#: Every action the Voice API knows, and the SDK model that describes it.
ACTION_MODELS: dict[str, type[models.NccoAction]] = {
    "record": models.Record,
    "conversation": models.Conversation,
    "connect": Connect,
    "talk": models.Talk,
    "stream": models.Stream,
    "input": Input,
    "notify": models.Notify,
    "wait": Wait,
    "transfer": models.Transfer,
}

#: Fields that hold URLs: the platform wants each as an array with exactly one URL.
URL_ARRAY_FIELDS = ("eventUrl", "streamUrl", "musicOnHoldUrl")


class NccoError(ValueError):
    """An NCCO the platform would refuse. `problems` lists (where, what is wrong)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        lines = [f"{where}: {reason}" if where else reason for where, reason in problems]
        super().__init__("Invalid NCCO. " + "; ".join(lines))


def parse_ncco(ncco: Any) -> list[models.NccoAction]:
    """Validate an NCCO and return it as `vonage_voice` action models.

    `ncco` may be a JSON string, a list of dicts, or a list of `vonage_voice` actions.
    Raises NccoError naming each bad field (for example `ncco[1].dtmf.maxDigits`).
    """
    if isinstance(ncco, (str, bytes)):
        try:
            ncco = json.loads(ncco)
        except ValueError as error:
            raise NccoError([("", f"not valid JSON ({error})")]) from None
    if not isinstance(ncco, list):
        raise NccoError([("", f"an NCCO is a JSON array of actions, not {_kind(ncco)}")])
    if not ncco:
        raise NccoError([("", "an NCCO needs at least one action")])

    actions, problems = [], []
    for index, action in enumerate(ncco):
        where = f"ncco[{index}]"
        try:
            actions.append(parse_action(action, where))
        except NccoError as error:
            problems.extend(error.problems)
    if problems:
        raise NccoError(problems)
    return actions


def validate_ncco(ncco: Any) -> list[dict]:
    """Validate an NCCO and return it as plain JSON-ready dicts (as sent on the wire)."""
    return [ncco_dict(action) for action in parse_ncco(ncco)]


def ncco_dict(action: models.NccoAction) -> dict:
    """One action as the JSON the platform receives (camelCase keys, `from`, no Nones)."""
    data = action.model_dump(by_alias=True, exclude_none=True, mode="json")
    return {"action": data.pop("action"), **data}


def as_python(ncco: Any) -> str:
    """The `vonage_voice` code that builds this NCCO (validated first), ready to paste."""
    actions = parse_ncco(ncco)
    imports: dict[str, set[str]] = {}
    lines = [f"    {_constructor(action, imports)}," for action in actions]
    for name in imports.get("workshop_helpers.ncco", ()):  # ours accept all the SDK's do
        imports.get("vonage_voice", set()).discard(name)
    header = [f"from {module} import {', '.join(sorted(names))}"
              for module, names in sorted(imports.items()) if names]
    return "\n".join(header + ["", "ncco = ["] + lines + ["]"])


def _constructor(model: BaseModel, imports: dict[str, set[str]]) -> str:
    """`Talk(text='Hello', bargeIn=True)`: a model as the call that makes it."""
    cls = type(model)
    if cls.__module__ == __name__ and _sdk_accepts(cls.__bases__[0], model):
        cls = cls.__bases__[0]  # our Input/Connect only where the SDK's own would refuse
    module = "workshop_helpers.ncco" if cls.__module__ == __name__ else "vonage_voice"
    imports.setdefault(module, set()).add(cls.__name__)
    arguments = []
    for name in model.model_fields_set:
        value = getattr(model, name)
        default = cls.model_fields[name].default
        if value is None or (isinstance(default, Enum) and value == default):
            continue  # `action` and an endpoint's `type` are implied by the class
        arguments.append(f"{name}={_python_value(value, imports)}")
    order = list(cls.model_fields)
    arguments.sort(key=lambda text: order.index(text.split("=", 1)[0]))
    return f"{cls.__name__}({', '.join(arguments)})"


def _sdk_accepts(sdk_model: type[BaseModel], model: BaseModel) -> bool:
    data = model.model_dump(exclude_none=True)
    if set(data) - set(sdk_model.model_fields):
        return False  # it uses a field only our subclass has (input's `mode`)
    try:
        sdk_model.model_validate(data)
    except (ValidationError, VoiceError):
        return False
    return True


def _python_value(value: Any, imports: dict[str, set[str]]) -> str:
    if isinstance(value, BaseModel):
        return _constructor(value, imports)
    if isinstance(value, list):
        return "[" + ", ".join(_python_value(item, imports) for item in value) + "]"
    if hasattr(value, "value") and type(value).__module__.startswith("vonage"):
        return repr(value.value)  # an SDK enum: its plain value is accepted too
    return repr(value)


def parse_action(action: Any, where: str = "ncco[0]") -> models.NccoAction:
    """Validate one action (a dict or a model) against its SDK model and platform rules."""
    if isinstance(action, BaseModel):
        action = action.model_dump(by_alias=True, exclude_none=True, mode="json")
    if not isinstance(action, dict):
        raise NccoError([(where, f"each action is a JSON object, not {_kind(action)}")])
    name = action.get("action")
    if not isinstance(name, str) or name not in ACTION_MODELS:
        known = ", ".join(ACTION_MODELS)
        reason = "missing `action`" if name is None else f"unknown action {name!r}"
        raise NccoError([(where, f"{reason}; the actions are: {known}")])

    problems = _platform_rules(action, where)
    data = dict(action)
    if "from" in data:  # the SDK model calls it `from_` (a Python keyword otherwise)
        data["from_"] = data.pop("from")
    if name == "transfer" and "conversation_id" in data:  # the docs' table spells it so
        data.setdefault("conversationId", data.pop("conversation_id"))
    if name == "connect" and isinstance(data.get("endpoint"), list):
        data["endpoint"] = [_wire_to_model_keys(e) for e in data["endpoint"]]
    if name == "connect" and isinstance(data.get("ringbackTone"), str):
        data["ringbackTone"] = [data["ringbackTone"]]  # the docs: a URL; the Python SDK: a list
    try:
        model = ACTION_MODELS[name].model_validate(data)
    except ValidationError as error:
        flagged = {path for path, _ in problems}
        chosen = _endpoint_models(data) if name == "connect" else None
        problems += [p for p in pydantic_problems(error, where, chosen) if p[0] not in flagged]
    except VoiceError as error:  # the SDK's own cross-field checks (NccoActionError)
        problems.append((where, str(error)))
    if problems:
        raise NccoError(problems)
    return model


def _platform_rules(action: dict, where: str) -> list[tuple[str, str]]:
    """The rules the real platform applies that the SDK models do not express."""
    problems = []
    for field in URL_ARRAY_FIELDS:
        if field in action:
            problems += _url_array_problems(action[field], f"{where}.{field}")
    method = action.get("eventMethod")
    if method is not None and str(method).upper() not in ("GET", "POST"):
        problems.append((f"{where}.eventMethod", "must be GET or POST"))

    name = action["action"]
    if name == "input":
        kinds = action.get("type")
        if isinstance(kinds, list) and not kinds:
            problems.append((f"{where}.type", 'needs "dtmf", "speech" or both'))
        if action.get("mode") == "asynchronous" and (action.get("dtmf") or kinds != ["dtmf"]):
            problems.append(
                (f"{where}.mode", 'asynchronous input takes type ["dtmf"] and no dtmf settings')
            )
    if name == "connect" and isinstance(action.get("endpoint"), list):
        if len(action["endpoint"]) != 1:
            problems.append((f"{where}.endpoint", "must hold exactly one endpoint"))
        for index, endpoint in enumerate(action["endpoint"]):
            if isinstance(endpoint, dict) and endpoint.get("type") == "websocket":
                if not str(endpoint.get("uri", "")).startswith(("ws://", "wss://")):
                    problems.append((f"{where}.endpoint[{index}].uri",
                                     'must be a WebSocket URI, like "wss://example.com/socket"'))
    return problems


def _wire_to_model_keys(endpoint: Any) -> Any:
    """Keys the platform accepts under another name than the SDK model's: a websocket's
    `content-type` (contentType), and onAnswer's legacy `ringback` (ringbackTone)."""
    if not isinstance(endpoint, dict):
        return endpoint
    endpoint = {**endpoint}
    if "content-type" in endpoint:
        endpoint["contentType"] = endpoint.pop("content-type")
    on_answer = endpoint.get("onAnswer")
    if isinstance(on_answer, dict) and "ringback" in on_answer:
        endpoint["onAnswer"] = {**on_answer}
        endpoint["onAnswer"].setdefault("ringbackTone", endpoint["onAnswer"].pop("ringback"))
    return endpoint


def _url_array_problems(value: Any, where: str) -> list[tuple[str, str]]:
    hint = 'an array with one URL, like ["https://example.com/webhooks/event"]'
    if not isinstance(value, list) or len(value) != 1:
        return [(where, f"must be {hint}")]
    url = value[0]
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return [(where, f"must be {hint}")]
    return []


def _endpoint_models(data: dict) -> set[str] | None:
    """The endpoint models a connect's endpoints name by their `type` ("phone" →
    PhoneEndpoint), so errors are about the endpoint meant, not every kind it is not."""
    endpoints = data.get("endpoint")
    if not isinstance(endpoints, list):
        return None
    kinds = {e.get("type") for e in endpoints if isinstance(e, dict)}
    names = {"phone": "PhoneEndpoint", "app": "AppEndpoint", "websocket": "WebsocketEndpoint",
             "sip": "SipEndpoint", "vbc": "VbcEndpoint"}
    return {names[kind] for kind in kinds if kind in names} or None


def pydantic_problems(error: ValidationError, where: str = "",
                      union_members: set[str] | None = None) -> list[tuple[str, str]]:
    """A pydantic error as (field path, reason) pairs, in the words of the JSON sent.

    With `union_members`, errors about other members of a union are left out.
    """
    problems = []
    for item in error.errors():
        tags = {part for part in item["loc"] if _is_union_tag(part)}
        if union_members and tags and not tags & union_members:
            continue
        path = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}"
            for part in item["loc"]
            if not _is_union_tag(part)
        )
        path = path.replace(".from_", ".from")
        message = item["msg"].removeprefix("Value error, ")
        problems.append(((where + path).lstrip("."), message))
    return _dedupe(problems)


def _is_union_tag(part: Any) -> bool:
    """Pydantic names union members in error paths (`PhoneEndpoint`); people do not."""
    return isinstance(part, str) and part[:1].isupper()


def _dedupe(items: list) -> list:
    return list(dict.fromkeys(items))


def _kind(value: Any) -> str:
    return {dict: "an object", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )
