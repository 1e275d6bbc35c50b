"""The NCCO composer: build an NCCO action by action, and see it as JSON and as Python.

Each action's form is generated from its `vonage_voice` model (see model_form.py), and the
whole NCCO is checked by `workshop_helpers.ncco` on every change, the same check the
sandbox and your webhook server make, so a mistake shows next to its field at once.

    composer = NccoComposer()
    composer.add("talk", text="Press 1 or 2")       # the same as clicking "Add"
    composer.add("input", type=["dtmf"], dtmf={"maxDigits": 1})
    composer                                      # shows the widget
    composer.ncco                                 # the NCCO as JSON-ready dicts
    print(composer.as_python())                   # the vonage_voice code that builds it
"""

from __future__ import annotations

import html
import json
import re

import ipywidgets as widgets

from ..ncco import ACTION_MODELS, NccoError, as_python, parse_action, validate_ncco
from .buttons import labelled_button
from .model_form import ERROR_STYLE, FormError, ModelForm

BUTTON = widgets.Layout(width="36px")


class ActionEditor:
    """One action of the NCCO: a header with its buttons, and its generated form."""

    def __init__(self, composer: "NccoComposer", name: str):
        self.name = name
        self.form = ModelForm(ACTION_MODELS[name])
        self.title = widgets.HTML()
        self.up = widgets.Button(icon="arrow-up", tooltip="move up", layout=BUTTON)
        self.down = widgets.Button(icon="arrow-down", tooltip="move down", layout=BUTTON)
        self.remove = widgets.Button(icon="trash", tooltip="remove", layout=BUTTON)
        self.up.on_click(lambda _: composer.move(self, -1))
        self.down.on_click(lambda _: composer.move(self, +1))
        self.remove.on_click(lambda _: composer.remove(self))
        self.error = widgets.HTML()
        header = widgets.HBox([self.title, self.up, self.down, self.remove])
        self.widget = widgets.VBox(
            [header, self.error, self.form.widget],
            layout=widgets.Layout(border="1px solid #bbb", padding="6px", margin="4px 0"),
        )
        self.widget.add_class("ncco-action")
        self.form.observe(lambda change: composer.refresh())

    def value(self) -> dict:
        """The action as JSON (FormError if a field cannot even be read)."""
        return {"action": self.name, **self.form.value()}

    def show(self, index: int, problems: list[tuple[str, str]]) -> None:
        """Number the action, and show its problems (paths relative to the action)."""
        self.title.value = f"<b>{index + 1}. {self.name}</b>"
        left = self.form.show_problems(problems)
        message = "; ".join(f"{where + ': ' if where else ''}{why}" for where, why in left)
        shown = html.escape(message, quote=False)
        self.error.value = f'<div style="{ERROR_STYLE}; margin-left: 0">{shown}</div>' if left else ""


class NccoComposer:
    """Add, remove, reorder and edit NCCO actions; a live JSON preview; copy as Python."""

    def __init__(self, ncco: list | None = None, workshop=None):
        self.workshop = workshop
        self.actions: list[ActionEditor] = []
        self.problems: list[tuple[str, str]] = []  # (ncco[i].field, reason) of the NCCO now
        self.kind = widgets.Dropdown(options=list(ACTION_MODELS), value="talk", description="action")
        self.add_button = labelled_button("Add", icon="plus", button_style="primary")
        self.add_button.on_click(lambda _: self.add(self.kind.value))
        self.list = widgets.VBox()
        self.status = widgets.HTML()
        self.preview = widgets.HTML()
        self.preview.add_class("ncco-preview")
        self.python = widgets.Textarea(layout=widgets.Layout(width="100%", height="160px", display="none"))
        self.python.add_class("ncco-python")
        self.copy_button = labelled_button("Copy as Python", icon="code")
        self.copy_button.on_click(lambda _: self.show_python())
        self.answer_button = labelled_button("Use as the answer NCCO", icon="reply",
                                             disabled=workshop is None,
                                             tooltip="calls to your number get this NCCO")
        self.answer_button.on_click(lambda _: self.answer_with(self.workshop))
        editor = widgets.VBox([widgets.HBox([self.kind, self.add_button]), self.list])
        buttons = widgets.HBox([self.copy_button, self.answer_button],
                               layout=widgets.Layout(flex_flow="row wrap"))  # a narrow page: two rows
        side = widgets.VBox([self.status, self.preview, buttons, self.python],
                            layout=widgets.Layout(width="45%", padding="0 0 0 12px"))
        self.widget = widgets.HBox([widgets.VBox([editor], layout=widgets.Layout(width="55%")), side])
        self.widget.add_class("ncco-composer")
        for action in ncco or []:
            action = dict(action)
            self.add(action.pop("action"), **action)
        self.refresh()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- editing (each is what a button does) -------------------------------------------
    def add(self, action: str, **fields) -> ActionEditor:
        """Append an action, with any fields given as JSON values (`dtmf={"maxDigits": 1}`)."""
        if action not in ACTION_MODELS:
            raise ValueError(f"{action!r} is not an NCCO action; the actions are: {', '.join(ACTION_MODELS)}")
        editor = ActionEditor(self, action)
        editor.form.set_value(fields)
        self.actions.append(editor)
        self._relist()
        return editor

    def remove(self, editor: ActionEditor | int) -> None:
        self.actions.remove(self._editor(editor))
        self._relist()

    def move(self, editor: ActionEditor | int, by: int) -> None:
        """Move an action up (by=-1) or down (by=+1)."""
        editor = self._editor(editor)
        index = self.actions.index(editor)
        target = min(max(index + by, 0), len(self.actions) - 1)
        self.actions.insert(target, self.actions.pop(index))
        self._relist()

    def set(self, index: int, **fields) -> None:
        """Change fields of the action at `index`, as typing into its form would."""
        editor = self.actions[index]
        current = editor.form.value()
        editor.form.set_value({**current, **fields})
        self.refresh()

    def _editor(self, editor: ActionEditor | int) -> ActionEditor:
        return self.actions[editor] if isinstance(editor, int) else editor

    def _relist(self) -> None:
        self.list.children = [editor.widget for editor in self.actions]
        self.refresh()

    # -- checking and showing -------------------------------------------------------------
    def refresh(self) -> None:
        """Check every action and show the problems, the JSON and (if open) the Python."""
        problems, draft = [], []
        for index, editor in enumerate(self.actions):
            where = f"ncco[{index}]"
            try:
                action = editor.value()
                draft.append(action)
                parse_action(action, where)
                mine = []
            except FormError as error:
                mine = error.problems
            except NccoError as error:
                mine = [(_relative(path, where), why) for path, why in error.problems]
            problems += [(f"{where}.{path}" if path else where, why) for path, why in mine]
            editor.show(index, mine)
        if not self.actions:
            problems.append(("ncco", "an NCCO needs at least one action: pick one and press Add"))
        self.problems = problems
        if problems:
            self.status.value = (f'<div style="{ERROR_STYLE}; margin: 0"><b>{len(problems)} to fix</b>: '
                                 + "<br>".join(html.escape(f"{p}: {r}", quote=False) for p, r in problems) + "</div>")
        else:
            self.status.value = '<div style="color: #1b5e20"><b>Valid NCCO</b></div>'
        shown = validate_ncco(draft) if not problems else draft
        self.preview.value = f"<pre>{html.escape(json.dumps(shown, indent=2), quote=False)}</pre>"
        if self.python.layout.display != "none":
            self.show_python()

    @property
    def ncco(self) -> list[dict]:
        """The NCCO as JSON-ready dicts; NccoError (naming each field) if it is not valid."""
        if self.problems:
            raise NccoError(self.problems)
        return validate_ncco([editor.value() for editor in self.actions])

    def as_python(self) -> str:
        """The `vonage_voice` code that builds this NCCO."""
        return as_python(self.ncco)

    def show_python(self) -> None:
        self.python.layout.display = None
        try:
            self.python.value = self.as_python()
        except NccoError as error:
            self.python.value = f"# Fix the NCCO first:\n# {error}"

    def answer_with(self, workshop) -> None:
        """Make this NCCO (as it is when each call arrives) the workshop's answer: the
        same as writing `@ws.answer` returning it."""
        @workshop.answer
        def answer(call):
            return self.ncco

        self.status.value += "<div>Calls to your number now get this NCCO.</div>"


def _relative(path: str, where: str) -> str:
    """`ncco[2].dtmf.maxDigits` → `dtmf.maxDigits` (for the action's own form)."""
    return re.sub(rf"^{re.escape(where)}\.?", "", path)
