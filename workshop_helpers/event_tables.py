"""The event store's tables: their columns and types, how one webhook (its payload once
parsed) fills a row of each, and a table that grows at its end as webhooks arrive.

Anyone can send a request, so every payload is read defensively: no row, however odd,
can break a table. Nothing here touches the file (`event_file.py`) or decides which rows
go into which table (`EventStore`, in `events.py`).
"""

from __future__ import annotations

import pandas as pd

EVENT_COLUMNS = [
    "received_at", "kind", "uuid", "conversation_uuid", "status", "from", "to", "direction",
    "timestamp", "digits", "speech", "recording_url", "reason", "verified", "refused",
    "handler_error", "payload",
]
CALL_COLUMNS = [
    "uuid", "conversation_uuid", "direction", "from", "to", "status",
    "started", "ringing", "answered", "completed", "duration",
]

#: The columns of `events()` that hold text (or nothing): always pandas' string dtype, so
#: a column's type does not depend on whether any row has filled it yet.
TEXT_COLUMNS = [name for name in EVENT_COLUMNS if name not in ("received_at", "timestamp", "verified", "payload")]
TIME_DTYPE = "datetime64[us, UTC]"
MOMENTS = ("started", "ringing", "answered", "completed")  # the times of a leg in calls()
INPUT_COLUMNS = ["received_at", "uuid", "digits", "timed_out", "speech", "confidence"]
RECORDING_COLUMNS = ["received_at", "conversation_uuid", "recording_url", "size", "start_time", "end_time"]
NO_FIELDS = dict.fromkeys(["uuid", "conversation_uuid", "status", "from", "to", "direction", "timestamp",
                           "digits", "speech", "recording_url", "reason"])  # what a row not read has

def is_status_event(events: pd.DataFrame) -> pd.Series:
    """Which rows report a leg's state (started, answered, ...); the other webhooks (answer,
    input, recording, ...) have an empty status, and refused ones none at all."""
    return events["status"].fillna("") != ""


# -- one stored webhook, read ---------------------------------------------------------------
def read_fields(payload: dict) -> dict:
    """The columns worth reading, taken from a payload whatever shape it has."""
    get = payload.get
    dtmf = _dict(get("dtmf"))
    speech = _dict(get("speech"))
    return {
        "uuid": _text(get("uuid") or get("call_uuid")),
        "conversation_uuid": _text(get("conversation_uuid")),
        # Empty, not missing, for a webhook that carries no status (answer, input, ...): the
        # table then shows an empty cell, where NaN reads like an error to a newcomer, and
        # not the kind's own word, which would pass an input off as a state of the call.
        "status": _text(get("status")) or "",
        "from": _text(get("from")),
        "to": _text(get("to")),
        "direction": _text(get("direction")),
        "timestamp": get("timestamp"),  # parsed with the others: see _times
        "digits": _text(dtmf.get("digits")) if dtmf else None,
        "speech": _text(_first_result(speech).get("text")) if speech else None,
        "recording_url": _text(get("recording_url")),
        "reason": _text(get("reason")),
    }


def event_row(received_at: str, kind: str, f: dict, verified: bool, refused: str | None,
              handler_error: str | None, payload: dict | str) -> tuple:
    """A webhook's row of events(), from its `read_fields` (NO_FIELDS for one not read)."""
    return (received_at, kind, f["uuid"], f["conversation_uuid"], f["status"], f["from"], f["to"],
            f["direction"], f["timestamp"], f["digits"], f["speech"], f["recording_url"], f["reason"],
            verified, refused, handler_error, payload)


def input_row(received_at: str, f: dict, payload: dict | str) -> tuple:
    """An input webhook's row of inputs() (its payload may be stored text: not read)."""
    payload = _dict(payload)
    dtmf = payload.get("dtmf")
    return (received_at, f["uuid"], f["digits"], _flag(dtmf.get("timed_out")) if isinstance(dtmf, dict) else None,
            f["speech"], _confidence(payload))


def recording_row(received_at: str, f: dict, payload: dict) -> tuple:
    """A recording webhook's row of recordings()."""
    return (received_at, f["conversation_uuid"], f["recording_url"], whole_number(payload.get("size")),
            payload.get("start_time"), payload.get("end_time"))


def text_of(value) -> str:
    """A stored value as text, whatever SQLite holds (a column's type is only advice)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return "" if value is None else str(value)


def whole_number(value) -> int | None:
    """A count (a duration, a size) as a whole number, if it is one a table can hold."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # (int(float("inf")) is an OverflowError)
        return None
    return number if -2**63 <= number < 2**63 else None


def _first_result(speech: dict) -> dict:
    results = speech.get("results")
    return _dict(results[0]) if isinstance(results, list) and results else {}


def _confidence(payload: dict) -> float | None:
    value = _first_result(_dict(payload.get("speech"))).get("confidence")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError, OverflowError):
        return None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _flag(value) -> bool | None:
    return value if isinstance(value, bool) else None


# -- the tables -----------------------------------------------------------------------------
class GrowingTable:
    """A table that grows at its end, and whose rows may change: rows (tuples, in the
    table's column order) are noted as they are parsed, and joined on, or changed, in one
    go when the table is next read (pd.concat copies each column's pointers, not the
    values they point to)."""

    def __init__(self, columns: list[str], make):
        self._columns = columns
        self._make = make  # {column: its values} -> the rows as a table
        self._table = self._rows([])
        self._pending: list[tuple] = []  # new rows, after the table's
        self._changed: dict[int, tuple] = {}  # place -> a new row for a row of the table
        self._cells: dict[str, dict[int, object]] = {}  # column -> place -> a new value

    def __len__(self) -> int:
        return len(self._table) + len(self._pending)

    def add(self, row: tuple) -> None:
        self._pending.append(row)

    def put(self, place: int, row: tuple) -> None:
        """Row `place` becomes `row` (a new row if it is the next place)."""
        if place == len(self):
            self._pending.append(row)
        elif place >= len(self._table):
            self._pending[place - len(self._table)] = row
        else:
            self._changed[place] = row

    def change(self, place: int, column: str, value) -> None:
        """One cell of row `place` becomes `value` (of the column's type, as the table has it)."""
        at = place - len(self._table)
        if at >= 0:
            row = list(self._pending[at])
            row[self._columns.index(column)] = value
            self._pending[at] = tuple(row)
        else:
            self._cells.setdefault(column, {})[place] = value

    def read(self) -> pd.DataFrame:
        if self._changed:
            changed = self._rows(list(self._changed.values()))
            for name in self._columns:
                self._set(name, list(self._changed), changed[name].array)
            self._changed = {}
        for name, cells in self._cells.items():
            self._set(name, list(cells), list(cells.values()))
        self._cells = {}
        if self._pending:
            new = self._rows(self._pending)
            self._table = new if self._table.empty else pd.concat([self._table, new], ignore_index=True)
            self._pending = []
        return self._table

    def _rows(self, rows: list[tuple]) -> pd.DataFrame:
        columns = zip(*rows) if rows else ([] for _ in self._columns)
        return self._make(dict(zip(self._columns, map(list, columns))))

    def _set(self, name: str, places: list[int], values) -> None:
        column = self._table[name].copy()
        column.iloc[places] = values
        self._table[name] = column  # (tables handed out before keep their own column)


def events_table() -> GrowingTable:
    return GrowingTable(EVENT_COLUMNS, _event_rows)


def calls_table() -> GrowingTable:
    return GrowingTable(CALL_COLUMNS, _call_rows)


def inputs_table() -> GrowingTable:
    return GrowingTable(INPUT_COLUMNS, _input_rows)


def recordings_table() -> GrowingTable:
    return GrowingTable(RECORDING_COLUMNS, _recording_rows)


def _texts(values: list) -> pd.Series:
    return pd.Series(values, dtype="str")


def _time_column(values: list) -> pd.Series:
    # Times are parsed in one go per column: one at a time, they were most of the cost.
    return _times(pd.Series(values, dtype=object)).astype(TIME_DTYPE)


def _event_rows(columns: dict[str, list]) -> pd.DataFrame:
    data = {name: _texts(columns[name]) for name in TEXT_COLUMNS}
    data.update({name: _time_column(columns[name]) for name in ("received_at", "timestamp")})
    data["verified"] = pd.Series(columns["verified"], dtype=bool)
    data["payload"] = pd.Series(columns["payload"], dtype=object)
    return pd.DataFrame(data, columns=EVENT_COLUMNS)


def _call_rows(columns: dict[str, list]) -> pd.DataFrame:
    data = {name: _texts(columns[name]) for name in CALL_COLUMNS[:6]}
    data.update({name: _time_column(columns[name]) for name in MOMENTS})
    data["duration"] = pd.Series(columns["duration"], dtype="Int64")
    return pd.DataFrame(data, columns=CALL_COLUMNS)


def _input_rows(columns: dict[str, list]) -> pd.DataFrame:
    return pd.DataFrame({
        "received_at": _time_column(columns["received_at"]),
        **{name: _texts(columns[name]) for name in ("uuid", "digits", "speech")},
        "timed_out": pd.Series(columns["timed_out"], dtype="boolean"),
        "confidence": pd.Series(columns["confidence"], dtype=float),
    }, columns=INPUT_COLUMNS)


def _recording_rows(columns: dict[str, list]) -> pd.DataFrame:
    return pd.DataFrame({
        "received_at": _time_column(columns["received_at"]),
        **{name: _texts(columns[name]) for name in ("conversation_uuid", "recording_url")},
        "size": pd.Series(columns["size"], dtype="Int64"),
        **{name: _time_column(columns[name]) for name in ("start_time", "end_time")},
    }, columns=RECORDING_COLUMNS)


def _times(values: pd.Series) -> pd.Series:
    """Webhook times (ISO 8601 text) as UTC timestamps; NaT where one is missing or not
    a time (anything at all can arrive in a payload)."""
    text = values.map(lambda value: value if isinstance(value, str) and value else None)
    return pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
