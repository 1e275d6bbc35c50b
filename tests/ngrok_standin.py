"""A loopback stand-in for the ngrok agent, so live mode is tested through pyngrok's real
code with no internet.

pyngrok runs `ngrok start --none --log stdout [--config F] [--authtoken T]`, reads the
agent's log lines (logfmt) to find its local API, then creates endpoints through that API.
This program does the same on 127.0.0.1: each endpoint's "public" URL is a local port
that forwards every request (method, path, headers, body) to the endpoint's upstream.

Environment, for the tests:
- NGROK_STANDIN_TOKEN: the one authtoken it accepts (others fail like ngrok does);
- NGROK_STANDIN_FAIL: 4018 (no verified account), 108 (agent session limit),
  offline (cannot reach ngrok's service), or 324 (tunnel limit, when creating one).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import urllib.error
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

FAIL = os.environ.get("NGROK_STANDIN_FAIL", "")
START_ERRORS = {
    "4018": "authentication failed: Usage of ngrok requires a verified account and authtoken. ERR_NGROK_4018",
    "108": "authentication failed: Your account is limited to 1 simultaneous ngrok agent sessions. ERR_NGROK_108",
    "offline": "failed to dial ngrok server: dial tcp: lookup connect.ngrok-agent.com: no such host",
}
endpoints: dict[str, dict] = {}
forwarders: dict[str, ThreadingHTTPServer] = {}


def log(level: str, message: str, **fields: str) -> None:
    stamp = datetime.now(timezone.utc).isoformat()
    extra = " ".join(f'{key}="{value}"' for key, value in fields.items())
    print(f't={stamp} lvl={level} msg="{message}" {extra}'.rstrip(), flush=True)


def forwarder_for(upstream: str) -> ThreadingHTTPServer:
    class Forward(BaseHTTPRequestHandler):
        def forward(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            request = urllib.request.Request(upstream.rstrip("/") + self.path, data=body,
                                             headers=headers, method=self.command)
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            try:
                with opener.open(request, timeout=30) as response:
                    status, content, kind = response.status, response.read(), response.headers.get("Content-Type")
            except urllib.error.HTTPError as error:
                status, content, kind = error.code, error.read(), error.headers.get("Content-Type")
            self.send_response(status)
            if kind:
                self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = forward

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Api(BaseHTTPRequestHandler):
    def reply(self, status: int, data=None):
        body = json.dumps(data).encode() if data is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/api/endpoints"):
            self.reply(200, {"endpoints": list(endpoints.values())})
        elif self.path.startswith("/api/tunnels"):
            self.reply(200, {"tunnels": list(endpoints.values())})
        else:
            self.reply(404, {"msg": "not found"})

    def do_POST(self):
        options = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        if FAIL == "324":
            self.reply(502, {"error_code": 102, "status_code": 502, "msg": "failed to start tunnel",
                             "details": {"err": "Your account may not run more than 3 endpoints. ERR_NGROK_324"}})
            return
        upstream = options.get("upstream", {}).get("url") or f"http://localhost:{options.get('addr')}"
        server = forwarder_for(upstream)
        name = options["name"]
        public_url = f"http://127.0.0.1:{server.server_address[1]}"
        forwarders[name] = server
        endpoints[name] = {"name": name, "uri": f"/api/endpoints/{name}", "url": public_url,
                           "public_url": public_url, "upstream": {"url": upstream}}
        self.reply(201, endpoints[name])

    def do_DELETE(self):
        name = self.path.rsplit("/", 1)[-1]
        endpoints.pop(name, None)
        server = forwarders.pop(name, None)
        if server:
            server.shutdown()
        self.reply(204)

    def log_message(self, *args):
        pass


def authtoken(argv: list[str]) -> str | None:
    """Like ngrok: --authtoken on the command line, else agent.authtoken in --config."""
    if "--authtoken" in argv:
        return argv[argv.index("--authtoken") + 1]
    if "--config" in argv:
        with open(argv[argv.index("--config") + 1]) as config_file:
            config = yaml.safe_load(config_file) or {}
        return (config.get("agent") or {}).get("authtoken")
    return None


def main(argv: list[str]) -> int:
    token = authtoken(argv)
    if FAIL in START_ERRORS:
        log("eror", "session closing", obj="tunnels.session", err=START_ERRORS[FAIL])
        return 1
    if token != os.environ.get("NGROK_STANDIN_TOKEN"):
        log("eror", "session closing", obj="tunnels.session",
            err="authentication failed: The authtoken you specified is invalid. ERR_NGROK_105")
        return 1
    api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    log("info", "starting web service", obj="web", addr=f"127.0.0.1:{api.server_address[1]}")
    log("info", "tunnel session started", obj="tunnels.session")
    log("info", "client session established", obj="csess")
    api.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
