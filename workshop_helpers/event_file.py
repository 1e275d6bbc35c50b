"""The SQLite file that keeps every webhook as it arrived: opened, checked, claimed by one
workshop at a time, and set aside, never shown as an error, when it is damaged.

This is the store's durable half. What the tables show is made from these rows in
`events.py` (`EventStore`, which is an `EventFile` with its pandas views); this module
knows nothing of the tables.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from . import config
from .locks import try_lock

log = logging.getLogger("workshop_helpers")

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

#: What the views read of each row: the columns the file has always had.
_READ = "SELECT id, received_at, kind, payload, verified, refused, handler_error FROM events"
_NEEDED = {"id", "received_at", "kind", "method", "payload", "verified", "refused", "handler_error",
           "response_status"}

#: SQLite's result codes for a file that is damaged or is not a database at all.
_DAMAGE = {getattr(sqlite3, "SQLITE_CORRUPT", 11), getattr(sqlite3, "SQLITE_NOTADB", 26)}


def claim_store(path: Path) -> tuple[Path, int]:
    """The store this workshop may use, `path` or the first free one beside it, and the
    descriptor of the lock file it now holds (close it to let go; the OS lets go if the
    kernel dies). A second workshop that would open the same store (one notebook in two
    kernels) gets one of its own: -2, -3, ..., found again after a restart.

    The folder is made the owner's alone (0700): in live mode the stores hold callers'
    numbers, the keys they pressed and what they said."""
    _private_folder(path.parent)
    claim, wanted, second = try_lock(_lock_file(path)), path, 2
    while claim is None:  # the next free one, -2, -3, ...: found again after a restart
        path = wanted.with_name(f"{wanted.stem}-{second}{wanted.suffix}")
        claim, second = try_lock(_lock_file(path)), second + 1
    return path, claim


def _lock_file(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


class _Damaged(Exception):
    """The store's file is not a readable event store (the reason is the message)."""


class EventFile:
    """A durable, thread-safe log of webhooks: one SQLite file, rows only ever added
    (ids only grow: AUTOINCREMENT), and the tokens let in, so a replay is refused.

    The file keeps the schema it has always had, so an old store opens as it is
    (`EventStore` explains why the tables are not columns in the file)."""

    def __init__(self, path: str | Path, claim: int | None = None):
        """Open (or create) the store at `path`.

        A file that is damaged (cut short, overwritten, not a database at all) is moved
        aside to `<name>.corrupt-<time>` (its -wal and -shm with it), `set_aside` and
        `damage` say where and why, and a new, empty store takes its place. Moved, not
        deleted: nothing is lost, and a repair can be tried on the copy later. Not an
        error either: an attendee cannot mend a SQLite file in the middle of a lesson,
        and an empty store is what `clear_events()` gives them anyway. The lock file
        (`claim_store`) stays: it guards the path, and the new file is at the same path.
        """
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=config.PRIVATE_DIR_MODE)
        self._claim = claim  # an open lock file that says "in use" while held (claim_store)
        self._lock = threading.RLock()  # the connection's (re-entered by EventStore's own steps)
        self.set_aside: Path | None = None
        self.damage: str | None = None
        try:
            self._open()
        except _Damaged as damaged:
            self.damage = str(damaged)
            self.set_aside = _set_aside(self.path, self.damage)
            log.warning("the event store %s was damaged (%s): moved to %s", self.path, self.damage, self.set_aside)
            self._open()  # a new file: if this fails, the error is not the file's

    def _open(self) -> None:
        """Connect, check the file and `_prepare` it (_Damaged if it is damaged)."""
        config.private_file(self.path)  # before SQLite makes its -wal and -shm: they copy its mode
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            self._prepare()
        except (sqlite3.DatabaseError, _Damaged) as error:
            self._db.close()
            if isinstance(error, _Damaged):
                raise
            if (getattr(error, "sqlite_errorcode", 0) & 0xFF) in _DAMAGE:
                raise _Damaged(str(error)) from error
            raise
        for companion in _companions(self.path):
            config.private_file(companion, create=False)

    def _prepare(self) -> None:
        """Check the file just connected to and make it ready; whatever fails here with
        SQLite's "damaged" codes sets the file aside (EventStore adds parsing every row)."""
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
        cursor = self._db.execute("INSERT OR IGNORE INTO tokens (jti, expires) VALUES (?, ?)", (jti, expires))
        if cursor.rowcount == 0:  # the jti (the table's key) is there already
            return False
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

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM events")

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._claim is not None:
                os.close(self._claim)  # lets go of the lock: the store is free again
                self._claim = None

    def rows(self) -> list[dict]:
        with self._lock:
            cursor = self._db.execute("SELECT * FROM events ORDER BY id")
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def rows_after(self, last_id: int, limit: int) -> list[tuple]:
        """Up to `limit` stored rows past id `last_id`, in order, as the views read them:
        (id, received_at, kind, payload, verified, refused, handler_error)."""
        with self._lock:
            return self._db.execute(f"{_READ} WHERE id > ? ORDER BY id LIMIT {limit}", (last_id,)).fetchall()

    def data_version(self) -> int:
        """SQLite's count of the writes other connections made to the file: when it
        changes, another connection wrote (or cleared) the store."""
        with self._lock:
            return self._db.execute("PRAGMA data_version").fetchone()[0]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


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
