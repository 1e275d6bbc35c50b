"""A picture of one call: each leg a lane, its states and NCCO actions on a time axis.

For the "how does a call flow" lesson: a thin bar while a leg rings, a thick one while it
is answered, a label at each status event, a diamond where an input, notify or recording
webhook arrived, and (in sandbox mode, where the platform's own record is at hand) a tick
for each NCCO action as it started.
"""

from __future__ import annotations

import io

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure

from .event_tables import is_status_event

RINGING, ANSWERED = "#f2c14e", "#2a9d8f"


class TimelineFigure(Figure):
    """A matplotlib figure that shows itself as a picture when a notebook cell returns it
    (without pyplot, so nothing global changes)."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()
MARKED_KINDS = ("input", "notify", "recording")


def timeline(events: pd.DataFrame, conversation_uuid: str,
             actions: dict[str, list[tuple[pd.Timestamp, str]]] | None = None) -> Figure:
    """Draw the legs of one conversation. `actions` maps a leg's uuid to (time, action)."""
    conversation = events[events["conversation_uuid"] == conversation_uuid]
    legs = conversation[conversation["uuid"].notna() & is_status_event(conversation)]
    if legs.empty:
        raise ValueError(f"no call events for conversation {conversation_uuid} yet")
    lanes = list(dict.fromkeys(legs["uuid"]))

    figure = TimelineFigure(figsize=(10, 1.2 + 0.9 * len(lanes)))
    axes = figure.subplots()
    labels = []
    for lane, uuid in enumerate(lanes):
        rows = legs[legs["uuid"] == uuid]
        first = rows.iloc[0]
        labels.append(f"{first['direction']}\n{first['from']} → {first['to']}")
        times = dict(zip(rows["status"], rows["timestamp"]))
        end = rows["timestamp"].max()
        if "ringing" in times:
            axes.hlines(lane, times["ringing"], times.get("answered", end), colors=RINGING, linewidth=4)
        if "answered" in times:
            axes.hlines(lane, times["answered"], times.get("completed", end), colors=ANSWERED, linewidth=10)
        for stamp, text in _grouped(times):
            axes.annotate(text, (stamp, lane), xytext=(0, 9), textcoords="offset points",
                          fontsize=8, rotation=20)
        for _, event in conversation[(conversation["kind"].isin(MARKED_KINDS))
                                     & (conversation["uuid"].isin([uuid, None]))].iterrows():
            when = event["timestamp"] if pd.notna(event["timestamp"]) else event["received_at"]
            text = event["kind"] + (f" {event['digits']}" if event["digits"] else "")
            axes.plot([when], [lane], marker="D", color="black", markersize=5)
            axes.annotate(text, (when, lane), xytext=(0, -16), textcoords="offset points", fontsize=8)
        for index, (when, name) in enumerate((actions or {}).get(uuid, [])):
            axes.plot([when], [lane], marker="|", color="#264653", markersize=18)
            axes.annotate(name, (when, lane), xytext=(2, -28 - 10 * (index % 2)),  # alternate rows
                          textcoords="offset points", fontsize=7, color="#264653")

    axes.set_yticks(range(len(lanes)), labels=labels)
    axes.set_ylim(-0.8, len(lanes) - 0.2)
    axes.invert_yaxis()
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    axes.set_title(f"Conversation {conversation_uuid}", fontsize=9)
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure


def _grouped(times: dict) -> list[tuple[pd.Timestamp, str]]:
    """Statuses less than half a second apart share one label ("started, ringing")."""
    groups: list[tuple[pd.Timestamp, list[str]]] = []
    for status, stamp in times.items():
        if groups and (stamp - groups[-1][0]).total_seconds() < 0.5:
            groups[-1][1].append(status)
        else:
            groups.append((stamp, [status]))
    return [(stamp, ", ".join(statuses)) for stamp, statuses in groups]
