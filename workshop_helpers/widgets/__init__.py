"""Widgets for JupyterLab (ipywidgets 8): compose NCCOs, place and control calls, a
virtual phone, and a live table of your webhooks.

Each widget is a thin face on code you can also call yourself (the methods shown in each
module's docstring), so notebooks and tests can do everything without clicking.

    from workshop_helpers.widgets import NccoComposer, Dialer, PhoneWidget, EventTable
"""

from .composer import NccoComposer
from .dialer import Dialer
from .event_table import EventTable
from .phone import PhoneWidget

__all__ = ["NccoComposer", "Dialer", "EventTable", "PhoneWidget"]
