"""Where the kit keeps its state, and the credentials live mode needs.

State (the sandbox's keys and CA, recordings, the event stores) lives in one folder per
user, `~/.voice-workshop`, so it survives kernel restarts. Set `VOICE_WORKSHOP_HOME` to put
it elsewhere (the tests do, to start clean). Each notebook keeps its webhooks in an event
store of its own (`events_path`), so two notebooks never see or clear each other's calls.

Live mode reads your Vonage application's credentials from a `.env` file (the one in the
current folder or the nearest parent), then from the environment; `live_setup` asks for
anything still missing (secrets with getpass, so a secret never lands in a notebook's output).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import stat
from dataclasses import dataclass, fields
from pathlib import Path

from dotenv import dotenv_values, find_dotenv

log = logging.getLogger("workshop_helpers")


def home() -> Path:
    """The kit's state folder, made (or tightened to) 0700 here: it holds keys, secrets
    and recordings, so whichever part of the kit creates it first, only you can enter it."""
    path = Path(os.environ.get("VOICE_WORKSHOP_HOME", Path.home() / ".voice-workshop"))
    _private_dir_if_possible(path)
    return path


def sandbox_dir() -> Path:
    """The sandbox's state folder (application, keys, CA, recordings), inside `home()`;
    the sandbox makes it (0700) as it starts."""
    return home() / "sandbox"


#: What the state folders and the files in them may be: the owner's, and nobody else's.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """`path` as a folder only its owner can enter (0700): made so, or, if it is there
    already with wider permissions, tightened. OSError if it cannot be made."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    tighten(path)
    return path


def tighten(path: Path) -> None:
    """Take group and others' permissions off one file or folder (0755 becomes 0700,
    0644 becomes 0600; the owner's own bits, an executable's x among them, stay).
    Symbolic links are left alone."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        os.chmod(path, mode & ~0o077)


def private_file(path: Path, create: bool = True) -> None:
    """Make the file `path` one only its owner may read or write: exactly 0600, created so
    (with `create`), or set so if it is there with any other mode; a file that is not
    there, and is not to be created, is left alone.

    Exact, where `tighten` only takes bits away: SQLite makes a database's -wal and -shm
    with the database's own mode, so an event store must be 0600 before SQLite first
    opens it, and created 0600, never wider for a moment. A file system that keeps no
    modes is not an error: the file still works, and a warning says it is not private."""
    try:
        descriptor = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), PRIVATE_FILE_MODE)
    except FileNotFoundError:
        return
    try:
        if stat.S_IMODE(os.fstat(descriptor).st_mode) != PRIVATE_FILE_MODE:
            os.fchmod(descriptor, PRIVATE_FILE_MODE)
    except OSError as error:
        log.warning("could not make %s private: %s", path, error)
    finally:
        os.close(descriptor)


def tighten_tree(path: Path) -> None:
    """`tighten` a folder and everything in it (links are not followed)."""
    path = Path(path)
    tighten(path)
    for folder, folders, files in os.walk(path):
        for name in folders + files:
            try:
                tighten(Path(folder) / name)
            except FileNotFoundError:  # removed meanwhile (a .partial file, a lock)
                pass


def _private_dir_if_possible(path: Path) -> None:
    """`private_dir`, for a function that only names the folder: if it cannot be made
    (a read-only disk), whatever then uses it says so with its own error."""
    try:
        private_dir(path)
    except OSError:
        pass


def events_path() -> Path:
    """This workshop's event store: one per notebook, so two notebooks (two kernels) never
    see or clear each other's calls, and a notebook finds its events again after a kernel
    restart. JupyterLab tells a kernel its notebook's path in `JPY_SESSION_NAME`; a kernel
    started without one (nbval, a console) keys on its kernel id, which a restart keeps;
    any other Python process uses `default.sqlite`."""
    notebook = os.environ.get("JPY_SESSION_NAME")
    if notebook:
        # The name, for whoever opens the folder; a hash of the whole path, for two
        # notebooks of one name in different folders.
        digest = hashlib.sha256(notebook.encode()).hexdigest()[:8]
        name = f"{_file_name_part(Path(notebook).stem)}-{digest}"
    else:
        kernel = _kernel_id()
        name = f"kernel-{kernel}" if kernel else "default"
    return home() / "events" / f"{name}.sqlite"


def _file_name_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:60] or "notebook"


def _kernel_id() -> str | None:
    """The id of the Jupyter kernel this runs in (its connection file is kernel-<id>.json),
    or None outside a kernel."""
    try:
        from ipykernel.kernelapp import IPKernelApp
    except ImportError:
        return None
    if not IPKernelApp.initialized():
        return None
    stem = Path(IPKernelApp.instance().connection_file or "").stem
    return _file_name_part(stem.removeprefix("kernel-")) if stem else None


def sandbox_clock() -> str:
    """The sandbox's clock unless `wh.start(clock=...)` says: `VOICE_WORKSHOP_CLOCK`
    ("virtual" in the kit's own tests and notebook checks), else "real"."""
    return os.environ.get("VOICE_WORKSHOP_CLOCK") or "real"


#: Live-mode settings: (variable, what it is, secret?, required?).
LIVE_SETTINGS = [
    ("VONAGE_APPLICATION_ID", "your Vonage application's id", False, True),
    ("VONAGE_PRIVATE_KEY_PATH", "the path of the application's private.key file", False, True),
    ("VONAGE_API_KEY", "your account's api key", False, True),
    ("VONAGE_API_SECRET", "your account's api secret", True, True),
    ("VONAGE_SIGNATURE_SECRET", "your account's signature secret (Settings in the dashboard)", True, True),
    ("VONAGE_NUMBER", "the Vonage number linked to the application", False, True),
    ("NGROK_AUTHTOKEN", "your ngrok authtoken (dashboard.ngrok.com)", True, True),
    ("VONAGE_API_HOST", "the Voice API host", False, False),
    ("VONAGE_REST_HOST", "the host of the older REST APIs, Numbers among them", False, False),
    ("NGROK_PATH", "where the ngrok binary lives (pyngrok installs it if missing)", False, False),
]


#: Settings that name a file: a relative path in a .env is from the .env's own folder.
PATHS = ("VONAGE_PRIVATE_KEY_PATH", "NGROK_PATH")

#: Other names for a setting: the ones Vonage's own code snippets read from a .env.
ALIASES = {
    "VONAGE_PRIVATE_KEY_PATH": "VONAGE_PRIVATE_KEY",
    "VONAGE_NUMBER": "VONAGE_VIRTUAL_NUMBER",
}

_APPLICATION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_E164_DIGITS = re.compile(r"[1-9][0-9]{6,14}")


@dataclass(frozen=True)
class LiveCredentials:
    """Everything live mode needs. Its repr never shows a secret."""

    application_id: str
    private_key_path: str
    api_key: str
    api_secret: str
    signature_secret: str
    number: str
    ngrok_authtoken: str
    api_host: str = "api.nexmo.com"
    rest_host: str = "rest.nexmo.com"
    ngrok_path: str | None = None

    def __repr__(self) -> str:
        secret = {name.lower().removeprefix("vonage_") for name, _, is_secret, _ in LIVE_SETTINGS if is_secret}
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        shown = ", ".join(
            f"{name}={'***' if name in secret or is_key_text(str(value)) else repr(value)}"
            for name, value in values.items()
        )
        return f"LiveCredentials({shown})"

    def private_key(self) -> str:
        if is_key_text(self.private_key_path):  # the key itself, as the SDK also accepts
            return self.private_key_path
        problem = setting_problem("VONAGE_PRIVATE_KEY_PATH", self.private_key_path)
        if problem:
            raise ConfigError(problem)
        return Path(self.private_key_path).expanduser().read_text()


class ConfigError(ValueError):
    """A setting that is missing or wrong; the message says how to fix it."""

    def _render_traceback_(self) -> list[str]:
        """In a notebook, the message alone: it is the fix, and the kit's frames above it
        would only hide it (the whole traceback is still in %debug and %tb)."""
        return [f"ConfigError: {self}"]


def is_key_text(value: str) -> bool:
    """Whether a key setting holds the key itself (PEM text) rather than a file's path."""
    return value.lstrip().startswith("-----BEGIN")


class Settings(dict):
    """Settings by name, as `wh.setup()` returns them: a repr that never shows a secret."""

    def __repr__(self) -> str:
        secret = {name for name, _, is_secret, _ in LIVE_SETTINGS if is_secret}
        return "Settings({" + ", ".join(
            f"{name!r}: {'***' if name in secret or is_key_text(value) else repr(value)}"
            for name, value in self.items()) + "})"


#: Why live mode does not start on mybinder.org (said before anything is asked).
ON_BINDER = (
    "This session runs on Binder, which cannot receive webhooks from Vonage, so live mode "
    "cannot work here. Use sandbox mode (wh.start()); for live mode, run the kit on your own "
    "machine (make lab) or in GitHub Codespaces."
)


def on_binder() -> bool:
    """Whether this is a BinderHub session (its spawner sets these in the environment)."""
    return bool(os.environ.get("BINDER_LAUNCH_HOST") or os.environ.get("BINDER_REPO_URL"))


def dotenv_path() -> str:
    """The .env live mode reads: in the current folder or the nearest parent ("" if none)."""
    return find_dotenv(usecwd=True)


def known_settings(env_file: str | Path | None = None) -> dict[str, str]:
    """The live-mode settings the .env and the environment have (by their own names,
    whichever name they were given)."""
    path = dotenv_path() if env_file is None else env_file
    from_file = dotenv_values(path) if path and Path(path).exists() else {}
    known = {}
    for name, *_ in LIVE_SETTINGS:
        names = [name] + ([ALIASES[name]] if name in ALIASES else [])
        value = next((found for n in names if (found := from_file.get(n) or os.environ.get(n))), None)
        in_file = any(from_file.get(n) for n in names)
        if value and name in PATHS and in_file and not is_key_text(value):
            value = str(Path(path).parent / Path(value).expanduser())  # from the .env's folder
        if value:
            known[name] = value
    return known


def live_credentials(env_file: str | Path | None = None,
                     given: dict[str, str] | None = None) -> LiveCredentials:
    """Read the live-mode settings from .env and the environment; `given` (answers from
    `wh.setup()`) come first. A setting may also go by the name Vonage's code snippets give
    it (ALIASES), so one .env serves both. A missing one is a ConfigError listing what to
    put in .env (`wh.setup()` asks for them)."""
    path = env_file or dotenv_path()
    known = {**known_settings(path), **(given or {})}
    values, missing = {}, []
    for name, what, _, required in LIVE_SETTINGS:
        if known.get(name):
            values[name.lower().removeprefix("vonage_")] = known[name]
        elif required:
            missing.append(f"{name}=...   # {what}")
    if missing:
        where = f"in {path}" if path else "in a .env file next to the notebooks"
        raise ConfigError("Live mode needs these settings; put them " + where + " (copy .env.example), "
                          "or run wh.setup() to be asked for them:\n  " + "\n  ".join(missing))
    return LiveCredentials(**values)


def setting_problem(name: str, value: str | None) -> str | None:
    """What is wrong with one setting's value, with its fix; None if nothing (or if the
    setting has no check that works without the network)."""
    check = _CHECKS.get(name)
    return check(value) if check and value else None


def preflight(credentials: LiveCredentials, port: int = 0) -> None:
    """Every live-mode check that needs no network, before anything starts (no tunnel
    opened, no webhook changed): a ConfigError with one short paragraph per problem."""
    values = {"VONAGE_APPLICATION_ID": credentials.application_id, "VONAGE_NUMBER": credentials.number,
              "VONAGE_PRIVATE_KEY_PATH": credentials.private_key_path, "NGROK_PATH": credentials.ngrok_path,
              "VONAGE_API_HOST": credentials.api_host, "VONAGE_REST_HOST": credentials.rest_host}
    problems = [problem for problem in (
        *(setting_problem(name, value) for name, value in values.items()),
        _port_problem(port),
    ) if problem]
    if problems:
        raise ConfigError("Live mode cannot start yet.\n\n" + "\n\n".join(problems))


def _application_id_problem(value: str) -> str | None:
    if _APPLICATION_ID.fullmatch(value.strip()):
        return None
    return (f"VONAGE_APPLICATION_ID is {value!r}, which is not an application id: copy the id "
            "(like 8c2f1a2e-1d3b-4c5a-9e7f-0a1b2c3d4e5f) from your application's page in the "
            "dashboard (Applications).")


def _number_problem(value: str) -> str | None:
    if _E164_DIGITS.fullmatch(value):
        return None
    return (f"VONAGE_NUMBER is {value!r}: write it as digits only, country code first, with no "
            "+, spaces or leading 0 (like 447700900123 for the UK number 07700 900123); it is "
            "your Vonage number, on the dashboard's Numbers page.")


def _key_problem(value: str) -> str | None:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if is_key_text(value):  # the key itself: checked, never shown
        shown, data = "the key text you gave", value.encode()
    else:
        path = Path(value).expanduser().resolve()
        if not path.is_file():
            return (f"VONAGE_PRIVATE_KEY_PATH is {path}, which is not a file: download private.key "
                    "from your application's page in the dashboard (Generate public and private key) "
                    "and put its path here (a relative path is from the .env's folder).")
        shown, data = str(path), path.read_bytes()
    if b"PUBLIC KEY" in data:
        return (f"VONAGE_PRIVATE_KEY_PATH: {shown} is a public key; live mode needs the private "
                "one, the private.key file the dashboard downloaded.")
    try:
        load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        return (f"VONAGE_PRIVATE_KEY_PATH: {shown} is not a private key ({type(error).__name__}): "
                "point it at the private.key file the dashboard downloaded, unchanged.")
    return None


def _host_problem(name: str, value: str, example: str) -> str | None:
    if "/" not in value and " " not in value:
        return None
    return (f"{name} is {value!r}: give the host alone, like {example} (no https://, no path), "
            "or leave it out.")


def _ngrok_path_problem(value: str | None) -> str | None:
    if not value or Path(value).expanduser().is_file():
        return None
    return (f"NGROK_PATH is {value}, which is not a file: correct the path to your ngrok "
            "binary, or remove NGROK_PATH from .env and the kit downloads ngrok itself (once, "
            "which needs the internet).")


_CHECKS = {
    "VONAGE_APPLICATION_ID": _application_id_problem,
    "VONAGE_NUMBER": _number_problem,
    "VONAGE_PRIVATE_KEY_PATH": _key_problem,
    "NGROK_PATH": _ngrok_path_problem,
    "VONAGE_API_HOST": lambda value: _host_problem("VONAGE_API_HOST", value, "api.nexmo.com"),
    "VONAGE_REST_HOST": lambda value: _host_problem("VONAGE_REST_HOST", value, "rest.nexmo.com"),
}


def _port_problem(port: int) -> str | None:
    if not port:
        return None  # any free port
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            return (f"port {port} is not free for your webhook server ({error.strerror}): "
                    "choose another, or leave port out and a free one is used.")
    return None
