"""`wh.doctor()`: check everything the workshop needs, and say how to fix what is wrong.

Each check is one small function returning a `Check`: what was checked, whether it is
fine, and if not, the fix. `doctor()` returns them as a `Report`, which shows itself
once: a table as a cell's last line in a notebook, lines of text with `print()`.
"""

from __future__ import annotations

import html
import shutil
import sys
import urllib.request
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import requests

from . import config, live_setup
from .vonage_app import ROUTES, api_problem, drift, live_client, unlinked_number

PACKAGES = ("vonage", "flask", "pandas", "ipywidgets", "pyngrok", "jupyterlab")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""
    fix: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FIX "
        text = f"{mark} {self.name}" + (f": {self.detail}" if self.detail else "")
        return text + (f"\n       -> {self.fix}" if not self.ok and self.fix else "")


class Report(list):
    """The checks, in order; shown once, as a table (notebook) or as lines (`print`)."""

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self)

    def __str__(self) -> str:
        return "\n".join(check.line() for check in self)

    __repr__ = __str__  # what a terminal shows for doctor() as the last line

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{'✅' if c.ok else '🔧 FIX'}</td><td><b>{html.escape(c.name)}</b></td>"
            f"<td>{html.escape(c.detail)}</td><td>{'' if c.ok else html.escape(c.fix)}</td></tr>"
            for c in self)
        return ("<table><tr><th></th><th>check</th><th>found</th><th>what to do</th></tr>"
                f"{rows}</table>")


def doctor(workshop=None) -> Report:
    """Check the set-up (and the running workshop, if any); return the report. As a
    cell's last line it shows itself; in a script, print() it."""
    from . import workshop as workshop_module

    workshop = workshop or workshop_module.running()
    checks = Report([check_python(), *[check_package(name) for name in PACKAGES], check_widgets(),
                     *check_audio()])
    if workshop is None or not workshop.running:
        checks.append(Check("workshop", False, "not started", "run ws = wh.start()"))
        problem = live_setup.ready()
        checks.append(check_live_settings(problem))
        if problem is None:  # a complete .env: try it, as a live start would
            checks += check_live_api()
    else:
        checks += [check_server(workshop)]
        if workshop.mode == "live":
            checks += [check_credentials(workshop), check_tunnel(workshop), check_number(workshop)]
        else:
            checks.append(check_live_settings(live_setup.ready()))
        checks += check_application(workshop)
    return checks


def check_live_settings(problem: str | None) -> Check:
    """Live mode's .env, checked as wh.start(mode="live") would before it starts anything
    (`problem`: what live_setup.ready() found); only a FIX when a .env is there but wrong
    (sandbox mode needs none)."""
    if config.on_binder():
        return Check("live mode settings", True, "this is Binder, which cannot receive webhooks: "
                                                 "sandbox mode only here")
    where = config.dotenv_path()
    if problem is None:
        return Check("live mode settings", True, f"complete ({where or 'environment'})")
    if not where:
        return Check("live mode settings", True, "no .env (only live mode needs one: "
                                                 "copy .env.example, see notebook 11)")
    missing = problem.startswith("Live mode needs these settings")
    paragraphs = problem.split("\n\n")
    return Check("live mode settings", False,
                 f"{where} {'lacks settings' if missing else 'has a setting that is not right'}",
                 " ".join(p.strip() for p in paragraphs[1:] or paragraphs))


def check_live_api() -> list[Check]:
    """Your application and number, read with the .env's credentials (the API reachable,
    the keys and the id right, the number linked), and the ngrok agent; changes nothing."""
    credentials = config.live_credentials()
    client = live_client(credentials)
    try:
        client.application.get_application(credentials.application_id)
        unlinked = unlinked_number(client, credentials)
    except Exception as error:
        problem = api_problem(error, credentials)
        return [Check("live mode API", False, "your application cannot be read",
                      problem or f"{type(error).__name__}: see ws.show_logs() after wh.start(mode=\"live\")")]
    read = f"application {credentials.application_id} read at {credentials.api_host}"
    checks = [Check("live mode API", True, read)]
    if unlinked:
        checks.append(Check("number", False, f"{credentials.number} is not linked to the application",
                            unlinked))
    else:
        checks.append(Check("number", True, f"{credentials.number} is linked to the application"))
    return checks + [check_ngrok(credentials)]


def check_ngrok(credentials) -> Check:
    """The ngrok agent: yours (NGROK_PATH), or the one pyngrok installed; else it is
    downloaded on the first live start, which needs the internet."""
    from pyngrok import conf

    path = Path(credentials.ngrok_path or conf.DEFAULT_NGROK_PATH)
    if path.is_file():
        return Check("ngrok agent", True, str(path))
    return Check("ngrok agent", True, "not installed yet: the first live start downloads it "
                                      "(which needs the internet)")


def check_number(workshop) -> Check:
    """VONAGE_NUMBER linked to the application, so calls to it reach your webhooks."""
    credentials = workshop.credentials
    try:
        unlinked = unlinked_number(workshop.client, credentials)
    except Exception as error:
        return Check("number", False, "the numbers cannot be read",
                     api_problem(error, credentials) or type(error).__name__)
    if unlinked:
        return Check("number", False, f"{credentials.number} is not linked to the application", unlinked)
    return Check("number", True, f"{credentials.number} is linked to the application")


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    return Check("python", sys.version_info >= (3, 10), version,
                 "install Python 3.10 or newer and run `make lab` again")


def check_package(name: str) -> Check:
    try:
        return Check(name, True, metadata.version(name))
    except metadata.PackageNotFoundError:
        return Check(name, False, "not installed", "run `make lab` (it installs everything)")


def check_widgets() -> Check:
    """ipywidgets draws nothing in JupyterLab without its front-end extension."""
    try:
        return Check("widget front-end", True, "jupyterlab_widgets " + metadata.version("jupyterlab_widgets"))
    except metadata.PackageNotFoundError:
        return Check("widget front-end", False, "jupyterlab_widgets is missing",
                     "pip install jupyterlab_widgets, then reload the JupyterLab page")


def check_audio() -> list[Check]:
    """The sandbox speaks with espeak-ng and reads unusual audio files with ffmpeg;
    without them it still works (speech becomes a hum), so say what is missed."""
    from .sandbox.speech import INSTALL_HINT

    checks = []
    espeak = shutil.which("espeak-ng")
    checks.append(Check("speech (espeak-ng)", bool(espeak), espeak or "not installed", INSTALL_HINT))
    ffmpeg = shutil.which("ffmpeg")
    checks.append(Check(
        "audio files (ffmpeg)", bool(ffmpeg), ffmpeg or "not installed",
        "optional: install ffmpeg to play stream files other than wav, mp3 and ogg "
        "(Debian/Ubuntu: sudo apt install ffmpeg; macOS: brew install ffmpeg)",
    ))
    return checks


def check_server(workshop) -> Check:
    local = workshop.server.url
    return _reachable("webhook server", local + "/", f"serving at {local}",
                      "run wh.stop() then wh.start() to restart it", direct=True)


def check_credentials(workshop) -> Check:
    """Every live-mode setting is there and the private key can be read (no secret shown)."""
    credentials = workshop.credentials
    problem = config.setting_problem("VONAGE_PRIVATE_KEY_PATH", credentials.private_key_path)
    if problem:  # (the same check as before a live start)
        return Check("credentials", False, "the private key cannot be used", problem)
    return Check("credentials", True,
                 f"application {credentials.application_id}, number {credentials.number}")


def check_tunnel(workshop) -> Check:
    return _reachable("tunnel", workshop.public_url + "/", f"{workshop.public_url} reaches your server",
                      "run wh.stop() then wh.start(mode=\"live\") to open a new tunnel", direct=False)


def check_application(workshop) -> list[Check]:
    """The application's voice webhooks must point at this server's routes, methods too."""
    application_id = (workshop.credentials.application_id if workshop.mode == "live"
                      else workshop.sandbox.application.id)
    try:
        application = workshop.client.application.get_application(application_id)
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout):
        return [Check("application", False, "cannot read it: the Voice API cannot be reached",
                      "check this machine's internet connection (and VONAGE_API_HOST in .env, if set)")]
    except Exception as error:  # the SDK raises several kinds; all mean "cannot read it"
        return [Check("application", False, f"cannot read it ({type(error).__name__})",
                      "check VONAGE_API_KEY and VONAGE_API_SECRET in .env")]
    voice = application.capabilities.voice if application.capabilities else None
    webhooks = voice.model_dump(exclude_none=True).get("webhooks", {}) if voice else {}
    wrong = {found.name: found for found in drift(webhooks, workshop.url)}
    fix = "run wh.stop() then wh.start() again: it points the webhooks at your server"
    checks = []
    for name, (path, method) in ROUTES.items():
        found = wrong.get(name)
        if found is None:
            checks.append(Check(name, True, f"{method} {workshop.url + path}"))
        elif found.address is None:
            checks.append(Check(name, False, "not set", fix))
        elif found.address != found.wanted_address:
            checks.append(Check(name, False, f"points at {found.address}, not {found.wanted_address}", fix))
        else:
            uses = found.method or "no method (the platform's default)"
            checks.append(Check(name, False, f"uses {uses}; your server expects {method}", fix))
    signed = bool(voice and voice.signed_callbacks)
    checks.append(Check("signed webhooks", signed, "on" if signed else "off", fix))
    return checks


def _reachable(name: str, url: str, good: str, fix: str, direct: bool) -> Check:
    """GET `url` and expect our server's index page; `direct` skips proxies (for localhost)."""
    opener = urllib.request.build_opener(*([urllib.request.ProxyHandler({})] if direct else []))
    request = urllib.request.Request(url, headers={"ngrok-skip-browser-warning": "1"})
    try:
        with opener.open(request, timeout=5) as response:
            ok = response.status == 200 and b"webhook server" in response.read()
    except OSError as error:
        return Check(name, False, f"{url} does not answer ({error})", fix)
    return Check(name, ok, good if ok else f"{url} answers, but not as your server", fix)
