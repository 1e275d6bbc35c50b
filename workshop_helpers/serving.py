"""Serve a Flask app from a background thread, quietly, and stop it cleanly.

Werkzeug's old shutdown hook is gone, and `app.run()` blocks the notebook; so we build the
server with werkzeug's `ThreadedWSGIServer`, run `serve_forever` in a daemon thread, and
stop it with `shutdown()`. Request logs go to the `workshop_helpers` logger, never to
stderr, because a background thread's output lands in whatever notebook cell runs next.
Debug mode is never on: the Werkzeug debugger is a remote shell.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections import OrderedDict

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

log = logging.getLogger("workshop_helpers.http")

#: How long a connection waits, after its response, for the client to close it first,
#: and the most it reads meanwhile.
LINGER_SECONDS = 5
LINGER_BYTES = 1024 * 1024

#: How long a connection may be silent before it is closed: a client sends its request
#: at once, and a connection that sends nothing only holds a thread and a file.
READ_TIMEOUT = 5

#: How long a connection may stay open at all, however it trickles its bytes in: the read
#: time-out is per read, so a client sending a byte every few seconds would otherwise hold
#: a thread for days (werkzeug itself reads what is left of a refused body, too). Checked
#: as each new connection arrives, which is when the room it takes is needed.
CONNECTION_DEADLINE = 60

#: Connections open at once before the oldest one still waiting for its request is
#: closed to make room, so that idle connections can never lock real requests out.
MAX_CONNECTIONS = 128


class QuietRequestHandler(WSGIRequestHandler):
    """Logs each request at DEBUG to our logger instead of printing it."""

    # Werkzeug writes a response in several small pieces. With Nagle's algorithm on, the
    # last piece waits for the client's delayed ACK (about 40 ms) unless the socket is
    # closed at once, which LingeringServer does not do (it waits for the client to close).
    disable_nagle_algorithm = True
    timeout = READ_TIMEOUT  # socketserver applies it to every read of the connection

    def parse_request(self) -> bool:
        self.server.request_arrived(self.connection)  # no longer a candidate for closing
        return super().parse_request()

    def log(self, type: str, message: str, *args) -> None:  # noqa: A002 (werkzeug's name)
        log.debug("%s %s", self.address_string(), message % args)


class LingeringServer(ThreadedWSGIServer):
    """Werkzeug's threaded server, closing each connection only once its client has, and
    never holding more than MAX_CONNECTIONS that have not sent a request."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._open: dict[socket.socket, float] = {}  # accepted here, and when each must end
        self._waiting: OrderedDict[socket.socket, None] = OrderedDict()  # no request yet, oldest first
        self._connections_lock = threading.Lock()

    def process_request(self, request: socket.socket, client_address) -> None:
        now = time.monotonic()
        with self._connections_lock:
            for late in [connection for connection, deadline in self._open.items() if deadline < now]:
                _hang_up(late)  # open too long: its thread's next read ends, and it closes
            self._open[request] = now + CONNECTION_DEADLINE
            self._waiting[request] = None
            if len(self._open) > MAX_CONNECTIONS and len(self._waiting) > 1:
                oldest = next(iter(self._waiting))
                del self._waiting[oldest]
                _hang_up(oldest)  # its thread's read ends, and it closes as usual
        super().process_request(request, client_address)

    def request_arrived(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._waiting.pop(connection, None)

    def shutdown_request(self, request: socket.socket) -> None:
        # Werkzeug answers every request with "Connection: close" and closes the socket.
        # If it closes first while a client is still reading a long body, the client can
        # fail: Node's fetch crashes on an assertion (nodejs/undici#5360). So wait,
        # briefly, for the client to read everything and close its end.
        try:
            request.settimeout(LINGER_SECONDS)
            drained = 0
            while drained < LINGER_BYTES and (chunk := request.recv(65536)):
                drained += len(chunk)
        except OSError:
            pass  # a reset, a time-out or a TLS alert: the client is gone either way
        with self._connections_lock:
            self._waiting.pop(request, None)
            self._open.pop(request, None)
        super().shutdown_request(request)


def _hang_up(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already gone


class BackgroundServer:
    """A threaded WSGI server on `host:port` (port 0 picks a free one)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0,
                 ssl_context: ssl.SSLContext | None = None, name: str = "server"):
        # Bind the socket ourselves: on a taken port werkzeug would print and sys.exit(),
        # which kills a notebook kernel; socket.create_server raises a plain OSError.
        try:
            listener = socket.create_server((host, port), backlog=128)
        except OSError as error:
            raise OSError(
                error.errno,
                f"cannot listen on {host}:{port} ({error.strerror}): another program (or "
                "another notebook) uses it; choose another port, or port 0 for any free one",
            ) from error
        try:
            self._server = LingeringServer(
                host, listener.getsockname()[1], app, QuietRequestHandler,
                ssl_context=ssl_context, fd=listener.fileno(),
            )
        finally:
            listener.close()  # werkzeug serves on its own duplicate of the socket
        self._server.daemon_threads = True
        self.host = host
        self.port = self._server.socket.getsockname()[1]
        self.scheme = "https" if ssl_context else "http"
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    @property
    def url(self) -> str:
        host = "localhost" if self.host in ("127.0.0.1", "localhost") else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def _serve(self) -> None:
        # A short poll interval makes shutdown() return quickly.
        self._server.serve_forever(poll_interval=0.05)

    def start(self) -> "BackgroundServer":
        self._thread.start()
        return self

    def serve_connection(self, connection: socket.socket, client_address: tuple) -> None:
        """Serve HTTP on a connection accepted elsewhere, in the calling thread, then close
        it as the server closes its own (the sandbox's proxy hands over its tunnels so)."""
        try:
            self._server.finish_request(connection, client_address)
        finally:
            self._server.shutdown_request(connection)

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()
