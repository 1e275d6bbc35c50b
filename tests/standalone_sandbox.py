"""`python -m workshop_helpers.sandbox` as a separate process, as a harness in any language
would run it, and a session for its control API: for the standalone tests
(tests/test_standalone.py) and the drop-in tests (tests/test_drop_in.py).
"""

from __future__ import annotations

import contextlib
import json
import select
import signal
import subprocess
import sys
from pathlib import Path

import jwt
from api_requests import app_claims


@contextlib.contextmanager
def run_standalone(state_dir, *options: str):
    """`python -m workshop_helpers.sandbox` on free ports and a virtual clock; yields the
    start-up line, and checks that SIGTERM stops it cleanly. What it says to people goes
    to `<state_dir>.stderr` (a file, not a pipe nobody reads, which could fill up)."""
    with open(f"{state_dir}.stderr", "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "workshop_helpers.sandbox", "--port", "0", "--proxy-port", "0",
             "--clock", "virtual", "--state-dir", str(state_dir), *options],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, f"the sandbox printed nothing in 60 s:\n{Path(f'{state_dir}.stderr').read_text()}"
        line = process.stdout.readline()
        assert line, f"the sandbox did not start:\n{Path(f'{state_dir}.stderr').read_text()}"
        yield json.loads(line)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=15) == 0, Path(f"{state_dir}.stderr").read_text()
        finally:
            if process.poll() is None:  # never leave a sandbox running behind a test
                process.kill()
                process.wait()
            process.stdout.close()


def app_jwt(info):
    return jwt.encode(app_claims(info["application_id"]), Path(info["private_key_path"]).read_text(), algorithm="RS256")


def control(info):
    """A requests session for the control API (trusting the sandbox's CA, never a proxy)."""
    import requests
    session = requests.Session()
    session.trust_env = False
    session.verify = info["ca_cert_path"]
    session.headers["Authorization"] = "Bearer " + app_jwt(info)
    return session
