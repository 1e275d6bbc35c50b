"""Every webhook your server receives, kept as it arrives, and seen as pandas tables.

Each request is written to a small SQLite database in the kit's state folder before your
handler's answer goes back, so nothing is lost when a kernel restarts and nothing is
stored twice. `events()` shows them all in order; `calls()` folds the status events into
one row per call leg, the view you want for "what happened to my call?".
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from uuid import uuid4

import pandas as pd

from .locks import try_lock

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


def own_store(path: Path) -> EventStore:
    """The event store at `path`, for this workshop alone. While the workshop runs it holds
    the store's lock file (the OS lets go if the kernel dies); a second workshop that would
    open the same store (one notebook in two kernels) opens one of its own beside it."""
    claim = try_lock(_lock_file(path))
    if claim is None:
        path = path.with_name(f"{path.stem}-{uuid4().hex[:8]}{path.suffix}")
        claim = try_lock(_lock_file(path))
    return EventStore(path, claim)


def _lock_file(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


class EventStore:
    """A durable, thread-safe log of webhooks (one SQLite file)."""

    def __init__(self, path: str | Path, claim: int | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._claim = claim  # an open lock file that says "in use" while held (own_store)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        # WAL with synchronous=NORMAL: every event is safe once its request is answered,
        # even if the kernel or the process dies; only an OS crash could lose the last few.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(SCHEMA)

    def add(self, kind: str, method: str, payload: dict, verified: bool,
            refused: str | None = None) -> int:
        """Store one request as it arrives; returns its id (its place in the order)."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO events (received_at, kind, method, payload, verified, refused)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (_now(), kind, method, json.dumps(payload), int(verified), refused),
            )
            return cursor.lastrowid

    def answered(self, event_id: int, status: int, handler_error: str | None = None) -> None:
        """Record what the server answered (and why a handler failed, if it did)."""
        with self._lock:
            self._db.execute(
                "UPDATE events SET response_status = ?, handler_error = ? WHERE id = ?",
                (status, handler_error, event_id),
            )

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM events")

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._claim is not None:
                os.close(self._claim)  # lets go of the lock: the store is free again
                self._claim = None

    def version(self) -> tuple[int, int]:
        """(how many rows, the last id): it changes whenever a webhook arrives or the
        store is cleared, so a live view knows when to redraw without reading it all."""
        with self._lock:
            return self._db.execute("SELECT count(*), coalesce(max(id), 0) FROM events").fetchone()

    def has_status(self, uuid: str, *statuses: str) -> bool:
        """Whether a verified webhook said that leg `uuid` reached one of `statuses`.
        Cheap (one query, no table built), so a wait can ask it often."""
        marks = ", ".join("?" * len(statuses))
        with self._lock:
            return self._db.execute(
                "SELECT 1 FROM events WHERE verified = 1 AND json_valid(payload)"
                " AND coalesce(json_extract(payload, '$.uuid'), json_extract(payload, '$.call_uuid')) = ?"
                f" AND json_extract(payload, '$.status') IN ({marks}) LIMIT 1",
                (uuid, *statuses),
            ).fetchone() is not None

    def rows(self) -> list[dict]:
        with self._lock:
            cursor = self._db.execute("SELECT * FROM events ORDER BY id")
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    # -- pandas views ----------------------------------------------------------------------
    def events(self) -> pd.DataFrame:
        """All webhooks in the order they arrived, with the fields worth reading pulled out.

        Fields are read only from verified requests, and defensively: a refused request
        (anyone can send one) shows with its raw payload and can never break the tables.
        """
        records = []
        for row in self.rows():
            payload = json.loads(row["payload"])
            fields = _fields(payload) if row["verified"] else {}
            records.append({
                "received_at": row["received_at"],
                "kind": row["kind"],
                **fields,
                "verified": bool(row["verified"]),
                "refused": row["refused"],
                "handler_error": row["handler_error"],
                "payload": payload,
            })
        table = pd.DataFrame(records, columns=EVENT_COLUMNS)
        # Times are parsed in one go per column: one at a time, they were most of the
        # table's cost (a second for a thousand rows, and a check builds it many times).
        table["received_at"] = _times(table["received_at"])
        table["timestamp"] = _times(table["timestamp"])
        return table.astype({"verified": bool})  # a usable mask even with no rows

    def calls(self) -> pd.DataFrame:
        """One row per call leg: who called whom, how it ended, when, and for how long.

        `status` is the leg's outcome: `completed` for an answered call, otherwise the
        reason it was not answered (busy, timeout, ...), or its latest status while live.
        """
        events = self.events()
        status_events = events[is_status_event(events) & events["verified"]]
        legs = []
        for uuid, rows in status_events.groupby("uuid", sort=False):
            first, last = rows.iloc[0], rows.iloc[-1]
            times = {status: stamp for status, stamp in zip(rows["status"], rows["timestamp"])}
            statuses = list(rows["status"])
            failures = [s for s in statuses if s in FAILURES]
            completed = rows[rows["status"] == "completed"]
            duration = _whole_number(completed.iloc[-1]["payload"].get("duration")) if len(completed) else None
            legs.append({
                "uuid": uuid,
                "conversation_uuid": last["conversation_uuid"],  # where it ended up
                "direction": first["direction"],
                "from": first["from"],
                "to": first["to"],
                "status": failures[-1] if failures else statuses[-1],
                "started": times.get("started"),
                "ringing": times.get("ringing"),
                "answered": times.get("answered"),
                "completed": times.get("completed"),
                "duration": duration,
            })
        return pd.DataFrame(legs, columns=CALL_COLUMNS)


def is_status_event(events: pd.DataFrame) -> pd.Series:
    """Which rows report a leg's state (started, answered, ...); the other webhooks (answer,
    input, recording, ...) have an empty status, and refused ones none at all."""
    return events["status"].fillna("") != ""


def inputs(events: pd.DataFrame) -> pd.DataFrame:
    """One row per input result: the keys pressed or the words said, per leg."""
    rows = events[(events["kind"] == "input") & events["verified"]]
    return pd.DataFrame({
        "received_at": rows["received_at"],
        "uuid": rows["uuid"],
        "digits": rows["digits"],
        "timed_out": [p.get("dtmf", {}).get("timed_out") if isinstance(p.get("dtmf"), dict) else None
                      for p in rows["payload"]],
        "speech": rows["speech"],
        "confidence": [_confidence(p) for p in rows["payload"]],
    }).reset_index(drop=True)


def recordings(events: pd.DataFrame) -> pd.DataFrame:
    """One row per recording: where to download it, how big, which conversation."""
    rows = events[events["recording_url"].notna() & events["verified"]]
    return pd.DataFrame({
        "received_at": rows["received_at"],
        "conversation_uuid": rows["conversation_uuid"],
        "recording_url": rows["recording_url"],
        "size": [_whole_number(p.get("size")) for p in rows["payload"]],
        "start_time": _times(rows["payload"].map(lambda p: p.get("start_time"))),
        "end_time": _times(rows["payload"].map(lambda p: p.get("end_time"))),
    }).reset_index(drop=True)


def for_call(events: pd.DataFrame, uuid: str) -> pd.DataFrame:
    """The events of one leg, plus those of its conversation that carry no leg (records)."""
    events = events[events["verified"]]
    conversation = events.loc[events["uuid"] == uuid, "conversation_uuid"]
    mine = events["uuid"] == uuid
    if len(conversation):
        mine |= events["uuid"].isna() & (events["conversation_uuid"] == conversation.iloc[0])
    return events[mine].reset_index(drop=True)


def _fields(payload: dict) -> dict:
    """The columns worth reading, taken from a payload whatever shape it has."""
    dtmf = _dict(payload.get("dtmf"))
    speech = _dict(payload.get("speech"))
    return {
        "uuid": _text(payload.get("uuid") or payload.get("call_uuid")),
        "conversation_uuid": _text(payload.get("conversation_uuid")),
        # Empty, not missing, for a webhook that carries no status (answer, input, ...): the
        # table then shows an empty cell, where NaN reads like an error to a newcomer, and
        # not the kind's own word, which would pass an input off as a state of the call.
        "status": _text(payload.get("status")) or "",
        "from": _text(payload.get("from")),
        "to": _text(payload.get("to")),
        "direction": _text(payload.get("direction")),
        "timestamp": payload.get("timestamp"),  # parsed with the others: see _times
        "digits": _text(dtmf.get("digits")),
        "speech": _text(_first_result(speech).get("text")),
        "recording_url": _text(payload.get("recording_url")),
        "reason": _text(payload.get("reason")),
    }


def _first_result(speech: dict) -> dict:
    results = speech.get("results")
    return _dict(results[0]) if isinstance(results, list) and results else {}


def _confidence(payload: dict) -> float | None:
    value = _first_result(_dict(payload.get("speech"))).get("confidence")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _whole_number(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _times(values: pd.Series) -> pd.Series:
    """Webhook times (ISO 8601 text) as UTC timestamps; NaT where one is missing or not
    a time (anything at all can arrive in a payload)."""
    text = values.map(lambda value: value if isinstance(value, str) and value else None)
    return pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
