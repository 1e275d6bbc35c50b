"""Exercises graded by what the calls did.

Each exercise is an object a notebook imports (`from workshop_helpers.exercises.user_input
import repeat_menu as ex1`; one module per notebook) with three methods, as learners know
them from Kaggle's learntools:

- `ex1.check()` places calls through your workshop with scripted virtual phones, then
  says what they did. Its output starts with one of three words, so a facilitator can
  scan a room: **Correct**, **Incorrect** (what the calls did against what was asked, and
  what to try), or **Not attempted** (the starter cell is as it was). It never raises, so
  "Restart & Run All" always runs to the end.
- `ex1.hint()` gives the first hint, `ex1.hint(2)` the second.
- `ex1.solution()` shows the solution's code (from `solutions/`); it never runs it.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import problems
from ..server import KINDS

CORRECT, INCORRECT, NOT_ATTEMPTED = "Correct", "Incorrect", "Not attempted"

#: One .py per exercise, named after it: what `solution()` shows and `make solved` uses.
SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


@dataclass
class Result:
    outcome: str  # CORRECT, INCORRECT or NOT_ATTEMPTED
    message: str

    def __str__(self) -> str:
        return f"{self.outcome}: {self.message}"


class Exercise:
    """One exercise. `edits` names what the learner changes: a webhook's handler ("answer",
    "input", as in `ws.answer`, `ws.on_input`) or a function of the notebook's
    ("send_code"), or a tuple of them. While each is still the starter cell's (`starter`),
    the check says Not attempted, in the words of `not_attempted`. Otherwise
    `grade(ws, exercise, yours)` drives the calls with it (`yours`; a list, for a tuple)
    and returns a Result, saying `correct` when it is right (always the same words, so a
    solved notebook can be checked)."""

    def __init__(self, name: str, grade: Callable, starter: str, hints: list[str], correct: str,
                 edits: str | tuple[str, ...], not_attempted: str):
        self.name = name
        self._grade = grade
        self.starter = textwrap.dedent(starter).strip()
        self.hints = hints
        self.correct = correct
        self.edits = edits
        self.not_attempted = not_attempted

    def __repr__(self) -> str:
        return f"<exercise {self.name}: .check(), .hint(), .solution()>"

    def check(self, names: dict | None = None) -> None:
        """Grade what your code does; print the verdict, then anything that went wrong
        on the calls it placed. `names` is where your functions are (in a notebook, its
        own variables)."""
        result, told = self.verdict(names)
        print(result)
        print(told, end="")

    def verdict(self, names: dict | None = None, ws=None) -> tuple[Result, str]:
        """The Result, and what went wrong on the calls the check placed (never raises).
        `ws` is the workshop to grade in: by default the one this kernel started."""
        if ws is None:
            from ..workshop import running

            ws = running()  # the workshop this kernel started
            if ws is None:
                return Result(NOT_ATTEMPTED, "the workshop is not running: run the cell with "
                                             "wh.start() first, then your code, then this check"), ""
        names = _notebook_names() if names is None else names
        edits = (self.edits,) if isinstance(self.edits, str) else self.edits
        found = [ws.server.handlers.get(name) if name in KINDS else names.get(name) for name in edits]
        if all(self.untouched(function) for function in found):
            return Result(NOT_ATTEMPTED, self.not_attempted), ""
        yours = found[0] if isinstance(self.edits, str) else found
        told = io.StringIO()
        try:
            with contextlib.redirect_stdout(told):  # said below the verdict, not above it
                result = self._grade(ws, self, yours)
        except Exception as error:  # the check must never stop "Run All"
            result = Result(INCORRECT, f"the check could not finish ({type(error).__name__}: "
                                       f"{error}); see what went wrong below, if anything")
        return result, told.getvalue()

    def hint(self, number: int = 1) -> None:
        if not 1 <= number <= len(self.hints):
            print(f"This exercise has hints 1 to {len(self.hints)}.")
            return
        print(f"Hint {number} of {len(self.hints)}: {self.hints[number - 1]}")

    def solution(self) -> None:
        """Show the solution's code; it is not run."""
        code = (SOLUTIONS / f"{self.name}.py").read_text().strip()
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if getattr(get_ipython(), "kernel", None) is None:  # a script, a terminal: plain text
            print(code)
        else:
            display(Markdown(f"Solution (read it, then write your own):\n\n```python\n{code}\n```"))

    def untouched(self, function: Callable | None) -> bool:
        """Whether `function` is still the starter cell's own (comments and spacing aside)."""
        if function is None:
            return True
        try:
            yours = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
        except (OSError, TypeError, SyntaxError, IndexError):
            return False
        starters = [node for node in ast.walk(ast.parse(self.starter))
                    if isinstance(node, ast.FunctionDef) and node.name == function.__name__]
        return any(ast.dump(node) == ast.dump(yours) for node in starters)


def finish(ws, uuids, seconds: float = 30) -> "Calls":
    """Wait for the check's calls to complete, all within `seconds` of call time; hang up
    any still going then (a menu that repeats forever, say). Say what went wrong on
    them once, under the verdict, and give it back for the verdict to lead with."""
    uuids = list(uuids)
    endless = set()
    clock = ws.sandbox.clock if ws.sandbox is not None else None
    deadline = time.monotonic() + (clock.real_seconds(seconds) if clock and not clock.virtual else seconds)
    for uuid in uuids:
        # On a virtual clock the time-out is call time, which costs nothing; on the real
        # clock the calls run side by side, so they share one deadline.
        left = seconds if clock is not None and clock.virtual else max(deadline - time.monotonic(), 1)
        try:
            ws.wait_for(uuid, timeout=left, tell=False)
        except TimeoutError:
            endless.add(uuid)
            ws.client.voice.hangup(uuid)
            ws.wait_for(uuid, timeout=30, tell=False)
    found = []
    for uuid in uuids:
        found += [p for p in ws.tell_problems(uuid, quiet=True) if p not in found]
    if found:
        print(problems.report(found, "the calls the check placed"))
    return Calls(endless, found)


@dataclass
class Calls:
    """What `finish` found: the calls it had to hang up, and what went wrong on them."""

    endless: set
    problems: list

    def cause(self) -> Result | None:
        """Incorrect, led by the first thing your code got wrong on these calls (a
        handler that failed, an input sent to the wrong webhook, ...), if any: the cause
        comes before what the callers heard because of it."""
        for problem in self.problems:
            if not problem.startswith(("so the platform", "the platform reported")):
                return Result(INCORRECT, f"{problem.splitlines()[0]} (more below)")
        return None


def talks(ws, uuid: str) -> list[str]:
    """What the platform said on call `uuid`, in order (its talk actions' texts)."""
    return [e["text"] for e in ws.sandbox.transcript(uuid) if e["who"] == "platform" and e["kind"] == "talk"]


def recording_urls(ws, uuid: str) -> list[str]:
    """The recordings that arrived for call `uuid` (their URLs, to download with the SDK)."""
    return [url for url in ws.call_events(uuid)["recording_url"].dropna()]


def fields(ncco, name: str) -> list:
    """One field of each action a handler returned (a list, or a single action; models
    or dicts): what live-mode checks read, since they cannot listen to a call."""
    actions = ncco if isinstance(ncco, (list, tuple)) else [ncco]
    return [getattr(action, name, None) or (action.get(name) if isinstance(action, dict) else None)
            for action in actions]


def _notebook_names() -> dict:
    """The notebook's variables, where your functions are."""
    from IPython import get_ipython

    shell = get_ipython()
    return shell.user_ns if shell is not None else {}
