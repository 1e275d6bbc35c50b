"""Code read from the workshop's notebooks, so a test (or a benchmark) runs exactly what
attendees run, and the two never drift apart."""

from __future__ import annotations

import json
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def first_call(notebook: str = "02_make_a_call.ipynb") -> str:
    """The notebook's code cells up to its first `ws.wait_for`: `wh.start()`, then the first
    call, waited for (notebook 02's first call, by default)."""
    cells = json.loads((NOTEBOOKS / notebook).read_text())["cells"]
    code = []
    for cell in cells:
        if cell["cell_type"] == "code":
            code.append("".join(cell["source"]))
            if "ws.wait_for(" in code[-1]:
                return "\n".join(code)
    raise ValueError(f"notebooks/{notebook} has no cell with ws.wait_for: the first call moved")
