"""How the event tables and `ws.wait_for` cost as a notebook's event store grows: a benchmark.

    .venv/bin/python benchmarks/event_views.py [--rows N ...] [--repeat R]

Prints figures, not pass/fail. A room's kernel runs all day, and every webhook its server
receives stays in the notebook's store, so the views (`ws.events`, `ws.calls`,
`ws.inputs`, `ws.recordings`, `ws.call_events(uuid)`) and a call's `ws.wait_for` must not
slow down as the rows pile up. Targets: at 100,000 stored rows each view under 0.5 s, and
a call plus its `wait_for` under 0.2 s more than on an empty store.

For each size (default 100, 10,000 and 100,000 rows) the store is filled, before the
workshop starts, with a realistic mix of webhooks across many calls: answered inbound
calls with an input (keys or speech) and a recording, outbound calls that were busy,
rejected or not answered, two-leg calls, the platform's error events, refused requests and
handlers that raised. Then, in this process:

- `wh.start(clock="virtual")` opens the store (this parses every stored row, once);
- the first look at each view (what is left of the one-off cost);
- `--repeat` rounds of: a virtual phone calls the notebook's number (an input menu, as in
  the README), then `ws.wait_for(uuid)` -- timed together -- and then each view once,
  timed, each after the webhooks of another call (about 7) have been stored, so that a
  view's time includes reading what arrived since the last look; the medians are printed;
- the memory the kernel holds for the parsed rows (resident set, before and after open).

Every ratio compares figures from the same run (a shared machine is noisy): a view's time
at N rows over its time at the smallest size, and the call plus `wait_for` at N rows minus
the same on an empty store.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import io
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid as uuidlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VIEWS = ("events", "calls", "inputs", "recordings", "call_events")
VIEW_TARGET = 0.5  # seconds, at 100,000 rows
WAIT_TARGET = 0.2  # seconds more than on an empty store
OUR_NUMBER = "447700900100"


# ----------------------------------------------------------------------------------------
# A realistic store
# ----------------------------------------------------------------------------------------
def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def leg_events(rng: random.Random, moment: datetime, caller: str, callee: str, direction: str,
               conversation: str, outcome: str) -> list[tuple[str, dict, dict]]:
    """(kind, payload, extra) for the status events of one leg; extra: verified etc."""
    leg = str(uuidlib.UUID(int=rng.getrandbits(128)))
    base = {"from": caller, "to": callee, "uuid": leg, "conversation_uuid": conversation}
    rows = [("answer", {**base, "endpoint_type": "phone", "region_url": "https://api.nexmo.com"}, {})] \
        if direction == "inbound" else []
    rows += [("event", {**base, "status": status, "direction": direction, "timestamp": stamp(moment)}, {})
             for status in ("started", "ringing")]
    if outcome != "completed":
        rows.append(("event", {**base, "status": outcome, "direction": direction,
                               "timestamp": stamp(moment + timedelta(seconds=20))}, {}))
        return rows
    answered = moment + timedelta(seconds=rng.uniform(1, 6))
    rows.append(("event", {**base, "status": "answered", "direction": direction, "start_time": stamp(answered),
                           "rate": "0.00450000", "network": None, "timestamp": stamp(answered)}, {}))
    heard = answered + timedelta(seconds=rng.uniform(2, 8))
    if rng.random() < 0.7:
        dtmf = {"digits": str(rng.randint(1, 9)), "timed_out": False}
        speech = {"results": []}
    else:
        dtmf = {"digits": None, "timed_out": False}
        speech = {"results": [{"text": rng.choice(["sales please", "support", "billing"]),
                               "confidence": f"{rng.uniform(0.6, 0.99):.2f}"}],
                  "timeout_reason": "end_on_silence_timeout"}
    raised = rng.random() < 0.03
    rows.append(("input", {**base, "dtmf": dtmf, "speech": speech, "timestamp": stamp(heard)},
                 {"handler_error": "your input handler raised KeyError: 'digits'"} if raised else {}))
    ended = heard + timedelta(seconds=rng.uniform(1, 30))
    rows.append(("event", {**base, "status": "completed", "direction": direction, "start_time": stamp(answered),
                           "end_time": stamp(ended), "duration": str(int((ended - answered).total_seconds())),
                           "rate": "0.00450000", "price": "0.00037500", "network": "GB-VIRTUAL-SANDBOX",
                           "disconnected_by": "user", "timestamp": stamp(ended)}, {}))
    return rows


def call_rows(rng: random.Random, moment: datetime) -> list[tuple[str, dict, dict]]:
    """The webhooks of one call, of a kind picked at random."""
    conversation = "CON-" + str(uuidlib.UUID(int=rng.getrandbits(128)))
    caller = f"4477009{rng.randint(0, 99999):05d}"
    pick = rng.random()
    if pick < 0.6:  # answered inbound call, an input, a recording
        rows = leg_events(rng, moment, caller, OUR_NUMBER, "inbound", conversation, "completed")
        file = uuidlib.UUID(int=rng.getrandbits(128))
        rows.append(("recording", {"start_time": stamp(moment), "end_time": stamp(moment + timedelta(seconds=30)),
                                   "recording_url": f"https://api.nexmo.com/v1/files/{file}",
                                   "recording_uuid": str(uuidlib.UUID(int=rng.getrandbits(128))),
                                   "size": rng.randint(5000, 90000), "conversation_uuid": conversation,
                                   "timestamp": stamp(moment + timedelta(seconds=31))}, {}))
        return rows
    if pick < 0.8:  # outbound call not answered
        outcome = rng.choice(["busy", "rejected", "timeout", "unanswered", "failed"])
        return leg_events(rng, moment, OUR_NUMBER, caller, "outbound", conversation, outcome)
    if pick < 0.93:  # inbound call connected to a second leg
        rows = leg_events(rng, moment, caller, OUR_NUMBER, "inbound", conversation, "completed")
        rows += leg_events(rng, moment + timedelta(seconds=3), OUR_NUMBER, "447700900555", "outbound",
                           conversation, "completed")[:-2]  # no input on the agent's leg
        rows.append(("event", {"conversation_uuid_from": conversation, "conversation_uuid_to": conversation,
                               "uuid": rows[1][1]["uuid"], "type": "transfer",
                               "timestamp": stamp(moment + timedelta(seconds=4))}, {}))
        return rows
    if pick < 0.97:  # the platform's error event
        rows = leg_events(rng, moment, caller, OUR_NUMBER, "inbound", conversation, "failed")
        rows.append(("event", {"reason": "could not play the stream", "detail": "404",
                               "conversation_uuid": conversation,
                               "timestamp": stamp(moment + timedelta(seconds=2))}, {}))
        return rows
    # a request your server refused (kept as a summary)
    return [("event", {"method": "POST", "path": "/webhooks/event", "size": 120,
                       "why": "not signed: no Authorization header", "preview": '{"uuid": "forged"}'},
             {"verified": 0, "refused": "not signed: no Authorization header"})]


def answer_status(extra: dict) -> int:
    """What the server answered a stored webhook: 401 refused, 500 a handler raised."""
    return 401 if "refused" in extra else 500 if "handler_error" in extra else 200


def fill(path: Path, rows: int, seed: int = 15) -> None:
    """Write `rows` webhooks to the store at `path`, as EventStore.add would have."""
    from workshop_helpers.event_file import SCHEMA
    rng = random.Random(seed)
    moment = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    batch = []
    while len(batch) < rows:
        for kind, payload, extra in call_rows(rng, moment):
            batch.append((stamp(moment), kind, "POST", json.dumps(payload), extra.get("verified", 1),
                          extra.get("refused"), extra.get("handler_error"), answer_status(extra)))
        moment += timedelta(seconds=rng.uniform(5, 40))
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)  # (two statements: the events and the tokens tables)
        db.executemany("INSERT INTO events (received_at, kind, method, payload, verified, refused, handler_error,"
                       " response_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch[:rows])
    db.close()


# ----------------------------------------------------------------------------------------
# Measuring
# ----------------------------------------------------------------------------------------
def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def measure(rows: int, repeat: int, home: Path) -> dict:
    """Start a workshop on a store of `rows` webhooks; time its views and a call's wait."""
    os.environ["VOICE_WORKSHOP_HOME"] = str(home)
    import workshop_helpers as wh
    from workshop_helpers import config

    path = config.events_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if rows:
        fill(path, rows)
    gc.collect()
    rss_before = psutil.Process().memory_info().rss
    result = {"rows": rows, "file_mb": path.stat().st_size / 1e6 if path.exists() else 0.0}
    started = time.perf_counter()
    ws = wh.start(clock="virtual")
    result["start"] = time.perf_counter() - started
    try:
        serve_a_menu(ws)
        result["first"] = first_looks(ws)
        gc.collect()
        result["rss_mb"] = (psutil.Process().memory_info().rss - rss_before) / 1e6
        result["wait"], result["views"] = rounds(ws, repeat)
        result["stored"] = ws.store.version()[0]
    finally:
        wh.stop()
    return result


def serve_a_menu(ws) -> None:
    """The notebook's handlers: an input menu, as in the README."""
    from vonage_voice import Dtmf, Input, Talk

    @ws.answer
    def answer(call):
        return [Talk(text="Press 1 for sales"),
                Input(type=["dtmf"], dtmf=Dtmf(maxDigits=1), eventUrl=[ws.webhook_url("input")])]

    @ws.on_input
    def on_input(event):
        return [Talk(text=f"You pressed {event['dtmf']['digits']}")]


def first_looks(ws) -> dict[str, float]:
    """The time of the first look at each view (what is left of the one-off cost)."""
    first = {
        "events": timed(lambda: ws.events),
        "calls": timed(lambda: ws.calls),
        "inputs": timed(lambda: ws.inputs),
        "recordings": timed(lambda: ws.recordings),
    }
    calls = ws.calls
    some_leg = calls["uuid"].iloc[len(calls) // 2] if len(calls) else None
    first["call_events"] = timed(lambda: ws.call_events(some_leg or "none"))
    return first


def rounds(ws, repeat: int) -> tuple[list[float], dict[str, list[float]]]:
    """`repeat` rounds of a call plus its wait_for, then each view once: their times."""
    waits, views = [], {name: [] for name in VIEWS}
    rng = random.Random(7)
    moment = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
    for _ in range(repeat):
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # what it says of the refused rows
            leg = call_and_wait(ws)
        waits.append(time.perf_counter() - started)
        for name, view in (("events", lambda: ws.events), ("calls", lambda: ws.calls),
                           ("inputs", lambda: ws.inputs), ("recordings", lambda: ws.recordings),
                           ("call_events", functools.partial(ws.call_events, leg))):
            # Each view is timed after another call's webhooks have arrived: what it
            # costs includes reading them.
            store_a_call(ws, rng, moment)
            moment += timedelta(seconds=30)
            views[name].append(timed(view))
    return waits, views


def call_and_wait(ws) -> str:
    """A virtual phone calls the notebook's number and presses 1; wait_for its leg."""
    phone = ws.phone("447700900123").script(script=[{"await_input": True}, {"press": "1"}])
    leg = phone.call(ws.number)
    ws.wait_for(leg)
    return leg


def store_a_call(ws, rng: random.Random, moment: datetime) -> None:
    """Another call's webhooks, stored and answered as the server stores them."""
    for kind, payload, extra in call_rows(rng, moment):
        stored = ws.store.add(kind, "POST", payload, verified=bool(extra.get("verified", 1)),
                              refused=extra.get("refused"))
        ws.store.answered(stored, answer_status(extra), extra.get("handler_error"))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100, 10_000, 100_000],
                        help="store sizes, smallest first (default 100 10000 100000)")
    parser.add_argument("--repeat", type=int, default=7, help="calls per size (default 7)")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.rows))

    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{args.repeat} calls per size; medians of those rounds\n")
    results = []
    with tempfile.TemporaryDirectory(prefix="event-views-") as tmp:
        empty = measure(0, args.repeat, Path(tmp) / "home-empty")
        shutil.rmtree(Path(tmp) / "home-empty", ignore_errors=True)
        for rows in sizes:
            results.append(measure(rows, args.repeat, Path(tmp) / f"home-{rows}"))
            shutil.rmtree(Path(tmp) / f"home-{rows}", ignore_errors=True)

    empty_wait = statistics.median(empty["wait"])
    print(f"empty store: wh.start() {ms(empty['start'])}, a call plus wait_for {ms(empty_wait)}\n")
    for r in results:
        print_size(r, empty_wait)
    print_summary(results[0], results[-1], empty)
    return 0


def print_size(r: dict, empty_wait: float) -> None:
    """The figures of one store size."""
    print(f"== {r['rows']:,} stored rows ({r['file_mb']:.1f} MB file; {r['stored']:,} after the calls)")
    print(f"  wh.start() (parses every stored row once)  {ms(r['start'])}")
    print(f"  memory: resident set grew by               {r['rss_mb']:8.1f} MB "
          "(over wh.start() and the first views)")
    print("  first look at each view                    "
          + "  ".join(f"{name} {seconds * 1000:.1f} ms" for name, seconds in r["first"].items()))
    for name in VIEWS:
        times = r["views"][name]
        print(f"  {name:<12} median {ms(statistics.median(times))}   max {ms(max(times))}")
    wait = statistics.median(r["wait"])
    print(f"  a call plus wait_for  median {ms(wait)}   max {ms(max(r['wait']))}   "
          f"(+{(wait - empty_wait) * 1000:.1f} ms over the empty store)")
    print()


def print_summary(small: dict, large: dict, empty: dict) -> None:
    """The largest size against the smallest, and the call plus wait_for against the empty store."""
    empty_wait = statistics.median(empty["wait"])
    print(f"== summary: {large['rows']:,} rows against {small['rows']:,} (same run)")
    for name in VIEWS:
        at_small = statistics.median(small["views"][name])
        at_large = statistics.median(large["views"][name])
        verdict = "meets" if at_large < VIEW_TARGET else "MISSES"
        print(f"  {name:<12} {ms(at_large)} at {large['rows']:,}  /  {ms(at_small)} at {small['rows']:,}"
              f"  = x{at_large / at_small:5.2f}   ({verdict} the {VIEW_TARGET:g} s target)")
    extra = statistics.median(large["wait"]) - empty_wait
    verdict = "meets" if extra < WAIT_TARGET else "MISSES"
    print(f"  a call plus wait_for: {ms(statistics.median(large['wait']))} at {large['rows']:,}, "
          f"{ms(empty_wait)} empty: +{extra * 1000:.1f} ms, "
          f"x{statistics.median(large['wait']) / empty_wait:.2f}   ({verdict} the +{WAIT_TARGET:g} s target)")
    print(f"  one-off, at wh.start(): {ms(large['start'])} at {large['rows']:,} "
          f"against {ms(empty['start'])} empty")


if __name__ == "__main__":
    sys.exit(main())
