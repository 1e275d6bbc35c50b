"""What one machine holds when a whole room makes its first call at once: a benchmark.

    .venv/bin/python benchmarks/room.py [--sizes 1,5,10,20,30]

Prints figures, not pass/fail. For each room size K (default 1, 5, 10, 20, 30), it plays
the moment a facilitator says "run the cell" in notebook 02:

- it starts K real IPython kernels with jupyter_client, as JupyterLab does for K attendees
  on one hub node: this venv's Python, each kernel with a folder of its own (its cwd, its
  `VOICE_WORKSHOP_HOME`, its `IPYTHONDIR`), `JPY_SESSION_NAME` set to its notebook, and the
  real clock (`VOICE_WORKSHOP_CLOCK` is removed: attendees run on real time);
- it imports `workshop_helpers` and `vonage_voice` in every kernel (not timed: an
  attendee's kernel is up before the cell is run);
- it releases all K at once (a `threading.Barrier` across K client threads, one per
  kernel) into notebook 02's first cells (tests/notebook_cells.py reads them): `wh.start()`, then one call
  to the magic number, waited for with `ws.wait_for` (which returns when the call's
  `completed` webhook is stored);
- it records, per kernel, the seconds from the release to the cell's reply, the RSS of
  the kernel and its children after the calls, and the kernel's user+sys CPU seconds
  over the burst (psutil); then it shuts every kernel down.

The call itself lasts a few seconds of real time by design (1 s of ringing, then the
talk), so every latency includes it; "queueing" is p95 minus the K=1 median. The end
prints how many attendees a few node sizes hold, by memory and by CPU/latency (a linear
scaling estimate from this machine's cores). Ctrl-C (or SIGTERM) stops the kernels.
Every wait is bounded. At the default sizes a run takes about 4 minutes on 2 cores, mostly
starting kernels (a few at a time; that part is not timed).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil  # (ipykernel depends on it, so every kernel's venv has it)
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]
from notebook_cells import first_call  # noqa: E402 (the tests' helper, on the path just set)

NOTEBOOK = "02_make_a_call.ipynb"
WARM_UP = "import workshop_helpers as wh\nfrom vonage_voice import CreateCallRequest, Phone, Talk, ToPhone\n"


FIRST_CALL = first_call(NOTEBOOK)  # read from the notebook: exactly what attendees run
# Not timed: the call's own length, from its events' platform stamps.
CALL_LENGTH = """\
_room_stamps = events.set_index("status")["timestamp"]
print((_room_stamps["completed"] - _room_stamps["started"]).total_seconds())
"""
BOOT_TIMEOUT = 180.0  # per kernel: start, ready, imports (untimed, but bounded)
CALL_TIMEOUT = 180.0  # a first call with no reply by then counts as failed
P95_LIMIT = 5.0  # seconds: the latency a room still calls "it just worked"
NODES = [(2, 8), (4, 16), (8, 32), (16, 64)]  # (CPUs, GB)
SYSTEM_GB = 1.0  # what a node keeps for its system and the hub itself
HEADROOM = 1.25
GB = 2 ** 30


# ----------------------------------------------------------------------------------------
# Process and machine figures
# ----------------------------------------------------------------------------------------
def children(pid: int) -> list[int]:
    """Every descendant of `pid` (none if it has ended)."""
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def rss_bytes(pid: int) -> int:
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:  # it ended while we looked
        return 0


def tree_rss(pid: int) -> int:
    """RSS of a kernel and its children: the sandbox runs in the kernel's threads, but a
    child (espeak-ng, ffmpeg) would count against the attendee's memory too."""
    return sum(rss_bytes(p) for p in [pid, *children(pid)])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used so far."""
    try:
        times = psutil.Process(pid).cpu_times()
        return times.user + times.system
    except psutil.Error:
        return float("nan")


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used so far (all but idle time)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def machine() -> dict:
    """This machine's usable cores, memory, memory free now, and load."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = psutil.virtual_memory()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {"cores": cores, "memory": memory.total, "available": memory.available, "load": load}


def kill_tree(pid: int | None) -> None:
    """SIGKILL a kernel we started and its children (Ctrl-C: no time to ask nicely)."""
    if pid is None:
        return
    for each in [*children(pid), pid]:
        try:
            os.kill(each, signal.SIGKILL)
        except OSError:
            pass


# ----------------------------------------------------------------------------------------
# One attendee: a kernel and the thread that drives it
# ----------------------------------------------------------------------------------------
def kernel_env(folder: Path) -> dict:
    """A hub user's kernel environment: their own state folder and notebook, the real
    clock, and no proxy settings (every request stays on 127.0.0.1)."""
    env = {k: v for k, v in os.environ.items()
           if "proxy" not in k.lower() and k not in ("VOICE_WORKSHOP_CLOCK", "JPY_SESSION_NAME")}
    env.update(
        VOICE_WORKSHOP_HOME=str(folder / ".voice-workshop"),
        JPY_SESSION_NAME=str(folder / NOTEBOOK),
        # Each hub user has their own IPython history database; K kernels sharing one
        # would contend for its lock, which no real room does.
        IPYTHONDIR=str(folder / ".ipython"),
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
    )
    return env


class Attendee(threading.Thread):
    """One attendee's kernel. Only this thread touches its manager and client: a
    jupyter_client blocking client runs on an event loop of the thread that uses it."""

    def __init__(self, index: int, folder: Path, room: "Room"):
        super().__init__(name=f"attendee-{index}", daemon=True)  # daemon: Ctrl-C never waits on us
        self.index, self.folder, self.room = index, folder, room
        self.manager = self.client = self.pid = self.log = None
        self.seconds = self.length = self.error = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            with self.room.boot_slots:
                self.boot()
            self.room.barrier.wait()
            self.seconds = self.first_call()
            self.length = float(self.execute(CALL_LENGTH, 30))
        except threading.BrokenBarrierError:
            self.error = self.error or "not released: another kernel failed to start"
        except Exception as error:  # noqa: BLE001 (a figure, not a crash)
            self.error = f"{type(error).__name__}: {str(error).strip()[-300:]}"
            self.room.barrier.abort()  # before the release, the room cannot start; after it, a no-op
        finally:
            self.done.set()
            self.room.finish.wait()  # the main thread measures RSS while the kernel is still up
            self.shut_down()

    def boot(self) -> None:
        self.folder.mkdir(parents=True)
        self.manager = KernelManager(kernel_name="python3", connection_file=str(self.folder / "kernel.json"))
        self.manager.kernel_spec.argv[0] = sys.executable  # this venv's Python, as `make lab` runs
        # Its own output goes to a file (a hub keeps it in the server's log, not in our table).
        self.log = open(self.folder / "kernel.log", "wb")
        self.manager.start_kernel(env=kernel_env(self.folder), cwd=str(self.folder),
                                  stdout=self.log, stderr=self.log)
        self.pid = self.manager.provisioner.pid
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=BOOT_TIMEOUT)
        self.execute(WARM_UP, BOOT_TIMEOUT)

    def first_call(self) -> float:
        """Run the cell; the seconds from the room's release to the kernel's reply."""
        self.execute(FIRST_CALL, CALL_TIMEOUT)
        return time.perf_counter() - self.room.released

    def execute(self, code: str, timeout: float) -> str:
        """Run code in the kernel; return what it printed, or raise with its error."""
        printed, errors = [], []

        def keep(message):  # instead of printing every kernel's output here
            content = message["content"]
            if message["msg_type"] == "stream":
                printed.append(content["text"])
            elif message["msg_type"] == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")

        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=keep, allow_stdin=False)
        if reply["content"]["status"] != "ok":
            raise RuntimeError("; ".join(errors) or reply["content"].get("evalue", "error"))
        return "".join(printed)

    def shut_down(self) -> None:
        try:
            if self.client is not None:
                self.client.stop_channels()
            if self.manager is not None and self.manager.has_kernel:
                self.manager.shutdown_kernel(now=True)  # the figures are taken; its state is thrown away
        except Exception:  # noqa: BLE001 (the main thread kills what is left)
            kill_tree(self.pid)
        finally:
            if self.log is not None:
                self.log.close()


# ----------------------------------------------------------------------------------------
# One room: K attendees, released together
# ----------------------------------------------------------------------------------------
class Room:
    def __init__(self, k: int, folder: Path, cores: int):
        self.barrier = threading.Barrier(k, action=self.release)
        self.finish = threading.Event()
        # Boots are not timed: a few at a time keeps their timeouts honest on a small machine.
        self.boot_slots = threading.Semaphore(max(2, cores))
        self.attendees = [Attendee(i, folder / f"user-{i:02d}", self) for i in range(k)]
        self.released = None
        self.cpu_before: dict[int, float] = {}
        self.busy_before = float("nan")

    def release(self) -> None:
        """The barrier's action: run once, by the last thread to arrive, just before all go."""
        self.cpu_before = {a.index: cpu_seconds(a.pid) for a in self.attendees}
        self.busy_before = machine_busy_seconds()
        self.released = time.perf_counter()

    def all_done(self) -> bool:
        return all(a.done.is_set() for a in self.attendees)


def wait_until(condition, limit: float | None = None) -> bool:
    """Poll in short sleeps, so that Ctrl-C is felt at once."""
    deadline = None if limit is None else time.monotonic() + limit
    while not condition():
        if deadline is not None and time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def run_room(k: int, folder: Path, cores: int) -> dict:
    """Start K kernels, release them into the first call, measure, shut them down."""
    room = Room(k, folder, cores)
    began = time.perf_counter()
    try:
        for attendee in room.attendees:
            attendee.start()
        wait_until(room.all_done)  # every step in the threads has its own timeout
        measured = time.perf_counter()
        figures = {
            "cpu": [cpu_seconds(a.pid) - room.cpu_before.get(a.index, float("nan")) for a in room.attendees],
            "rss": [tree_rss(a.pid) for a in room.attendees if a.pid],
            "busy": machine_busy_seconds() - room.busy_before,
        }
        room.finish.set()
        stopping = time.perf_counter()
        stopped = wait_until(lambda: not any(a.is_alive() for a in room.attendees), limit=60)
    finally:  # Ctrl-C, or a shut-down that hung: kill what we started. (A kernel still being
        # launched has no pid yet; it exits by itself once we do, as it polls its parent.)
        room.finish.set()
        for attendee in room.attendees:
            if attendee.is_alive():
                kill_tree(attendee.pid)
    released = room.released or measured
    return {
        "k": k, **figures,
        "seconds": [a.seconds for a in room.attendees if a.seconds is not None],
        "lengths": [a.length for a in room.attendees if a.length is not None],
        "errors": [(a.index, a.error) for a in room.attendees if a.error],
        "setup": released - began, "window": measured - released,
        "shutdown": time.perf_counter() - stopping, "total": time.perf_counter() - began, "stopped": stopped,
        "was_released": room.released is not None,
    }


# ----------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------
def pct(values: list[float], p: int) -> float:
    """The p-th percentile, interpolated between the two nearest values."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def mean(values: list[float]) -> float:
    values = [v for v in values if v == v]
    return sum(values) / len(values) if values else float("nan")


def passed(result: dict) -> bool:
    """Every attendee's call completed, and the room's p95 is under the limit."""
    return not result["errors"] and pct(result["seconds"], 95) < P95_LIMIT


def print_progress(r: dict, cores: int) -> None:
    busy = r["busy"] / (cores * r["window"]) * 100 if r["window"] > 0 else float("nan")
    print(f"  K={r['k']}: up and imported in {r['setup']:.1f} s; "
          f"last reply {max(r['seconds'], default=math.nan):.1f} s after the "
          f"release (machine {busy:.0f}% busy); shut down in {r['shutdown']:.1f} s"
          + ("" if r["stopped"] else " (some killed)") + f"; {r['total']:.1f} s in all; {len(r['errors'])} failed",
          flush=True)
    for index, error in r["errors"][:3]:
        print(f"    attendee {index}: {error}")


def print_rooms(results: list[dict], cores: int) -> None:
    """The per-K table; the baseline for queueing and ratios is K=1 (else the smallest K)."""
    first = min(results, key=lambda r: r["k"])
    base, base_cpu = pct(first["seconds"], 50), mean(first["cpu"])
    print(f"\n== the first call, K attendees at once: seconds from the release to each kernel's reply"
          f"\n   (queueing = p95 - the K={first['k']} p50 of {base:.2f} s; ratios are to K={first['k']})")
    print(f"  {'K':>3} {'ok':>5} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'queue s':>8} {'p95/base':>9} "
          f"{'call s':>7} {'RSS MB max':>11} {'CPU s/att':>10} {'CPU ratio':>10} {'busy':>5}")
    for r in results:
        ok, p95 = f"{len(r['seconds'])}/{r['k']}", pct(r["seconds"], 95)
        busy = r["busy"] / (cores * r["window"]) * 100 if r["window"] > 0 else float("nan")
        rss = max(r["rss"], default=0) / 2 ** 20
        print(f"  {r['k']:>3} {ok:>5} {pct(r['seconds'], 50):>7.2f} {p95:>7.2f} "
              f"{max(r['seconds'], default=math.nan):>7.2f} "
              f"{p95 - base:>8.2f} {p95 / base:>9.2f} {pct(r['lengths'], 50):>7.2f} {rss:>11.0f} "
              f"{mean(r['cpu']):>10.2f} {mean(r['cpu']) / base_cpu:>10.2f} {busy:>4.0f}%")


def node_fit(gb: int, cpus: int, rss: int, best_k: int, cores: int) -> tuple[int, int]:
    by_memory = math.floor((gb - SYSTEM_GB) * GB / (rss * HEADROOM)) if rss else 0
    return by_memory, math.floor(best_k * cpus / cores)


def print_nodes(results: list[dict], cores: int) -> None:
    rss = max((max(r["rss"], default=0) for r in results), default=0)
    good = [r["k"] for r in results if passed(r)]
    best_k = max(good, default=0)
    lower_bound = best_k == max(r["k"] for r in results)  # no size measured was too many
    mark = ">=" if lower_bound else ""
    print(f"\n== what a node holds\n  by memory: (node GB - {SYSTEM_GB:g} GB for the system) / "
          f"(largest kernel RSS measured, {rss / 2 ** 20:.0f} MB, x {HEADROOM:g} headroom); GB = 2^30 bytes")
    print(f"  by CPU/latency: the largest K measured with every call done and p95 under {P95_LIMIT:g} s "
          f"(K={best_k}) x node CPUs / this machine's {cores} cores:\n  a linear scaling estimate, not a "
          "measurement" + (" (every size measured passed: a lower bound)" if lower_bound else ""))
    print(f"  {'node':<16}{'by memory':>10}{'by CPU/latency':>16}{'attendees':>11}")
    for cpus, gb in NODES:
        by_memory, by_cpu = node_fit(gb, cpus, rss, best_k, cores)
        fits = f"{mark if by_cpu < by_memory else ''}{min(by_memory, by_cpu)}"
        print(f"  {f'{cpus} CPU / {gb} GB':<16}{by_memory:>10}{mark + str(by_cpu):>16}{fits:>11}")


NOTES = """
How to read these figures
  p50 / p95 / max  seconds from the release (all K threads leave the barrier together) to each
                   kernel's execute reply: `wh.start()` (sandbox, webhook server, keys), the call,
                   and `ws.wait_for` until the `completed` webhook is stored. The call itself rings
                   for 1 s then speaks the talk, in real time: "call s" (its started -> completed
                   platform stamps, median) is that part; p95 always includes it.
  queueing         p95 minus the smallest room's p50: what waiting for a shared CPU adds.
  RSS MB max       the largest kernel (with its children) after the call; RSS counts shared library
                   pages in every kernel, so memory per attendee is a little overstated.
  CPU s/att        mean user+sys CPU seconds of a kernel process from the release until every reply.
  busy             CPU used by the whole machine over the burst, as a share of all its cores: other
                   work on the machine shows here too.
"""


# ----------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------
def room_sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes are positive whole numbers, e.g. 1,5,10")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=room_sizes, default=[1, 5, 10, 20, 30],
                        help="room sizes K, comma-separated (default 1,5,10,20,30)")
    args = parser.parse_args(argv)

    def interrupted(*_):  # SIGTERM, like Ctrl-C, unwinds through run_room's `finally`
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    here = machine()
    print(f"this machine: {here['cores']} cores, {here['memory'] / GB:.1f} GB memory "
          f"({here['available'] / GB:.1f} GB available now), load average {here['load']}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="room-bench-"))
    results, status = [], 0
    try:
        for k in args.sizes:
            results.append(run_room(k, tmp / f"room-{k}", here["cores"]))
            print_progress(results[-1], here["cores"])
            shutil.rmtree(tmp / f"room-{k}", ignore_errors=True)
    except KeyboardInterrupt:
        print("\ninterrupted: every kernel stopped; the figures so far:")
        status = 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results = [r for r in results if r["was_released"] and r["seconds"]]
    if results:
        print_rooms(results, here["cores"])
        print_nodes(results, here["cores"])
        print(NOTES)
    return status


if __name__ == "__main__":
    sys.exit(main())
