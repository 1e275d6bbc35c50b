"""The sandbox's HTTPS proxy: unmodified Vonage apps reach the sandbox with environment
variables alone.

The SDKs have no setting for the API's address outside code, but they do honour
`HTTPS_PROXY` (Python's through requests; Node's with `NODE_USE_ENV_PROXY=1`). A client
sent here asks `CONNECT api.nexmo.com:443` for a tunnel, as it would through any proxy.
This proxy ends the tunnel itself: it answers the TLS handshake with the sandbox's
certificate for that host (issued by the sandbox's own CA, which the client trusts only
through `REQUESTS_CA_BUNDLE` or `NODE_EXTRA_CA_CERTS`), then hands the connection to the
sandbox's own HTTP server, as if the client had dialled the sandbox's port.

Only the Vonage API hosts are served. A `CONNECT` to anything else gets a 403 that says
why; nothing is ever forwarded to the internet.
"""

from __future__ import annotations

import logging
import re
import socket
import socketserver
import ssl
import threading
from typing import Callable

log = logging.getLogger(__name__)

# The address the SDKs use by default, and the one the platform puts in recording URLs
# (as the real platform does: https://api.nexmo.com/v1/files/<id>).
PUBLIC_API_URL = "https://api.nexmo.com"

# api.nexmo.com, api.vonage.com and the regional hosts (api-us-3.vonage.com,
# api-eu-1.nexmo.com, ...); the Application API lives on the same hosts.
VONAGE_API_HOST = re.compile(r"api(-[a-z0-9]+)*\.(nexmo|vonage)\.com", re.IGNORECASE)

# How long a client may take to ask for its tunnel and finish the TLS handshake, and how
# long a tunnel may then stay idle before its request arrives.
HANDSHAKE_SECONDS = 30
IDLE_SECONDS = 60
MAX_HEADER_LINES = 100


def is_vonage_api_host(host: str) -> bool:
    return bool(VONAGE_API_HOST.fullmatch(host))


class ProxyRefusal(Exception):
    """A request the proxy will not serve. `reason` is the status line's phrase, which
    is all most clients show (requests says "Tunnel connection failed: 403 <reason>"),
    so it says why in a few words; `body` says it in full."""

    def __init__(self, status: int, reason: str, body: str):
        super().__init__(body)
        self.status, self.reason, self.body = status, reason, body


class ConnectProxy:
    """A plain-HTTP proxy on `host:port` (0 picks a free port) that accepts CONNECT to
    the Vonage API hosts and hands each tunnel, once TLS is up, to
    `serve_tunnel(tls_socket, client_address)`, which closes it when done."""

    def __init__(self, tls_context: ssl.SSLContext,
                 serve_tunnel: Callable[[ssl.SSLSocket, tuple], None],
                 host: str = "127.0.0.1", port: int = 0):
        try:
            self._server = _ProxyServer((host, port), self)
        except OSError as error:
            raise OSError(
                error.errno,
                f"cannot listen on {host}:{port} for the sandbox's proxy ({error.strerror}): "
                "another program uses it; choose another port, or 0 for any free one",
            ) from error
        self.tls_context = tls_context
        self.serve_tunnel = serve_tunnel
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="sandbox-proxy", daemon=True)

    @property
    def url(self) -> str:
        """What HTTPS_PROXY says. An address, not "localhost": Node tries ::1 first, and
        the proxy listens on IPv4."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "localhost") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "ConnectProxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting. A request in progress still gets its answer, as on the
        sandbox's own port (a stopped platform answers 503); a tunnel that is open but
        idle is closed within IDLE_SECONDS."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()

    def serve_client(self, connection: socket.socket, address: tuple) -> None:
        """Serve one client connection: read its CONNECT, answer, then run the tunnel."""
        connection.settimeout(HANDSHAKE_SECONDS)
        try:
            host = read_connect(connection)
        except ProxyRefusal as refusal:
            log.warning("the proxy refused a request: %s", refusal.body)
            _reply(connection, refusal.status, refusal.reason, refusal.body)
            return
        except OSError:
            return  # the client went away before asking
        _reply(connection, 200, "Connection established")
        try:
            tunnel = self.tls_context.wrap_socket(connection, server_side=True)
        except (ssl.SSLError, OSError) as error:
            log.warning(
                "a client's TLS handshake for %s failed (%s): most often the client does not "
                "trust the sandbox's CA; give it REQUESTS_CA_BUNDLE (Python) or "
                "NODE_EXTRA_CA_CERTS (Node) from the sandbox's env", host, error,
            )
            return
        tunnel.settimeout(IDLE_SECONDS)
        self.serve_tunnel(tunnel, address)


def read_connect(connection: socket.socket) -> str:
    """Read a `CONNECT host:443 HTTP/1.1` request and its headers; return the host, or
    raise ProxyRefusal for anything this proxy does not serve."""
    with connection.makefile("rb", buffering=0) as reader:  # unbuffered: TLS bytes come next
        request_line = reader.readline(4096).decode("latin-1").strip()
        for _ in range(MAX_HEADER_LINES):
            if reader.readline(8192) in (b"\r\n", b"\n", b""):
                break
        else:
            raise ProxyRefusal(431, "Request Header Fields Too Large", "Too many header lines.")
    method, _, rest = request_line.partition(" ")
    target = rest.partition(" ")[0]
    if method != "CONNECT":
        raise ProxyRefusal(
            405, "Voice API sandbox: an HTTPS proxy only",
            "This is the Voice API sandbox's HTTPS proxy: it only opens CONNECT tunnels to the "
            "Vonage API hosts. Set it as HTTPS_PROXY, not HTTP_PROXY.",
        )
    host, _, port = target.rpartition(":")
    if not is_vonage_api_host(host) or port != "443":
        raise ProxyRefusal(
            403, "Not a Vonage API host: the Voice API sandbox serves only those (see NO_PROXY)",
            f"The Voice API sandbox serves only the Vonage API hosts (api.nexmo.com, "
            f"api.vonage.com and the regional api-*.nexmo.com and api-*.vonage.com) on port "
            f"443, so it refused {target or request_line!r}; it never forwards anything to the "
            "internet. If your program needs that host directly, add it to NO_PROXY.",
        )
    return host.lower()


def _reply(connection: socket.socket, status: int, reason: str, body: str = "") -> None:
    head = f"HTTP/1.1 {status} {reason}\r\n"
    if status != 200:
        data = (body + "\n").encode()
        head += f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(data)}\r\nConnection: close\r\n"
    else:
        data = b""
    try:
        connection.sendall(head.encode("latin-1") + b"\r\n" + data)
    except OSError:
        pass


class _ProxyServer(socketserver.ThreadingTCPServer):
    """One thread per client connection, as the sandbox's own HTTP server does."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple, proxy: ConnectProxy):
        self.proxy = proxy
        super().__init__(address, _ProxyHandler)


class _ProxyHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.proxy.serve_client(self.request, self.client_address)
