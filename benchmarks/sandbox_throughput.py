"""How many calls the sandbox can create, hold up at once, and report on: a benchmark.

    .venv/bin/python benchmarks/sandbox_throughput.py [--calls N] [--rate R] [--speed S]

This prints figures, not pass/fail. Three processes take part, so each has its own GIL:

- the sandbox, started as `python -m workshop_helpers.sandbox --port 0 --speed S` with a
  throw-away state folder (a fresh one for each phase, so the phases do not disturb each
  other), stopped with SIGTERM when its phase is over;
- a webhook receiver (this file run with `--receiver`): a stdlib threaded HTTP/1.1 server
  that answers 200 at once and records, for each request, its arrival time and body;
- this process: worker threads, each with its own `requests.Session` (keep-alive if the
  server allows it) and its own application JWT, posting `POST /v1/calls` to the magic
  number 447700900000 (answers after 1 virtual second) with an inline NCCO of a talk and a
  long wait, so that calls stay up and many are up at once.

Two phases run one after the other, each followed by a drain (until every created leg's
`completed` event has arrived, or a timeout): a *paced* phase (`--calls` calls at
`--rate` calls/s) and an *unpaced* phase (`--burst-calls` calls as fast as the threads
go). Everything stays on 127.0.0.1 and every loop is bounded; by default the whole run
takes about 40 s when the sandbox keeps up, and at most about 90 s when it does not.

About time: the sandbox's event `timestamp`s are virtual (its clock runs `--speed` times
faster from an origin near its start), so they cannot be compared with wall-clock arrival
times as they are. The benchmark maps them back to wall-clock time by calibration: a
leg's `started` event is stamped after the client sent its create request, and any event
is stamped before it arrives; together these bound the unknown clock origin from both
sides. The width of that window is printed; delivery lags are computed with its
conservative edge (they may be overstated by at most the window width, never understated).
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAGIC_NUMBER = "447700900000"  # answers after 1 virtual second and listens
FROM_NUMBER = "447700900100"
EXPECTED = ["started", "ringing", "answered", "completed"]
ANSWER_AFTER = 1.0  # virtual seconds the magic number rings before answering
TALK_TEXT = "Hello benchmark"
TALK_SECONDS = 1.0  # media.speech_seconds: 0.4 s a word, at least 1 s
TARGET_RATE = 100.0
TARGET_CONCURRENT = 200


# ----------------------------------------------------------------------------------------
# The webhook receiver (runs in its own process: `sandbox_throughput.py --receiver`)
# ----------------------------------------------------------------------------------------
def run_receiver() -> int:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    records: list = []  # (arrival time.time(), raw body); list.append is atomic
    completed = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as any production web server would

        def do_POST(self):
            arrived = time.time()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            records.append((arrived, body))
            if b'"completed"' in body:
                with lock:
                    completed[0] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            if self.path.startswith("/dump"):
                data = [(t, b.decode("utf-8", "replace")) for t, b in list(records)]
                payload = json.dumps(data).encode()
            elif self.path.startswith("/stats"):
                payload = json.dumps({"requests": len(records), "completed": completed[0]}).encode()
            else:  # a GET webhook (the benchmark asks for none): record its query
                records.append((time.time(), json.dumps({"query": self.path}).encode()))
                payload = b""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):  # quiet
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024  # the sandbox may open up to 200 connections at once

    server = Server(("127.0.0.1", 0), Handler)
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server.serve_forever()
    return 0


# ----------------------------------------------------------------------------------------
# Child processes and machine figures
# ----------------------------------------------------------------------------------------
def local_env() -> dict:
    """The environment for the child processes, with no proxy settings: all traffic is local."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def first_line(path: Path, process: subprocess.Popen, timeout: float) -> dict:
    """Wait for a child's first stdout line (a JSON object), which it writes to `path`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if "\n" in text:
            return json.loads(text.split("\n", 1)[0])
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"{process.args!r} did not print its JSON line (exit code {process.poll()})")


def start_child(args: list[str], out: Path, err: Path, env: dict) -> subprocess.Popen:
    with open(out, "w") as stdout, open(err, "w") as stderr:
        return subprocess.Popen(args, stdout=stdout, stderr=stderr, env=env, cwd=ROOT)


def stop_child(process: subprocess.Popen, grace: float = 5.0) -> str:
    """SIGTERM, then SIGKILL after `grace` seconds; say which it took."""
    if process.poll() is not None:
        return "had already exited"
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
        return "stopped on SIGTERM"
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
        return f"did not stop within {grace:g} s of SIGTERM; killed"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a process (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used so far (from /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait
    except (OSError, ValueError, IndexError):
        return float("nan")


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


# ----------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def ms(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds * 1000:.1f} ms"


def dist(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (f"p50 {ms(pct(values, 50)):>10}  p99 {ms(pct(values, 99)):>10}  "
            f"max {ms(max(values)):>10}  (n={len(values)})")


def epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def peak_overlap(starts: list[float], ends: list[float]) -> tuple[int, float | None]:
    """The most intervals open at one moment (an end counts before a start at the same time)."""
    marks = sorted([(t, 1) for t in starts] + [(t, -1) for t in ends])
    up = peak = 0
    peak_at = None
    for t, change in marks:
        up += change
        if up > peak:
            peak, peak_at = up, t
    return peak, peak_at


# ----------------------------------------------------------------------------------------
# The client side
# ----------------------------------------------------------------------------------------
class Client:
    def __init__(self, info: dict, event_url: str, wait_seconds: float):
        self.info = info
        self.url = info["base_url"] + "/v1/calls"
        self.private_key = Path(info["private_key_path"]).read_text()
        self.body = {
            "to": [{"type": "phone", "number": MAGIC_NUMBER}],
            "from": {"type": "phone", "number": FROM_NUMBER},
            "ncco": [{"action": "talk", "text": TALK_TEXT}, {"action": "wait", "timeout": wait_seconds}],
            "event_url": [event_url],
        }

    def session(self):
        import jwt
        import requests

        session = requests.Session()
        session.trust_env = False  # no proxies, no REQUESTS_CA_BUNDLE: just our CA
        session.verify = self.info["ca_cert_path"]
        now = int(time.time())
        token = jwt.encode(
            {"application_id": self.info["application_id"], "iat": now, "jti": str(uuidlib.uuid4()),
             "exp": now + 900},
            self.private_key, algorithm="RS256",
        )
        session.headers["Authorization"] = f"Bearer {token}"
        return session

    def run_phase(self, count: int, rate: float | None, threads: int, time_limit: float) -> dict:
        """Create `count` calls from `threads` threads, at `rate` calls/s (None: flat out).

        No request starts more than `time_limit` seconds after the phase began; calls not
        sent by then are counted as not sent.
        """
        results: list = [None] * count  # (sent, done, status code or error, uuid, scheduled)
        next_index = iter(range(count))
        index_lock = threading.Lock()
        closed: list[int] = []  # responses after which the server closed the connection
        sessions = [self.session() for _ in range(threads)]
        for session in sessions:  # warm up: connections, imports, the JWT check
            session.get(self.info["base_url"] + "/sandbox", timeout=10)
        start = threading.Barrier(threads + 1)
        t0_box: list[float] = []

        def worker(session):
            start.wait()
            t0 = t0_box[0]
            while time.time() < t0 + time_limit:
                with index_lock:
                    i = next(next_index, None)
                if i is None:
                    return
                scheduled = t0 + i / rate if rate else t0
                delay = scheduled - time.time()
                if delay > 0:
                    time.sleep(delay)
                sent = time.time()
                try:
                    response = session.post(self.url, json=self.body, timeout=15)
                    done = time.time()
                    leg = response.json().get("uuid") if response.status_code == 201 else None
                    results[i] = (sent, done, response.status_code, leg, scheduled)
                    if response.headers.get("Connection", "").lower() == "close":
                        closed.append(i)
                except Exception as error:  # noqa: BLE001 (a figure, not a crash)
                    results[i] = (sent, time.time(), type(error).__name__, None, scheduled)

        workers = [threading.Thread(target=worker, args=(s,), daemon=True) for s in sessions]
        for w in workers:
            w.start()
        t0_box.append(time.time() + 0.05)
        start.wait()
        deadline = time.monotonic() + time_limit + 20  # the last requests' 15 s timeout
        for w in workers:
            while w.is_alive() and time.monotonic() < deadline:
                w.join(timeout=0.2)  # short waits, so Ctrl-C works
        for session in sessions:
            session.close()
        done = [r for r in results if r is not None]
        return {"t0": t0_box[0], "results": done, "not_sent": count - len(done), "closed": len(closed)}

    def webhook_log(self) -> list[dict] | str:
        """The sandbox's own record of its webhook deliveries (GET /sandbox/webhooks)."""
        session = self.session()
        try:
            response = session.get(self.info["base_url"] + "/sandbox/webhooks", timeout=10)
            if response.status_code != 200:
                return f"HTTP {response.status_code}"
            return response.json()["webhooks"]
        except Exception as error:  # noqa: BLE001
            return type(error).__name__
        finally:
            session.close()


# ----------------------------------------------------------------------------------------
# One phase: a fresh sandbox, the calls, the drain, the figures
# ----------------------------------------------------------------------------------------
def run_phase(name: str, count: int, rate: float | None, args, env: dict, tmp: Path,
              receiver: subprocess.Popen, receiver_url: str, control) -> dict:
    folder = tmp / name
    folder.mkdir()
    sandbox = start_child(
        [sys.executable, "-m", "workshop_helpers.sandbox", "--host", "127.0.0.1", "--port", "0",
         "--speed", str(args.speed), "--state-dir", str(folder / "state")],
        folder / "sandbox.out", folder / "sandbox.err", env,
    )
    try:
        info = first_line(folder / "sandbox.out", sandbox, 60)
        client = Client(info, receiver_url + f"/{name}/event", args.wait)
        per_call = (ANSWER_AFTER + TALK_SECONDS + args.wait) / args.speed
        completed_before = control.get(receiver_url + "/stats", timeout=10).json()["completed"]
        pids = {"sandbox": sandbox.pid, "receiver": receiver.pid, "client": os.getpid()}
        cpu_before = {k: cpu_seconds(p) for k, p in pids.items()}
        busy_before = machine_busy_seconds()
        began = time.time()
        limit = max(args.time_limit, 2 * count / rate) if rate else args.time_limit / 2
        phase = client.run_phase(count, rate, args.threads, limit)
        created = sum(1 for r in phase["results"] if r[2] == 201)
        phase["drain"] = drain(control, receiver_url, completed_before, created, args.drain_timeout + per_call)
        time.sleep(0.3)  # stragglers: events for legs that are not ours to count
        duration = time.time() - began
        cpu = {k: cpu_seconds(p) - cpu_before[k] for k, p in pids.items()}
        cpu["other processes"] = max(0.0, machine_busy_seconds() - busy_before - sum(cpu.values()))
        phase["webhook_log"] = client.webhook_log()
    finally:
        phase_stop = stop_child(sandbox)
    errors = (folder / "sandbox.err").read_text().strip().splitlines()
    return {
        "name": name, "count": count, "rate": rate, "phase": phase, "cpu": cpu, "duration": duration,
        "info": info, "pid": sandbox.pid, "stop": phase_stop, "stderr": errors,
    }


def drain(control, receiver_url: str, completed_before: int, created: int, timeout: float) -> tuple[float, bool]:
    """Wait until every created leg's `completed` has arrived, or `timeout` seconds:
    (how long it took, whether they all arrived)."""
    began = time.time()
    deadline = time.monotonic() + timeout
    while True:
        arrived = control.get(receiver_url + "/stats", timeout=10).json()["completed"] - completed_before
        if arrived >= created or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return time.time() - began, arrived >= created


def analyse(run: dict, events_by_leg: dict, speed: float, wait_seconds: float) -> dict:
    """The figures of one phase, from its create requests and the webhooks its legs sent."""
    phase = run["phase"]
    results = phase["results"] or [(phase["t0"], phase["t0"], "none sent", None, phase["t0"])]
    ok = [r for r in results if r[2] == 201 and r[3]]
    first_sent = min(r[0] for r in results)
    last_done = max(r[1] for r in results)
    legs = {r[3]: r for r in ok}
    lower, upper = calibrate(legs, events_by_leg, speed)
    offset = lower if lower <= upper else float("nan")
    expected_up = (TALK_SECONDS + wait_seconds) / speed
    seen = follow_legs(legs, events_by_leg, offset, speed, expected_up)

    # Peak concurrency: legs whose `answered` has arrived and whose `completed` has not;
    # and the platform's own view, by the events' stamps (what the engine had up at once).
    peak, peak_at = peak_overlap(seen.answered_at, seen.completed_at)
    platform_peak, _ = peak_overlap(seen.stamped_answered, seen.stamped_completed)
    times = sorted(seen.times)
    span = (times[-1] - times[0]) if len(times) > 1 else 0.0
    busiest = max((bisect.bisect_right(times, t + 1.0) - i for i, t in enumerate(times)), default=0)
    return {
        "name": run["name"], "requested": len(phase["results"]) + phase["not_sent"], "sent": len(phase["results"]),
        "created": len(ok), "failed": len(phase["results"]) - len(ok),
        "errors": Counter(str(r[2]) for r in phase["results"] if r[2] != 201).most_common(4),
        "achieved": len(ok) / (last_done - first_sent) if ok else 0.0, "target_rate": run["rate"],
        "latencies": [done - sent for sent, done, *_ in ok],
        "max_slip": max((r[0] - r[4] for r in phase["results"]), default=0.0),
        "creation_span": last_done - first_sent, "not_sent": phase["not_sent"], "closed": phase["closed"],
        "drain": phase["drain"], "calibration": upper - lower,
        "dropped": seen.fates["dropped"], "missing": seen.fates["missing"],
        "lost": seen.fates["dropped"] + seen.fates["missing"], "misordered": seen.fates["misordered"],
        "peak": peak, "platform_peak": platform_peak,
        "peak_after": (peak_at - first_sent) if peak_at else float("nan"),
        "events": len(times), "events_rate": len(times) / span if span > 0 else 0.0, "events_busiest": busiest,
        "resp_to_started": seen.resp_to_started, "sent_to_started": seen.sent_to_started,
        "up_excess": seen.up_excess, "engine_late": seen.engine_late, "ring_excess": seen.ring_excess,
        "delivery": seen.delivery, "expected_up": expected_up, "cpu": run["cpu"], "duration": run["duration"],
        "log_summary": webhook_log_summary(phase["webhook_log"]), "stop": run["stop"], "stderr": run["stderr"],
        "pid": run["pid"],
    }


def calibrate(legs: dict, events_by_leg: dict, speed: float) -> tuple[float, float]:
    """Bounds on this sandbox's virtual clock: real time = offset + virtual / speed, and
    the offset lies between the two (a leg's `started` is stamped after its create request
    was sent; any event is stamped before it arrives)."""
    lower, upper = float("-inf"), float("inf")
    for leg, (sent, *_rest) in legs.items():
        for e in events_by_leg.get(leg, []):
            upper = min(upper, e["_arrived"] - e["_virtual"] / speed)
            if e["status"] == "started":
                lower = max(lower, sent - e["_virtual"] / speed)
    return lower, upper


@dataclass
class LegsSeen:
    """What the created legs' webhooks showed: how many legs came incomplete or out of
    order, and the times (real seconds) the figures are made of."""

    fates: Counter = field(default_factory=Counter)  # leg_fate -> how many legs
    answered_at: list = field(default_factory=list)
    completed_at: list = field(default_factory=list)
    stamped_answered: list = field(default_factory=list)
    stamped_completed: list = field(default_factory=list)
    resp_to_started: list = field(default_factory=list)
    sent_to_started: list = field(default_factory=list)
    up_excess: list = field(default_factory=list)
    ring_excess: list = field(default_factory=list)
    engine_late: list = field(default_factory=list)
    delivery: dict = field(default_factory=lambda: {s: [] for s in EXPECTED})
    times: list = field(default_factory=list)


def follow_legs(legs: dict, events_by_leg: dict, offset: float, speed: float, expected_up: float) -> LegsSeen:
    """Each created leg's webhooks, in the order they arrived: counted and timed."""
    seen = LegsSeen()
    for leg, (sent, done, *_rest) in legs.items():
        events = events_by_leg.get(leg, [])
        seen.fates[leg_fate([e["status"] for e in events])] += 1
        by_status = {e["status"]: e for e in events}
        for e in events:
            seen.times.append(e["_arrived"])
            if e["status"] in seen.delivery and offset == offset:
                seen.delivery[e["status"]].append(e["_arrived"] - (offset + e["_virtual"] / speed))
        if "started" in by_status:
            seen.resp_to_started.append(by_status["started"]["_arrived"] - done)
            seen.sent_to_started.append(by_status["started"]["_arrived"] - sent)
        if "answered" in by_status and "completed" in by_status:
            a, c = by_status["answered"], by_status["completed"]
            seen.answered_at.append(a["_arrived"])
            seen.completed_at.append(c["_arrived"])
            seen.stamped_answered.append(a["_virtual"])
            seen.stamped_completed.append(c["_virtual"])
            seen.up_excess.append(c["_arrived"] - a["_arrived"] - expected_up)
            seen.engine_late.append((c["_virtual"] - a["_virtual"]) / speed - expected_up)
        if "started" in by_status and "answered" in by_status:
            s, a = by_status["started"], by_status["answered"]
            seen.ring_excess.append((a["_virtual"] - s["_virtual"] - ANSWER_AFTER) / speed)
    return seen


def leg_fate(statuses: list[str]) -> str | None:
    """What went wrong with a leg whose statuses arrived in this order: "misordered",
    "dropped" (a later event came, an earlier one never will), "missing" (the tail is
    missing: late, still queued, or never sent), or None if nothing did."""
    if statuses == EXPECTED:
        return None
    absent = [s for s in EXPECTED if s not in statuses]
    if not absent:
        return "misordered"
    last = max((EXPECTED.index(t) for t in statuses if t in EXPECTED), default=-1)
    if any(EXPECTED.index(s) < last for s in absent):
        return "dropped"
    return "missing"


def webhook_log_summary(log: list[dict] | str) -> str:
    """The sandbox's record of its deliveries, as outcomes counted (or why it could not be read)."""
    if not isinstance(log, list):
        return f"could not be read ({log})"
    outcomes = Counter(
        d["error"] or (f"HTTP {d['status_code']}" if d["status_code"] else "no answer yet (in flight)")
        for d in log
    )
    return f"{len(log)} requests started: " + ", ".join(f"{k} x{v}" for k, v in outcomes.most_common())


def print_phase(r: dict, threads: int) -> None:
    """The figures of one phase: its create requests, then its webhooks, then its cost."""
    title = f"{r['name']} phase: {r['requested']} calls, {threads} client threads"
    title += f", target {r['target_rate']:g} calls/s" if r["target_rate"] else ", as fast as possible"
    print(f"\n== {title} (sandbox pid {r['pid']})")
    line = f"  created (201)                    {r['created']}    failed {r['failed']}"
    if r["errors"]:
        line += " (" + ", ".join(f"{k} x{v}" for k, v in r["errors"]) + ")"
    if r["not_sent"]:
        line += f"    NOT SENT (phase time limit) {r['not_sent']}"
    print(line)
    print(f"  creation rate achieved           {r['achieved']:8.1f} calls/s  "
          f"({r['created']} calls in {r['creation_span']:.2f} s, first request to last response)")
    if r["target_rate"]:
        print(f"  worst start behind the schedule  {ms(r['max_slip']):>10}")
    print(f"  create-call HTTP latency         {dist(r['latencies'])}")
    if r["closed"]:
        print(f"  connections closed by sandbox    {r['closed']} of {r['sent']} responses carried `Connection: close`:"
              " each create paid a new TCP + TLS handshake")
    else:
        print("  connections closed by sandbox    none (keep-alive worked)")
    print_webhooks(r)
    print_cost(r)


def print_webhooks(r: dict) -> None:
    """How many calls were up at once, and how the webhooks of a phase arrived."""
    print(f"  peak concurrent calls            {r['peak']:8d}  "
          f"(answered arrived, completed not yet; {r['peak_after']:.1f} s into the phase)")
    print(f"    the same by the event stamps   {r['platform_peak']:8d}  "
          "(calls the platform itself had up at once, whatever the webhook delays)")
    print(f"  webhooks received                {r['events']:8d}  "
          f"(avg {r['events_rate']:.0f}/s from first to last, busiest 1 s window {r['events_busiest']})")
    drain_time, drained = r["drain"]
    print(f"  drain after the last create      {drain_time:8.1f} s "
          + ("(every created leg's `completed` arrived)" if drained
             else "(TIMED OUT before every `completed` arrived)"))
    print(f"  legs LOST                        {r['lost']:8d}  "
          f"({r['dropped']} with an event dropped before a later one arrived, "
          f"{r['missing']} with the last events not arrived by the drain's end)")
    print(f"  legs MISORDERED                  {r['misordered']:8d}")
    print(f"  sandbox webhook log              {r['log_summary']}")
    print(f"  webhook timing (virtual-clock calibration window {ms(r['calibration'])}):")
    print(f"    create response -> `started` arrives    {dist(r['resp_to_started'])}")
    print(f"    create request sent -> `started` arrives {dist(r['sent_to_started'])}")
    for status, lags in r["delivery"].items():
        print(f"    delivery lag, {status + ' stamp -> arrival':<26} {dist(lags)}")
    print(f"    answered -> completed arrivals, minus the expected {r['expected_up'] * 1000:.0f} ms:")
    print(f"      {dist(r['up_excess'])}")
    print("    engine timer lateness: the same interval by the events' virtual stamps, minus the expected:")
    print(f"      {dist(r['engine_late'])}")
    print("    ringing lateness: started -> answered stamps minus the 1 virtual s of ringing (real time):")
    print(f"      {dist(r['ring_excess'])}")


def print_cost(r: dict) -> None:
    """What a phase cost each process in CPU, and how its sandbox stopped."""
    cpu, duration = r["cpu"], r["duration"]
    print(f"  CPU over the phase ({duration:.1f} s incl. drain; 100% = one core of {os.cpu_count()}):")
    print("    " + "   ".join(f"{k} {v:.1f} s ({v / duration * 100:.0f}%)" for k, v in cpu.items()))
    if r["created"]:
        print(f"    sandbox CPU per created call: {cpu['sandbox'] / r['created'] * 1000:.1f} ms")
    print(f"  sandbox {r['stop']}" + (f"; stderr had {len(r['stderr'])} lines, the last:" if r["stderr"] else ""))
    for text in r["stderr"][-5:]:
        print(f"    {text}")


# ----------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    if args.receiver:
        return run_receiver()

    def interrupted(*_):  # SIGTERM, like Ctrl-C, unwinds through the `finally` below
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    import requests

    env = local_env()
    tmp = Path(tempfile.mkdtemp(prefix="sandbox-bench-"))
    receiver = start_child([sys.executable, str(Path(__file__).resolve()), "--receiver"],
                           tmp / "receiver.out", tmp / "receiver.err", env)
    try:
        receiver_url = f"http://127.0.0.1:{first_line(tmp / 'receiver.out', receiver, 20)['port']}"
        control = requests.Session()
        control.trust_env = False
        per_call = (ANSWER_AFTER + TALK_SECONDS + args.wait) / args.speed
        print(f"{os.cpu_count()} CPUs, load average {load_average()}; receiver {receiver_url} (pid {receiver.pid}), "
              f"client pid {os.getpid()}, sandbox speed {args.speed:g}")
        print(f"each call: ring {ANSWER_AFTER:g} + talk {TALK_SECONDS:g} + wait {args.wait:g} virtual s "
              f"= {per_call:.2f} s real; at {args.rate:g} calls/s that is ~{args.rate * per_call:.0f} calls up at once")

        phases = [("paced", args.calls, args.rate)]
        if args.burst_calls:
            phases.append(("unpaced", args.burst_calls, None))
        runs = [run_phase(name, count, rate, args, env, tmp, receiver, receiver_url, control)
                for name, count, rate in phases]

        events_by_leg, other = received_events(control, receiver_url)
        reports = [analyse(run, events_by_leg, args.speed, args.wait) for run in runs]
        for report in reports:
            print_phase(report, args.threads)
        if other:
            print(f"\n{len(other)} webhook requests were not status events of a leg; the first: {other[0][:300]}")
        print_summary(reports, args.rate)
        return 0
    finally:
        stop_child(receiver)
        shutil.rmtree(tmp, ignore_errors=True)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line, checked (an error exits with the usage, as argparse does)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls in the paced phase (default 1000)")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="paced creation rate, calls/s (default 100)")
    parser.add_argument("--speed", type=float, default=10.0, help="sandbox clock speed (default 10)")
    parser.add_argument("--wait", type=float, default=30.0,
                        help="virtual seconds each call waits after its talk "
                             "(default 30: 3.2 s real a call at speed 10)")
    parser.add_argument("--threads", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--burst-calls", type=int, default=500,
                        help="calls in the unpaced phase (default 500; 0 skips it)")
    parser.add_argument("--drain-timeout", type=float, default=15.0,
                        help="seconds to wait, after a call's expected end, for completed events (default 15)")
    parser.add_argument("--time-limit", type=float, default=20.0,
                        help="no create request starts later than this many seconds into a phase "
                             "(default 20; the paced phase gets at least twice its planned duration, "
                             "the unpaced phase half of this)")
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.receiver:
        return args
    if min(args.calls, args.threads) < 1 or min(args.rate, args.speed, args.wait) <= 0 or args.burst_calls < 0:
        parser.error("--calls, --threads, --rate, --speed and --wait must be positive")
    return args


def received_events(control, receiver_url: str) -> tuple[dict[str, list], list[str]]:
    """What the receiver got: each leg's status events in the order they arrived (with
    `_arrived`, the wall-clock arrival, and `_virtual`, the stamp in seconds), and the
    bodies of the other requests."""
    events_by_leg: dict[str, list] = {}
    other: list[str] = []
    for arrived, body in control.get(receiver_url + "/dump", timeout=30).json():
        try:
            event = json.loads(body)
        except ValueError:
            event = {}
        if "status" not in event or "uuid" not in event or "timestamp" not in event:
            other.append(body)
            continue
        event["_arrived"] = arrived
        event["_virtual"] = epoch(event["timestamp"])
        events_by_leg.setdefault(event["uuid"], []).append(event)
    return events_by_leg, other


def print_summary(reports: list[dict], rate: float) -> None:
    paced = reports[0]
    unpaced = reports[1] if len(reports) > 1 else None
    best_peak = max(r["peak"] for r in reports)
    best_platform_peak = max(r["platform_peak"] for r in reports)
    rows = [
        ("paced creation rate", f"{paced['achieved']:.1f} calls/s", f">= {TARGET_RATE:g}",
         paced["achieved"] / TARGET_RATE),
        ("paced achieved / requested rate", f"{paced['achieved']:.1f} / {rate:g}", "1", paced["achieved"] / rate),
    ]
    if unpaced:
        rows.append(("unpaced (max) creation rate", f"{unpaced['achieved']:.1f} calls/s", f">= {TARGET_RATE:g}",
                     unpaced["achieved"] / TARGET_RATE))
    rows += [
        ("peak concurrent calls (webhooks)", str(best_peak), f">= {TARGET_CONCURRENT}", best_peak / TARGET_CONCURRENT),
        ("peak concurrent calls (stamps)", str(best_platform_peak), f">= {TARGET_CONCURRENT}",
         best_platform_peak / TARGET_CONCURRENT),
        ("create latency p50 / p99 (paced)",
         f"{ms(pct(paced['latencies'], 50))} / {ms(pct(paced['latencies'], 99))}", "", None),
        ("webhook delivery lag p50 / p99 (paced)",
         " / ".join(ms(pct(sum(paced["delivery"].values(), []), p)) for p in (50, 99)), "", None),
        ("legs LOST", str(sum(r["lost"] for r in reports)), "0", None),
        ("legs MISORDERED", str(sum(r["misordered"] for r in reports)), "0", None),
        ("failed or unsent create requests", str(sum(r["failed"] + r["not_sent"] for r in reports)), "0", None),
    ]
    print("\n== summary (each ratio is measured / target, both from this run)")
    print(f"  {'figure':<40}{'measured':>22}{'target':>9}{'ratio':>8}")
    for label, value, target, ratio in rows:
        print(f"  {label:<40}{value:>22}{target:>9}{'' if ratio is None else f'{ratio:.2f}':>8}")
    print(NOTES)


NOTES = """
How to read these figures
  creation rate     created calls / (last 201 response - first request) in the phase.
  delivery lag      arrival at the receiver minus the event's own `timestamp`, after mapping the
                    sandbox's virtual clock to wall time (calibrated per phase from the data; the lag
                    may be overstated by up to the calibration window, never understated).
  create response -> `started` arrives: negative when the platform sends `started` before its 201
                    reaches the client (normal when nothing is queued).
  answered -> completed arrivals minus expected: expected = (talk 1 s + wait) / speed. Far below zero
                    means `answered` itself arrived late and `completed` queued right behind it.
  engine timer lateness / ringing lateness: from the events' own stamps, so free of delivery delay:
                    how late the platform's timers fired (its event loop was busy); multiply by the
                    speed for the error in the virtual durations the events report.
  peak concurrent   (webhooks): legs whose `answered` had arrived and `completed` had not, by arrival
                    time; (stamps): the same by the platform's own stamps, i.e. what it had up at once.
  LOST / MISORDERED a created leg whose statuses, in arrival order, are not exactly started, ringing,
                    answered, completed: LOST if one is missing after the drain (split into dropped,
                    when a later one arrived, and not arrived, when the tail is missing), else MISORDERED.
  sandbox webhook log: GET /sandbox/webhooks after the drain: each request the platform started and its
                    outcome; `Read timed out.` / `Connect timed out.` there mean dropped status events.
"""


if __name__ == "__main__":
    sys.exit(main())
