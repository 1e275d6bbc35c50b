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
from .api import create_app
from .application import SandboxApplication
from .backend import SandboxBackend
from .clock import make_clock
from .engine import Platform
from .ids import IdFactory
from .phone_handle import PhoneHandle
from .phones import MAGIC_NUMBERS
from .proxy import PUBLIC_API_URL, ConnectProxy
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
        self.backend = SandboxBackend(self.platform, self.application)
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
    # What the platform does lives in the backend (backend.py), which the HTTP API uses too.
    def phone(self, number: str) -> PhoneHandle:
        """The virtual phone for `number`, to drive from here (a magic number, or any other)."""
        return PhoneHandle(self.backend, number)

    def call(self, call_uuid: str) -> dict:
        """The call object for one leg (as GET /v1/calls/{uuid} returns it)."""
        return self.backend.get_call(call_uuid)

    def transcript(self, call_uuid: str) -> list[dict]:
        """Who said, played or pressed what on a leg, and when."""
        return self.backend.transcript(call_uuid)

    def call_audio(self, call_uuid: str) -> bytes:
        """A WAV of one leg, so far: its party's words and keys, and everything it heard."""
        return self.backend.call_audio(call_uuid)

    def wait_until(self, condition, timeout: float = 60):
        """Wait until `condition()` is true and return its value; TimeoutError after
        `timeout` seconds of call time (pass more for longer calls).

        With a virtual clock this is what makes time pass: the platform runs ahead, timer
        by timer, and stops at the moment the condition holds. The condition is checked
        on the platform's thread, so keep it quick (reading a call, a transcript or your
        own records is fine; waiting is not). Never wait inside a webhook handler: on a
        virtual clock the call's time stands still until your handler has answered.
        """
        return self.backend.wait_until(condition, timeout)

    def wait_for_call(self, call_uuid: str, status: str = "completed", timeout: float = 60) -> dict:
        """Wait until the leg has reported `status` to the application (its webhook was
        answered; for `completed`, every webhook of the leg was, recordings included);
        return the call object. TimeoutError after `timeout` s of call time."""
        return self.backend.wait_for_call(call_uuid, status, timeout)

    def sleep(self, seconds: float) -> None:
        """Let `seconds` of call time pass (a virtual clock gets there at once)."""
        self.backend.sleep(seconds)

    def webhooks(self, leg: str | None = None) -> list[dict]:
        """Every request the platform has sent to the application, oldest first."""
        return self.backend.webhooks(leg)
