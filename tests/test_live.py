"""Live mode, with no internet: the sandbox plays the Vonage platform, and a loopback
stand-in plays the ngrok agent (tests/ngrok_standin.py), driven through pyngrok's real code."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from conftest import NGROK_TOKEN as TOKEN
from conftest import wait_until
from pyngrok import ngrok

import workshop_helpers as wh
import workshop_helpers.workshop
from workshop_helpers import config, tunnel


def test_live_mode_end_to_end_through_the_tunnel(sandbox, live_env, capsys):
    ws = wh.start(mode="live")  # the .env has every setting, so nothing is asked
    assert wh.start(mode="live") is ws  # running the cell again reuses everything
    assert ws.public_url.startswith("http://127.0.0.1:") and ws.url == ws.public_url
    printed = capsys.readouterr().out
    assert f"reachable at {ws.public_url}" in printed
    assert f"answer_url: (not set) -> POST {ws.public_url}/webhooks/answer" in printed
    for secret in (live_env["VONAGE_API_SECRET"], live_env["VONAGE_SIGNATURE_SECRET"], TOKEN):
        assert secret not in printed and secret not in repr(ws.credentials)
    assert sandbox.application.webhook("answer_url")["address"] == ws.public_url + "/webhooks/answer"
    assert sandbox.application.webhook("event_url")["http_method"] == "POST"
    assert "The tunnel reaches only your webhook server" in printed
    import requests
    assert [requests.get(ws.public_url + path, timeout=10).status_code
            for path in ("/", "/audio/hold.wav", "/.env", "/webhooks/../.env", "/private.key")] == [200, 200, 404, 404, 404]

    @ws.answer
    def answer(call):
        return [{"action": "talk", "text": "Hello through the tunnel"}]

    uuid = sandbox.phone("447700900131").call(ws.number)
    wait_until(lambda: "completed" in list(ws.events["status"]))
    assert list(ws.events["kind"]) == ["answer", "event", "event", "event", "event"]
    assert ws.events["verified"].all()
    assert ws.calls.iloc[0][["uuid", "direction", "status"]].tolist() == [uuid, "inbound", "completed"]
    with pytest.raises(RuntimeError, match="real phone"):
        ws.phone("447700900131")


def test_running_again_reuses_the_tunnel_and_changes_nothing(sandbox, live_env, capsys):
    ws = wh.start(mode="live")
    first_url = ws.public_url
    config_ = ws._tunnel_config
    assert tunnel.open_tunnel(ws.server.port, config_) == first_url
    assert len(ngrok.get_tunnels(config_)) == 1
    from workshop_helpers.vonage_app import point_webhooks
    assert point_webhooks(ws.client, ws.credentials.application_id, first_url) == []
    ws.stop()


def test_signed_callbacks_are_switched_on(sandbox, live_env, capsys):
    resource = sandbox.application.resource()
    resource["capabilities"]["voice"]["signed_callbacks"] = False
    sandbox.application.replace(resource)
    ws = wh.start(mode="live")
    assert any("signed_callbacks: off -> on" in change for change in ws.changes)
    assert sandbox.application.voice()["signed_callbacks"] is True
    ws.stop()


@pytest.mark.parametrize("failure, says", [
    ("4018", "verified account"),
    ("108", "already has an agent running"),
    ("324", "tunnel limit"),
    ("offline", "seems to be offline"),
])
def test_ngrok_failures_say_what_to_do(sandbox, live_env, monkeypatch, failure, says):
    monkeypatch.setenv("NGROK_STANDIN_FAIL", failure)
    with pytest.raises(tunnel.TunnelError, match=says):
        wh.start(mode="live")
    assert wh.workshop._running is None or not wh.workshop._running.running


def test_a_wrong_authtoken_says_to_copy_it_again(sandbox, live_env, monkeypatch):
    env_file = Path(".env")
    env_file.write_text(env_file.read_text().replace(TOKEN, "wrong-token"))
    with pytest.raises(tunnel.TunnelError, match="does not recognise your authtoken.*ERR_NGROK_105"):
        wh.start(mode="live")


def test_a_failed_ngrok_download_says_what_to_do(sandbox, live_env, tmp_path, monkeypatch):
    env_file = Path(".env")
    # No NGROK_PATH, and no ngrok where pyngrok keeps it: pyngrok downloads it.
    env_file.write_text(env_file.read_text().replace(f"NGROK_PATH={live_env['NGROK_PATH']}\n", ""))
    from pyngrok import conf
    monkeypatch.setattr(conf, "DEFAULT_NGROK_PATH", str(tmp_path / "nowhere" / "ngrok"))
    # The real installer runs, through a proxy that goes nowhere: nothing leaves the machine.
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(tunnel.TunnelError, match="could not download the ngrok agent"):
        wh.start(mode="live")


def test_missing_settings_are_listed_without_prompting(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, *_ in config.LIVE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(config.ConfigError) as error:
        config.live_credentials()
    for name in ("VONAGE_APPLICATION_ID", "VONAGE_PRIVATE_KEY_PATH", "NGROK_AUTHTOKEN"):
        assert name in str(error.value)


class Answers:
    """A person at the keyboard: answers in order, and what each question was."""

    def __init__(self, *answers):
        self.answers, self.asked = list(answers), []

    def __call__(self, prompt: str) -> str:
        self.asked.append(prompt)
        return self.answers.pop(0)


def test_setup_asks_only_for_what_is_missing_showing_only_what_is_not_secret(sandbox, live_env, capsys):
    env = Path(".env")
    missing = ("VONAGE_NUMBER", "VONAGE_API_SECRET", "NGROK_AUTHTOKEN")
    env.write_text("".join(line + "\n" for line in env.read_text().splitlines()
                           if line.split("=")[0] not in missing) + "# my own comment\n")
    plain = Answers("+44 7700 900100", live_env["VONAGE_NUMBER"], "")  # a wrong number, then right; "" = yes
    secret = Answers(live_env["VONAGE_API_SECRET"], TOKEN)
    answers = wh.setup(ask=plain, ask_secret=secret)
    assert [q.split(" ")[0] for q in plain.asked] == ["VONAGE_NUMBER", "VONAGE_NUMBER", "Write"]
    assert [q.split(" ")[0] for q in secret.asked] == ["VONAGE_API_SECRET", "NGROK_AUTHTOKEN"]
    said = capsys.readouterr().out
    assert "VONAGE_NUMBER is '+44 7700 900100': write it as digits only" in said
    assert "Before your first call: live calls are real, and each minute costs credit" in said
    assert live_env["VONAGE_API_SECRET"] not in said and TOKEN not in said
    assert answers == {name: live_env[name] for name in missing}
    assert live_env["VONAGE_API_SECRET"] not in repr(answers) and "'VONAGE_API_SECRET': ***" in repr(answers)
    written = env.read_text()
    assert "# my own comment" in written and f"NGROK_AUTHTOKEN={TOKEN}" in written.replace("'", "")
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert config.live_credentials().number == live_env["VONAGE_NUMBER"]


def test_start_in_live_mode_asks_for_missing_settings_and_uses_them_even_unwritten(sandbox, live_env, capsys):
    env = Path(".env")
    env.write_text(env.read_text().replace(f"NGROK_AUTHTOKEN={TOKEN}\n", ""))
    ws = wh.Workshop("live", ask=Answers("n"), ask_secret=Answers(TOKEN)).start()
    try:
        said = capsys.readouterr().out
        assert ws.public_url and "Not written: nothing is kept" in said
        assert said.count("Before your first call") == 2  # after the set-up, and as live mode starts
        assert "NGROK_AUTHTOKEN" not in env.read_text()
    finally:
        ws.stop()


def test_setup_stops_on_an_empty_answer_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, *_ in config.LIVE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(config.ConfigError, match="Set-up stopped at VONAGE_APPLICATION_ID: nothing was written"):
        wh.setup(ask=Answers(""), ask_secret=Answers())
    assert not (tmp_path / ".env").exists()


def test_the_setup_command_says_when_everything_is_there(sandbox, live_env):
    import subprocess
    done = subprocess.run([sys.executable, "-m", "workshop_helpers", "setup"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "Live mode's settings are all there" in done.stdout
    wrong = subprocess.run([sys.executable, "-m", "workshop_helpers"], capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "python -m workshop_helpers setup" in wrong.stderr


def test_doctor_checks_the_tunnel_and_the_application_in_live_mode(sandbox, live_env, capsys):
    ws = wh.start(mode="live")
    report = wh.doctor(ws)
    checks = {check.name: check for check in report}
    assert checks["tunnel"].ok and ws.public_url in checks["tunnel"].detail
    assert checks["answer_url"].ok and checks["event_url"].ok and checks["signed webhooks"].ok
    assert checks["credentials"].ok and ws.number in checks["credentials"].detail
    printed = str(report) + report._repr_html_() + capsys.readouterr().out
    for secret in (live_env["VONAGE_API_SECRET"], live_env["VONAGE_SIGNATURE_SECRET"], TOKEN):
        assert secret not in printed


def test_a_wrong_api_secret_says_which_setting_to_fix(sandbox, live_env):
    env_file = Path(".env")
    env_file.write_text(env_file.read_text().replace(live_env["VONAGE_API_SECRET"], "wrong-secret"))
    with pytest.raises(config.ConfigError, match="VONAGE_API_KEY and VONAGE_API_SECRET"):
        wh.start(mode="live")
    assert wh.workshop._running is None


def test_the_authtoken_is_not_on_ngroks_command_line(sandbox, live_env):
    ws = wh.start(mode="live")
    process = ngrok.get_ngrok_process(ws._tunnel_config)
    assert TOKEN not in " ".join(process.proc.args)
    config_file = Path(ws._tunnel_config.config_path)
    assert TOKEN in config_file.read_text() and config_file.stat().st_mode & 0o077 == 0


# -- checks before anything starts ---------------------------------------------------------
@pytest.mark.parametrize("setting, value, says", [
    ("VONAGE_APPLICATION_ID", "my-app", "VONAGE_APPLICATION_ID is 'my-app', which is not an application id: copy the id"),
    ("VONAGE_NUMBER", "+44 7700 900100", "VONAGE_NUMBER is '+44 7700 900100': write it as digits only, country code "
                                         "first, with no +, spaces or leading 0 (like 447700900123 for the UK "
                                         "number 07700 900123)"),
    ("VONAGE_PRIVATE_KEY_PATH", "missing.key", "VONAGE_PRIVATE_KEY_PATH is {cwd}/missing.key, which is not a file: "
                                               "download private.key"),
    ("VONAGE_PRIVATE_KEY_PATH", "public.key", "VONAGE_PRIVATE_KEY_PATH: {cwd}/public.key is a public key; live mode "
                                              "needs the private one"),
    ("VONAGE_API_HOST", "https://api.nexmo.com/", "VONAGE_API_HOST is 'https://api.nexmo.com/': give the host alone"),
    ("NGROK_PATH", "/nowhere/ngrok", "NGROK_PATH is /nowhere/ngrok, which is not a file: correct the path to your "
                                     "ngrok binary, or remove NGROK_PATH from .env"),
])
def test_a_wrong_setting_is_named_with_its_fix_before_anything_starts(sandbox, live_env, setting, value, says):
    Path("public.key").write_text("-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----\n")
    before = sandbox.client().application.get_application(live_env["VONAGE_APPLICATION_ID"])
    env = Path(".env")
    env.write_text(env.read_text().replace(f"{setting}={live_env[setting]}", f"{setting}={value}"))
    with pytest.raises(config.ConfigError) as error:
        wh.start(mode="live")
    message = str(error.value)
    assert message.startswith("Live mode cannot start yet.\n\n" + says.format(cwd=Path.cwd().resolve())), message
    assert len(message.splitlines()) <= 5  # one short paragraph, not a traceback's worth
    assert workshop_helpers.workshop._running is None  # no server, so no tunnel to one
    after = sandbox.client().application.get_application(live_env["VONAGE_APPLICATION_ID"])
    assert after.capabilities.voice == before.capabilities.voice  # no webhook was changed


def test_a_taken_port_is_named_before_anything_starts(sandbox, live_env):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(config.ConfigError, match=f"port {port} is not free for your webhook server"):
            wh.start(mode="live", port=port)


def test_the_names_vonages_snippets_use_are_read_too(sandbox, live_env, capsys):
    env = Path(".env")
    env.write_text(env.read_text().replace("VONAGE_PRIVATE_KEY_PATH=", "VONAGE_PRIVATE_KEY=")
                   .replace("VONAGE_NUMBER=", "VONAGE_VIRTUAL_NUMBER="))
    credentials = config.live_credentials()
    assert credentials.private_key_path == live_env["VONAGE_PRIVATE_KEY_PATH"]
    assert credentials.number == live_env["VONAGE_NUMBER"]


def test_the_env_example_lists_every_setting_with_where_to_find_it():
    lines = (Path(__file__).parents[1] / ".env.example").read_text().splitlines()
    named = [line.split("=")[0].lstrip("# ") for line in lines if "=" in line and not line.startswith("##")]
    assert named == [name for name, *_ in config.LIVE_SETTINGS]
    for name, *_ in config.LIVE_SETTINGS:
        where = lines[[i for i, line in enumerate(lines) if line.lstrip("# ").startswith(name + "=")][0] - 1]
        assert where.startswith("# ") and len(where) > 20, name  # a line above each: where to find it


# -- network failures, after the tunnel opened ---------------------------------------------
def test_an_api_that_cannot_be_reached_is_one_paragraph_and_nothing_is_left_running(sandbox, live_env, monkeypatch):
    env = Path(".env")
    env.write_text(env.read_text().replace(f"VONAGE_API_HOST={live_env['VONAGE_API_HOST']}", "VONAGE_API_HOST=localhost:9"))
    with pytest.raises(config.ConfigError) as error:
        wh.start(mode="live")
    assert str(error.value).startswith("The Voice API at localhost:9 cannot be reached from this machine. "
                                       "Check your internet connection")
    assert error.value.__cause__ is None and error.value.__context__ is not None  # kept for %debug, not shown
    assert workshop_helpers.workshop._running is None


def test_a_certificate_this_machine_does_not_trust_says_what_may_be_in_the_way(sandbox, live_env, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")  # the sandbox's CA, which the SDK trusted
    with pytest.raises(config.ConfigError) as error:
        wh.start(mode="live")
    assert str(error.value).startswith(f"The Voice API at {live_env['VONAGE_API_HOST']} answered with a "
                                       "certificate this machine does not trust")
    assert len(str(error.value).splitlines()) == 1


@pytest.mark.parametrize("variable", ["BINDER_LAUNCH_HOST", "BINDER_REPO_URL"])
def test_on_binder_live_mode_says_it_cannot_work_there_before_asking_anything(sandbox, live_env, monkeypatch, variable):
    monkeypatch.setenv(variable, "https://mybinder.org/")
    asked = Answers()
    for attempt in (lambda: wh.Workshop("live", ask=asked, ask_secret=asked).start(),
                    lambda: wh.setup(ask=asked, ask_secret=asked)):
        with pytest.raises(config.ConfigError, match="runs on Binder, which cannot receive webhooks"):
            attempt()
    assert asked.asked == [] and workshop_helpers.workshop._running is None


def test_a_relative_key_path_is_from_the_dotenvs_folder_wherever_the_kernel_runs(sandbox, live_env, monkeypatch):
    project = Path.cwd().parent  # the .env at the project's root, the kernel in notebooks/
    key = Path(live_env["VONAGE_PRIVATE_KEY_PATH"])
    (project / "private.key").write_bytes(key.read_bytes())
    (project / ".env").write_text(Path(".env").read_text().replace(str(key), "private.key"))
    Path(".env").unlink()
    credentials = config.live_credentials()
    assert credentials.private_key_path == str(project / "private.key")
    config.preflight(credentials)  # no problem


def test_the_key_itself_in_vonage_private_key_works_and_is_never_shown(sandbox, live_env, monkeypatch):
    key = Path(live_env["VONAGE_PRIVATE_KEY_PATH"]).read_text()
    env = Path(".env")
    env.write_text(env.read_text().replace(f"VONAGE_PRIVATE_KEY_PATH={live_env['VONAGE_PRIVATE_KEY_PATH']}\n", ""))
    monkeypatch.setenv("VONAGE_PRIVATE_KEY", key)
    credentials = config.live_credentials()
    assert credentials.private_key() == key and key not in repr(credentials)
    monkeypatch.setenv("VONAGE_PRIVATE_KEY", key.replace("M", "x", 40))  # damaged
    with pytest.raises(config.ConfigError) as error:
        wh.start(mode="live")
    assert "VONAGE_PRIVATE_KEY_PATH: the key text you gave is not a private key" in str(error.value)
    assert key[40:80] not in str(error.value) and "BEGIN" not in str(error.value)


def test_a_wrong_signature_secret_is_named_under_the_cell_that_waits(sandbox, live_env, capsys):
    env = Path(".env")
    env.write_text(env.read_text().replace(live_env["VONAGE_SIGNATURE_SECRET"], "not-the-secret-0123456789"))
    ws = wh.start(mode="live")
    uuid = sandbox.phone("447700900132").call(ws.number)
    sandbox.wait_for_call(uuid)
    capsys.readouterr()
    with pytest.raises(TimeoutError):
        ws.wait_for(uuid, timeout=1)
    said = capsys.readouterr().out
    assert "your webhook server refused" in said and "check VONAGE_SIGNATURE_SECRET in .env" in said


def test_kit_errors_show_only_their_message_in_a_notebook():
    from workshop_helpers.tunnel import TunnelError
    assert config.ConfigError("what to do")._render_traceback_() == ["ConfigError: what to do"]
    assert TunnelError("what to do")._render_traceback_() == ["TunnelError: what to do"]


def test_doctor_says_when_the_api_cannot_be_reached_in_words_not_the_librarys(sandbox, live_env):
    ws = wh.start(mode="live")
    ws.client.http_client._api_host = "localhost:9"  # the network goes away after the start
    (application,) = [check for check in wh.doctor(ws) if check.name == "application"]
    assert not application.ok and application.detail == "cannot read it: the Voice API cannot be reached"
    assert "internet connection" in application.fix



def test_doctor_with_a_complete_dotenv_reads_the_application_as_a_live_start_would(sandbox, live_env):
    wh.stop()
    checks = {check.name: check for check in wh.doctor()}
    assert checks["live mode settings"].ok and checks["live mode API"].ok and checks["number"].ok
    assert live_env["VONAGE_APPLICATION_ID"] in checks["live mode API"].detail
    assert checks["ngrok agent"].ok and checks["ngrok agent"].detail == live_env["NGROK_PATH"]
    env = Path(".env")
    env.write_text(env.read_text().replace(live_env["VONAGE_API_SECRET"], "wrong-secret"))
    api = {check.name: check for check in wh.doctor()}["live mode API"]
    assert not api.ok and api.fix.startswith("Vonage did not accept VONAGE_API_KEY and VONAGE_API_SECRET")



def test_a_number_not_linked_to_the_application_is_said_at_start_and_by_doctor(sandbox, live_env, capsys):
    env = Path(".env")
    env.write_text(env.read_text().replace(f"VONAGE_NUMBER={live_env['VONAGE_NUMBER']}", "VONAGE_NUMBER=447700900199"))
    ws = wh.start(mode="live")
    said = capsys.readouterr().out
    assert (f"VONAGE_NUMBER 447700900199 is not linked to application {live_env['VONAGE_APPLICATION_ID']}, so "
            "calls to it will not reach your webhooks") in said
    number = {check.name: check for check in wh.doctor(ws)}["number"]
    assert not number.ok and "Link it on the dashboard's Numbers page" in number.fix


def test_the_linked_number_passes(sandbox, live_env, capsys):
    ws = wh.start(mode="live")
    assert "is not linked" not in capsys.readouterr().out
    number = {check.name: check for check in wh.doctor(ws)}["number"]
    assert number.ok and live_env["VONAGE_NUMBER"] in number.detail



def test_an_api_that_never_answers_is_a_time_out_in_words_not_a_hang(sandbox, live_env, monkeypatch):
    import socket

    from workshop_helpers import vonage_app
    monkeypatch.setattr(vonage_app, "API_TIMEOUT", 1)
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        host = f"localhost:{silent.getsockname()[1]}"
        env = Path(".env")
        env.write_text(env.read_text().replace(f"VONAGE_API_HOST={live_env['VONAGE_API_HOST']}",
                                               f"VONAGE_API_HOST={host}"))
        with pytest.raises(config.ConfigError) as error:
            wh.start(mode="live")
    assert str(error.value).startswith(f"The Voice API at {host} took too long to answer from this machine.")
    assert workshop_helpers.workshop._running is None


def test_a_403_from_the_api_says_which_account_owns_the_application():
    """The sandbox has no call that answers 403; the SDK's own error, built from a 403
    response, gets the words."""
    import requests
    from vonage_http_client.errors import ForbiddenError

    from workshop_helpers.vonage_app import api_problem
    response = requests.models.Response()
    response.status_code, response._content, response.url = 403, b'{"title": "Forbidden"}', "https://api.nexmo.com/v2"
    response.headers["Content-Type"] = "application/json"
    credentials = config.LiveCredentials("8c2f1a2e-1d3b-4c5a-9e7f-0a1b2c3d4e5f", "k", "key", "s", "s",
                                         "447700900123", "t")
    assert api_problem(ForbiddenError(response), credentials) == (
        "Vonage refused the request (403 Forbidden): the account may not be allowed to change application "
        "8c2f1a2e-1d3b-4c5a-9e7f-0a1b2c3d4e5f. Check that VONAGE_API_KEY is the account that owns the "
        "application (the dashboard's Applications page).")
    assert api_problem(ValueError("something else"), credentials) is None  # shown as it is



def test_on_binder_doctor_says_sandbox_mode_only(monkeypatch):
    monkeypatch.setenv("BINDER_LAUNCH_HOST", "https://mybinder.org/")
    live = {check.name: check for check in wh.doctor()}["live mode settings"]
    assert live.ok and live.detail == "this is Binder, which cannot receive webhooks: sandbox mode only here"
