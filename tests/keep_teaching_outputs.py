"""Execute a workshop notebook and keep only the outputs that teach.

    .venv/bin/python tests/keep_teaching_outputs.py notebooks/04_user_input.ipynb

Cells marked `# NBVAL_CHECK_OUTPUT` keep their output and execution count, which
nbval then checks in `make test`; every other output and execution count is removed, so
the committed notebook is clean and a learner sees results appear as they run it.
"""

import os
import sys
import tempfile

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

MARK = "# NBVAL_CHECK_OUTPUT"


def main(path: str) -> None:
    notebook = nbformat.read(path, as_version=4)
    os.environ.setdefault("VOICE_WORKSHOP_HOME", tempfile.mkdtemp())
    ExecutePreprocessor(timeout=300).preprocess(notebook, {"metadata": {"path": os.path.dirname(path)}})
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # when each cell ran: noise in a diff
        if cell.cell_type != "code":
            continue
        if not cell.source.startswith(MARK):  # (checked cells keep their count: nbval skips "unrun" ones)
            cell.execution_count = None
            cell.outputs = []
    notebook.metadata.pop("widgets", None)  # the widgets' state from this run: noise too
    nbformat.write(notebook, path)


if __name__ == "__main__":
    for notebook_path in sys.argv[1:]:
        main(notebook_path)
