"""The dialer: place a call, then control it while it is live.

Every button is one call of the official SDK, and the widget shows that call as Python
under the buttons, so you can see (and copy) what each click did:

    dialer = Dialer(ws, composer, phone=phone)  # both optional: an NccoComposer, a PhoneWidget
    dialer                                      # shows it; "to" starts as the phone's number
    uuid = dialer.place("447700900000")         # what "Call" does (the composer's NCCO)
    dialer.control("mute", uuid)                # what each button does
    dialer.last_python                          # the SDK call the last button made
"""

from __future__ import annotations

import html

import ipywidgets as widgets
from vonage_voice.models import AudioStreamOptions, TtsStreamOptions

from .buttons import labelled_button

#: Who "Call" rings when no phone is given: a magic number that answers after a second.
DEFAULT_TO = "447700900000"

#: Each control: (button label, SDK call as Python, what it needs from the form).
CONTROLS = {
    "hangup": ("Hang up", "ws.client.voice.hangup({uuid!r})"),
    "mute": ("Mute", "ws.client.voice.mute({uuid!r})"),
    "unmute": ("Unmute", "ws.client.voice.unmute({uuid!r})"),
    "earmuff": ("Earmuff", "ws.client.voice.earmuff({uuid!r})"),
    "unearmuff": ("Unearmuff", "ws.client.voice.unearmuff({uuid!r})"),
    "transfer": ("Transfer", "ws.client.voice.transfer_call_ncco({uuid!r}, ncco)"),
    "talk": ("Play TTS", "ws.client.voice.play_tts_into_call({uuid!r}, TtsStreamOptions(text={text!r}))"),
    "stop_talk": ("Stop TTS", "ws.client.voice.stop_tts({uuid!r})"),
    "stream": ("Stream audio",
               "ws.client.voice.play_audio_into_call({uuid!r}, AudioStreamOptions(stream_url=[{url!r}]))"),
    "stop_stream": ("Stop audio", "ws.client.voice.stop_audio_stream({uuid!r})"),
    "dtmf": ("Send DTMF", "ws.client.voice.play_dtmf_into_call({uuid!r}, {digits!r})"),
}


class Dialer:
    """Call a number (a virtual phone, or a real one in live mode) and control the call."""

    def __init__(self, workshop, composer=None, phone=None):
        """`phone` (a PhoneWidget or a virtual phone) is the one "Call" rings at first:
        given explicitly, so the dialer never guesses which phone on the page you mean."""
        self.workshop = workshop
        self.composer = composer
        self.to = widgets.Text(value=DEFAULT_TO if phone is None else phone.number, description="to")
        sources = ["the answer handler (answer_url)"]
        if composer is not None:
            sources.insert(0, "the composer's NCCO")
        self.source = widgets.Dropdown(options=sources, description="NCCO from")
        self.call_button = labelled_button("Call", button_style="success", icon="phone")
        self.call_button.on_click(lambda _: self._try(lambda: self.place(self.to.value)))
        self.calls = widgets.Dropdown(options=[], description="call")
        self.calls.add_class("dialer-calls")
        self.text = widgets.Text(placeholder="text to speak", description="text")
        # Your own server's hold music: a file the platform can fetch in both modes, offline too.
        self.url = widgets.Text(value=workshop.hold_music_url, placeholder="https://…/audio.mp3",
                                description="audio URL")
        self.digits = widgets.Text(placeholder="1234#", description="digits")
        buttons = []
        for name, (label, _) in CONTROLS.items():
            button = labelled_button(label)
            button.add_class(f"control-{name}")
            button.on_click(lambda _, name=name: self._try(lambda: self.control(name, self.calls.value)))
            buttons.append(button)
        self.result = widgets.HTML()
        self.result.add_class("dialer-result")
        self.last_python = ""
        self.widget = widgets.VBox([
            widgets.HBox([self.to, self.source, self.call_button]),
            self.calls, widgets.HBox([self.text, self.url, self.digits]),
            widgets.GridBox(buttons, layout=widgets.Layout(grid_template_columns="repeat(6, max-content)")),
            self.result,
        ], layout=widgets.Layout(border="1px solid #999", padding="8px"))
        self.widget.add_class("dialer")

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def place(self, to: str) -> str:
        """Call `to` with the composer's NCCO (or the answer handler); return the call's uuid."""
        voice = self.workshop.client.voice
        http = voice.http_client
        request = {
            "to": [{"type": "phone", "number": to.strip()}],
            "from": {"type": "phone", "number": self.workshop.number},
        }
        if self.composer is not None and self.source.value == "the composer's NCCO":
            request["ncco"] = self.composer.ncco
            code = "ncco"
        else:
            request["answer_url"] = [self.workshop.webhook_url("answer")]
            code = f"answer_url=[{request['answer_url'][0]!r}]"
        # The SDK's CreateCallRequest cannot carry every action (wait, transfer), so the
        # request goes as JSON through the SDK's own HTTP client: the same call on the wire.
        uuid = http.post(http.api_host, "/v1/calls", request)["uuid"]
        self._show(
            f"Calling {to}: {uuid}",
            "ws.client.voice.create_call(CreateCallRequest("
            f"to=[ToPhone(number={to.strip()!r})], from_=Phone(number={self.workshop.number!r}), "
            f"{code if code != 'ncco' else 'ncco=ncco'}))",
        )
        self._offer(uuid)
        return uuid

    def control(self, name: str, uuid: str | None) -> None:
        """Do one control (`hangup`, `mute`, `talk`, ... see CONTROLS) on call `uuid`."""
        if not uuid:
            raise ValueError("choose a call first (place one with Call)")
        voice = self.workshop.client.voice
        values = {"uuid": uuid, "text": self.text.value, "url": self.url.value, "digits": self.digits.value}
        if name == "transfer":
            if self.composer is None:
                raise ValueError("transfer takes the composer's NCCO: make the dialer with Dialer(ws, composer)")
            voice.transfer_call_ncco(uuid, self.composer.ncco)
        elif name == "talk":
            voice.play_tts_into_call(uuid, TtsStreamOptions(text=values["text"]))
        elif name == "stream":
            voice.play_audio_into_call(uuid, AudioStreamOptions(stream_url=[values["url"]]))
        elif name == "dtmf":
            voice.play_dtmf_into_call(uuid, values["digits"])
        elif name == "stop_talk":
            voice.stop_tts(uuid)
        elif name == "stop_stream":
            voice.stop_audio_stream(uuid)
        else:
            getattr(voice, name)(uuid)
        self._show(f"{CONTROLS[name][0]}: done", CONTROLS[name][1].format(**values))

    def _offer(self, uuid: str) -> None:
        self.calls.options = [uuid] + [option for option in self.calls.options if option != uuid]
        self.calls.value = uuid

    def _show(self, message: str, python: str) -> None:
        self.last_python = python
        self.result.value = (f"<div>{html.escape(message)}</div>"
                             f"<pre style='margin:2px 0'>{html.escape(python)}</pre>")

    def _try(self, action) -> None:
        try:
            action()
        except Exception as error:  # shown by the button that was pressed
            self.result.value = f"<div style='color:#b00020'>{html.escape(_message(error))}</div>"


def _message(error: Exception) -> str:
    """The SDK's HTTP errors carry the platform's RFC 7807 body: show its detail."""
    response = getattr(error, "response", None)
    if response is not None:
        try:
            body = response.json()
            return f"{body.get('title', 'Error')}: {body.get('detail', '')}"
        except ValueError:
            pass
    return str(error)
