"""Builds the workshop's slide deck: one HTML file that needs no network.

    make slides                                # writes notebooks/workshop-slides.html
    .venv/bin/python slides/build.py --output deck.html

pandoc (bundled in the pypandoc-binary wheel) turns workshop.md into a reveal.js deck, and
its --embed-resources option copies reveal.js, the theme's fonts, mermaid and diagrams.js
into that one file, so the deck opens from a USB stick in a room with no Wi-Fi.
reveal.js 5 and mermaid come from npm (package.json pins them; `make slides` installs them).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "workshop.md"
#: Beside the notebooks, so the JupyterLab that `make lab` opens shows it in its file browser.
DEFAULT_OUTPUT = HERE.parent / "notebooks" / "workshop-slides.html"
REVEAL = HERE / "node_modules" / "reveal.js"
MERMAID = HERE / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"


class BuildError(Exception):
    """Something the build needs is missing; the message says how to get it."""


def pandoc_arguments() -> list[str]:
    """reveal.js's white theme (its fonts are local files: some other themes import web
    fonts), one slide per top-level heading, no transitions (they only slow a projector)."""
    return [
        "--standalone", "--embed-resources", "--slide-level=1",
        f"--resource-path={HERE}",          # where after-body.html's scripts are found
        f"--variable=revealjs-url={REVEAL}",
        "--variable=theme=white", "--variable=transition=none",
        f"--css={HERE / 'deck.css'}",
        f"--include-before-body={HERE / 'before-body.html'}",
        f"--include-after-body={HERE / 'after-body.html'}",
    ]


def check_prerequisites() -> None:
    for path in (REVEAL / "dist" / "reveal.js", MERMAID):
        if not path.exists():
            raise BuildError(f"{path.relative_to(HERE.parent)} is missing: run `make slides` "
                             "(it installs reveal.js and mermaid from npm into slides/node_modules)")


def build(output: Path = DEFAULT_OUTPUT) -> Path:
    """Writes the deck to output and returns its path."""
    check_prerequisites()
    try:
        import pypandoc
    except ImportError:
        raise BuildError("pypandoc is not installed: run `make slides` "
                         "(it installs the slides extras: pypandoc-binary)") from None
    output.parent.mkdir(parents=True, exist_ok=True)
    pypandoc.convert_file(str(SOURCE), "revealjs", format="markdown",
                          outputfile=str(output), extra_args=pandoc_arguments())
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the workshop's slide deck (one offline HTML file).")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"where to write the deck (default: {DEFAULT_OUTPUT.relative_to(HERE.parent)})")
    arguments = parser.parse_args(argv)
    try:
        deck = build(arguments.output)
    except BuildError as error:
        print(f"make slides: {error}", file=sys.stderr)
        return 1
    size = deck.stat().st_size / 1e6
    print(f"The deck: {deck} ({size:.1f} MB, no network needed).\n"
          "Present it from a browser (open the file; S shows the speaker notes), or from\n"
          f"JupyterLab: open {deck.name} there, then click Trust HTML in its toolbar\n"
          "(JupyterLab runs no script in an untrusted file).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
