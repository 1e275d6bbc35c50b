"""The live event table: your webhooks as they arrive, filtered, coloured by status.

A small background thread watches the event store and redraws the table when a webhook
arrives. It only ever changes this widget, so nothing is printed into other cells.

    table = EventTable(ws)
    table                                   # shows it; it keeps itself up to date
    table.filter(call=uuid, kind="input")   # what the dropdowns do
    table.rows                              # the rows shown, as a DataFrame
    table.show_timeline()                   # the timeline picture of the chosen call
"""

from __future__ import annotations

import base64
import html
import threading

import ipywidgets as widgets
import pandas as pd

from .buttons import labelled_button

ALL = "(all)"
COLUMNS = ["received_at", "kind", "status", "uuid", "from", "to", "digits", "speech", "reason", "refused"]

#: Background colours by status (and for webhooks that are not status events, by kind).
COLOURS = {
    "started": "#f5f5f5", "ringing": "#fff8c4", "answered": "#d7f5d7", "completed": "#e3e3e3",
    "busy": "#ffd6d6", "timeout": "#ffd6d6", "unanswered": "#ffd6d6", "failed": "#ffd6d6",
    "rejected": "#ffd6d6", "cancelled": "#ffd6d6", "machine": "#e6dcff", "human": "#e6dcff",
    "input": "#d6e9ff", "answer": "#fde9d9", "record": "#e0f7fa", "error": "#ffb3b3",
    "refused": "#ff8a80", "transfer": "#f1e4f3",
}


class EventTable:
    """Your webhooks, newest last, updated as they arrive."""

    def __init__(self, workshop, limit: int = 30, every: float = 0.3):
        self.workshop = workshop
        self.limit = limit
        self.every = every
        self.call = widgets.Dropdown(options=[ALL], description="call")
        self.kind = widgets.Dropdown(options=[ALL], description="kind")
        self.status = widgets.Dropdown(options=[ALL], description="status")
        for dropdown in (self.call, self.kind, self.status):
            dropdown.observe(lambda change: self.refresh(), "value")
            dropdown.layout = widgets.Layout(width="260px")
        self.table = widgets.HTML()
        self.table.add_class("event-table")
        self.timeline_button = labelled_button("Timeline", icon="chart-bar")
        self.timeline_button.on_click(lambda _: self.show_timeline())
        self.picture = widgets.Output()
        self.rows = pd.DataFrame(columns=COLUMNS)
        self.widget = widgets.VBox([
            widgets.HBox([self.call, self.kind, self.status, self.timeline_button]),
            self.table, self.picture,
        ])
        self.widget.add_class("event-table-widget")
        self._seen = None
        self._stop = threading.Event()
        self.refresh()
        self._watcher = threading.Thread(target=self._watch, name="event-table", daemon=True)
        self._watcher.start()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def filter(self, call: str = ALL, kind: str = ALL, status: str = ALL) -> pd.DataFrame:
        """Show only one call's, one kind's or one status's webhooks; return the rows."""
        self.refresh()  # so the options include anything that just arrived
        for dropdown, value in ((self.call, call), (self.kind, kind), (self.status, status)):
            if value not in dropdown.options:
                raise ValueError(f"{value!r} is not one of the {dropdown.description}s seen: {list(dropdown.options)}")
            dropdown.value = value
        return self.rows

    def refresh(self) -> None:
        """Read the store and redraw (the watcher calls this when a webhook arrives)."""
        if not self.workshop.running:
            self.table.value = "<i>The workshop is stopped: start it again, then make a call.</i>"
            return
        events = self.workshop.events
        self._offer(self.call, events["uuid"])
        self._offer(self.kind, events["kind"])
        self._offer(self.status, events["status"])
        shown = events
        for dropdown, column in ((self.call, "uuid"), (self.kind, "kind"), (self.status, "status")):
            if dropdown.value != ALL:
                shown = shown[shown[column] == dropdown.value]
        self.rows = shown[COLUMNS].tail(self.limit).reset_index(drop=True)
        self.table.value = render(self.rows, len(shown))

    @staticmethod
    def _offer(dropdown: widgets.Dropdown, column: pd.Series) -> None:
        seen = [value for value in column.dropna().unique() if value]
        options = [ALL] + sorted(seen, key=str)
        if list(dropdown.options) != options:
            current = dropdown.value
            dropdown.options = options
            dropdown.value = current if current in options else ALL

    def show_timeline(self):
        """Draw the chosen call (or the latest) below the table; return the picture."""
        call = None if self.call.value == ALL else self.call.value
        self.picture.clear_output()
        try:
            figure = self.workshop.timeline(call)
        except ValueError as error:
            self.picture.append_stdout(f"{error}\n")
            return None
        self.picture.outputs = (picture_output(figure),)
        return figure

    def stop(self) -> None:
        """Stop updating (it also stops by itself when the workshop stops)."""
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(self.every):
            if not self.workshop.running:
                self.refresh()
                return
            try:
                version = self.workshop.store.version()
                if version != self._seen:
                    self._seen = version
                    self.refresh()
            except Exception:  # a store closed under us: the workshop is stopping
                if not self.workshop.running:
                    return


def picture_output(figure) -> dict:
    """The figure as an Output widget's output. In a cell's output the kernel turns a PNG's
    bytes into base64 text; an Output widget sends its outputs to the page as they are, and
    raw bytes arrived as `[object Object]` (a broken image), so the PNG goes as base64 here."""
    png = base64.b64encode(figure._repr_png_()).decode("ascii")
    title = figure.axes[0].get_title() if figure.axes else "a call"
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": png, "text/plain": f"<timeline: {title}>"}}


def render(rows: pd.DataFrame, total: int) -> str:
    """The rows as an HTML table, each coloured by its status (or kind)."""
    head = "".join(f"<th style='text-align:left;padding:2px 6px'>{name}</th>" for name in COLUMNS)
    body = []
    for _, row in rows.iterrows():
        if isinstance(row["refused"], str):
            key = "refused"
        elif isinstance(row["status"], str) and row["status"]:
            key = row["status"]
        elif isinstance(row["digits"], str) or isinstance(row["speech"], str):
            key = "input"  # an input's result, wherever it was sent
        else:
            key = row["kind"]
        colour = COLOURS.get(key, "#ffffff")
        cells = "".join(f"<td style='padding:2px 6px'>{_cell(name, row[name])}</td>" for name in COLUMNS)
        body.append(f"<tr class='event-row' data-kind='{html.escape(str(row['kind']))}' "
                    f"style='background:{colour}'>{cells}</tr>")
    more = f"<div><i>the latest {len(rows)} of {total}</i></div>" if total > len(rows) else ""
    empty = "<tr><td colspan='10'><i>no webhooks yet</i></td></tr>" if rows.empty else ""
    return (f"<table style='border-collapse:collapse;font-size:0.85em'><tr>{head}</tr>"
            f"{''.join(body)}{empty}</table>{more}")


def _cell(name: str, value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return ""
    if name == "received_at":
        return html.escape(pd.Timestamp(value).strftime("%H:%M:%S.%f")[:-3])
    if name == "uuid":
        return f"<span title='{html.escape(str(value))}'>{html.escape(str(value)[:8])}…</span>"
    return html.escape(str(value))
