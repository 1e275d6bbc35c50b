"""A form for any pydantic model, generated from the model itself.

The NCCO composer shows one of these per action. Nothing here knows about NCCOs: each
field's widget comes from its type (text, number, yes/no, a choice, a list, an object, a
nested model, or one of several models), its placeholder from its range and default, and
its tooltip from the model's docstring. So when the SDK's models change, the forms follow.

A form's `value()` is the JSON the fields describe (blank optional fields are left out);
`show_problems()` puts validation errors next to the fields they are about.
"""

from __future__ import annotations

import enum
import html
import json
import re
import types
import typing
from typing import Any, Literal, Union

import annotated_types
import ipywidgets as widgets
from pydantic import BaseModel
from pydantic.fields import FieldInfo

UNSET = "(default)"  # the choice that leaves an optional field out of the JSON
ERROR_STYLE = "color: #b00020; font-size: 0.85em; margin: 0 0 4px 160px"


class FieldError(ValueError):
    """A value that cannot even be turned into JSON (like "abc" for a number)."""


def wire_name(name: str, info: FieldInfo) -> str:
    """The field's name in the JSON (`from_` is sent as `from`)."""
    return info.serialization_alias or info.alias or name


def unwrap_optional(annotation) -> tuple[Any, bool]:
    """(the type inside Optional[...], whether it was optional)."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) < len(typing.get_args(annotation)):
            return (members[0] if len(members) == 1 else Union[tuple(members)]), True
    return annotation, False


def base_type(annotation):
    """`Annotated[str, ...]` is a str; everything else is itself."""
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0]
    return annotation


def choices_of(annotation) -> list | None:
    """The allowed values of a Literal, an Enum, or a union of Literals; else None."""
    annotation = base_type(annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [member.value for member in annotation]
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    if typing.get_origin(annotation) in (Union, types.UnionType):
        options = [choices_of(a) for a in typing.get_args(annotation)]
        if all(options):
            return [value for option in options for value in option]
    return None


def model_members(annotation) -> list[type[BaseModel]]:
    """The models of a field typed as a model or a union of models."""
    annotation = base_type(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (Union, types.UnionType):
        members = [base_type(a) for a in typing.get_args(annotation)]
        if all(isinstance(m, type) and issubclass(m, BaseModel) for m in members):
            return members
    return []


def docstring_help(model: type[BaseModel]) -> dict[str, str]:
    """Each field's description from the model's Google-style `Args:` docstring."""
    helps, current = {}, None
    for line in (model.__doc__ or "").splitlines():
        match = re.match(r"\s+(\w+) \([^)]*\)?[^:]*:\s*(.*)", line)
        if match and match.group(1) in model.model_fields:
            current = match.group(1)
            helps[current] = match.group(2).strip()
        elif current and line.strip() and not line.strip().endswith(":"):
            helps[current] += " " + line.strip()
        else:
            current = None
    return helps


def describe(info: FieldInfo, kind: str) -> str:
    """A placeholder: the kind of value, its range and its default."""
    low = high = None
    for rule in info.metadata:
        if isinstance(rule, annotated_types.Ge):
            low = rule.ge
        elif isinstance(rule, annotated_types.Le):
            high = rule.le
        elif isinstance(rule, annotated_types.MaxLen):
            high = rule.max_length
    text = kind
    if low is not None and high is not None:
        text += f" {low} to {high}"
    elif low is not None:
        text += f" ≥ {low}"
    elif high is not None:
        text += f" ≤ {high}" if kind != "text" else f" (up to {high} characters)"
    if info.default not in (None, ...) and not info.is_required():
        default = info.default.value if isinstance(info.default, enum.Enum) else info.default
        text += f"; default {default}"
    return text


def is_tag(info: FieldInfo) -> bool:
    """A fixed field that names the model (an action's `action`, an endpoint's `type`)."""
    return isinstance(info.default, enum.Enum) and choices_of(info.annotation) is not None \
        and not typing.get_origin(info.annotation)


class FieldEditor:
    """One field: its widget, how to read it as JSON, and a line for its error."""

    def __init__(self, name: str, info: FieldInfo, help_text: str = ""):
        self.name = wire_name(name, info)
        self.required = info.is_required()
        inner, optional = unwrap_optional(info.annotation)
        self.required = self.required and not optional
        self.error = widgets.HTML(layout=widgets.Layout(display="none"))
        self.is_list = False  # a list holding one nested model (connect's endpoint)
        self.widget, self.read, self.nested = self._build(inner, info)
        label = self.name + (" *" if self.required else "")
        self.widget.tooltip = help_text or None
        if self.nested is not None:  # a nested form: its name above it, as a heading
            heading = widgets.HTML(f"<b>{label}</b>", tooltip=help_text or None)
            self.box = widgets.VBox([heading, self.widget, self.error])
        else:
            self.widget.description = label
            self.widget.style = {"description_width": "150px"}
            self.widget.layout.width = "440px"
            self.box = widgets.VBox([self.widget, self.error])

    def _build(self, annotation, info: FieldInfo):
        annotation = base_type(annotation)
        origin = typing.get_origin(annotation)
        choices = choices_of(annotation)
        if choices is not None:
            options = ([UNSET] if not self.required else []) + choices
            dropdown = widgets.Dropdown(options=options)
            return dropdown, lambda: None if dropdown.value == UNSET else dropdown.value, None
        if annotation is bool:
            options = [UNSET, "true", "false"]
            dropdown = widgets.Dropdown(options=options)
            return dropdown, lambda: {"true": True, "false": False}.get(dropdown.value), None
        if annotation in (int, float):
            kind = "a whole number" if annotation is int else "a number"
            text = widgets.Text(placeholder=describe(info, kind))
            return text, lambda: _number(text.value, annotation), None
        if origin is list:
            (item,) = typing.get_args(annotation) or (str,)
            item_choices = choices_of(item)
            if item_choices is not None:
                select = widgets.SelectMultiple(options=item_choices, rows=len(item_choices))
                return select, lambda: list(select.value) or None, None
            members = model_members(item)
            if members:  # a list of one model (connect's endpoint): one entry here
                self.is_list = True
                form = UnionForm(members)
                return form.widget, lambda: [form.value()], form
            text = widgets.Text(placeholder="one or more, separated by commas")
            return text, lambda: [p.strip() for p in text.value.split(",") if p.strip()] or None, None
        if annotation is dict or origin is dict:
            area = widgets.Textarea(placeholder='a JSON object, like {"order": 1234}', rows=2)
            return area, lambda: _json_object(area.value), None
        members = model_members(annotation)
        if members:
            form = UnionForm(members, optional=not self.required)
            return form.widget, form.value, form
        text = widgets.Text(placeholder=describe(info, "text"))
        return text, lambda: text.value if text.value.strip() else None, None

    def value(self):
        return self.read()

    def set_value(self, value) -> None:
        """Show `value` (JSON) in the widget, the reverse of `value()`."""
        if self.nested is not None:
            self.nested.set_value(value[0] if isinstance(value, list) and value else value)
        elif isinstance(self.widget, widgets.SelectMultiple):
            self.widget.value = tuple(value or ())
        elif isinstance(self.widget, widgets.Dropdown):
            if isinstance(value, bool):
                value = "true" if value else "false"
            self.widget.value = UNSET if value is None and UNSET in self.widget.options else value
        elif isinstance(self.widget, widgets.Textarea):
            self.widget.value = "" if value is None else json.dumps(value)
        elif isinstance(value, list):
            self.widget.value = ", ".join(map(str, value))
        else:
            self.widget.value = "" if value is None else str(value)

    def show_error(self, message: str | None) -> None:
        self.error.value = f'<div style="{ERROR_STYLE}">{html.escape(message, quote=False)}</div>' if message else ""
        self.error.layout.display = None if message else "none"


class ModelForm:
    """Editors for every field of a model (except the fixed `action`/`type` tags)."""

    def __init__(self, model: type[BaseModel]):
        self.model = model
        helps = docstring_help(model)
        self.fields = [
            FieldEditor(name, info, helps.get(name, ""))
            for name, info in model.model_fields.items()
            if not is_tag(info)
        ]
        required = [f.box for f in self.fields if f.required]
        optional = [f.box for f in self.fields if not f.required]
        self.widget = widgets.VBox(required + optional)

    def value(self) -> dict:
        """The JSON of the fields that are set. FieldError names a field that cannot be read."""
        data, problems = {}, []
        for field in self.fields:
            try:
                value = field.value()
            except FormError as error:  # inside a nested form: say which field of it
                index = "[0]" if field.is_list else ""
                problems += [(f"{field.name}{index}.{where}", why) for where, why in error.problems]
                continue
            except FieldError as error:
                problems.append((field.name, str(error)))
                continue
            if value is not None:
                data[field.name] = value
        if problems:
            raise FormError(problems)
        return data

    def set_value(self, data: dict | None) -> None:
        for field in self.fields:
            field.set_value((data or {}).get(field.name))

    def observe(self, callback) -> None:
        """Call `callback` whenever any field (nested ones too) changes."""
        for field in self.fields:
            if field.nested is not None:
                field.nested.observe(callback)
            else:
                field.widget.observe(callback, "value")

    def show_problems(self, problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Show each (path, reason) next to its field; return those with no field here."""
        for field in self.fields:
            field.show_error(None)
            if field.nested is not None:
                field.nested.show_problems([])
        left = []
        for path, reason in problems:
            head, _, rest = path.partition(".")
            head = re.sub(r"\[\d+\]$", "", head)
            field = next((f for f in self.fields if f.name == head), None)
            if field is None:
                left.append((path, reason))
            elif rest and field.nested is not None:
                for _, unplaced in field.nested.show_problems([(rest, reason)]):
                    field.show_error(unplaced)
            else:
                field.show_error(reason)
        return left


class FormError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{where}: {why}" for where, why in problems))


class UnionForm:
    """A nested model (input's `dtmf`), or one of several (a `connect` endpoint: phone,
    app, websocket, ...), picked from a dropdown. A nested model left blank is left out."""

    def __init__(self, models: list[type[BaseModel]], optional: bool = False):
        self.optional = optional
        self.forms = {self._tag(model): ModelForm(model) for model in models}
        self.picker = widgets.Dropdown(options=list(self.forms), description="type")
        self.picker.style = {"description_width": "150px"}
        self.body = widgets.Box()
        self.picker.observe(lambda change: self._show(), "value")
        children = [self.picker, self.body] if len(models) > 1 else [self.body]
        self.widget = widgets.VBox(children, layout=widgets.Layout(border="1px solid #ddd", padding="4px"))
        self._show()

    @staticmethod
    def _tag(model: type[BaseModel]) -> str:
        """What the JSON calls this member: its `type` value, or its class name."""
        tag = model.model_fields.get("type")
        if tag is not None and is_tag(tag):
            return tag.default.value
        return model.__name__

    def _show(self) -> None:
        self.body.children = [self.forms[self.picker.value].widget]

    def value(self):
        form = self.forms[self.picker.value]
        data = form.value()
        if not data and self.optional:
            return None
        tag = form.model.model_fields.get("type")
        if tag is not None and is_tag(tag):
            data = {"type": tag.default.value, **data}
        return data

    def set_value(self, data: dict | None) -> None:
        tag = (data or {}).get("type", self.picker.value)
        if tag in self.forms:
            self.picker.value = tag
            self.forms[tag].set_value(data)

    def show_problems(self, problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return self.forms[self.picker.value].show_problems(problems)

    def observe(self, callback) -> None:
        self.picker.observe(callback, "value")
        for form in self.forms.values():
            form.observe(callback)


def _number(text: str, kind: type):
    text = text.strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise FieldError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}") from None


def _json_object(text: str):
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise FieldError(f"not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise FieldError("must be a JSON object, like {\"key\": \"value\"}")
    return value

