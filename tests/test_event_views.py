"""The event tables stay fast and whole however many, and however odd, the stored rows.

A room's kernel runs all day and keeps every webhook in the notebook's store, so a view
(`ws.events`, `ws.calls`, `ws.inputs`, `ws.recordings`, `ws.call_events`) and a call's
`ws.wait_for` must cost what the rows new since the last look cost, not what the whole
store costs. These tests say so by counting the payloads the store parses (no timings: a
loaded machine makes them lie); `benchmarks/event_views.py` prints the times.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys

import pandas as pd
import pytest
from conftest import mode

import workshop_helpers as wh
from workshop_helpers import config
from workshop_helpers.events import EventStore

#: The table an event store has always had (what a store made by an earlier kit holds).
OLD_SCHEMA = """
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


@pytest.fixture
def parsed(monkeypatch):
    """The payloads the event store parses from now on (each json.loads it calls)."""
    texts = []
    real = json.loads

    def spy(text, *args, **kwargs):
        if sys._getframe(1).f_globals.get("__name__") == "workshop_helpers.events":
            texts.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", spy)
    return texts


def a_call(store: EventStore, n: int, refused: bool = False) -> str:
    """Store the webhooks of one answered call (with an input and a recording); its leg."""
    leg, conversation = f"leg-{n}", f"CON-{n}"
    base = {"from": "447700900123", "to": "447700900100", "uuid": leg, "conversation_uuid": conversation}
    store.add("answer", "POST", base, verified=True)
    for second, status in enumerate(("started", "ringing", "answered")):
        store.add("event", "POST", {**base, "status": status, "direction": "inbound",
                                    "timestamp": f"2026-11-24T09:00:0{second}.000Z"}, verified=True)
    store.add("input", "POST", {**base, "dtmf": {"digits": "1", "timed_out": False}, "speech": {"results": []},
                                "timestamp": "2026-11-24T09:00:05.000Z"}, verified=True)
    store.add("event", "POST", {**base, "status": "completed", "direction": "inbound", "duration": "7",
                                "timestamp": "2026-11-24T09:00:09.000Z"}, verified=True)
    store.add("recording", "POST", {"recording_url": f"https://api.nexmo.com/v1/files/{n}", "size": 9900,
                                    "conversation_uuid": conversation, "start_time": "2026-11-24T09:00:02Z",
                                    "end_time": "2026-11-24T09:00:09Z"}, verified=True)
    if refused:
        store.add("event", "POST", {"why": "not signed"}, verified=False, refused="not signed")
    return leg


def every_view(store: EventStore, leg: str) -> dict[str, pd.DataFrame]:
    return {"events": store.events(), "calls": store.calls(), "inputs": store.inputs(),
            "recordings": store.recordings(), "call_events": store.call_events(leg)}


def shown(tables: dict[str, pd.DataFrame]) -> None:
    """Show each table as a notebook would (its text and its HTML): none may raise."""
    for table in tables.values():
        repr(table)
        table._repr_html_()


def written(path, rows: list[tuple]) -> None:
    """Write rows (kind, payload text, verified, refused) into a store file, as any program
    could: no check on what they hold."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(OLD_SCHEMA)
        db.executemany(
            "INSERT INTO events (received_at, kind, method, payload, verified, refused)"
            " VALUES (?, ?, 'POST', ?, ?, ?)",
            [("2026-11-24T09:00:00.000+00:00", *row) for row in rows])
    db.close()


# -- each row is parsed once ---------------------------------------------------------------------
def test_a_view_after_new_rows_parses_only_those_rows(tmp_path, parsed):
    store = EventStore(tmp_path / "events" / "store.sqlite")
    for n in range(40):
        a_call(store, n, refused=n % 10 == 0)
    every_view(store, "leg-3")
    parsed.clear()

    leg = a_call(store, 40)  # 7 new webhooks
    store.events(), store.calls()
    assert len(parsed) == 7
    for _ in range(3):  # looking again and again costs nothing more
        tables = every_view(store, leg)
    assert len(parsed) == 7
    assert len(tables["events"]) == 40 * 7 + 4 + 7 and tables["events"]["uuid"].iloc[-2] == leg
    assert list(tables["calls"]["uuid"])[-1] == leg and tables["calls"]["duration"].iloc[-1] == 7
    assert list(tables["inputs"]["digits"]) == ["1"] * 41
    assert tables["recordings"]["recording_url"].iloc[-1].endswith("/40")
    assert list(tables["call_events"]["kind"]) == [
        "answer", "event", "event", "event", "input", "event", "recording"]
    store.close()


def test_a_call_and_its_wait_parse_only_the_rows_the_call_brought(ws, parsed):
    for n in range(60):
        a_call(ws.store, n)
    ws.events  # noqa: B018 (parsed once, here)
    parsed.clear()
    before = ws.store.version()[0]

    uuid = ws.phone("447700900123").call(ws.number)
    events = ws.wait_for(uuid)
    ws.events, ws.calls, ws.inputs, ws.recordings, ws.call_events(uuid)  # noqa: B018
    brought = ws.store.version()[0] - before
    assert [status for status in events["status"] if status] == ["started", "ringing", "answered", "completed"]
    assert 0 < len(parsed) <= brought


def test_a_handler_error_recorded_after_a_view_shows_in_the_next(tmp_path):
    store = EventStore(tmp_path / "store.sqlite")
    first = store.add("input", "POST", {"uuid": "leg", "dtmf": {"digits": "1"}}, verified=True)
    assert store.events()["handler_error"].isna().all()  # the handler is still running
    store.answered(first, 500, handler_error="your input handler raised KeyError")
    assert list(store.events()["handler_error"]) == ["your input handler raised KeyError"]
    assert list(store.call_events("leg")["handler_error"]) == ["your input handler raised KeyError"]
    store.close()


def test_a_table_you_change_does_not_change_the_next_one(tmp_path):
    store = EventStore(tmp_path / "store.sqlite")
    a_call(store, 1)
    events, calls = store.events(), store.calls()
    events["status"] = "mine"
    events.loc[0, "kind"] = "mine"
    calls.loc[0, "status"] = "mine"
    assert "mine" not in set(store.events()["status"]) | set(store.events()["kind"])
    assert list(store.calls()["status"]) == ["completed"]
    store.close()


def test_clearing_empties_every_view_and_the_rows_after_show(ws):
    a_call(ws.store, 1, refused=True)
    assert len(ws.events) == 8 and len(ws.calls) == 1
    ws.clear_events()
    assert ws.events.empty and ws.calls.empty and ws.inputs.empty and ws.recordings.empty
    assert ws.call_events("leg-1").empty and not ws.store.has_status("leg-1", "completed")
    assert ws.store.version() == (0, 0)
    leg = a_call(ws.store, 2)
    assert list(ws.calls["uuid"]) == [leg] and len(ws.events) == 7 and ws.store.has_status(leg, "completed")


def test_rows_another_connection_wrote_or_cleared_show_in_the_next_view(tmp_path):
    path = tmp_path / "store.sqlite"
    store = EventStore(path)
    a_call(store, 1)
    assert len(store.calls()) == 1
    other = EventStore(path)  # (a second kernel never gets the same store: own_store)
    a_call(other, 2)
    assert list(store.calls()["uuid"]) == ["leg-1", "leg-2"]
    other.clear()
    assert store.events().empty and store.calls().empty and not store.has_status("leg-1", "completed")
    other.close()
    store.close()


# -- no row breaks a table ---------------------------------------------------------------------------
DEEP = {
    "the probe's 2 KB body, kept as the server kept it": '{"body": ' + "[" * 975 + "]" * 975 + "}",
    "a bare nest of lists": "[" * 975 + "]" * 975,
    "objects a hundred thousand deep": '{"a": ' * 100_000 + "1" + "}" * 100_000,
    "a deep nest cut short": '{"uuid": "leg", "x": ' + "[" * 50_000,
}


def six_rows_of(tmp_path, text: str) -> EventStore:
    """A store holding `text` as the payload of an event, an input and a recording webhook,
    each once verified and once refused."""
    written(tmp_path / "store.sqlite", [(kind, text, verified, None if verified else "not signed")
                                       for kind in ("event", "input", "recording") for verified in (1, 0)])
    return EventStore(tmp_path / "store.sqlite")


@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
def test_a_deeply_nested_payload_breaks_no_view(tmp_path, text):
    store = six_rows_of(tmp_path, text)
    tables = every_view(store, "leg")
    shown(tables)
    events = tables["events"]
    assert len(events) == 6 and list(events["payload"]) == [text] * 6  # the stored text, as it was
    assert events["uuid"].isna().all() and tables["calls"].empty and tables["recordings"].empty
    assert not store.has_status("leg", "started")
    store.close()


def test_a_deeply_nested_webhook_breaks_no_wait(ws):
    uuid = ws.phone("447700900123").call(ws.number)
    with sqlite3.connect(ws.store.path) as db:  # as a webhook stored it
        db.execute("INSERT INTO events (received_at, kind, method, payload, verified)"
                   " VALUES (?, 'event', 'POST', ?, 1)",
                   ("2026-11-24T09:00:00.000+00:00", DEEP["the probe's 2 KB body, kept as the server kept it"]))
    db.close()
    events = ws.wait_for(uuid)
    assert events["status"].iloc[-1] == "completed"
    shown({"events": ws.events, "calls": ws.calls, "inputs": ws.inputs, "recordings": ws.recordings,
           "call": ws.call_events(uuid)})
    assert len(ws.calls) == 1


NOT_OBJECTS = {
    "a list of webhooks": '[{"uuid": "leg", "status": "completed"}]',
    "a string": '"completed"',
    "a number": "42",
    "null": "null",
    "not JSON": '{"uuid": "leg", "status": ',
    "nothing": "",
}


@pytest.mark.parametrize("text", NOT_OBJECTS.values(), ids=NOT_OBJECTS.keys())
def test_a_payload_that_is_not_a_json_object_shows_as_its_text(tmp_path, text):
    store = six_rows_of(tmp_path, text)
    tables = every_view(store, "leg")
    shown(tables)
    assert list(tables["events"]["payload"]) == [text] * 6
    assert tables["events"]["status"].isna().all() and tables["calls"].empty  # nothing read from it
    store.close()


def test_brackets_inside_strings_are_not_nesting(tmp_path):
    payload = {"uuid": "leg", "status": "answered", "direction": "inbound", "note": '[{"' * 5000 + '\\"'}
    written(tmp_path / "store.sqlite", [("event", json.dumps(payload), 1, None)])
    store = EventStore(tmp_path / "store.sqlite")
    assert store.events()["payload"].iloc[0] == payload and list(store.calls()["status"]) == ["answered"]
    store.close()


def test_numbers_and_types_no_webhook_has_break_no_view(tmp_path):
    odd = [
        # NaN and the infinities are JSON to Python's parser
        '{"uuid": "leg", "status": "ringing", "timestamp": -Infinity, "duration": NaN}',
        '{"uuid": "leg", "dtmf": {"digits": NaN, "timed_out": "yes"},'
        ' "speech": {"results": [{"text": "hi", "confidence": Infinity}]}}',
        '{"recording_url": "https://x/1", "size": 1e400, "start_time": NaN, "conversation_uuid": "CON-1"}',
        '{"recording_url": "https://x/2", "size": 123456789012345678901234567890, "conversation_uuid": "CON-1"}',
        json.dumps({"uuid": 5, "call_uuid": ["x"], "conversation_uuid": {"a": 1}, "status": ["completed"],
                    "from": 447700900123, "to": None, "direction": True, "timestamp": 1700000000, "dtmf": "1",
                    "speech": {"results": "hi"}, "recording_url": 7, "reason": {}, "duration": "long",
                    "size": {}}),
        json.dumps({"uuid": "leg", "status": "completed", "timestamp": "yesterday", "duration": "9" * 5000}),
        json.dumps({"uuid": "leg", "status": "completed", "reason": "x" * 5_000_000}),  # a huge string
        json.dumps({"uuid": "leg\u0000\ud800", "status": "answered", "from": "\u202e447700900123"}),
        # the leg's last completed event, whose duration calls() reads: Infinity is no whole number
        '{"uuid": "leg", "status": "completed", "timestamp": NaN, "duration": Infinity,'
        ' "conversation_uuid": "CON-1"}',
    ]
    written(tmp_path / "store.sqlite", [(kind, text, 1, None) for text in odd for kind in ("event", "input")])
    store = EventStore(tmp_path / "store.sqlite")
    tables = every_view(store, "leg")
    shown(tables)
    assert len(tables["events"]) == 2 * len(odd)
    completed = tables["calls"].set_index("uuid").loc["leg"]
    assert completed["status"] == "completed" and pd.isna(completed["duration"])
    assert tables["recordings"]["size"].isna().all()
    store.close()


def test_values_of_any_sqlite_type_break_no_view(tmp_path):
    path = tmp_path / "store.sqlite"
    written(path, [])
    with sqlite3.connect(path) as db:  # a column's type is only advice to SQLite
        db.executemany("INSERT INTO events (received_at, kind, method, payload, verified, refused, handler_error)"
                       " VALUES (?, ?, 'POST', ?, ?, ?, ?)", [
                           (12345, 7, b'{"uuid": "leg", "status": "started"}', 1, None, None),
                           ("yesterday", "event", b"\xff\xfe not text", 1, b"\x00", 3.5),
                           ("2026-11-24T09:00:00Z", "event", 42, "yes", 0, None),
                       ])
    db.close()
    store = EventStore(path)
    tables = every_view(store, "leg")
    shown(tables)
    events = tables["events"]
    assert len(events) == 3 and list(events["verified"]) == [True, True, False]
    assert list(events["kind"]) == ["7", "event", "event"] and pd.isna(events["received_at"].iloc[1])
    assert events["payload"].iloc[1].startswith("\ufffd") and events["payload"].iloc[2] == "42"
    assert store.has_status("leg", "started")
    store.close()


# -- the file ----------------------------------------------------------------------------------------
def test_a_store_from_before_opens_with_its_rows():
    """(No migration: the file keeps the table it always had, so this holds by design.)"""
    path = config.events_path()
    base = {"from": "447700900123", "to": "447700900100", "uuid": "old-leg", "conversation_uuid": "CON-old"}
    written(path, [("answer", json.dumps(base), 1, None)]
            + [("event", json.dumps({**base, "status": status, "direction": "inbound",
                                     "timestamp": "2026-11-24T09:00:00.000Z"}), 1, None)
               for status in ("started", "ringing", "answered", "completed")]
            + [("event", json.dumps({"uuid": "forged"}), 0, "not signed")])
    ws = wh.start(clock="virtual")
    try:
        assert list(ws.events["status"].fillna("?")) == ["", "started", "ringing", "answered", "completed", "?"]
        assert list(ws.calls["uuid"]) == ["old-leg"] and ws.calls["status"].iloc[0] == "completed"
        assert len(ws.call_events("old-leg")) == 5
        uuid = ws.phone("447700900123").call(ws.number)
        ws.wait_for(uuid)
        assert list(ws.calls["uuid"]) == ["old-leg", uuid]
    finally:
        wh.stop()
    with sqlite3.connect(path) as db:
        assert [row[1] for row in db.execute("PRAGMA table_info(events)")] == [
            "id", "received_at", "kind", "method", "payload", "verified", "refused", "handler_error",
            "response_status"]
    db.close()


def damaged(path, how: str) -> bytes:
    """Damage (or make damaged) the store file at `path`; its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if how == "garbage":
        path.write_bytes(os.urandom(64 * 1024))
    else:
        written(path, [("event", json.dumps({"uuid": f"leg-{n}", "status": "completed"}), 1, None)
                       for n in range(3000)])
        with open(path, "r+b") as file:
            file.truncate(path.stat().st_size // 2)
    return path.read_bytes()


@pytest.mark.parametrize("how", ["garbage", "cut in half"])
def test_a_damaged_store_is_set_aside_said_once_and_a_new_one_used(capsys, how):
    path = config.events_path()
    before = damaged(path, how)
    ws = wh.start(clock="virtual")
    try:
        said = [line for line in capsys.readouterr().out.splitlines() if "damaged" in line]
        aside = [p for p in path.parent.iterdir() if p.name.startswith(path.name + ".corrupt-")
                 and not p.name.endswith(("-wal", "-shm"))]
        assert len(aside) == 1 and aside[0].read_bytes() == before  # nothing lost
        assert len(said) == 1 and str(path) in said[0] and str(aside[0]) in said[0]
        assert ws.store.path == path and ws.events.empty
        uuid = ws.phone("447700900123").call(ws.number)
        ws.wait_for(uuid)
        assert list(ws.calls["uuid"]) == [uuid]
    finally:
        wh.stop()
    wh.start(clock="virtual")  # the new store is sound: nothing more to say
    try:
        assert "damaged" not in capsys.readouterr().out
    finally:
        wh.stop()


def test_the_store_and_its_folder_are_the_owners_alone():
    path = config.events_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o755)  # as an earlier kit left them, under a umask of 022
    written(path, [])
    os.chmod(path, 0o644)
    ws = wh.start(clock="virtual")
    try:
        uuid = ws.phone("447700900123").call(ws.number)
        ws.wait_for(uuid)  # (the -wal and -shm exist while the store is open)
        assert mode(path.parent) == 0o700
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
                     path.with_name(path.name + ".lock")):
            assert mode(file) == 0o600, file
    finally:
        wh.stop()


def test_a_new_store_is_made_the_owners_alone():
    previous = os.umask(0o022)
    try:
        ws = wh.start(clock="virtual")
    finally:
        os.umask(previous)
    try:
        ws.wait_for(ws.phone("447700900123").call(ws.number))
        path = ws.store.path
        assert mode(path.parent) == 0o700
        assert [mode(path.with_name(path.name + suffix)) for suffix in ("", "-wal", "-shm")] == [0o600] * 3
    finally:
        wh.stop()
