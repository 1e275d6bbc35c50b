"""Fuzz the sandbox's REST and control routes for many cases: how many ran, and every 5xx.

    .venv/bin/python benchmarks/fuzz_sandbox.py [--cases 10000] [--https-cases 500] [--seed N]

The strategies are tests/sandbox_requests.py's (methods, paths, query strings, headers,
credentials with odd JWT claims, bodies of each route's shape and of none): the suite runs
a few hundred of them, this runs `--cases` against the sandbox's Flask app in-process and
`--https-cases` more over real HTTPS (its server and TLS too). One sandbox on a virtual
clock, with a call up, a call ended and a recording, serves them all, as in the test.

It prints the cases run, the answers by status, and each distinct failure: a 5xx (the
target is none) or an error outside the sandbox's one error shape, with a request that
makes it. The exit status is 1 if there was any.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="in-process cases (default 10000)")
    parser.add_argument("--https-cases", type=int, default=500, help="cases over HTTPS (default 500)")
    parser.add_argument("--seed", type=int, help="a seed for reproducible cases (default: random)")
    args = parser.parse_args()

    os.environ.setdefault("VOICE_WORKSHOP_CLOCK", "virtual")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["VOICE_WORKSHOP_HOME"] = str(Path(folder) / "home")  # never the real one
        return fuzz(Path(folder), args)


def fuzz(folder: Path, args) -> int:
    """Run the cases against one sandbox, in-process then over HTTPS, and report them."""
    import requests
    from conftest import Receiver, running_sandbox
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from sandbox_requests import Target, fuzz_requests, problem

    statuses: collections.Counter = collections.Counter()
    failures: dict[tuple, tuple[int, str]] = {}  # (transport, method, route, problem) -> (count, request)
    counts = {"in-process": 0, "https": 0}

    def record(transport: str, request, send) -> None:
        try:
            answer = send(request)
        except Exception as error:  # no answer at all: a dropped connection, a time-out
            answer, found = None, f"no answer: {type(error).__name__}: {error}"
        else:
            if answer is None:  # the client would not send it (requests refuses some headers)
                statuses["not sent"] += 1
                return
            found = problem(request, *answer)
        counts[transport] += 1
        statuses[f"{answer[0] // 100}xx" if answer else "no answer"] += 1
        if found:
            route = "/".join("*" if len(part) > 40 else part for part in request.path.split("/"))
            key = (transport, request.method, route, found.split(":")[0], found[:80])
            count, example = failures.get(key, (0, request.describe()))
            failures[key] = (count + 1, example)

    def run(transport: str, cases: int, send) -> None:
        if cases <= 0:
            return
        test = given(request=fuzz_requests())(lambda request: record(transport, request, send))
        test = settings(max_examples=cases, deadline=None, database=None, phases=[Phase.generate],
                        suppress_health_check=list(HealthCheck))(test)
        if args.seed is not None:
            test = seed(args.seed)(test)
        test()

    receiver = Receiver()
    started = time.monotonic()
    try:
        with running_sandbox(folder / "sandbox", seed=11) as sandbox:
            target = Target(sandbox, receiver)
            run("in-process", args.cases, target.send)
            with requests.Session() as session:
                session.trust_env = False
                session.verify = str(sandbox.tls.ca_path)
                run("https", args.https_cases, lambda request: target.send_https(request, session))
    finally:
        receiver.server.stop()
    return report(statuses, failures, counts, time.monotonic() - started)


def report(statuses: collections.Counter, failures: dict[tuple, tuple[int, str]], counts: dict[str, int],
           seconds: float) -> int:
    """Print the cases run, the answers by status and each distinct failure; 1 if there was any."""
    fives = sum(count for (_, _, _, kind, _), (count, _) in failures.items() if kind[:1] == "5")
    lost = sum(count for (_, _, _, kind, _), (count, _) in failures.items() if kind == "no answer")
    print(f"cases run: {counts['in-process']} in-process + {counts['https']} over HTTPS "
          f"in {seconds:.0f} s")
    print("answers: " + ", ".join(f"{kind} {count}" for kind, count in sorted(statuses.items())))
    print(f"5xx seen: {fives} (target 0)")
    print(f"requests with no answer: {lost} (target 0)")
    shape = sum(count for (_, _, _, kind, _), (count, _) in failures.items() if kind[:1] not in ("5", "n"))
    print(f"errors outside the error shape: {shape} (target 0)")
    for (transport, method, route, _, found), (count, example) in sorted(failures.items()):
        print(f"\n{count} x {transport} {method} {route}: {found}\n  e.g. {example[:600]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
