"""The sandbox as one object: start it, get an SDK client, drive phones, stop it.

    sandbox = Sandbox(clock="virtual").start()
    client = sandbox.client()          # an ordinary vonage.Vonage, through the sandbox's proxy
    uuid = sandbox.phone("447700900123").call(sandbox.number)
    sandbox.wait_until(lambda: sandbox.call(uuid)["status"] == "completed")
    sandbox.stop()

Notebooks (through `workshop_helpers.start()`), tests and `python -m
workshop_helpers.sandbox` all run the sandbox through this class.
"""

from __future__ import annotations

import logging
from pathlib import Path

from vonage import Auth, HttpClientOptions, Vonage

from .. import config
from ..locks import locked
from ..serving import BackgroundServer
from . import media
from .api import create_app
from .application import SandboxApplication
from .clock import check_seconds, make_clock
from .engine import Platform, SandboxError, check_status
from .ids import IdFactory
from .phones import MAGIC_NUMBERS, Behaviour, PhoneError, check_digits
from .proxy import PUBLIC_API_URL, ConnectProxy
from .speech import PHONE_VOICE
from .tls import LocalCA

log = logging.getLogger(__name__)


# A virtual phone that answers and listens: what VOICE_TO_NUMBER names in env().
ANSWERING_PHONE = "447700900000"


class Sandbox:
    """A local Voice API platform with virtual phones, served over HTTPS on its own port
    (`port`) and, for clients that know only the real hostnames, through its HTTPS proxy
    (`proxy_port`; see proxy.py and env()). Port 0 picks a free one.

    `clock` is "real" (the default: calls take as long as they would, `speed` times
    faster) or "virtual" (time moves only when you wait for the platform, and jumps
    ahead then: exact and fast, for tests; see clock.py).
    """

    def __init__(self, state_dir: str | Path | None = None, host: str = "127.0.0.1",
                 port: int = 0, speed: float = 1.0, seed: int | None = None,
                 clock: str = "real", proxy_port: int = 0):
        self.state_dir = Path(state_dir) if state_dir else config.sandbox_dir()
        self.host = host
        self.requested_port = port
        self.requested_proxy_port = proxy_port
        self.clock = make_clock(clock, speed)
        self.ids = IdFactory(seed)
        self.server: BackgroundServer | None = None
        self.proxy: ConnectProxy | None = None

    # -- life ------------------------------------------------------------------------
    def start(self) -> "Sandbox":
        if self.server is not None:
            return self
        # One at a time: two kernels starting at once would each make a key, and one would
        # sign with a key the other had replaced.
        with locked(self.state_dir / "keys.lock"):
            self.application = SandboxApplication(self.state_dir, self.ids)
            self.tls = LocalCA(self.state_dir)
        self.platform = Platform(
            self.application, self.clock, self.ids, self.state_dir / "files", PUBLIC_API_URL
        )
        self.platform.start()
        server = None
        try:
            server = BackgroundServer(
                create_app(self), self.host, self.requested_port,
                ssl_context=self.tls.server_context(), name="sandbox-api",
            )
            # Tunnels through the proxy are served by the same server, as if on its port.
            self.proxy = ConnectProxy(
                self.tls.server_context(), server.serve_connection, self.host, self.requested_proxy_port
            ).start()
        except OSError:
            if server is not None:
                server.stop()  # free its port now: a notebook's traceback would keep it
            self.platform.stop()
            raise
        self.server = server.start()
        return self

    def stop(self) -> None:
        """Stop the platform and free the port. Calls still up end at once, with no
        further webhooks (as if the platform itself went away)."""
        if self.server is None:
            return
        self.proxy.stop()
        self.server.stop()
        self.platform.stop()
        self.server = self.proxy = None

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- addresses and credentials -----------------------------------------------------
    @property
    def base_url(self) -> str:
        return self.server.url

    @property
    def api_host(self) -> str:
        """What the SDK calls `api_host`: host and port, no scheme."""
        return self.base_url.removeprefix("https://")

    @property
    def proxy_url(self) -> str:
        """The sandbox's HTTPS proxy, for HTTPS_PROXY: it serves the Vonage API hosts."""
        return self.proxy.url

    @property
    def number(self) -> str:
        return self.application.number

    def env(self) -> dict[str, str]:
        """The environment that sends an unmodified Vonage app here: the proxy, trust in
        the sandbox's CA for that process only, and the settings the official code
        snippets read (developer.vonage.com/en/voice/voice-api/code-snippets)."""
        app = self.application
        proxy = {
            "HTTPS_PROXY": self.proxy_url,
            # Your webhook server and the sandbox's own port are never proxied.
            "NO_PROXY": "localhost,127.0.0.1,::1",
        }
        return {
            **proxy,
            # Some clients read the lower-case names first: set both, so a proxy already
            # set in your shell cannot win for one of them.
            **{name.lower(): value for name, value in proxy.items()},
            "REQUESTS_CA_BUNDLE": str(self.tls.bundle_path),  # ours plus the public roots
            "NODE_EXTRA_CA_CERTS": str(self.tls.ca_path),  # Node adds it to its own roots
            "NODE_USE_ENV_PROXY": "1",  # Node's fetch honours HTTPS_PROXY only with this
            "VONAGE_APPLICATION_ID": app.id,
            "VONAGE_PRIVATE_KEY": str(app.private_key_path),
            "VONAGE_API_KEY": app.api_key,
            "VONAGE_API_SECRET": app.api_secret,
            "VONAGE_SIGNATURE_SECRET": app.signature_secret,
            "VONAGE_VIRTUAL_NUMBER": app.number,
            "VOICE_TO_NUMBER": ANSWERING_PHONE,
        }

    def info(self) -> dict:
        """Everything a client needs, as printed on the standalone sandbox's first line."""
        app = self.application
        return {
            "host": self.api_host,
            "base_url": self.base_url,
            "proxy_url": self.proxy_url,
            "application_id": app.id,
            "private_key_path": str(app.private_key_path),
            "api_key": app.api_key,
            "api_secret": app.api_secret,
            "signature_secret": app.signature_secret,
            "ca_cert_path": str(self.tls.ca_path),
            "ca_bundle_path": str(self.tls.bundle_path),
            "number": app.number,
            "speed": self.clock.speed,
            "clock": self.clock.kind,
            "phones": {number: b.description for number, b in MAGIC_NUMBERS.items()},
            "env": self.env(),
        }

    def client(self) -> Vonage:
        """A `vonage.Vonage` client for this sandbox, built as live mode builds one: it
        talks to api.nexmo.com, so recording URLs download with the SDK's own
        `client.voice.download_recording`. Only its session differs: it goes through
        the sandbox's proxy and trusts the sandbox's CA."""
        app = self.application
        client = Vonage(
            Auth(
                application_id=app.id,
                private_key=app.private_key_path.read_text(),
                api_key=app.api_key,
                api_secret=app.api_secret,
                signature_secret=app.signature_secret,
            ),
            HttpClientOptions(timeout=30),
        )
        # The SDK builds its requests.Session internally. Set the proxy and the CA on that
        # session only, so no other HTTPS in the process is affected; and ignore the
        # environment (proxies, REQUESTS_CA_BUNDLE), which requests would otherwise let win.
        session = client.http_client._session
        session.proxies = {"https": self.proxy_url}
        session.verify = str(self.tls.ca_path)
        session.trust_env = False
        return client

    # -- phones and calls --------------------------------------------------------------
    def phone(self, number: str) -> "PhoneHandle":
        return PhoneHandle(self, number)

    def call(self, call_uuid: str) -> dict:
        """The call object for one leg (as GET /v1/calls/{uuid} returns it)."""
        return self.platform.run(lambda: self.platform.leg(call_uuid).info())

    def transcript(self, call_uuid: str) -> list[dict]:
        """Who said, played or pressed what on a leg, and when."""
        return self.platform.run(lambda: list(self.platform.leg(call_uuid).transcript))

    def call_audio(self, call_uuid: str) -> bytes:
        """A WAV of one leg, so far: its party's words and keys, and everything it heard."""
        def snapshot():
            leg = self.platform.leg(call_uuid)
            return list(leg.transcript), leg.began, leg.ended_elapsed or leg.clock.elapsed()
        transcript, start, end = self.platform.run(snapshot)
        audio = media.render(transcript, self.platform.audio, start, end)
        return media.wav_bytes(audio)

    def wait_until(self, condition, timeout: float = 60):
        """Wait until `condition()` is true and return its value; TimeoutError after
        `timeout` seconds of call time (pass more for longer calls).

        With a virtual clock this is what makes time pass: the platform runs ahead, timer
        by timer, and stops at the moment the condition holds. The condition is checked
        on the platform's thread, so keep it quick (reading a call, a transcript or your
        own records is fine; waiting is not). Never wait inside a webhook handler: on a
        virtual clock the call's time stands still until your handler has answered.
        """
        seconds = check_seconds(timeout, "timeout")
        value = self._run_clock(lambda clock: clock.until(condition, seconds), seconds)
        if not value:
            raise TimeoutError(f"the condition did not hold within {timeout} s of call time "
                               "(pass a longer timeout for a longer call)")
        return value

    def wait_for_call(self, call_uuid: str, status: str = "completed", timeout: float = 60) -> dict:
        """Wait until the leg has reported `status` to the application (its webhook was
        answered; for `completed`, every webhook of the leg was, recordings included);
        return the call object. TimeoutError after `timeout` s of call time."""
        check_status(status)
        platform = self.platform
        if not platform.run(lambda: call_uuid in platform.legs):
            raise SandboxError(f"this sandbox has no call {call_uuid}")

        def reported():
            if status == "completed":
                return platform.leg_done(call_uuid)
            return any(
                d.webhook.leg == call_uuid and d.webhook.payload.get("status") == status
                and (d.status_code is not None or d.error is not None)
                for d in platform.webhooks.history
            )

        self.wait_until(reported, timeout)
        return self.call(call_uuid)

    def sleep(self, seconds: float) -> None:
        """Let `seconds` of call time pass (a virtual clock gets there at once)."""
        seconds = check_seconds(seconds)
        self._run_clock(lambda clock: clock.until(lambda: False, seconds), seconds)

    def _run_clock(self, wait, seconds: float):
        """Run `wait(clock)` on the platform. It may take `seconds` of call time at the
        clock's speed, and on a virtual clock as long again as your server takes to answer
        the webhooks meanwhile (time stands still then): an hour more at the most."""
        clock = self.clock
        return self.platform.run(lambda: wait(clock), timeout=clock.real_seconds(seconds) + 3600)

    def webhooks(self, leg: str | None = None) -> list[dict]:
        """Every request the platform has sent to the application, oldest first."""
        def snapshot():
            history = self.platform.webhooks.history
            return [d.as_dict() for d in history if leg is None or d.webhook.leg == leg]
        return self.platform.run(snapshot)


class PhoneHandle:
    """A virtual phone you can drive from any thread (a notebook cell, a test)."""

    def __init__(self, sandbox: Sandbox, number: str):
        self._sandbox = sandbox
        self._platform = sandbox.platform
        self._phone = self._platform.run(lambda: self._platform.phones.get(number))
        self.number = self._phone.number

    def __repr__(self) -> str:
        return f"<virtual phone {self.number}: {self._phone.behaviour.description or self._phone.behaviour.on_ring}>"

    def describe(self) -> dict:
        return self._platform.run(self._phone.describe)

    def script(self, on_ring: str = "answer", answer_after: float = 1.0,
               script: list | None = None, answered_by: str = "human") -> "PhoneHandle":
        """Set what this phone does when it rings and once it has answered
        (`answered_by="machine"` makes it a voicemail box: a greeting, then a beep)."""
        behaviour = Behaviour.from_dict({
            "on_ring": on_ring, "answer_after": answer_after, "script": script or [],
            "answered_by": answered_by,
        })
        self._platform.run(lambda: self._platform.phones.script(self.number, behaviour))
        return self

    def call(self, to: str | None = None) -> str:
        """Call the application's number (an inbound call); return the new leg's uuid."""
        to = to or self._sandbox.number
        return self._platform.run(lambda: self._platform.receive_call(self._phone, to).uuid)

    def answer(self) -> None:
        self._platform.run(lambda: self._phone.decide("answer"))

    def reject(self) -> None:
        self._platform.run(lambda: self._phone.decide("reject"))

    def hangup(self) -> None:
        self._platform.run(lambda: self._on_call().hang_up(by="user"))

    def press(self, digits: str) -> None:
        """Press keys on the current call (each takes a fifth of a second)."""
        check_digits(digits)
        self._act(lambda leg: self._phone.press(leg, digits), len(digits) * 0.2)

    def say(self, phrase: str) -> None:
        """Say a phrase on the current call (0.4 s a word); returns when it is said."""
        seconds = self._platform.speech.seconds(str(phrase), PHONE_VOICE)
        self._act(lambda leg: self._phone.say(leg, phrase), seconds)

    def _act(self, action, seconds: float) -> None:
        """Run an action as part of the call, so that it stops when the call ends; return
        once it is done (a virtual clock moves on while it waits)."""
        clock = self._sandbox.clock

        async def act():
            leg = self._on_call()
            task = leg.start_child(action(leg))
            await clock.until(task.done, seconds + 30)
            if not task.done():
                task.cancel()
                raise PhoneError(f"{self.number} did not finish in {seconds + 30:.0f} s of call time")
            if not task.cancelled() and task.exception():
                raise task.exception()
        self._platform.run(act, timeout=clock.real_seconds(seconds + 30) + 30)

    @property
    def calls(self) -> list[str]:
        return self._platform.run(lambda: [leg.uuid for leg in self._phone.legs])

    def heard(self, call_uuid: str | None = None) -> list[dict]:
        """What this phone heard on a call (the latest by default): the platform's
        prompts and music, and what the other parties in the conversation said."""
        return [e for e in self.transcript(call_uuid) if e["who"] != "phone"]

    def transcript(self, call_uuid: str | None = None) -> list[dict]:
        """Everything on a call (the latest by default) from this phone's side."""
        def entries():
            legs = self._phone.legs
            leg = self._platform.leg(call_uuid) if call_uuid else (legs[-1] if legs else None)
            return list(leg.transcript) if leg else []
        return self._platform.run(entries)

    def audio(self, call_uuid: str | None = None) -> bytes:
        """A WAV of the call (the latest by default) as this phone heard it; play it in a
        notebook with `IPython.display.Audio(phone.audio())`."""
        legs = self.calls
        if not legs and call_uuid is None:
            raise PhoneError(f"{self.number} has not been on a call yet")
        return self._sandbox.call_audio(call_uuid or legs[-1])

    def _on_call(self):
        leg = self._phone.active_leg
        if leg is None or leg.status != "answered":
            raise PhoneError(f"{self.number} is not on an answered call")
        return leg
