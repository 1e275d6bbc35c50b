"""Buttons as wide as their labels.

ipywidgets gives every button the same width and cuts a longer label with "…" ("Call
44770…", "Use as the ans…"), which hides what the button does.
"""

from __future__ import annotations

import ipywidgets as widgets


def labelled_button(label: str, **options) -> widgets.Button:
    """A button that shows its whole label (and does not shrink in a row of widgets)."""
    return widgets.Button(description=label, layout=widgets.Layout(width="auto", flex="0 0 auto"), **options)
