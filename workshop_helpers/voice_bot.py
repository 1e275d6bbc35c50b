"""A voice bot: your own WebSocket server, for calls you `connect` to a websocket endpoint.

Your webhook server (Flask) speaks plain HTTP, but a call's audio comes over a WebSocket,
so the bot is a small aiohttp server of its own, in a background thread of the kernel.
For each call leg connected to `bot.ws_url` the platform opens one socket and sends:
- a text message `{"event": "websocket:connected", "content-type": ..., <your headers>}`;
- binary frames: 20 ms of 16-bit PCM each (640 bytes at 16 kHz), fifty a second;
- a text message `{"event": "websocket:dtmf", "digit": ...}` for each key pressed.
Your handlers get each of them. Audio you queue with `call.send` or `call.say` goes back
one frame for each frame that comes in (the platform's frames are the call's clock), and
is what the bot says into the call. `call.hang_up()` closes the socket once the queued
audio is out: the platform sends `disconnected` and the caller's NCCO goes on.

    bot = VoiceBot(ws)

    @bot.on_dtmf
    def key(call, message):
        call.say(f"You pressed {message['digit']}.")

    Connect(endpoint=[WebsocketEndpoint(uri=bot.ws_url, contentType="audio/l16;rate=16000")])

Like your webhook handlers, the bot's run in the background: they must not print. A
handler that raises is written down, the bot hangs up on that call, and the next cell
that waits on a call (`ws.wait_for`) says what went wrong.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import threading
import traceback
from collections import deque
from typing import Callable

import pandas as pd
from aiohttp import WSMsgType, web

from . import problems
from .sandbox import media
from .sandbox.speech import Speech

log = logging.getLogger(__name__)

FRAME_SECONDS = media.FRAME_SECONDS  # the protocol's frame: 20 ms of audio
BOT_VOICE = "en-US"  # the language (espeak-ng voice) of `call.say`
PATH = "/voice-bot"
COLUMNS = ["headers", "seconds", "digits", "said", "spoke", "ended_by", "problem"]

LIVE_MODE = (
    "In live mode Vonage opens the bot's WebSocket from the internet, and the kit's tunnel "
    "reaches only your webhook server, which speaks HTTP, not WebSocket. Run this notebook "
    "in sandbox mode (wh.stop(), then ws = wh.start()), or make the bot reachable yourself: "
    "forward a public wss:// address to a fixed local port (a tunnel of your own, or a "
    "server with a public address) and give both: "
    "VoiceBot(ws, port=8765, public_url=\"wss://your.host/voice-bot\")."
)

_speech = Speech()  # espeak-ng, as the sandbox uses it (same cache: a phrase is made once)


# -- audio as the protocol wants it ---------------------------------------------------------
def frames_of(audio: bytes, rate: int = 16000) -> list[bytes]:
    """16-bit PCM `audio` cut into 20 ms frames at `rate`, the last one padded with silence."""
    size = int(rate * FRAME_SECONDS) * 2
    audio = bytes(audio) + bytes(-len(audio) % size)
    return [audio[start:start + size] for start in range(0, len(audio), size)]


def speech_frames(text: str, language: str = BOT_VOICE, rate: int = 16000) -> list[bytes]:
    """`text` said by espeak-ng (the sandbox's synthesiser; a hum without it), as 20 ms
    frames of 16-bit PCM at `rate`, ready to send down a call's WebSocket."""
    return frames_of(media.to_l16(_speech.say(text, language), rate), rate)


# -- one call ---------------------------------------------------------------------------------
class BotCall:
    """One call the bot is on: one socket, from `websocket:connected` until it closes.

    Your handlers get it as `call`: what came in so far, and what the bot can do.
    """

    def __init__(self):
        self.connected: dict = {}  # the first message: content-type and your headers
        self.frames = 0  # audio frames received: the call's clock, 20 ms each
        self.sent = 0  # audio frames sent back
        self.digits = ""  # keys pressed, in order
        self.said: list[str] = []  # what `say` said, in order
        self.ended_by: str | None = None  # "bot", "platform" or "error" once closed
        self.problem: str | None = None  # what went wrong, if a handler raised
        self._outgoing: deque[bytes] = deque()
        self._hanging_up = False

    @property
    def rate(self) -> int:
        """Samples a second, from the content-type (audio/l16;rate=16000)."""
        content_type = self.connected.get("content-type", "audio/l16;rate=16000")
        return int(content_type.rsplit("=", 1)[-1])

    @property
    def seconds(self) -> float:
        """How long the bot has been on the call, in call time (20 ms a frame received)."""
        return round(self.frames * FRAME_SECONDS, 2)

    @property
    def open(self) -> bool:
        return self.ended_by is None

    def send(self, audio: bytes) -> None:
        """Queue 16-bit PCM audio (a frame you got, say) to say after what is queued."""
        if not isinstance(audio, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"send() takes 16-bit PCM audio as bytes (like a frame on_audio got), not "
                f"{type(audio).__name__}; to say words, use call.say(text)"
            )
        self._outgoing.extend(frames_of(audio, self.rate))

    def say(self, text: str, language: str = BOT_VOICE) -> float:
        """Queue `text`, spoken by espeak-ng; return how many seconds it lasts."""
        frames = speech_frames(str(text), language, self.rate)
        self._outgoing.extend(frames)
        self.said.append(str(text))
        return round(len(frames) * FRAME_SECONDS, 2)

    def clear(self) -> None:
        """Drop the audio queued and not sent yet (the caller interrupted the bot)."""
        self._outgoing.clear()

    def hang_up(self) -> None:
        """Stop listening; close the socket once the queued audio is out."""
        self._hanging_up = True

    def summary(self) -> dict:
        headers = {k: v for k, v in self.connected.items() if k not in ("event", "content-type")}
        return {
            "headers": headers, "seconds": self.seconds, "digits": self.digits,
            "said": list(self.said), "spoke": round(self.sent * FRAME_SECONDS, 2),
            "ended_by": self.ended_by, "problem": self.problem,
        }


# -- the server ---------------------------------------------------------------------------------
class VoiceBot:
    """A WebSocket server for calls: your handlers, on a free loopback port, in the background.

    `ws`: the workshop it belongs to (it stops with it, and says the bot's problems);
    `port`: 0 picks a free one; `public_url`: in live mode, a wss:// address you made
    reach this port (the kit's tunnel cannot: see LIVE_MODE).
    """

    def __init__(self, ws=None, port: int = 0, public_url: str | None = None):
        if ws is not None and ws.mode == "live" and not public_url:
            raise RuntimeError(LIVE_MODE)
        self.public_url = public_url
        self._handlers: dict[str, Callable] = {}
        self._calls: list[BotCall] = []
        self._open: dict[web.WebSocketResponse, BotCall] = {}  # the calls still up
        self._problems: list[str] = []
        self._told = 0  # how many problems take_problems() has handed out
        if ws is not None:
            ws.attach(self)  # first: a stopped workshop refuses before anything starts
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="voice-bot", daemon=True)
        self._thread.start()
        try:
            self.port = self._run(self._start(port))
        except BaseException:
            self._end_loop()
            raise
        log.info("voice bot listening at %s", self.ws_url)

    @property
    def ws_url(self) -> str:
        """The address to give a websocket endpoint (`uri`)."""
        return self.public_url or f"ws://127.0.0.1:{self.port}{PATH}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __repr__(self) -> str:
        state = f"{len(self._calls)} calls" if self.running else "stopped"
        return f"<VoiceBot at {self.ws_url}: {state}>"

    # -- your handlers (decorators) -----------------------------------------------------------
    def on_connected(self, function):
        """`function(call, message)`: a call has connected (the first message)."""
        return self._handler("connected", function)

    def on_audio(self, function):
        """`function(call, frame)`: 20 ms of what the bot hears, as bytes."""
        return self._handler("audio", function)

    def on_dtmf(self, function):
        """`function(call, message)`: a key was pressed; it is `message["digit"]`."""
        return self._handler("dtmf", function)

    def _handler(self, kind: str, function):
        if not callable(function):
            raise TypeError(f"on_{kind} takes a function, like: @bot.on_{kind}")
        self._handlers[kind] = function
        return function

    # -- what happened ----------------------------------------------------------------------
    @property
    def calls(self) -> pd.DataFrame:
        """One row per call the bot was on: your headers, how long (seconds), the keys
        it got, what it said and for how long (spoke), who hung up, what went wrong."""
        return pd.DataFrame([call.summary() for call in list(self._calls)], columns=COLUMNS)

    @property
    def problems(self) -> list[str]:
        """What went wrong in your handlers, in order."""
        return list(self._problems)

    def take_problems(self) -> list[str]:
        """The problems not handed out yet (the workshop prints them under a waiting cell)."""
        new = self._problems[self._told:]
        self._told += len(new)
        return new

    # -- life -------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Hang up every call the bot is on, free its port and end its thread."""
        if not self.running:
            return
        try:
            self._run(self._shutdown())
        finally:
            self._end_loop()
        log.info("voice bot at %s stopped", self.ws_url)

    def _run(self, coroutine, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def _end_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    async def _start(self, port: int) -> int:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._serve)  # any path: yours to choose
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            raise OSError(
                error.errno,
                f"the voice bot cannot listen on 127.0.0.1:{port} ({error.strerror}): another "
                "program uses it; choose another port, or port=0 for any free one",
            ) from error
        return self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        for socket, call in list(self._open.items()):
            call.ended_by = call.ended_by or "bot"
            await socket.close(code=1001, message=b"the bot stopped")
        await self._runner.cleanup()

    # -- a call's socket --------------------------------------------------------------------------
    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        call = BotCall()
        self._calls.append(call)
        self._open[socket] = call
        try:
            async for message in socket:
                if not await self._take(call, socket, message):
                    break
        except Exception:  # the kit's own failure: into the log, never into a cell
            log.exception("the voice bot failed on a call")
        finally:
            self._open.pop(socket, None)
            call.ended_by = call.ended_by or "platform"
        return socket

    async def _take(self, call: BotCall, socket: web.WebSocketResponse, message) -> bool:
        """Handle one message; False once the bot has closed the socket."""
        handled = True
        if message.type == WSMsgType.TEXT:
            handled = await self._take_text(call, message.data)
        elif message.type == WSMsgType.BINARY:
            call.frames += 1
            if not call._hanging_up:
                handled = await self._call_handler("audio", call, message.data)
            if handled and call._outgoing:  # one frame out for each frame in
                await socket.send_bytes(call._outgoing.popleft())
                call.sent += 1
        if not handled:
            await socket.close(code=1011, message=b"a handler failed")
            return False
        if call._hanging_up and not call._outgoing:
            call.ended_by = "bot"
            await socket.close()
            return False
        return True

    async def _take_text(self, call: BotCall, data: str) -> bool:
        try:
            message = json.loads(data)
        except ValueError:
            return True  # not part of the protocol: ignored, as the platform would
        event = message.get("event") if isinstance(message, dict) else None
        if event == "websocket:connected":
            call.connected = message
            return await self._call_handler("connected", call, message)
        if event == "websocket:dtmf":
            call.digits += str(message.get("digit", ""))
            return await self._call_handler("dtmf", call, message)
        return True

    async def _call_handler(self, kind: str, call: BotCall, argument) -> bool:
        """Run your `on_<kind>` handler; False (and the problem written down) if it raised."""
        handler = self._handlers.get(kind)
        if handler is None:
            return True
        try:
            result = handler(call, argument)
            if inspect.isawaitable(result):  # an `async def` handler is fine too
                await result
        except Exception as error:  # your code: write it down, hang up on this call
            log.error("your voice bot's on_%s handler failed:\n%s", kind,
                      "".join(traceback.format_exception(error)))
            call.problem = problems.handler_raised(f"voice bot's on_{kind}", error)
            call.ended_by = "error"
            self._problems.append(f"{call.problem}\n    so the bot hung up on that call")
            return False
        return True
