"""Every webhook your server receives, kept as it arrives, and seen as pandas tables.

Each request is written to a small SQLite database in the kit's state folder before your
handler's answer goes back, so nothing is lost when a kernel restarts and nothing is
stored twice. `events()` shows them all in order; `calls()` folds the status events into
one row per call leg, the view you want for "what happened to my call?".

A kernel runs all day, so the tables must not slow down as webhooks pile up: each stored
row is parsed once and kept, parsed, in memory (see `EventStore`), and a view or a wait
costs about what the rows that arrived since the last one cost. No row, however odd
(anyone can send a request), can break a table, and a damaged file is set aside and
replaced by a new one, never shown as an error (see `EventStore.__init__`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import stat
import threading
import time
from array import array
from bisect import bisect_left
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from . import config
from .locks import try_lock

log = logging.getLogger("workshop_helpers")

#: Statuses that end a leg without it being answered (the leg's outcome).
FAILURES = ("busy", "cancelled", "failed", "rejected", "timeout", "unanswered")

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    method TEXT NOT NULL,
    payload TEXT NOT NULL,
    verified INTEGER NOT NULL,
    refused TEXT,
    handler_error TEXT,
    response_status INTEGER
);
-- The id (jti) of every webhook token let in, until its age alone would refuse it: a
-- request sent again, even after a restart, is refused as a replay.
CREATE TABLE IF NOT EXISTS tokens (
    jti TEXT PRIMARY KEY,
    expires REAL NOT NULL
)
"""

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
_NO_FIELDS = dict.fromkeys(["uuid", "conversation_uuid", "status", "from", "to", "direction", "timestamp",
                            "digits", "speech", "recording_url", "reason"])  # what a row not read has

#: A payload nested deeper than this is shown as its stored text, never parsed: webhooks
#: go four levels deep at most, and a deeper one (anyone can send one) would break
#: whatever walks it later (pandas' display of the table, a comparison, a copy).
MAX_DEPTH = 32

#: Strings up to this long are kept once however many payloads hold them (keys, statuses,
#: numbers, a leg's uuid): most of a payload's memory, otherwise.
SHARED_STRING = 64

#: The characters that matter when measuring how deeply a JSON text nests.
_NESTING = re.compile(r'[\[\]{}"\\]')

#: What the views read of each row: the columns the file has always had.
_READ = "SELECT id, received_at, kind, payload, verified, refused, handler_error FROM events"
_BATCH = 5000  # rows read at a time
_NEEDED = {"id", "received_at", "kind", "method", "payload", "verified", "refused", "handler_error",
           "response_status"}

#: SQLite's result codes for a file that is damaged or is not a database at all.
_DAMAGE = {getattr(sqlite3, "SQLITE_CORRUPT", 11), getattr(sqlite3, "SQLITE_NOTADB", 26)}


def own_store(path: Path) -> EventStore:
    """The event store at `path`, for this workshop alone. While the workshop runs it holds
    the store's lock file (the OS lets go if the kernel dies); a second workshop that would
    open the same store (one notebook in two kernels) opens one of its own beside it.

    The folder is the owner's alone (0700) and so is each store file (0600): in live mode
    they hold callers' numbers, the keys they pressed and what they said. A damaged store
    is set aside (see `EventStore`), and this says so, once, in the cell that started."""
    _private_folder(path.parent)
    claim, wanted, second = try_lock(_lock_file(path)), path, 2
    while claim is None:  # the next free one, -2, -3, ...: found again after a restart
        path = wanted.with_name(f"{wanted.stem}-{second}{wanted.suffix}")
        claim, second = try_lock(_lock_file(path)), second + 1
    try:
        store = EventStore(path, claim)
    except BaseException:
        os.close(claim)  # or this kernel's next start would think another kernel has it
        raise
    if store.set_aside is not None:
        print(f"The event store {store.path} was damaged ({store.damage}): it is kept, as it was, "
              f"in {store.set_aside}, and this notebook starts a new, empty one in {store.path.name}.")
    return store


def _lock_file(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


class _Damaged(Exception):
    """The store's file is not a readable event store (the reason is the message)."""


class EventStore:
    """A durable, thread-safe log of webhooks (one SQLite file), and its pandas views.

    Each row is parsed once per kernel, into memory: every stored row when the store
    opens, then, whenever a view or a wait looks, only the rows whose id is past the
    last one parsed (ids only grow: AUTOINCREMENT). Each table (`events()`, `calls()`,
    `inputs()`, `recordings()`) is kept made and grows by the new rows alone (a leg's row
    of `calls()` is made again when a status event of that leg arrives); a call's events
    and the statuses `has_status` answers from are looked up by leg, not searched for.

    Why memory, and not columns added to the file at insert time: the tables show each
    row's parsed payload (the `payload` column holds dicts), so the rows have to be parsed
    and held in memory for a fast view anyway, and once they are, the extracted columns
    cost nothing more. Columns in the file would still leave each view reading and parsing
    every payload again, and would need a migration (ALTER TABLE and a backfill) of every
    old store, with a file that an older kit could then misread. So the file keeps the
    schema it has always had: an old store opens as it is. What the memory must follow:
    a handler's error recorded after its row was parsed (`answered` notes it), `clear`,
    and writes by another connection (`PRAGMA data_version` changes; then it starts over).
    The cost is memory, about 1 KB a row (a short string, such as a payload's key or a
    leg's uuid, is kept once however many rows hold it): 86 MB of Python objects for the
    100,000 webhooks of benchmarks/event_views.py, about what the old views allocated
    afresh each time one was shown.
    """

    def __init__(self, path: str | Path, claim: int | None = None):
        """Open (or create) the store at `path`.

        A file that is damaged (cut short, overwritten, not a database at all) is moved
        aside to `<name>.corrupt-<time>` (its -wal and -shm with it), `set_aside` and
        `damage` say where and why, and a new, empty store takes its place. Moved, not
        deleted: nothing is lost, and a repair can be tried on the copy later. Not an
        error either: an attendee cannot mend a SQLite file in the middle of a lesson,
        and an empty store is what `clear_events()` gives them anyway. The lock file
        (`own_store`) stays: it guards the path, and the new file is at the same path.
        """
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._claim = claim  # an open lock file that says "in use" while held (own_store)
        self._lock = threading.Lock()  # the connection's
        self._parsed_lock = threading.RLock()  # the parsed rows' (taken before _lock)
        self.set_aside: Path | None = None
        self.damage: str | None = None
        self._forget()
        try:
            self._open()
        except _Damaged as damaged:
            self.damage = str(damaged)
            self.set_aside = _set_aside(self.path, self.damage)
            log.warning("the event store %s was damaged (%s): moved to %s", self.path, self.damage, self.set_aside)
            self._forget()
            self._open()  # a new file: if this fails, the error is not the file's

    def _open(self) -> None:
        """Connect, check the file, and parse every stored row (_Damaged if it is damaged)."""
        _private_file(self.path)  # before SQLite makes its -wal and -shm: they copy its mode
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            # Checked before anything is written, so a damaged file is set aside as it was.
            problem = self._db.execute("PRAGMA quick_check(1)").fetchone()[0]  # reads every page
            if problem != "ok":
                raise _Damaged(problem)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(events)")}
            if columns and _NEEDED - columns:  # (no columns at all: a new file)
                raise _Damaged(f"its events table has no {', '.join(sorted(_NEEDED - columns))} column")
            # WAL with synchronous=NORMAL: every event is safe once its request is answered,
            # even if the kernel or the process dies; only an OS crash could lose the last few.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            with self._parsed_lock:
                self._catch_up()  # the one-off cost is paid here, not by the first view
                self._read()
        except (sqlite3.DatabaseError, _Damaged) as error:
            self._db.close()
            if isinstance(error, _Damaged):
                raise
            if (getattr(error, "sqlite_errorcode", 0) & 0xFF) in _DAMAGE:
                raise _Damaged(str(error)) from error
            raise
        for companion in _companions(self.path):
            _private_file(companion, create=False)

    def add(self, kind: str, method: str, payload: dict, verified: bool,
            refused: str | None = None, token: tuple[str, float] | None = None) -> int | None:
        """Store one request as it arrives; returns its id (its place in the order). With
        `token` (its jti, and when its age alone refuses it), the request is stored only if
        that jti was never stored before: else nothing is, and it returns None (a replay)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # the jti and the row: both or neither
            try:
                if token is not None and not self._first_use(*token):
                    self._db.execute("ROLLBACK")
                    return None
                cursor = self._db.execute(
                    "INSERT INTO events (received_at, kind, method, payload, verified, refused)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (_now(), kind, method, json.dumps(payload), int(verified), refused),
                )
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # (a COMMIT that failed may have rolled back itself)
                    self._db.execute("ROLLBACK")
                raise
            return cursor.lastrowid

    def _first_use(self, jti: str, expires: float) -> bool:
        """Remember jti until `expires`; False if it is remembered already."""
        if self._db.execute("SELECT 1 FROM tokens WHERE jti = ?", (jti,)).fetchone():
            return False
        cursor = self._db.execute("INSERT INTO tokens (jti, expires) VALUES (?, ?)", (jti, expires))
        if cursor.lastrowid % 1000 == 0:  # now and then, forget what the age check refuses anyway
            self._db.execute("DELETE FROM tokens WHERE expires < ?", (time.time(),))
        return True

    def answered(self, event_id: int, status: int, handler_error: str | None = None) -> None:
        """Record what the server answered (and why a handler failed, if it did)."""
        with self._lock:
            self._db.execute(
                "UPDATE events SET response_status = ?, handler_error = ? WHERE id = ?",
                (status, handler_error, event_id),
            )
            if handler_error is not None:  # (a row is parsed with none: answered() comes after add())
                self._late[event_id] = handler_error  # the row may be parsed already

    def clear(self) -> None:
        with self._parsed_lock, self._lock:
            self._db.execute("DELETE FROM events")
            self._forget()

    def close(self) -> None:
        with self._parsed_lock, self._lock:
            self._db.close()
            if self._claim is not None:
                os.close(self._claim)  # lets go of the lock: the store is free again
                self._claim = None

    def version(self) -> tuple[int, int]:
        """(how many rows, the last id): it changes whenever a webhook arrives or the
        store is cleared, so a live view knows when to redraw without reading it all."""
        with self._parsed_lock:
            self._catch_up()
            return len(self._ids), (self._ids[-1] if self._ids else 0)

    def has_status(self, uuid: str, *statuses: str) -> bool:
        """Whether a verified webhook said that leg `uuid` reached one of `statuses`.
        Cheap (the new rows parsed, a set looked up), so a wait can ask it often."""
        with self._parsed_lock:
            self._catch_up()
            seen = self._statuses.get(uuid, ())
            return any(status in seen for status in statuses)

    def rows(self) -> list[dict]:
        with self._lock:
            cursor = self._db.execute("SELECT * FROM events ORDER BY id")
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    # -- pandas views ----------------------------------------------------------------------
    # Each returns a copy that shares the store's data (pandas copies on write): changing
    # the table you were given never changes the store's.
    def events(self) -> pd.DataFrame:
        """All webhooks in the order they arrived, with the fields worth reading pulled out.

        Fields are read only from verified requests, and defensively: a refused request
        (anyone can send one) shows with its raw payload and can never break the tables.
        The `payload` column holds each payload as a dict, or, for a stored payload that
        is not a JSON object (or is nested deeper than any webhook), its stored text.
        (The dicts are the store's own, shared by every table it gives: read them, do not
        change them.)
        """
        with self._parsed_lock:
            return self._table("events").copy(deep=False)

    def calls(self) -> pd.DataFrame:
        """One row per call leg: who called whom, how it ended, when, and for how long.

        `status` is the leg's outcome: `completed` for an answered call, otherwise the
        reason it was not answered (busy, timeout, ...), or its latest status while live.
        """
        with self._parsed_lock:
            return self._table("calls").copy(deep=False)

    def inputs(self) -> pd.DataFrame:
        """One row per input result: the keys pressed or the words said, per leg."""
        with self._parsed_lock:
            return self._table("inputs").copy(deep=False)

    def recordings(self) -> pd.DataFrame:
        """One row per recording, with its download URL."""
        with self._parsed_lock:
            return self._table("recordings").copy(deep=False)

    def call_events(self, uuid: str, conversation: bool = True) -> pd.DataFrame:
        """The verified events of leg `uuid`, in order, and, with `conversation`, those of
        its conversation that carry no leg (recordings), found by the leg instead of by
        searching every row."""
        with self._parsed_lock:
            table = self._table("events")
            places = self._by_leg.get(uuid, [])
            first_conversation = self._conversation_of.get(uuid)
            if conversation and first_conversation:
                places = sorted(places + self._unlegged.get(first_conversation, []))
            return table.take(places).reset_index(drop=True)

    def refusals(self, after: int = 0) -> tuple[int, list[str]]:
        """(how many refused requests are stored, why each after the first `after` was)."""
        with self._parsed_lock:
            self._catch_up()
            return len(self._refused), self._refused[after:]

    # -- the parsed rows -------------------------------------------------------------------
    def _forget(self) -> None:
        """Drop every parsed row: the next look parses the store from its first row."""
        self._ids = array("q")  # the id of each row parsed, in order (a row's place: bisect)
        self._events = _Growing(EVENT_COLUMNS, _event_rows)
        self._calls = _Growing(CALL_COLUMNS, _call_rows)
        self._inputs = _Growing(INPUT_COLUMNS, _input_rows)
        self._recordings = _Growing(RECORDING_COLUMNS, _recording_rows)
        self._late: dict[int, str | None] = {}  # id -> a handler's error, from `answered`
        self._legs: dict[str, dict] = {}  # uuid -> its status events so far (see _add_to_leg)
        self._changed_legs: dict[str, dict] = {}  # uuid -> a leg whose row of calls() is out of date
        self._statuses: dict[str, set[str]] = {}  # uuid -> statuses verified webhooks reported
        self._by_leg: dict[str, list[int]] = {}  # uuid -> the places of its verified rows
        self._conversation_of: dict[str, str | None] = {}  # uuid -> its first row's conversation
        self._unlegged: dict[str, list[int]] = {}  # conversation -> places of its rows with no leg
        self._refused: list[str] = []  # why each refused request was
        self._strings: dict[str, str] = {}  # one copy of each short string (see _compact)
        self._data_version = None  # SQLite's count of other connections' writes, when last looked

    def _catch_up(self) -> None:
        """Parse the rows stored since the last look (the caller holds _parsed_lock), a
        batch at a time: the server, which stores webhooks meanwhile, never waits long."""
        with self._lock:
            data_version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if self._data_version is not None and data_version != self._data_version:
                self._forget()  # another connection wrote (or cleared): start over
            self._data_version = data_version
        late: dict[int, str | None] = {}  # taken with the last batch (see below)
        while True:
            with self._lock:
                last = self._ids[-1] if self._ids else 0
                rows = self._db.execute(f"{_READ} WHERE id > ? ORDER BY id LIMIT {_BATCH}", (last,)).fetchall()
                if len(rows) < _BATCH:  # the last batch: what answered() noted is up to date
                    late, self._late = self._late, {}
            for row in rows:
                self._take(row)
            if len(rows) < _BATCH:
                break
            self._read()  # a long catch-up (a store opening) holds one batch of rows at a time
        for event_id, error in late.items():
            place = bisect_left(self._ids, event_id)
            if place < len(self._ids) and self._ids[place] == event_id:
                self._events.change(place, "handler_error", error)

    def _table(self, name: str) -> pd.DataFrame:
        """One table ("events", "calls", "inputs" or "recordings"), brought up to date
        (the caller holds _parsed_lock)."""
        self._catch_up()
        if name == "calls":
            self._leg_rows()
        return getattr(self, f"_{name}").read()

    def _read(self) -> None:
        """Bring every table up to date with the rows parsed."""
        self._leg_rows()
        for table in (self._events, self._calls, self._inputs, self._recordings):
            table.read()

    def _take(self, row: tuple) -> None:
        """Parse one stored row: its row of each table, its leg, its statuses."""
        event_id, received_at, kind, text, verified, refused, handler_error = row
        shared = self._strings.setdefault
        payload = _payload(_text_of(text), self._strings)
        received_at, kind = _text_of(received_at), shared(_text_of(kind), _text_of(kind))
        if refused is not None:
            refused = shared(_text_of(refused), _text_of(refused))
            self._refused.append(refused)
        if handler_error is not None:
            handler_error = _text_of(handler_error)
        verified = verified == 1
        read = verified and isinstance(payload, dict)
        f = _fields(payload) if read else _NO_FIELDS
        place = len(self._ids)
        self._ids.append(event_id)
        self._events.add((received_at, kind, f["uuid"], f["conversation_uuid"], f["status"], f["from"],
                          f["to"], f["direction"], f["timestamp"], f["digits"], f["speech"], f["recording_url"],
                          f["reason"], verified, refused, handler_error, payload))
        if verified and kind == "input":
            payload_dict = _dict(payload)
            dtmf = payload_dict.get("dtmf")
            self._inputs.add((received_at, f["uuid"], f["digits"],
                              _flag(dtmf.get("timed_out")) if isinstance(dtmf, dict) else None,
                              f["speech"], _confidence(payload_dict)))
        if not read:
            return
        uuid, conversation = f["uuid"], f["conversation_uuid"]
        if f["recording_url"]:
            self._recordings.add((received_at, conversation, f["recording_url"],
                                  _whole_number(payload.get("size")), payload.get("start_time"),
                                  payload.get("end_time")))
        if uuid:
            self._by_leg.setdefault(uuid, []).append(place)
            self._conversation_of.setdefault(uuid, conversation)
            if f["status"]:
                self._statuses.setdefault(uuid, set()).add(f["status"])
                self._add_to_leg(uuid, f, payload)
        elif conversation:
            self._unlegged.setdefault(conversation, []).append(place)

    def _add_to_leg(self, uuid: str, fields: dict, payload: dict) -> None:
        """One status event of leg `uuid`, in order (its row of calls() is made when the
        table is next read: a leg has several status events, the table one row)."""
        status = fields["status"]
        leg = self._legs.get(uuid)
        if leg is None:  # the leg's first status event says who called whom
            leg = self._legs[uuid] = {"place": len(self._legs), "direction": fields["direction"],
                                      "from": fields["from"], "to": fields["to"], "failure": None,
                                      "times": {}, "duration": None}
        leg["conversation_uuid"] = fields["conversation_uuid"]  # where it ended up
        leg["last"] = status
        if status in FAILURES:
            leg["failure"] = status
        leg["times"][status] = fields["timestamp"]  # the latest of each status
        if status == "completed":
            leg["duration"] = _whole_number(payload.get("duration"))
        self._changed_legs[uuid] = leg  # (in the order legs first appear: see _Growing.put)

    def _leg_rows(self) -> None:
        """Make the row of calls() of each leg that changed since the table was read."""
        for uuid, leg in self._changed_legs.items():
            times = leg["times"]
            self._calls.put(leg["place"], (
                uuid, leg["conversation_uuid"], leg["direction"], leg["from"], leg["to"],
                leg["failure"] or leg["last"], *(times.get(moment) for moment in MOMENTS), leg["duration"]))
        self._changed_legs = {}


class _Growing:
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


def is_status_event(events: pd.DataFrame) -> pd.Series:
    """Which rows report a leg's state (started, answered, ...); the other webhooks (answer,
    input, recording, ...) have an empty status, and refused ones none at all."""
    return events["status"].fillna("") != ""


def _fields(payload: dict) -> dict:
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


def _payload(text: str, strings: dict[str, str]) -> dict | str:
    """A stored payload as the tables show it: the JSON object it holds, or, for anything
    else (not JSON, JSON but not an object, nested deeper than MAX_DEPTH), its text.
    `strings` keeps one copy of each short string (see _compact)."""
    if text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(text):
        return text  # never handed to the parser, which recurses once per level
    try:
        value = json.loads(text)
    except Exception:  # not JSON; or too big for memory, or too deep for the stack after all
        return text
    return _compact(value, strings) if isinstance(value, dict) else text


def _compact(value, strings: dict[str, str]):
    """`value` with each short string (a key, a status, a number, a uuid) replaced by the
    copy in `strings`: a thousand payloads then share one "conversation_uuid", and the
    rows of one leg one uuid. (At most MAX_DEPTH levels: _payload has made sure.)"""
    shared = strings.setdefault
    if isinstance(value, dict):
        compact = {}
        for key, item in value.items():
            if item.__class__ is str:
                if len(item) <= SHARED_STRING:
                    item = shared(item, item)
            elif isinstance(item, (dict, list)):
                item = _compact(item, strings)
            compact[shared(key, key)] = item
        return compact
    if isinstance(value, list):
        return [_compact(item, strings) for item in value]
    if isinstance(value, str) and len(value) <= SHARED_STRING:
        return shared(value, value)
    return value


def _too_deep(text: str) -> bool:
    """Whether JSON text nests deeper than MAX_DEPTH (no recursion: a counter, which
    steps over strings, so a bracket inside one does not count)."""
    depth, in_string, skip_to = 0, False, -1
    for match in _NESTING.finditer(text):
        at = match.start()
        if at < skip_to:
            continue  # the character after a backslash
        character = text[at]
        if character == "\\":
            skip_to = at + 2
        elif character == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif character in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        else:
            depth -= 1
    return False


def _text_of(value) -> str:
    """A stored value as text, whatever SQLite holds (a column's type is only advice)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return "" if value is None else str(value)


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


def _whole_number(value) -> int | None:
    """A count (a duration, a size) as a whole number, if it is one a table can hold."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # (int(float("inf")) is an OverflowError)
        return None
    return number if -2**63 <= number < 2**63 else None


def _flag(value) -> bool | None:
    return value if isinstance(value, bool) else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _times(values: pd.Series) -> pd.Series:
    """Webhook times (ISO 8601 text) as UTC timestamps; NaT where one is missing or not
    a time (anything at all can arrive in a payload)."""
    text = values.map(lambda value: value if isinstance(value, str) and value else None)
    return pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")


# -- the files ------------------------------------------------------------------------------
def _companions(store: Path) -> list[Path]:
    """SQLite's files beside a store: its write-ahead log and the log's index."""
    return [store.with_name(store.name + suffix) for suffix in ("-wal", "-shm")]


def _private_folder(folder: Path) -> None:
    """Make `folder` (or tighten it to) one only its owner may list or enter (config's rule
    for every state folder)."""
    try:
        config.private_dir(folder)
    except OSError as error:  # (a file system without modes): the store still works
        folder.mkdir(parents=True, exist_ok=True)
        log.warning("could not make %s private: %s", folder, error)


def _private_file(path: Path, create: bool = True) -> None:
    """Make the file `path` (or tighten it to) 0600: only its owner may read or write it."""
    try:
        descriptor = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o600)
    except FileNotFoundError:
        return
    try:
        if stat.S_IMODE(os.fstat(descriptor).st_mode) != 0o600:
            os.fchmod(descriptor, 0o600)
    except OSError as error:
        log.warning("could not make %s private: %s", path, error)
    finally:
        os.close(descriptor)


def _set_aside(store: Path, damage: str) -> Path:
    """Move a damaged store, with its -wal and -shm, to `<name>.corrupt-<time>` (the
    companions keep their suffixes, so SQLite finds them if the copy is opened)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = store.with_name(f"{store.name}.corrupt-{stamp}")
    number = 1
    while aside.exists():
        number += 1
        aside = store.with_name(f"{store.name}.corrupt-{stamp}-{number}")
    try:
        os.replace(store, aside)
        for companion, moved in zip(_companions(store), _companions(aside)):
            if companion.exists():
                os.replace(companion, moved)
    except OSError as error:
        raise RuntimeError(
            f"the event store {store} is damaged ({damage}) and could not be moved aside "
            f"({error}): move or delete it (and its -wal and -shm), then start again"
        ) from None
    return aside
