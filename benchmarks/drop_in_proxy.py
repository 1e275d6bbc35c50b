"""What going through the sandbox's HTTPS proxy costs a client: a benchmark.

    .venv/bin/python benchmarks/drop_in_proxy.py [--requests N]

It starts `python -m workshop_helpers.sandbox --port 0 --proxy-port 0` with a throw-away
state folder, then sends the same authenticated `GET /v1/calls` N times each way, one
after the other, from one thread:

- direct: to https://localhost:<port>, trusting the sandbox's CA (what a client that sets
  the SDK's api_host does);
- proxied: to https://api.nexmo.com through the proxy (what an unmodified app given the
  sandbox's env does: a CONNECT and a TLS handshake with the proxy for each request,
  since the sandbox closes every connection after one response).

It prints each way's median and 95th percentile latency, and their ratio. Figures vary
with the machine; the ratio, from one run, is what to compare.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from vonage_jwt import JwtClient


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300, help="requests each way (default 300)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        sandbox = subprocess.Popen(
            [sys.executable, "-m", "workshop_helpers.sandbox", "--port", "0", "--proxy-port", "0",
             "--state-dir", state],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        try:
            info = json.loads(sandbox.stdout.readline())
            report(info, args.requests)
        finally:
            sandbox.send_signal(signal.SIGTERM)
            sandbox.wait(timeout=30)


def report(info: dict, count: int) -> None:
    token = JwtClient(info["application_id"], Path(info["private_key_path"]).read_text()).generate_application_jwt()
    headers = {"Authorization": "Bearer " + (token.decode() if isinstance(token, bytes) else token)}
    ways = {
        "direct": (f"{info['base_url']}/v1/calls", {}),
        "proxied": ("https://api.nexmo.com/v1/calls", {"https": info["proxy_url"]}),
    }
    figures = {}
    for name, (url, proxies) in ways.items():
        session = requests.Session()
        session.trust_env = False
        session.verify = info["ca_cert_path"]
        session.proxies = proxies
        session.get(url, headers=headers).raise_for_status()  # warm up
        seconds = []
        for _ in range(count):
            began = time.perf_counter()
            session.get(url, headers=headers).raise_for_status()
            seconds.append(time.perf_counter() - began)
        figures[name] = (statistics.median(seconds), statistics.quantiles(seconds, n=20)[-1])
        print(f"{name:8} GET /v1/calls x{count}: median {figures[name][0] * 1000:.2f} ms, "
              f"p95 {figures[name][1] * 1000:.2f} ms")
    print(f"proxied / direct: median x{figures['proxied'][0] / figures['direct'][0]:.2f}, "
          f"p95 x{figures['proxied'][1] / figures['direct'][1]:.2f}")


if __name__ == "__main__":
    main()
