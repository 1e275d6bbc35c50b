"""A virtual phone on screen (sandbox mode): it rings, you answer, press keys, speak.

The widget drives the same `PhoneHandle` a notebook or test would use, so every button is
one call you could type instead:

    phone = PhoneWidget(ws, "447700900123")
    phone                          # shows it
    phone.press("1")               # what the "1" key does (and whether an input heard it)
    phone.handle.say("sales")      # the other buttons: .say(...), .answer(), .hangup(), ...
    phone.transcript()             # what it has said and heard on its latest call

While the widget is open the phone waits for you to answer (its `on_ring` is "manual").
"""

from __future__ import annotations

import html
import threading

import ipywidgets as widgets

from ..sandbox.media import DTMF_FREQUENCIES
from .buttons import labelled_button

KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]
KEY = widgets.Layout(width="48px", height="36px")


class PhoneWidget:
    """A keypad, a ringer, a mouth (say) and an ear (the transcript and the call audio)."""

    def __init__(self, workshop, number: str, every: float = 0.3):
        self.workshop = workshop
        self.handle = workshop.phone(number)
        self.handle.script(on_ring="manual")  # ring until someone here answers
        self.number = self.handle.number
        self.every = every
        self.state = widgets.HTML()
        self.state.add_class("phone-state")
        self.answer_button = labelled_button("Answer", button_style="success", icon="phone")
        self.reject_button = labelled_button("Reject", button_style="danger")
        self.hangup_button = labelled_button("Hang up", button_style="danger", icon="phone-slash")
        self.call_button = labelled_button(f"Call {workshop.number}", icon="phone-volume")
        self.answer_button.on_click(lambda _: self._do(self.handle.answer))
        self.reject_button.on_click(lambda _: self._do(self.handle.reject))
        self.hangup_button.on_click(lambda _: self._do(self.handle.hangup))
        self.call_button.on_click(lambda _: self._do(lambda: self.handle.call(workshop.number)))
        keypad = []
        for key in KEYS:
            button = widgets.Button(description=key, layout=KEY, tooltip=f"{DTMF_FREQUENCIES[key]} Hz")
            button.add_class(f"key-{'star' if key == '*' else 'hash' if key == '#' else key}")
            button.on_click(lambda _, key=key: self._in_background(self.press, key))
            keypad.append(button)
        self.phrase = widgets.Text(placeholder="a phrase to say", layout=widgets.Layout(width="220px"))
        self.say_button = labelled_button("Say", icon="comment")
        self.say_button.on_click(lambda _: self._in_background(self.handle.say, self.phrase.value))
        self.heard = widgets.HTML()
        self.heard.add_class("phone-transcript")
        self.audio = widgets.Audio(format="wav", autoplay=False, loop=False)
        self.audio_button = labelled_button("Play the call", icon="volume-up")
        self.audio_button.on_click(lambda _: self.load_audio())
        self.keys = widgets.HTML()  # what became of the latest key pressed
        self.keys.add_class("phone-keys")
        self.error = widgets.HTML()
        self.widget = widgets.VBox([
            widgets.HTML(f"<b>Virtual phone {html.escape(self.number)}</b>"), self.state,
            widgets.HBox([self.answer_button, self.reject_button, self.hangup_button, self.call_button]),
            widgets.GridBox(keypad, layout=widgets.Layout(grid_template_columns="repeat(3, 52px)")),
            widgets.HBox([self.phrase, self.say_button]),
            self.keys, self.error, self.heard, widgets.HBox([self.audio_button, self.audio]),
        ], layout=widgets.Layout(border="1px solid #999", padding="8px", width="520px"))
        self.widget.add_class("virtual-phone")
        self._stop = threading.Event()
        self.refresh()
        threading.Thread(target=self._watch, name=f"phone-{self.number}", daemon=True).start()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- what the buttons do ----------------------------------------------------------------
    def _do(self, action) -> None:
        try:
            action()
            self.error.value = ""
        except Exception as error:  # show it by the phone: it is what the user must fix
            self.error.value = f"<span style='color:#b00020'>{html.escape(str(error))}</span>"
        self.refresh()

    def press(self, key: str) -> str:
        """Press a key on the call and say what became of it. As on a real call, a key
        pressed while no input action listens for keys is lost: the phone says so, so a
        key pressed too early (or too late) is no mystery."""
        self.keys.value = ""
        listening = self.handle.describe()["listening_for_keys"]  # at the moment it is pressed
        self.handle.press(key)
        if listening:
            note, colour = f"key {key} sent: the call's input action heard it", "#1b5e20"
        else:
            note, colour = (f"key {key} sent, but nothing on this call was listening for keys "
                            "(no input action running)"), "#8a5300"
        self.keys.value = f"<span style='color:{colour}'>{html.escape(note)}</span>"
        return note

    def _in_background(self, action, *args) -> None:
        """Keys and words take time on the call's clock; the notebook stays usable meanwhile."""
        threading.Thread(target=self._do, args=(lambda: action(*args),), daemon=True).start()

    # -- what it shows ----------------------------------------------------------------------
    def _current_call(self) -> dict | None:
        """The call object of the call this phone is on (or ringing with), if any."""
        on_call = self.handle.describe()["on_call"]
        return None if on_call is None else self.workshop.sandbox.call(on_call)

    def call_state(self) -> tuple[str, str | None]:
        """("idle" | "ringing" | "answered" | ..., the call's uuid)."""
        call = self._current_call()
        return ("idle", None) if call is None else (call["status"], call["uuid"])

    def transcript(self) -> list[dict]:
        return self.handle.transcript()

    def refresh(self) -> None:
        call = self._current_call()
        status = "idle" if call is None else call["status"]
        # An outbound leg from the platform is an incoming call for this phone.
        ringing = status in ("started", "ringing") and call["direction"] == "outbound"
        self.state.value = f"<span data-state='{status}'>{_STATES.get(status, status)}</span>"
        self.answer_button.disabled = self.reject_button.disabled = not ringing
        self.hangup_button.disabled = status != "answered"
        self.call_button.disabled = status != "idle"
        self.heard.value = render_transcript(self.transcript())

    def load_audio(self) -> None:
        """Put the latest call's audio (what this phone heard and said) in the player."""
        try:
            self.audio.value = self.handle.audio()
        except Exception as error:
            self.error.value = f"<span style='color:#b00020'>{html.escape(str(error))}</span>"

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(self.every):
            if not self.workshop.running:
                return
            try:
                self.refresh()
            except Exception:
                if not self.workshop.running:
                    return


_STATES = {
    "idle": "idle",
    "started": "📞 ringing…",
    "ringing": "📞 ringing…",
    "answered": "on a call",
}


def render_transcript(entries: list[dict]) -> str:
    """What was said, played and pressed on the call, oldest first."""
    lines = []
    for entry in entries:
        if entry["kind"] not in ("talk", "stream", "said", "dtmf", "audio", "music", "beep"):
            continue
        who = {"phone": "you", "platform": "platform"}.get(entry["who"], entry["who"])
        lines.append(
            f"<div class='transcript-line'><code>{entry['at']:7.1f}s</code> "
            f"<b>{html.escape(who)}</b> {html.escape(entry['kind'])}: {html.escape(entry['text'])}</div>"
        )
    return "".join(lines) or "<i>nothing heard yet</i>"
