"""The widgets in a real browser: JupyterLab started by the test, headless Debian chromium
driven by Playwright, notebook 05 opened (unmodified, with no news toast over it) and run
top to bottom, and then what an attendee does: compose an NCCO with talk + input, call a
virtual phone, answer it and press a key on it, see the input arrive in the live event
table, and draw the call's timeline. Screenshots of each widget are saved in
test-artifacts/screenshots/ for review.

Nothing is downloaded: Playwright drives the chromium `make test` installs (set CHROMIUM
to use another Chromium or Chrome).
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from ipykernel.ipkernel import IPythonKernel
from jupyter_client.kernelspec import KernelSpecManager

playwright = pytest.importorskip("playwright.sync_api", reason="install the test extras: make test")
from conftest import chromium_path  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
TOKEN = "browser-test-token"
NOTEBOOK = "05_widgets.ipynb"
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

#: The JupyterLab settings `make lab` uses (no news toast): the tests check them.
PROJECT_LAB_SETTINGS = ROOT / "lab-settings"
#: JupyterLab user settings for the isolated server: never ask PyPI for updates, no kernel
#: dialog, every cell in the page, and never write the notebook back.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension:notification": {"checkForUpdates": False},
    "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True, "windowingMode": "none"},
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
}


def clean_copy(source: Path, target: Path) -> None:
    """The notebook without outputs or counts (so "[n]:" prompts mean this run ran them).
    Its language_info names this Python's version: JupyterLab writes the kernel's exact
    version on opening, which a committed notebook can only match on one machine."""
    notebook = json.loads(source.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    if "language_info" in notebook["metadata"]:
        notebook["metadata"]["language_info"]["version"] = platform.python_version()
    target.write_text(json.dumps(notebook))


class Lab:
    def __init__(self, process: subprocess.Popen, url: str, root: Path):
        self.process, self.base, self.root = process, url, root

    def url(self, path: str) -> str:
        return f"{self.base}{path}?token={TOKEN}&reset"  # reset: no layout from an earlier run

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
            return json.loads(body) if body else None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A private JupyterLab: its own config, data, runtime and workshop state folders."""
    base = tmp_path_factory.mktemp("lab")
    root, config, data, runtime, home = (base / name for name in ("root", "config", "data", "runtime", "home"))
    for folder in (root, config, data, runtime, home):
        folder.mkdir()
    clean_copy(ROOT / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    for plugin, values in LAB_SETTINGS.items():
        package, name = plugin.split(":")
        target = config / "lab" / "user-settings" / package / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    env.update(JUPYTER_CONFIG_DIR=str(config), JUPYTER_DATA_DIR=str(data), JUPYTER_RUNTIME_DIR=str(runtime),
               IPYTHONDIR=str(base / "ipython"), VOICE_WORKSHOP_HOME=str(home),
               VOICE_WORKSHOP_CLOCK="virtual",  # the phone rings until the test answers it
               PYTHONPATH=str(ROOT))  # the kernel imports this checkout's workshop_helpers
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               "--ServerApp.port=0", "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
               f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
               f"--LabApp.app_settings_dir={PROJECT_LAB_SETTINGS}",  # as `make lab` runs it
               "--LabApp.expose_app_in_browser=True"]  # window.jupyterapp: the notebook's own state
    if os.getuid() == 0:
        command.append("--allow-root")  # containers often run as root
    log = open(base / "server.log", "wb")
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    server = None
    try:
        server = _wait_until_ready(process, runtime, root, base / "server.log")
        yield server
    finally:
        _shut_down(process, server)
        log.close()


def _wait_until_ready(process: subprocess.Popen, runtime: Path, root: Path, log: Path) -> Lab:
    """With port 0 the server picks a free port and writes it to jpserver-<pid>.json."""
    info = runtime / f"jpserver-{process.pid}.json"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited:\n{log.read_text()[-3000:]}")
        try:
            server = Lab(process, f"http://127.0.0.1:{json.loads(info.read_text())['port']}/", root)
            server.api("api/status")
            return server
        except (OSError, ValueError, KeyError):
            time.sleep(0.1)
    pytest.fail(f"JupyterLab did not answer within 90 s:\n{log.read_text()[-3000:]}")


def _shut_down(process: subprocess.Popen, server: Lab | None) -> None:
    """Ask the server to stop (it stops its kernels), else signal it."""
    try:
        if server is not None and process.poll() is None:
            server.api("api/shutdown", method="POST")
        process.wait(timeout=20)
    except Exception:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)


@pytest.fixture(scope="module")
def page(lab):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium_path(), headless=True,
                                         args=["--no-sandbox", "--disable-dev-shm-usage"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(30_000)
        tab = context.new_page()
        errors = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield tab
        except BaseException:
            raise
        finally:
            tab.screenshot(path=str(SCREENSHOTS / "lab-at-the-end.png"), full_page=True)
            browser.close()
        assert not errors, f"errors in the page: {errors}"


def kernel_status(page):
    return page.locator(f'#jp-main-statusbar [title="Change kernel for {NOTEBOOK}"]')


def open_notebook(page, lab):
    page.goto(lab.url(f"lab/tree/{NOTEBOOK}"))
    expect(page.locator(f"{PANEL} .jp-Cell").first).to_be_visible()
    expect(kernel_status(page)).to_have_text(re.compile(r"\| Idle$"), timeout=60_000)


#: Whether the open notebook is modified, asked once JupyterLab has put the kernel's
#: kernelspec and language_info in its metadata (as it does on opening: a difference
#: from the file marks the notebook modified before the attendee has typed anything).
DIRTY_ONCE_THE_KERNEL_IS_KNOWN = """async () => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel.sessionContext.session.kernel;
    await kernel.info;
    await kernel.spec;
    await new Promise(resolve => setTimeout(resolve, 0));  // after JupyterLab's own updates
    return {path: panel.context.path, dirty: panel.context.model.dirty};
}"""


def test_every_notebook_has_the_metadata_jupyterlab_gives_it_on_opening():
    """JupyterLab writes the kernel's kernelspec and language_info into a notebook as it
    opens it, and any difference from the file marks the notebook modified (all but the
    Python version, which is the machine's: see clean_copy)."""
    spec = KernelSpecManager().get_kernel_spec("python3")
    kernelspec = {"name": "python3", "display_name": spec.display_name, "language": spec.language}
    language_info = {k: v for k, v in IPythonKernel.language_info.items() if k != "version"}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        metadata = json.loads(path.read_text())["metadata"]
        info = {k: v for k, v in metadata.get("language_info", {}).items() if k != "version"}
        assert (metadata.get("kernelspec"), info) == (kernelspec, language_info), path.name


def test_the_notebook_opens_unmodified_and_without_a_news_toast(page, lab):
    open_notebook(page, lab)
    assert page.evaluate(DIRTY_ONCE_THE_KERNEL_IS_KNOWN) == {"path": NOTEBOOK, "dirty": False}
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=NOTEBOOK)
    expect(tab).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"))
    # The project's settings answer "no" to JupyterLab's "get notified about Jupyter news?".
    notification = lab.api("lab/api/settings/@jupyterlab/apputils-extension:notification")
    assert notification["schema"]["properties"]["fetchNews"]["default"] == "false"
    expect(page.locator(".Toastify__toast")).to_have_count(0)


@pytest.fixture(scope="module")
def notebook(page, lab):
    """Notebook 05 open and run top to bottom (Run > Run All Cells, as an attendee would)."""
    open_notebook(page, lab)
    page.locator("#jp-menu-panel .lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    page.wait_for_function("""() => {
        const prompts = [...document.querySelectorAll(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
        return prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
    }""", timeout=90_000)
    expect(kernel_status(page)).to_have_text(re.compile(r"\| Idle$"))
    errors = page.locator(f"{PANEL} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0 or "Traceback" not in errors.all_inner_texts()
    return page


def composer(page):
    return page.locator(f"{PANEL} .ncco-composer")


def action(page, index):
    return composer(page).locator(".ncco-action").nth(index)


def form_field(box, name):
    """The input of a generated form field, found by its label."""
    return box.locator(".widget-inline-hbox", has=box.page.locator(f"label:text-is('{name}')")).first


WIDGETS = ((".ncco-composer", "composer"), (".virtual-phone", "phone"),
           (".dialer", "dialer"), (".event-table-widget", "event-table"))

#: The labels of the widgets' buttons that do not fit (ipywidgets cuts them with "…").
CUT_LABELS = """(selectors) => [...document.querySelectorAll(selectors)]
    .filter(button => button.offsetParent !== null && button.scrollWidth > button.clientWidth)
    .map(button => `${button.textContent.trim()}: ${button.scrollWidth} > ${button.clientWidth}`)"""


def test_every_widget_renders(notebook):
    for css, name in WIDGETS:
        widget = notebook.locator(f"{PANEL} {css}")
        expect(widget).to_be_visible()
        widget.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    buttons = ", ".join(f"{PANEL} {css} button" for css, _ in WIDGETS)
    assert notebook.locator(buttons).count() > 30  # the keypad alone has 12
    assert notebook.evaluate(CUT_LABELS, buttons) == []
    # The composer shows the notebook's NCCO as valid JSON.
    expect(composer(notebook).locator(".ncco-preview")).to_contain_text('"maxDigits": 1')
    expect(composer(notebook)).to_contain_text("Valid NCCO")


def test_an_invalid_field_shows_its_error_inline(notebook):
    dtmf = action(notebook, 1)
    max_digits = form_field(dtmf, "maxDigits").locator("input")
    max_digits.fill("50")
    max_digits.press("Enter")
    expect(dtmf).to_contain_text("Input should be less than or equal to 20")
    expect(composer(notebook)).to_contain_text("1 to fix")
    composer(notebook).screenshot(path=str(SCREENSHOTS / "composer-with-an-error.png"))
    max_digits.fill("1")
    max_digits.press("Enter")
    expect(composer(notebook)).to_contain_text("Valid NCCO")
    expect(dtmf).not_to_contain_text("less than or equal")


def test_compose_talk_and_input_call_the_phone_press_a_key_and_see_the_input(notebook):
    page = notebook
    # Start again from an empty NCCO: remove both actions, then add talk and input.
    for left in (1, 0):  # one click at a time: a second click must not land on the first's box
        action(page, 0).locator("button:has(.fa-trash)").click()
        expect(composer(page).locator(".ncco-action")).to_have_count(left)
    expect(composer(page)).to_contain_text("an NCCO needs at least one action")
    kind = composer(page).locator(".widget-dropdown select").first
    kind.select_option("talk")
    composer(page).get_by_role("button", name="Add").click()
    talk = action(page, 0)
    text = form_field(talk, "text *").locator("input")
    text.fill("Welcome to the browser test. Press a key.")
    text.press("Enter")
    form_field(talk, "bargeIn").locator("select").select_option("true")
    kind.select_option("input")
    composer(page).get_by_role("button", name="Add").click()
    ask = action(page, 1)
    form_field(ask, "type *").locator("select").select_option(["dtmf"])
    max_digits = form_field(ask, "maxDigits").locator("input")
    max_digits.fill("1")
    max_digits.press("Enter")
    expect(composer(page)).to_contain_text("Valid NCCO")
    expect(composer(page).locator(".ncco-preview")).to_contain_text('"action": "input"')
    composer(page).get_by_role("button", name="Copy as Python").click()
    expect(composer(page).locator(".ncco-python textarea")).to_have_value(re.compile(r"Talk\(text='Welcome"))
    composer(page).screenshot(path=str(SCREENSHOTS / "composer-talk-and-input.png"))

    phone = page.locator(f"{PANEL} .virtual-phone")
    dialer = page.locator(f"{PANEL} .dialer")
    outputs = page.locator(f"{PANEL} .jp-Cell > .jp-Cell-outputWrapper .jp-OutputArea-output")
    outputs_before = outputs.count()
    assert outputs_before >= 4  # at least the four widgets
    expect(form_field(dialer, "to").locator("input")).to_have_value("447700900555")  # the phone's
    dialer.get_by_role("button", name="Call").click()
    expect(dialer.locator(".dialer-result")).to_contain_text("create_call")
    expect(phone.locator(".phone-state")).to_contain_text("ringing")
    phone.screenshot(path=str(SCREENSHOTS / "phone-ringing.png"))
    phone.get_by_role("button", name="Answer").click()
    expect(phone.locator(".phone-state")).to_contain_text("on a call")
    expect(phone.locator(".phone-transcript")).to_contain_text("Welcome to the browser test")
    phone.locator(".key-5").click()  # bargeIn: the key stops the prompt and is the answer
    expect(phone.locator(".phone-transcript")).to_contain_text("you dtmf: 5")
    expect(phone.locator(".phone-keys")).to_contain_text("key 5 sent: the call's input action heard it")

    table = page.locator(f"{PANEL} .event-table")
    digits_in_table = """() => [...document.querySelectorAll('.event-table tr.event-row')]
        .some(row => row.cells[6] && row.cells[6].textContent.trim() === '5')"""
    page.wait_for_function(digits_in_table, timeout=30_000)
    expect(table).to_contain_text("completed")
    # The widgets changed in place: nothing was printed into any cell meanwhile.
    assert outputs.count() == outputs_before
    phone.screenshot(path=str(SCREENSHOTS / "phone-after-the-call.png"))
    page.locator(f"{PANEL} .event-table-widget").screenshot(path=str(SCREENSHOTS / "event-table-with-the-input.png"))

    # The call's timeline, as a picture that loads (not a broken image).
    events = page.locator(f"{PANEL} .event-table-widget")
    events.get_by_role("button", name="Timeline").click()
    picture = events.locator("img")
    expect(picture).to_have_attribute("src", re.compile(r"^data:image/png;base64,iVBORw0KGgo"))  # a PNG
    page.wait_for_function("image => image.complete", arg=picture.element_handle())
    assert "[object Object]" not in picture.get_attribute("src")
    assert picture.evaluate("image => image.naturalWidth") > 0
    events.screenshot(path=str(SCREENSHOTS / "event-table-with-the-timeline.png"))


def test_the_slides_present_in_jupyterlabs_html_viewer_once_trusted(page, lab):
    """The deck `make slides` writes beside the notebooks opens in the HTML viewer. JupyterLab
    runs no script in an HTML file until it is trusted (a trusted file's scripts act with the
    user's JupyterLab session, so the kit does not trust every HTML file by default): the
    deck says to click Trust HTML, and once clicked, it presents with its diagrams drawn."""
    subprocess.run([sys.executable, str(ROOT / "slides" / "build.py"),
                    "--output", str(lab.root / "workshop-slides.html")], check=True, capture_output=True)
    tab = page.context.new_page()
    try:
        tab.goto(lab.url("lab/tree/workshop-slides.html"))
        viewer = tab.locator(".jp-HTMLViewer:not(.lm-mod-hidden)")
        deck = viewer.frame_locator("iframe")
        # (The viewer fetches the whole 7 MB deck before it shows it: slow on a busy machine.)
        expect(deck.locator(".needs-scripts")).to_contain_text("click Trust HTML in the toolbar above",
                                                               timeout=120_000)
        tab.locator('jp-button[aria-label="Trust HTML"]').click()
        expect(deck.locator("body[data-diagrams=drawn]")).to_be_attached(timeout=120_000)
        expect(deck.locator(".reveal .slides section.present h1")).to_have_text("The Vonage Voice API, hands-on",
                                                                                timeout=30_000)
        tab.screenshot(path=str(SCREENSHOTS / "slides-in-jupyterlab.png"))
    finally:
        tab.close()
