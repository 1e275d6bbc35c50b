"""Every webhook your server receives, kept as it arrives, and seen as pandas tables.

Each request is written to a small SQLite database in the kit's state folder before your
handler's answer goes back, so nothing is lost when a kernel restarts and nothing is
stored twice. `events()` shows them all in order; `calls()` folds the status events into
one row per call leg, the view you want for "what happened to my call?".

A kernel runs all day, so the tables must not slow down as webhooks pile up: each stored
row is parsed once and kept, parsed, in memory (see `EventStore`), and a view or a wait
costs about what the rows that arrived since the last one cost. No row, however odd
(anyone can send a request), can break a table, and a damaged file is set aside and
replaced by a new one, never shown as an error (see `EventFile.__init__`).

The store is three modules, each depending only on the ones before it:
`event_file.py` (the SQLite file: opening, checking, claiming, adding rows),
`event_tables.py` (the tables' columns, and how a webhook fills their rows), and this
one (`EventStore`: the file, its rows parsed once and kept in memory, and the views).
"""

from __future__ import annotations

import json
import os
import re
import threading
from array import array
from bisect import bisect_left
from pathlib import Path

import pandas as pd

from .event_file import EventFile, claim_store
from .event_tables import (
    MOMENTS,
    NO_FIELDS,
    calls_table,
    event_row,
    events_table,
    input_row,
    inputs_table,
    read_fields,
    recording_row,
    recordings_table,
    text_of,
    whole_number,
)

#: Statuses that end a leg without it being answered (the leg's outcome).
FAILURES = ("busy", "cancelled", "failed", "rejected", "timeout", "unanswered")

_BATCH = 5000  # rows read at a time

#: A payload nested deeper than this is shown as its stored text, never parsed: webhooks
#: go four levels deep at most, and a deeper one (anyone can send one) would break
#: whatever walks it later (pandas' display of the table, a comparison, a copy).
MAX_DEPTH = 32

#: Strings up to this long are kept once however many payloads hold them (keys, statuses,
#: numbers, a leg's uuid): most of a payload's memory, otherwise.
SHARED_STRING = 64

#: The characters that matter when measuring how deeply a JSON text nests.
_NESTING = re.compile(r'[\[\]{}"\\]')


def own_store(path: Path) -> EventStore:
    """The event store at `path`, for this workshop alone. While the workshop runs it holds
    the store's lock file (the OS lets go if the kernel dies); a second workshop that would
    open the same store (one notebook in two kernels) opens one of its own beside it.

    The folder is the owner's alone (0700) and so is each store file (0600): in live mode
    they hold callers' numbers, the keys they pressed and what they said. A damaged store
    is set aside (see `EventFile`), and this says so, once, in the cell that started."""
    path, claim = claim_store(path)
    try:
        store = EventStore(path, claim)
    except BaseException:
        os.close(claim)  # or this kernel's next start would think another kernel has it
        raise
    if store.set_aside is not None:
        print(f"The event store {store.path} was damaged ({store.damage}): it is kept, as it was, "
              f"in {store.set_aside}, and this notebook starts a new, empty one in {store.path.name}.")
    return store


class EventStore(EventFile):
    """A durable, thread-safe log of webhooks (one SQLite file: `EventFile`), and its pandas views.

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
        """Open (or create) the store at `path` and parse every row it holds; a damaged
        file is set aside (see `EventFile.__init__`)."""
        self._parsed_lock = threading.RLock()  # the parsed rows' (taken before _lock)
        super().__init__(path, claim)

    def _prepare(self) -> None:
        """The file's checks, then every stored row parsed: the one-off cost is paid here,
        not by the first view (and a file that fails to read here is set aside too)."""
        super()._prepare()
        with self._parsed_lock:
            self._forget()  # (a file set aside may have been half parsed)
            self._catch_up()
            self._read()

    def answered(self, event_id: int, status: int, handler_error: str | None = None) -> None:
        """Record what the server answered (and why a handler failed, if it did)."""
        with self._lock:
            super().answered(event_id, status, handler_error)
            if handler_error is not None:  # (a row is parsed with none: answered() comes after add())
                self._late[event_id] = handler_error  # the row may be parsed already

    def clear(self) -> None:
        with self._parsed_lock, self._lock:
            super().clear()
            self._forget()

    def close(self) -> None:
        with self._parsed_lock:
            super().close()

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
        self._events = events_table()
        self._calls = calls_table()
        self._inputs = inputs_table()
        self._recordings = recordings_table()
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
            data_version = self.data_version()
            if self._data_version is not None and data_version != self._data_version:
                self._forget()  # another connection wrote (or cleared): start over
            self._data_version = data_version
        late: dict[int, str | None] = {}  # taken with the last batch (see below)
        while True:
            with self._lock:
                rows = self.rows_after(self._ids[-1] if self._ids else 0, _BATCH)
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
        payload = _payload(text_of(text), self._strings)
        received_at, kind = text_of(received_at), shared(text_of(kind), text_of(kind))
        if refused is not None:
            refused = shared(text_of(refused), text_of(refused))
            self._refused.append(refused)
        if handler_error is not None:
            handler_error = text_of(handler_error)
        verified = verified == 1
        read = verified and isinstance(payload, dict)
        f = read_fields(payload) if read else NO_FIELDS
        place = len(self._ids)
        self._ids.append(event_id)
        self._events.add(event_row(received_at, kind, f, verified, refused, handler_error, payload))
        if verified and kind == "input":
            self._inputs.add(input_row(received_at, f, payload))
        if not read:
            return
        uuid, conversation = f["uuid"], f["conversation_uuid"]
        if f["recording_url"]:
            self._recordings.add(recording_row(received_at, f, payload))
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
            leg["duration"] = whole_number(payload.get("duration"))
        self._changed_legs[uuid] = leg  # (in the order legs first appear: see GrowingTable.put)

    def _leg_rows(self) -> None:
        """Make the row of calls() of each leg that changed since the table was read."""
        for uuid, leg in self._changed_legs.items():
            times = leg["times"]
            self._calls.put(leg["place"], (  # (in CALL_COLUMNS' order)
                uuid, leg["conversation_uuid"], leg["direction"], leg["from"], leg["to"],
                leg["failure"] or leg["last"], *(times.get(moment) for moment in MOMENTS), leg["duration"]))
        self._changed_legs = {}


# -- a stored payload, parsed ----------------------------------------------------------------
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
