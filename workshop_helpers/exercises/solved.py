"""Write the notebooks with every exercise solved: `make solved`.

    python -m workshop_helpers.exercises.solved notebooks build/solved

An exercise's cells carry `"exercise": {"name": "<module>.<exercise>", "role": ...}` in
their metadata. In the copy, each `starter` cell's code becomes the solution from
`solutions/<exercise>.py`, and each `check` cell's expected output becomes "Correct: ...",
so that nbval, running the copies, proves every solution is graded Correct (the shipped
notebooks expect "Not attempted").
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from . import CORRECT, SOLUTIONS, Exercise, Result


def exercise(name: str) -> Exercise:
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(f"{__package__}.{module}"), attribute)


def solve(notebook: dict) -> int:
    """Solve `notebook` in place; return how many exercises it has."""
    solved = 0
    for cell in notebook["cells"]:
        marker = cell.get("metadata", {}).get("exercise")
        if not marker:
            continue
        found = exercise(marker["name"])
        if marker["role"] == "starter":
            cell["source"] = (SOLUTIONS / f"{found.name}.py").read_text().strip()
            solved += 1
        elif marker["role"] == "check":
            verdict = str(Result(CORRECT, found.correct)) + "\n"
            cell["outputs"] = [{"name": "stdout", "output_type": "stream", "text": verdict}]
            cell["execution_count"] = cell.get("execution_count") or 1  # nbval compares run cells
    return solved


def main(source: str, target: str) -> int:
    Path(target).mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(source).glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        count = solve(notebook)
        (Path(target) / path.name).write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
        print(f"{path.name}: {count} exercise(s) solved")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
