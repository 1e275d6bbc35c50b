"""Kernels of one user never share their calls: each notebook has its own event store
(kept across a kernel restart), and two kernels that would open the same one do not.

The last tests start real IPython kernels, as JupyterLab does for two notebooks, on one
state folder, and make a call in each.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

from workshop_helpers import config
from workshop_helpers.events import own_store

ROOT = Path(__file__).resolve().parent.parent


def test_a_notebooks_events_are_kept_in_a_store_named_after_it(monkeypatch, tmp_path):
    monkeypatch.setenv("VOICE_WORKSHOP_HOME", str(tmp_path))
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ada/workshop/02_make_a_call.ipynb")
    digest = hashlib.sha256(b"/home/ada/workshop/02_make_a_call.ipynb").hexdigest()[:8]
    assert config.events_path() == tmp_path / "events" / f"02_make_a_call-{digest}.sqlite"


def test_two_notebooks_of_one_name_in_two_folders_have_two_stores(monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ada/day1/notes.ipynb")
    first = config.events_path()
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ada/day2/notes.ipynb")
    assert config.events_path() != first
    assert first.name.startswith("notes-") and config.events_path().name.startswith("notes-")


def test_a_notebook_name_that_is_no_file_name_is_made_one(monkeypatch, tmp_path):
    monkeypatch.setenv("VOICE_WORKSHOP_HOME", str(tmp_path))
    monkeypatch.setenv("JPY_SESSION_NAME", "/tmp/my notes: day 1?.ipynb")
    path = config.events_path()
    assert path.parent == tmp_path / "events"
    assert path.name.startswith("my_notes_day_1_-") and path.suffix == ".sqlite"


def test_outside_a_notebook_and_a_kernel_the_store_is_the_default_one(monkeypatch, tmp_path):
    monkeypatch.setenv("VOICE_WORKSHOP_HOME", str(tmp_path))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert config.events_path() == tmp_path / "events" / "default.sqlite"


def test_a_store_in_use_is_not_opened_twice(tmp_path):
    wanted = tmp_path / "events" / "notebook.sqlite"
    first = own_store(wanted)
    second = own_store(wanted)
    try:
        assert first.path == wanted
        assert second.path != wanted and second.path.parent == wanted.parent
        first.add("event", "POST", {"uuid": "first's call"}, verified=True)
        assert second.rows() == []
    finally:
        first.close()
        second.close()
    again = own_store(wanted)  # closed: free again, with what it kept
    try:
        assert again.path == wanted
        assert [row["payload"] for row in again.rows()] == ['{"uuid": "first\'s call"}']
    finally:
        again.close()


# -- real kernels ---------------------------------------------------------------------------

class Kernel:
    """An IPython kernel started as JupyterLab starts one for a notebook."""

    def __init__(self, home: Path, notebook: str | None):
        env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
        env.update(VOICE_WORKSHOP_HOME=str(home), VOICE_WORKSHOP_CLOCK="virtual", PYTHONPATH=str(ROOT))
        if notebook:
            env["JPY_SESSION_NAME"] = notebook  # what JupyterLab tells a notebook's kernel
        self.manager = KernelManager(kernel_name="python3")
        self.manager.kernel_spec.argv[0] = sys.executable  # this venv's Python
        self.manager.start_kernel(env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str) -> str:
        """Run code; return what it printed (and fail the test with the kernel's error)."""
        printed, errors = [], []

        def keep(message):
            content = message["content"]
            if message["msg_type"] == "stream":
                printed.append(content["text"])
            elif message["msg_type"] == "error":
                errors.append("\n".join(content["traceback"]))

        reply = self.client.execute_interactive(code, timeout=120, output_hook=keep)
        assert reply["content"]["status"] == "ok", "\n".join(errors)
        return "".join(printed)

    def restart(self) -> None:
        self.manager.restart_kernel(now=True)
        self.client.wait_for_ready(timeout=60)

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


START = "import workshop_helpers as wh\nws = wh.start()\n"


def call_from(number: str) -> str:
    return f"""
from vonage_voice import Talk
ws.answer(lambda call: [Talk(text="hello")])
ws.wait_for(ws.phone("{number}").call(ws.number))
"""


CALLERS = "print(sorted(ws.calls['from']))"


@pytest.fixture
def kernels(tmp_path):
    started = []

    def start(notebook: str | None) -> Kernel:
        started.append(Kernel(tmp_path / "home", notebook))
        return started[-1]

    yield start
    for kernel in started:
        kernel.stop()


def test_two_notebooks_kernels_see_and_clear_only_their_own_calls(kernels):
    first, second = kernels("/work/01_concepts.ipynb"), kernels("/work/02_make_a_call.ipynb")
    for kernel, number in ((first, "447700900101"), (second, "447700900102")):
        kernel.run(START + call_from(number))
    assert first.run(CALLERS) == "['447700900101']\n"
    assert second.run(CALLERS) == "['447700900102']\n"
    first.run("ws.clear_events()")
    assert first.run(CALLERS) == "[]\n"
    assert second.run(CALLERS) == "['447700900102']\n"


def test_a_notebook_finds_its_calls_again_after_a_kernel_restart(kernels):
    kernel = kernels("/work/03_receive_a_call.ipynb")
    kernel.run(START + call_from("447700900103"))
    kernel.restart()
    assert kernel.run(START + CALLERS) == "['447700900103']\n"


def test_a_kernel_with_no_notebook_keeps_its_own_store_across_a_restart(kernels):
    """nbval and consoles start kernels with no notebook: the kernel id names the store."""
    kernel = kernels(None)
    kernel.run(START + call_from("447700900104") + "print(ws.store.path.name)")
    where = kernel.run("print(ws.store.path.name)").strip()
    assert where.startswith("kernel-") and where.endswith(".sqlite")
    kernel.restart()
    assert kernel.run(START + "print(ws.store.path.name)\n" + CALLERS) == f"{where}\n['447700900104']\n"


def test_one_notebook_in_two_kernels_gives_the_second_a_store_of_its_own_and_says_so(kernels):
    first, second = kernels("/work/04_user_input.ipynb"), kernels("/work/04_user_input.ipynb")
    first.run(START + call_from("447700900105"))
    said = second.run(START)
    assert "Another kernel has this notebook's webhooks open" in said
    second.run(call_from("447700900106"))
    assert first.run(CALLERS) == "['447700900105']\n"
    assert second.run(CALLERS) == "['447700900106']\n"
