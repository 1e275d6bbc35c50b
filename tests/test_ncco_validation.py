"""Unit tests of `workshop_helpers.ncco`: what a valid NCCO is, and how a bad one is named.

The rules are the NCCO reference's (https://developer.vonage.com/en/voice/voice-api/ncco-reference):
an NCCO is a non-empty JSON array of action objects; NCCO keys are camelCase;
every URL field is an array holding exactly one URL; `connect` takes one endpoint;
asynchronous `input` takes type ["dtmf"] and no DTMF settings; and the platform tolerates
string-encoded scalars ("5", "true").
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from vonage_voice import (
    AppEndpoint,
    Connect,
    Conversation,
    Dtmf,
    Input,
    Notify,
    PhoneEndpoint,
    Record,
    Stream,
    Talk,
    Wait,
    WebsocketEndpoint,
)
from vonage_voice.models.ncco import NccoAction

from workshop_helpers.ncco import ACTION_MODELS, NccoError, as_python, parse_ncco, validate_ncco

EVENT = "https://example.com/webhooks/event"


# -- valid NCCOs round-trip ----------------------------------------------------------------
#: (NCCO sent, what validate_ncco must return): one case (or more) per action type.
ROUND_TRIPS = {
    "talk": (
        [{"action": "talk", "text": "Hello", "bargeIn": False, "loop": 2, "level": 0.5,
          "language": "en-GB", "style": 1, "premium": True}],
        [{"action": "talk", "text": "Hello", "bargeIn": False, "loop": 2, "level": 0.5,
          "language": "en-GB", "style": 1, "premium": True}],
    ),
    "record": (
        [{"action": "record", "format": "wav", "endOnSilence": 3, "endOnKey": "#",
          "timeOut": 60, "beepStart": True, "eventUrl": [EVENT], "eventMethod": "POST"}],
        [{"action": "record", "format": "wav", "endOnSilence": 3, "endOnKey": "#",
          "timeOut": 60, "beepStart": True, "eventUrl": [EVENT], "eventMethod": "POST"}],
    ),
    "record-channels": (  # channels needs split: the SDK model sets it, as the platform wants
        [{"action": "record", "channels": 2}],
        [{"action": "record", "split": "conversation", "channels": 2}],
    ),
    "conversation": (
        [{"action": "conversation", "name": "room-1", "musicOnHoldUrl": ["https://example.com/hold.mp3"],
          "startOnEnter": False, "endOnExit": True, "record": True, "canHear": ["leg-1"],
          "eventUrl": [EVENT], "eventMethod": "GET"}],
        [{"action": "conversation", "name": "room-1", "musicOnHoldUrl": ["https://example.com/hold.mp3"],
          "startOnEnter": False, "endOnExit": True, "record": True, "canHear": ["leg-1"],
          "eventUrl": [EVENT], "eventMethod": "GET"}],
    ),
    "connect-phone": (
        [{"action": "connect", "from": "447700900100", "timeout": 30, "limit": 600,
          "eventType": "synchronous", "eventUrl": [EVENT],
          "endpoint": [{"type": "phone", "number": "447700900000", "dtmfAnswer": "1p2"}]}],
        [{"action": "connect",
          "endpoint": [{"number": "447700900000", "dtmfAnswer": "1p2", "type": "phone"}],
          "from": "447700900100", "eventType": "synchronous", "timeout": 30, "limit": 600,
          "eventUrl": [EVENT]}],
    ),
    "connect-app": (
        [{"action": "connect", "randomFromNumber": True, "endpoint": [{"type": "app", "user": "alice"}]}],
        [{"action": "connect", "endpoint": [{"user": "alice", "type": "app"}], "randomFromNumber": True}],
    ),
    "connect-sip": (
        [{"action": "connect", "from": "447700900100",
          "endpoint": [{"type": "sip", "uri": "sip:alice@example.com"}]}],
        [{"action": "connect", "endpoint": [{"uri": "sip:alice@example.com", "type": "sip"}],
          "from": "447700900100"}],
    ),
    "connect-vbc": (
        [{"action": "connect", "from": "447700900100", "endpoint": [{"type": "vbc", "extension": "123"}]}],
        [{"action": "connect", "endpoint": [{"extension": "123", "type": "vbc"}], "from": "447700900100"}],
    ),
    "stream": (
        [{"action": "stream", "streamUrl": ["https://example.com/music.mp3"], "level": -0.5,
          "bargeIn": True, "loop": 0}],
        [{"action": "stream", "streamUrl": ["https://example.com/music.mp3"], "level": -0.5,
          "bargeIn": True, "loop": 0}],
    ),
    "input-dtmf": (
        [{"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 4, "timeOut": 5, "submitOnHash": True},
          "eventUrl": [EVENT]}],
        [{"action": "input", "type": ["dtmf"], "dtmf": {"timeOut": 5, "maxDigits": 4, "submitOnHash": True},
          "eventUrl": [EVENT]}],
    ),
    "input-speech": (
        [{"action": "input", "type": ["dtmf", "speech"],
          "speech": {"endOnSilence": 1.5, "language": "en-GB", "context": ["yes", "no"], "maxDuration": 30}}],
        [{"action": "input", "type": ["dtmf", "speech"],
          "speech": {"endOnSilence": 1.5, "language": "en-GB", "context": ["yes", "no"],
                     "maxDuration": 30, "saveAudio": False}}],
    ),
    "input-async": (
        [{"action": "input", "type": ["dtmf"], "mode": "asynchronous", "eventUrl": [EVENT]}],
        [{"action": "input", "type": ["dtmf"], "eventUrl": [EVENT], "mode": "asynchronous"}],
    ),
    "notify": (
        [{"action": "notify", "payload": {"step": 2, "nested": {"a": [1, 2]}}, "eventUrl": [EVENT],
          "eventMethod": "POST"}],
        [{"action": "notify", "payload": {"step": 2, "nested": {"a": [1, 2]}}, "eventUrl": [EVENT],
          "eventMethod": "POST"}],
    ),
    "wait": ([{"action": "wait", "timeout": 2.5}], [{"action": "wait", "timeout": 2.5}]),
    "wait-default": ([{"action": "wait"}], [{"action": "wait", "timeout": 10.0}]),
    "wait-clamped": (  # values outside 0.1-7200 are clamped, not refused (reference 2.9)
        [{"action": "wait", "timeout": 0.01}, {"action": "wait", "timeout": 9000}],
        [{"action": "wait", "timeout": 0.1}, {"action": "wait", "timeout": 7200.0}],
    ),
    "transfer": (
        [{"action": "transfer", "conversationId": "CON-1234", "canSpeak": [], "canHear": ["leg-1"]}],
        [{"action": "transfer", "conversationId": "CON-1234", "canHear": ["leg-1"], "canSpeak": []}],
    ),
}


def test_every_action_type_has_a_round_trip_case():
    covered = {sent[0]["action"] for sent, _ in ROUND_TRIPS.values()}
    assert covered == set(ACTION_MODELS)


@pytest.mark.parametrize("sent, expected", list(ROUND_TRIPS.values()), ids=list(ROUND_TRIPS))
def test_valid_ncco_round_trips_as_camel_case_dicts_with_action_first(sent, expected):
    result = validate_ncco(sent)
    assert result == expected
    for action in result:
        assert next(iter(action)) == "action"
        assert all(value is not None for value in action.values())
    # What validate_ncco returns is itself a valid NCCO that validates to the same thing.
    assert validate_ncco(result) == result
    # And it is what goes on the wire: plain JSON.
    assert json.loads(json.dumps(result)) == result


@pytest.mark.parametrize("sent, expected", list(ROUND_TRIPS.values()), ids=list(ROUND_TRIPS))
def test_parse_ncco_returns_one_sdk_model_per_action(sent, expected):
    actions = parse_ncco(sent)
    assert len(actions) == len(sent)
    for action, data in zip(actions, sent):
        assert isinstance(action, ACTION_MODELS[data["action"]])


def test_string_encoded_scalars_are_coerced_like_the_platform_does():
    ncco = [
        {"action": "talk", "text": "Hi", "bargeIn": "true", "loop": "2", "level": "0.5", "premium": "false"},
        {"action": "input", "type": ["dtmf"],
         "dtmf": {"maxDigits": "5", "timeOut": "3", "submitOnHash": "true"}},
        {"action": "record", "endOnSilence": "3", "beepStart": "true", "timeOut": "60"},
        {"action": "conversation", "name": "room", "startOnEnter": "false", "record": "true"},
        {"action": "connect", "randomFromNumber": "true", "timeout": "45",
         "endpoint": [{"type": "phone", "number": "447700900000"}]},
        {"action": "wait", "timeout": "0.5"},
    ]
    talk, input_, record, conversation, connect, wait = validate_ncco(ncco)
    assert talk == {"action": "talk", "text": "Hi", "bargeIn": True, "loop": 2, "level": 0.5, "premium": False}
    assert input_["dtmf"] == {"timeOut": 3, "maxDigits": 5, "submitOnHash": True}
    assert (record["endOnSilence"], record["beepStart"], record["timeOut"]) == (3, True, 60)
    assert (conversation["startOnEnter"], conversation["record"]) == (False, True)
    assert (connect["randomFromNumber"], connect["timeout"]) == (True, 45)
    assert wait == {"action": "wait", "timeout": 0.5}


def test_unknown_keys_are_ignored_not_refused():
    assert validate_ncco([{"action": "talk", "text": "Hi", "voiceName": "Kimberly", "future": 1}]) == [
        {"action": "talk", "text": "Hi"}
    ]


def test_action_key_may_come_anywhere_in_the_object_but_comes_first_in_the_output():
    result = validate_ncco([{"text": "Hi", "loop": 3, "action": "talk"}])
    assert list(result[0]) == ["action", "text", "loop"]


def test_a_json_string_or_bytes_is_parsed():
    text = json.dumps([{"action": "talk", "text": "Hi"}, {"action": "wait", "timeout": 1}])
    expected = [{"action": "talk", "text": "Hi"}, {"action": "wait", "timeout": 1.0}]
    assert validate_ncco(text) == expected
    assert validate_ncco(text.encode()) == expected


def test_a_list_of_vonage_voice_models_is_accepted():
    ncco = [
        Talk(text="Press 1", bargeIn=True, level=0.5),
        Input(type=["dtmf"], dtmf=Dtmf(maxDigits=1, timeOut=5), eventUrl=[EVENT]),
        Connect(from_="447700900100", endpoint=[PhoneEndpoint(number="447700900000")]),
        Connect(randomFromNumber=True, endpoint=[AppEndpoint(user="bob")]),
        Record(channels=2, eventUrl=[EVENT]),
        Conversation(name="room", record=True),
        Stream(streamUrl=["https://example.com/a.mp3"]),
        Notify(payload={"a": 1}, eventUrl=[EVENT]),
        Wait(timeout=1),
    ]
    actions = parse_ncco(ncco)
    assert [type(a).__name__ for a in actions] == [
        "Talk", "Input", "Connect", "Connect", "Record", "Conversation", "Stream", "Notify", "Wait",
    ]
    assert all(isinstance(a, NccoAction) for a in actions)
    result = validate_ncco(ncco)
    assert result[0] == {"action": "talk", "text": "Press 1", "bargeIn": True, "level": 0.5}
    assert result[1] == {"action": "input", "type": ["dtmf"], "dtmf": {"timeOut": 5, "maxDigits": 1},
                         "eventUrl": [EVENT]}
    # the SDK's `from_` goes on the wire as `from`
    assert result[2] == {"action": "connect", "endpoint": [{"number": "447700900000", "type": "phone"}],
                         "from": "447700900100"}
    assert result[4] == {"action": "record", "split": "conversation", "channels": 2, "eventUrl": [EVENT]}
    # models and the equivalent dicts validate the same
    assert validate_ncco(result) == result


def test_models_are_held_to_the_platform_rules_too():
    # The SDK model accepts a string where the platform wants a one-URL array.
    with pytest.raises(NccoError) as caught:
        parse_ncco([Talk(text="ok"), Notify(payload={}, eventUrl=[EVENT, EVENT])])
    assert [where for where, _ in caught.value.problems] == ["ncco[1].eventUrl"]


def test_websocket_content_type_survives_validation():
    sent = [{"action": "connect", "from": "447700900100", "endpoint": [
        {"type": "websocket", "uri": "wss://example.com/socket", "content-type": "audio/l16;rate=16000"}]}]
    assert validate_ncco(sent)[0]["endpoint"][0]["content-type"] == "audio/l16;rate=16000"
    model = [Connect(from_="447700900100", endpoint=[
        WebsocketEndpoint(uri="wss://example.com/socket", contentType="audio/l16;rate=16000")])]
    assert validate_ncco(model)[0]["endpoint"][0]["content-type"] == "audio/l16;rate=16000"


def test_transfer_accepts_the_documented_conversation_id_spelling():
    assert validate_ncco([{"action": "transfer", "conversation_id": "CON-1"}]) == [
        {"action": "transfer", "conversationId": "CON-1"}
    ]


# -- invalid NCCOs: NccoError names the field -----------------------------------------------
def problems_of(ncco) -> list[tuple[str, str]]:
    with pytest.raises(NccoError) as caught:
        parse_ncco(ncco)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.problems, "an NccoError lists at least one problem"
    for where, reason in error.problems:
        assert isinstance(where, str) and isinstance(reason, str) and reason
        assert reason in str(error) and where in str(error)
    assert str(error).startswith("Invalid NCCO.")
    return error.problems


BAD_NCCOS = {
    "not a list": ({"action": "talk", "text": "Hi"}, "", "JSON array"),
    "a bare string value": ('"talk"', "", "JSON array"),
    "null": (None, "", "JSON array"),
    "empty list": ([], "", "at least one action"),
    "non-object action": ([{"action": "talk", "text": "Hi"}, "talk"], "ncco[1]", "JSON object"),
    "null action": ([None], "ncco[0]", "JSON object"),
    "missing action": ([{"text": "Hi"}], "ncco[0]", "missing `action`"),
    "unknown action": ([{"action": "dance"}], "ncco[0]", "unknown action 'dance'"),
    "talk without text": ([{"action": "talk"}], "ncco[0].text", "required"),
    "record endOnSilence 1": ([{"action": "record", "endOnSilence": 1}], "ncco[0].endOnSilence", "3"),
    "talk level 2": ([{"action": "talk", "text": "Hi", "level": 2}], "ncco[0].level", "1"),
    "talk level not a number": ([{"action": "talk", "text": "Hi", "level": "loud"}], "ncco[0].level", "number"),
    "input maxDigits 21": (
        [{"action": "talk", "text": "Hi"}, {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 21}}],
        "ncco[1].dtmf.maxDigits", "20",
    ),
    "eventUrl as a string": (
        [{"action": "record", "eventUrl": EVENT}], "ncco[0].eventUrl", "array with one URL"),
    "eventUrl with two URLs": (
        [{"action": "input", "type": ["dtmf"], "eventUrl": [EVENT, "https://example.org/e"]}],
        "ncco[0].eventUrl", "array with one URL",
    ),
    "non-http eventUrl": (
        [{"action": "notify", "payload": {}, "eventUrl": ["ftp://example.com/e"]}],
        "ncco[0].eventUrl", "array with one URL",
    ),
    "streamUrl as a string": (
        [{"action": "stream", "streamUrl": "https://example.com/a.mp3"}], "ncco[0].streamUrl", "array"),
    "eventMethod PUT": (
        [{"action": "record", "eventUrl": [EVENT], "eventMethod": "PUT"}], "ncco[0].eventMethod", "GET or POST"),
    "input with empty type list": ([{"action": "input", "type": []}], "ncco[0].type", "dtmf"),
    "async input with dtmf settings": (
        [{"action": "input", "type": ["dtmf"], "mode": "asynchronous", "dtmf": {"maxDigits": 2}}],
        "ncco[0].mode", "asynchronous",
    ),
    "async input with speech": (
        [{"action": "input", "type": ["dtmf", "speech"], "mode": "asynchronous"}],
        "ncco[0].mode", "asynchronous",
    ),
    "connect with two endpoints": (
        [{"action": "connect", "from": "447700900100", "endpoint": [
            {"type": "phone", "number": "447700900000"}, {"type": "phone", "number": "447700900001"}]}],
        "ncco[0].endpoint", "exactly one endpoint",
    ),
    "connect with no endpoint": (
        [{"action": "connect", "from": "447700900100", "endpoint": []}], "ncco[0].endpoint", "exactly one"),
    "invalid JSON string": ('[{"action": "talk", "text": "Hi"', "", "not valid JSON"),
    "invalid UTF-8 bytes": (b"\xff\xfe[", "", "not valid JSON"),
}


@pytest.mark.parametrize("ncco, where, reason", list(BAD_NCCOS.values()), ids=list(BAD_NCCOS))
def test_invalid_ncco_names_the_field(ncco, where, reason):
    problems = problems_of(ncco)
    assert where in [w for w, _ in problems], problems
    assert any(w == where and reason in r for w, r in problems), problems
    if where:
        assert f"{where}: " in str(NccoError(problems))


def test_every_bad_action_is_reported_not_just_the_first():
    problems = problems_of([
        {"action": "talk", "text": "fine"},
        {"action": "talk"},
        {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 21, "timeOut": 11}},
        {"action": "dance"},
    ])
    assert sorted(w for w, _ in problems) == [
        "ncco[1].text", "ncco[2].dtmf.maxDigits", "ncco[2].dtmf.timeOut", "ncco[3]"
    ]


def test_a_field_is_not_reported_twice():
    problems = problems_of([{"action": "record", "eventUrl": "https://example.com/e"}])
    assert [w for w, _ in problems] == ["ncco[0].eventUrl"]


def test_endpoint_problems_name_the_endpoint_field_without_pydantic_union_tags():
    problems = problems_of([{"action": "connect", "from": "447700900100",
                             "endpoint": [{"type": "phone", "number": "12"}]}])
    wheres = [w for w, _ in problems]
    assert any(w.startswith("ncco[0].endpoint[0]") for w in wheres), problems
    assert not any("Endpoint" in w for w in wheres), problems  # no `PhoneEndpoint` in paths


# The SDK's own cross-field checks raise vonage_voice NccoActionError (not a ValueError);
# parse_ncco must still answer with an NccoError naming the action.
SDK_CHECKS = {
    "connect to a phone without from or randomFromNumber": [
        {"action": "connect", "endpoint": [{"type": "phone", "number": "447700900000"}]}],
    "connect with from and randomFromNumber": [
        {"action": "connect", "from": "447700900100", "randomFromNumber": True,
         "endpoint": [{"type": "app", "user": "bob"}]}],
    "conversation mute with canSpeak": [
        {"action": "conversation", "name": "room", "mute": True, "canSpeak": ["leg-1"]}],
}


@pytest.mark.parametrize("ncco", list(SDK_CHECKS.values()), ids=list(SDK_CHECKS))
def test_sdk_cross_field_checks_become_ncco_errors(ncco):
    problems = problems_of(ncco)
    assert [w for w, _ in problems] == ["ncco[0]"]


@pytest.mark.parametrize("value", [["talk"], {"name": "talk"}], ids=["list", "object"])
def test_an_unhashable_action_value_is_an_ncco_error(value):
    problems = problems_of([{"action": value, "text": "Hi"}])
    assert [w for w, _ in problems] == ["ncco[0]"]


# -- property: anything JSON-like is either a valid NCCO or an NccoError --------------------
ACTION_NAMES = sorted(ACTION_MODELS)
FIELD_NAMES = [
    "text", "level", "loop", "bargeIn", "eventUrl", "eventMethod", "type", "dtmf", "speech",
    "mode", "endpoint", "from", "randomFromNumber", "name", "payload", "timeout", "streamUrl",
    "endOnSilence", "maxDigits", "conversationId", "channels", "split", "number", "uri", "user",
]
scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats() | st.text(max_size=12) | st.sampled_from(
    ["true", "5", "0.5", "dtmf", "speech", "asynchronous", "phone", "app", "447700900000",
     EVENT, "GET", "PUT"])
keys = st.sampled_from(FIELD_NAMES) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=20,
)
arbitrary_actions = st.builds(
    lambda name, rest: {**rest, "action": name},
    st.sampled_from(ACTION_NAMES) | json_values,
    st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=5),
)


def _options(names, values=scalars, max_size=3):
    return st.dictionaries(st.sampled_from(names), values, max_size=max_size)


#: Actions close to valid, so the property also exercises NCCOs that are accepted.
plausible_actions = st.one_of(
    st.builds(lambda text, more: {"action": "talk", "text": text, **more},
              st.text(max_size=20), _options(["loop", "level", "bargeIn", "language", "premium"])),
    st.builds(lambda more: {"action": "wait", **more}, _options(["timeout"])),
    st.builds(lambda dtmf, more: {"action": "input", "type": ["dtmf"], "dtmf": dtmf, **more},
              _options(["maxDigits", "timeOut", "submitOnHash"]),
              _options(["eventUrl", "eventMethod", "mode"], st.just([EVENT]) | scalars, 2)),
    st.builds(lambda payload, url: {"action": "notify", "payload": payload, "eventUrl": url},
              st.dictionaries(st.text(max_size=5), json_values, max_size=3), st.just([EVENT]) | json_values),
    st.builds(lambda more: {"action": "record", **more},
              _options(["endOnSilence", "endOnKey", "timeOut", "beepStart", "channels", "format"])),
    st.builds(lambda number, more: {"action": "connect", "from": "447700900100",
                                    "endpoint": [{"type": "phone", "number": number}], **more},
              st.sampled_from(["447700900000", "12", "+447700900000"]) | scalars,
              _options(["timeout", "limit", "eventType"])),
)
actions = plausible_actions | arbitrary_actions
nccos = (
    st.lists(actions, min_size=1, max_size=4)
    | st.lists(actions | json_values, max_size=4)
    | json_values
    | st.lists(actions, min_size=1, max_size=3).map(json.dumps)
    | st.text(max_size=20)
)


@settings(max_examples=200, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(nccos)
@example([{"action": ["talk"]}])  # once raised TypeError (unhashable)
@example([{"action": "connect", "endpoint": [{"type": "app", "user": "bob"}]}])  # once NccoActionError
def test_any_json_value_is_a_valid_ncco_or_an_ncco_error(ncco):
    try:
        actions = parse_ncco(ncco)
    except NccoError as error:
        assert error.problems
        return
    assert isinstance(actions, list) and actions
    assert all(isinstance(action, NccoAction) for action in actions)
    # anything accepted must survive the trip to the wire and back
    assert validate_ncco(json.dumps(validate_ncco(actions))) == validate_ncco(actions)


@pytest.mark.parametrize("endpoint", [
    {"type": "app", "user": "bob"},
    {"type": "websocket", "uri": "wss://example.com/socket", "content-type": "audio/l16;rate=16000"},
    {"type": "sip", "uri": "sip:bob@example.com"},
    {"type": "vbc", "extension": "1234"},
], ids=["app", "websocket", "sip", "vbc"])
def test_connect_needs_no_from_for_endpoints_that_are_not_phones(endpoint):
    """The SDK's model demands `from` for every endpoint; the platform only to dial a phone."""
    (action,) = parse_ncco([{"action": "connect", "endpoint": [endpoint]}])
    assert action.from_ is None


def test_connect_errors_are_about_the_endpoint_type_named():
    """Not "number, user, uri and extension are required" for an app endpoint."""
    problems = problems_of([{"action": "connect", "endpoint": [{"type": "app"}]}])
    assert problems == [("ncco[0].endpoint[0].user", "Field required")]


def test_as_python_builds_the_same_ncco():
    ncco = [
        {"action": "talk", "text": "Hi", "bargeIn": True},
        {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1}, "mode": "synchronous"},
        {"action": "connect", "endpoint": [{"type": "websocket", "uri": "ws://example.com",
                                           "content-type": "audio/l16;rate=8000"}]},
        {"action": "record", "eventUrl": ["https://example.com/r"]},
    ]
    code = as_python(ncco)
    assert code.splitlines()[:2] == [
        "from vonage_voice import Dtmf, Record, Talk, WebsocketEndpoint",
        "from workshop_helpers.ncco import Connect, Input",  # mode, and connect with no from
    ]
    namespace = {}
    exec(code, namespace)
    assert validate_ncco(namespace["ncco"]) == validate_ncco(ncco)
