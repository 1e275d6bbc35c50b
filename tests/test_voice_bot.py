"""The voice bot (workshop_helpers/voice_bot.py): a call connected to its WebSocket brings
its handlers the `websocket:connected` message, the audio frames at the pace of the call
and a message per key; what the bot sends back is what the caller hears; a handler that
raises is said under the cell that waits; stopping frees the port. Calls run in the
sandbox on a virtual clock (time flows as in real life only while a socket is open)."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest
from conftest import free_port, wait_until
from vonage_voice import Connect, Talk, WebsocketEndpoint

import workshop_helpers as wh
from workshop_helpers.sandbox import media
from workshop_helpers.voice_bot import BotCall, VoiceBot, frames_of, speech_frames

CALLER = "447700901001"
AFTER_THE_BOT = "The bot has hung up."


def connect_calls_to(ws, bot: VoiceBot, content_type: str = "audio/l16;rate=16000") -> None:
    """The answer handler: a greeting, the bot (with the caller's number in a header), then a talk."""
    @ws.answer
    def answer(call):
        endpoint = WebsocketEndpoint(uri=bot.ws_url, contentType=content_type, headers={"caller": call["from"]})
        return [Talk(text="Connecting you."), Connect(endpoint=[endpoint], from_=ws.number),
                Talk(text=AFTER_THE_BOT)]


def bot_leg(ws, bot: VoiceBot) -> str:
    (uuid,) = ws.calls.loc[ws.calls["to"] == bot.ws_url, "uuid"]
    return uuid


def said_by_the_bot(ws, bot: VoiceBot, entries: list[dict]) -> np.ndarray:
    """The samples of what a party heard from the bot, in order."""
    heard = [ws.sandbox.platform.audio.get(e["audio"]) for e in entries if e["who"] == bot.ws_url]
    return np.concatenate(heard) if heard else np.zeros(0, np.float32)


@pytest.mark.parametrize("content_type, frame_bytes", [
    ("audio/l16;rate=16000", 640), ("audio/l16;rate=8000", 320)], ids=["16kHz", "8kHz"])
def test_the_bot_gets_connected_then_a_frame_for_each_20_ms_of_the_call(ws, content_type, frame_bytes):
    bot = VoiceBot(ws)
    connect_calls_to(ws, bot, content_type)
    messages, frames = [], []
    bot.on_connected(lambda call, message: messages.append(message))
    bot.on_audio(lambda call, frame: frames.append(frame))
    caller = ws.phone(CALLER).script(script=[{"wait": 2}, {"say": "hello bot"}, {"hangup": True}])
    ws.wait_for(caller.call(ws.number))
    leg = bot_leg(ws, bot)
    events = ws.wait_for(leg)  # the bot's leg is over: its socket is closed

    assert messages == [{"event": "websocket:connected", "content-type": content_type, "caller": CALLER}]
    assert frames and {len(frame) for frame in frames} == {frame_bytes}
    completed = events.loc[events["status"] == "completed", "payload"].iloc[-1]
    seconds = (pd.Timestamp(completed["end_time"]) - pd.Timestamp(completed["start_time"])).total_seconds()
    assert len(frames) == pytest.approx(50 * seconds, abs=2)  # fifty a second of call time
    (row,) = bot.calls.to_dict("records")
    assert row["seconds"] == round(len(frames) * 0.02, 2) == pytest.approx(seconds, abs=0.04)
    assert row["ended_by"] == "platform" and row["headers"] == {"caller": CALLER}
    # The caller's words are in the frames: loud where she spoke, quiet before.
    loudness = [np.abs(np.frombuffer(frame, "<i2")).max() for frame in frames]
    assert max(loudness) > 1000 and max(loudness[:25]) < 100


def test_a_key_pressed_arrives_as_a_dtmf_message_and_the_caller_hears_the_reply(ws):
    bot = VoiceBot(ws)
    connect_calls_to(ws, bot)
    keys = []

    @bot.on_dtmf
    def key(call, message):
        keys.append(message)
        call.say(f"You pressed {message['digit']}.")
        call.hang_up()

    caller = ws.phone(CALLER).script(script=[{"wait": 2}, {"press": "5"}])
    ws.wait_for(caller.call(ws.number))

    assert keys == [{"event": "websocket:dtmf", "digit": "5", "duration": 200}]
    (row,) = bot.calls.to_dict("records")
    assert (row["digits"], row["said"], row["ended_by"]) == ("5", ["You pressed 5."], "bot")
    # What the caller heard from the bot is that reply, sample for sample, after the key.
    heard = caller.heard()
    expected = media.from_l16(b"".join(speech_frames("You pressed 5.")), 16000)
    assert np.allclose(said_by_the_bot(ws, bot, heard), expected, atol=2 / 32768)
    (pressed,) = [e for e in caller.transcript() if e["kind"] == "dtmf"]
    assert all(e["at"] >= pressed["at"] for e in heard if e["who"] == bot.ws_url)
    # The bot hung up once the reply was out: its leg disconnected, the caller's NCCO went on.
    assert list(ws.call_events(bot_leg(ws, bot))["status"]) == [
        "started", "ringing", "answered", "disconnected", "completed"]
    assert [e["text"] for e in heard if e["kind"] == "talk"][-1] == AFTER_THE_BOT
    assert row["spoke"] == pytest.approx(len(expected) / 16000, abs=0.02)


def test_an_echo_with_a_delay_is_heard_in_full_before_the_bot_hangs_up(ws):
    bot = VoiceBot(ws)
    connect_calls_to(ws, bot)
    bot.on_connected(lambda call, message: call.send(bytes(16000)))  # half a second of silence

    @bot.on_audio
    def echo(call, frame):
        call.send(frame)
        if call.seconds >= 1:
            call.hang_up()

    caller = ws.phone(CALLER).script(script=[{"wait": 2}, {"say": "echo"}])
    ws.wait_for(caller.call(ws.number))

    (row,) = bot.calls.to_dict("records")
    assert (row["seconds"], row["spoke"], row["ended_by"]) == (1.5, 1.5, "bot")  # the queue went out first
    assert len(said_by_the_bot(ws, bot, caller.heard())) == 1.5 * 16000


def test_a_handler_that_raises_is_said_under_the_cell_that_waits_and_the_bot_hangs_up(ws, capsys):
    bot = VoiceBot(ws)
    connect_calls_to(ws, bot)

    @bot.on_dtmf
    def key(call, message):
        digit = message["dtmf"]["digits"]  # the input webhook's shape, not the socket's
        call.say(digit)

    caller = ws.phone(CALLER).script(script=[{"wait": 2}, {"press": "1"}])
    uuid = caller.call(ws.number)
    ws.wait_for(uuid)
    said = capsys.readouterr().out
    assert said.startswith(f"Problems on call {uuid}:\n")
    assert "- your voice bot's on_dtmf handler raised KeyError: 'dtmf'\n    in key, line " in said
    assert ': digit = message["dtmf"]["digits"]  # the input' in said
    assert "so the bot hung up on that call" in said and "aiohttp" not in said
    (row,) = bot.calls.to_dict("records")
    assert row["ended_by"] == "error" and "KeyError" in row["problem"]
    assert [e["text"] for e in caller.heard() if e["kind"] == "talk"][-1] == AFTER_THE_BOT
    assert any("Traceback" in line and "on_dtmf" in line for line in ws.logs)
    ws.wait_for(uuid)  # said once, not under every later cell
    assert capsys.readouterr().out == ""
    assert len(bot.problems) == 1


def test_stop_frees_the_port_and_the_workshop_stops_its_bots(ws):
    bot = VoiceBot(ws)
    port = bot.port
    bot.stop()
    assert not bot.running
    socket.create_server(("127.0.0.1", port)).close()  # free again
    bot.stop()  # stopping twice is fine

    other = VoiceBot(ws)
    wh.stop()
    assert not other.running
    socket.create_server(("127.0.0.1", other.port)).close()
    with pytest.raises(RuntimeError, match="run ws = wh.start"):
        VoiceBot(ws)  # a stopped workshop starts no bot


def test_stopping_the_bot_mid_call_hangs_up_and_the_callers_ncco_goes_on(ws):
    bot = VoiceBot(ws)
    connect_calls_to(ws, bot)
    caller = ws.phone(CALLER)
    uuid = caller.call(ws.number)
    ws.wait_for(uuid, "answered")
    ws.sleep(2)  # the greeting, then the bot answers
    assert bot.calls["ended_by"].tolist() == [None]  # on the call
    bot.stop()
    ws.wait_for(uuid)
    assert bot.calls["ended_by"].tolist() == ["bot"]
    assert [e["text"] for e in caller.heard() if e["kind"] == "talk"][-1] == AFTER_THE_BOT


def test_a_taken_port_says_to_choose_another():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port} .*port=0 for any free one"):
            VoiceBot(port=port)


def test_audio_is_cut_into_frames_at_the_calls_rate():
    assert [len(f) for f in frames_of(bytes(1000), 16000)] == [640, 640]  # the last one padded
    assert frames_of(bytes(1000), 16000)[1] == bytes(640)
    assert {len(f) for f in speech_frames("Hello", rate=8000)} == {320}
    with pytest.raises(TypeError, match=r"to say words, use call.say\(text\)"):
        BotCall().send("hello")


def test_live_mode_refuses_a_bot_the_tunnel_cannot_reach_and_says_what_to_do(sandbox, live_env):
    ws = wh.start(mode="live")
    with pytest.raises(RuntimeError, match="the kit's tunnel reaches only your webhook server") as refused:
        VoiceBot(ws)
    assert "wh.stop(), then ws = wh.start()" in str(refused.value)
    assert 'public_url="wss://' in str(refused.value)
    # An address you made reach the bot yourself is used as it is (here: the bot's own).
    port = free_port()
    bot = VoiceBot(ws, port=port, public_url=f"ws://127.0.0.1:{port}/voice-bot")
    assert bot.ws_url == f"ws://127.0.0.1:{port}/voice-bot"
    connect_calls_to(ws, bot)
    sandbox.phone(CALLER).script(script=[{"wait": 2}, {"hangup": True}]).call(ws.number)
    wait_until(lambda: bot.calls["ended_by"].tolist() == ["platform"])
    assert bot.calls["headers"].tolist() == [{"caller": CALLER}]
    wh.stop()
    assert not bot.running
