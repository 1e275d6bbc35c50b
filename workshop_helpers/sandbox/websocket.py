"""The websocket endpoint: a call leg whose party is the application's own WebSocket server.

`connect` (or create call) to `{"type": "websocket", "uri": "ws://...", "content-type":
"audio/l16;rate=16000"}` opens a real WebSocket, as the Voice API does:
- the first message is text, `{"event": "websocket:connected", "content-type": ..., <headers>}`;
- then binary 20 ms frames of 16-bit linear PCM (640 bytes at 16 kHz, 320 at 8 kHz), paced
  by the call's clock, of what this leg hears: the other parties and the platform's prompts;
- keys pressed by the other parties arrive as text, `{"event": "websocket:dtmf", ...}`;
- binary frames the server sends back are audio this party says into the conversation.
If the server closes the socket the leg sends `disconnected` and ends; if the call ends
first the platform closes the socket, with no `disconnected` event (as documented).

The docs: https://developer.vonage.com/en/voice/voice-api/concepts/websockets
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING

import aiohttp
import numpy as np

from . import media
from .application import SandboxApplication
from .auth import sign_webhook
from .phones import Behaviour
from .transcript import TranscriptEntry, by_own_party

if TYPE_CHECKING:
    from .leg_interface import CallLeg

log = logging.getLogger(__name__)

CONNECT_SECONDS = 5  # seconds to open the socket before the leg fails
CHUNK_SECONDS = 1.0  # audio from the server is noted in chunks of up to a second


class WebSocketParty:
    """The application's WebSocket server, as the party on a leg."""

    behaviour = Behaviour("answer", 0.0, [], "the application's WebSocket server")

    def __init__(self, endpoint: dict, http: aiohttp.ClientSession, app: SandboxApplication,
                 audio: media.AudioLibrary):
        """`http` opens the socket, `app` signs its handshake, `audio` holds the sounds
        the leg hears and the ones the server says."""
        self.http, self.app, self.audio = http, app, audio
        self.endpoint = endpoint
        self.uri = endpoint["uri"]
        self.content_type = endpoint.get("content-type", "audio/l16;rate=16000")
        self.rate = int(self.content_type.rsplit("=", 1)[-1])
        self.headers = dict(endpoint.get("headers") or {})
        self.legs: list["CallLeg"] = []
        self.socket: aiohttp.ClientWebSocketResponse | None = None
        self.closed_by_server = False

    @property
    def number(self) -> str:
        return self.uri

    def describe(self) -> dict:
        return {"uri": self.uri, "content-type": self.content_type, "calls": [leg.uuid for leg in self.legs]}

    # -- what the platform asks of the party --------------------------------------------
    async def ring(self, leg: "CallLeg") -> str:
        """Open the socket: "answer" once it is open, "unreachable" if it cannot be."""
        try:
            self.socket = await self._open(leg)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as error:
            leg.note("platform", "error", f"could not open {self.uri}: {error}")
            log.info("websocket %s could not be opened: %s", self.uri, error)
            return "unreachable"
        await self.socket.send_str(json.dumps(
            {"event": "websocket:connected", "content-type": self.content_type, **self.headers}
        ))
        return "answer"

    async def _open(self, leg: "CallLeg") -> aiohttp.ClientWebSocketResponse:
        """Open the socket within CONNECT_SECONDS (TCP connect and WebSocket handshake;
        `ClientWSTimeout` only bounds reads and the closing handshake), else TimeoutError.
        A hangup meanwhile stops the attempt and closes a socket that opened just then."""
        with leg.clock.request(CONNECT_SECONDS):  # the server answers in its own time
            return await self._connect(leg)

    async def _connect(self, leg: "CallLeg") -> aiohttp.ClientWebSocketResponse:
        connecting = asyncio.ensure_future(self.http.ws_connect(
            self.uri,
            headers=self._handshake_headers(),
            timeout=aiohttp.ClientWSTimeout(ws_close=CONNECT_SECONDS),
            heartbeat=None,
            max_msg_size=0,
        ))
        try:
            done, _ = await asyncio.wait({connecting}, timeout=CONNECT_SECONDS)
        except asyncio.CancelledError:
            connecting.cancel()
            await asyncio.wait({connecting})
            if not connecting.cancelled() and connecting.exception() is None:
                await connecting.result().close()
            raise
        if not done:
            connecting.cancel()
            await asyncio.wait({connecting})
            raise asyncio.TimeoutError(f"no WebSocket handshake within {CONNECT_SECONDS} s")
        return connecting.result()

    async def call_ended(self, leg: "CallLeg") -> None:
        """Close the socket if it is still open (the call ended before the audio began)."""
        if self.socket is not None and not self.socket.closed:
            await self.socket.close()

    def _handshake_headers(self) -> dict:
        authorization = self.endpoint.get("authorization") or {}
        if authorization.get("type") == "custom":
            return {"Authorization": str(authorization.get("value", ""))}
        if authorization.get("type") == "vonage":
            return {"Authorization": sign_webhook(b"", self.app)}
        return {}

    async def converse(self, leg: "CallLeg") -> None:
        """Send what the leg hears, take what the server says, until either side ends."""
        if self.socket is None:
            return
        sender = asyncio.ensure_future(self._send_audio(leg))
        try:
            with leg.clock.streaming():  # the server may speak at any moment, in real time
                await self._receive(leg)
        finally:
            sender.cancel()
            await asyncio.wait({sender})
            if not self.socket.closed:
                await self.socket.close()
        if self.closed_by_server and not leg.ended:
            leg.disconnect(headers=self.headers)

    async def _send_audio(self, leg: "CallLeg") -> None:
        """One 20 ms frame of what the leg hears per 20 ms on the call's clock, and a
        dtmf message for each key another party presses."""
        start, sent, seen = leg.clock.elapsed(), 0, len(leg.transcript)
        while True:
            for entry in leg.transcript[seen:]:
                if entry["kind"] == "dtmf" and not by_own_party(entry):
                    await self.socket.send_str(json.dumps(
                        {"event": "websocket:dtmf", "digit": entry["text"], "duration": 200}
                    ))
            seen = len(leg.transcript)
            due = int((leg.clock.elapsed() - start) / media.FRAME_SECONDS)
            entries = [e for e in leg.transcript if _sent_as_audio(e)]
            for frame in range(sent, due):
                begin = start + frame * media.FRAME_SECONDS
                audio = media.render(entries, self.audio, begin, begin + media.FRAME_SECONDS)
                await self.socket.send_bytes(media.to_l16(audio, self.rate))
            sent = max(sent, due)
            await leg.clock.sleep(media.FRAME_SECONDS)

    async def _receive(self, leg: "CallLeg") -> None:
        """Audio from the server is what this party says: noted in chunks of up to a
        second, each carried to the other parties when it is complete or the server
        pauses. Audio sent faster than it plays waits its turn, as in the platform's
        buffer: a chunk starts when it arrived or when the one before it ends."""
        chunk: list = []
        chunk_start = said_until = 0.0
        pause = leg.clock.loop_seconds(0.1)
        while True:
            try:
                message = await self.socket.receive(timeout=pause)
            except asyncio.TimeoutError:
                chunk, said_until = [], self._say(leg, chunk, chunk_start) or said_until
                continue
            if message.type == aiohttp.WSMsgType.BINARY:
                if not chunk:
                    chunk_start = max(leg.clock.elapsed() - media.FRAME_SECONDS, said_until)
                chunk.append(media.from_l16(message.data, self.rate))
                if sum(len(c) for c in chunk) >= CHUNK_SECONDS * media.SAMPLE_RATE:
                    chunk, said_until = [], self._say(leg, chunk, chunk_start)
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                                  aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                self._say(leg, chunk, chunk_start)
                self.closed_by_server = True
                return
            # Text messages from the server are not part of the documented protocol: ignored.

    def _say(self, leg: "CallLeg", chunk: list, start: float) -> float | None:
        """Say `chunk` from `start`; return when it ends (None for an empty chunk)."""
        if not chunk:
            return None
        audio = np.concatenate(chunk)
        seconds = len(audio) / media.SAMPLE_RATE
        key = self.audio.add(f"websocket:{leg.uuid}:{start:.3f}", audio)
        leg.speak("audio", "(audio from the websocket)", seconds, audio=key, at=start)
        return start + seconds


def _sent_as_audio(entry: TranscriptEntry) -> bool:
    """What the server hears as audio: everything but its own sounds, and keys (which go
    as `websocket:dtmf` messages instead)."""
    return not by_own_party(entry) and entry["kind"] != "dtmf"
