"""Real audio in the sandbox (speech.py, media.py): espeak-ng speech sets how long prompts
take and is what recordings contain; keys are real dual tones; streamed files play for
their real length; recordings are valid mp3/ogg/wav files; and speech input hears what
the virtual phones say (reference §2.2, §2.5-2.7, §3.5-3.6, §4).

Audio is checked sample by sample against the call's transcript, which says when each
sound started and how long it lasted on the call's clock.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from datetime import datetime

import numpy as np
import pytest
import soundfile
from conftest import assert_took, download, place, sleep_until, wait_until
from flask import Response
from vonage_voice.models import TtsStreamOptions

from workshop_helpers.sandbox import media
from workshop_helpers.sandbox.speech import PHONE_VOICE, PLATFORM_VOICE, WORDS_PER_MINUTE, Speech

RATE = media.SAMPLE_RATE
PHONE = "447700900501"
#: The telephone keypad's tones (ITU-T Q.23): each key is a row tone plus a column tone.
KEYPAD = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209), "5": (770, 1336),
          "6": (770, 1477), "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "*": (941, 1209),
          "0": (941, 1336), "#": (941, 1477)}
DTMF_LOWS, DTMF_HIGHS = (697, 770, 852, 941), (1209, 1336, 1477)


# -- helpers -----------------------------------------------------------------------------------
def strength(samples: np.ndarray, frequency: float) -> float:
    """How much of `frequency` there is in `samples` (one bin of a DFT, as Goertzel finds it)."""
    times = np.arange(len(samples)) / RATE
    return abs(np.sum(samples * np.exp(-2j * np.pi * frequency * times))) / max(1, len(samples))


def key_heard(samples: np.ndarray) -> str:
    """The DTMF key in `samples`: the strongest row tone and the strongest column tone."""
    low = max(DTMF_LOWS, key=lambda f: strength(samples, f))
    high = max(DTMF_HIGHS, key=lambda f: strength(samples, f))
    return next(key for key, pair in KEYPAD.items() if pair == (low, high))


def dominant_frequency(samples: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0


def span(entry: dict, start: float) -> slice:
    """Where a transcript entry's sound is in audio rendered from virtual time `start`."""
    first = int(round((entry["at"] - start) * RATE))
    return slice(first, first + int(entry["seconds"] * RATE))


def tone_file(seconds: float, frequency: float, rate: int, **format) -> bytes:
    times = np.arange(int(seconds * rate)) / rate
    out = io.BytesIO()
    soundfile.write(out, (0.3 * np.sin(2 * np.pi * frequency * times)).astype(np.float32), rate, **format)
    return out.getvalue()


def serve(receiver, path: str, data: bytes, mimetype: str) -> str:
    receiver.respond(path, always=lambda _: Response(data, mimetype=mimetype))
    return receiver.url(path)


def when(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def sounds(transcript: list[dict], kind: str) -> list[dict]:
    return [e for e in transcript if e["kind"] == kind]


def leg_span(sandbox, uuid) -> tuple[float, float]:
    """When a leg began and ended on the sandbox's clock."""
    return sandbox.platform.run(lambda: (sandbox.platform.leg(uuid).began, sandbox.platform.leg(uuid).ended_elapsed))


# -- speech: espeak-ng sets the length of every prompt ------------------------------------------
def test_speech_seconds_is_the_length_of_espeak_ngs_audio(sandbox):
    text = "Thank you for calling the workshop"
    done = subprocess.run(["espeak-ng", "--stdout", "-v", "en-us", "-s", str(WORDS_PER_MINUTE), "--", text],
                          capture_output=True, check=True)
    assert sandbox.platform.speech.available
    assert sandbox.platform.speech.seconds(text) == pytest.approx(soundfile.info(io.BytesIO(done.stdout)).duration, abs=1e-3)


def test_a_talk_lasts_as_long_as_its_speech_on_the_calls_clock(client, sandbox, receiver):
    short, long = "Hello", "Welcome to the voice workshop, where every call is virtual and every webhook is real"
    speech = sandbox.platform.speech
    assert speech.seconds(long) > speech.seconds(short) + 3  # (also caches both: no synthesis delay below)
    uuid = place(client, receiver, "447700900000", ncco=[
        {"action": "talk", "text": short}, {"action": "talk", "text": long}, {"action": "wait", "timeout": 0.5}])
    receiver.wait_for_status("completed", uuid=uuid)
    transcript = sandbox.transcript(uuid)
    first, second = sounds(transcript, "talk")
    (wait,) = [e for e in transcript if e["kind"] == "action" and e["text"] == "wait"]
    assert first["seconds"] == pytest.approx(speech.seconds(short), abs=1e-6)
    assert second["seconds"] == pytest.approx(speech.seconds(long), abs=1e-6)
    assert_took(second["at"] - first["at"], speech.seconds(short))
    assert_took(wait["at"] - second["at"], speech.seconds(long))


def test_a_phone_says_its_phrase_for_as_long_as_its_speech(client, sandbox, receiver):
    phrase = "I would like to speak to somebody in sales"
    seconds = sandbox.platform.speech.seconds(phrase, PHONE_VOICE)
    assert seconds != pytest.approx(sandbox.platform.speech.seconds(phrase, PLATFORM_VOICE))  # another voice
    sandbox.phone(PHONE).script(script=[{"say": phrase}, {"press": "5"}])
    uuid = place(client, receiver, PHONE, ncco=[{"action": "wait", "timeout": 10}])
    receiver.wait_for_status("answered", uuid=uuid)
    wait_until(lambda: sounds(sandbox.transcript(uuid), "dtmf"))
    transcript = sandbox.transcript(uuid)
    (said,), (key,) = sounds(transcript, "said"), sounds(transcript, "dtmf")
    assert said["seconds"] == pytest.approx(seconds, abs=1e-6)
    assert_took(key["at"] - said["at"], seconds)
    client.voice.hangup(uuid)


def test_without_espeak_ng_speech_is_a_hum_of_0_4_s_a_word_and_one_warning(caplog):
    speech = Speech(program="")
    assert not speech.available
    with caplog.at_level(logging.WARNING, logger="workshop_helpers.sandbox.speech"):
        five_words = speech.say("one two three four five")
        speech.say("and then some more words")
        speech.say("Hi")
    assert len(five_words) == int(2.0 * RATE)
    assert speech.seconds("Hi") == 1.0  # never shorter than a second
    assert speech.seconds("<speak>one <break time='1s'/> two</speak>") == pytest.approx(1.0)  # tags are not words
    assert {dominant_frequency(five_words[:RATE])} <= {220.0, 330.0}
    assert strength(five_words, 220) > 0.01 and strength(five_words, 330) > 0.01
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "apt install espeak-ng" in message and "brew install espeak-ng" in message


def test_without_espeak_ng_a_call_still_runs_on_word_counts(client, sandbox, receiver):
    sandbox.platform.speech = Speech(program="")
    sandbox.phone(PHONE).script(script=[{"wait": 3}, {"say": "one two three"}])
    uuid = place(client, receiver, PHONE, ncco=[
        {"action": "talk", "text": "five words to say here"}, {"action": "wait", "timeout": 4}])
    receiver.wait_for_status("completed", uuid=uuid)
    transcript = sandbox.transcript(uuid)
    (talk,), (said,) = sounds(transcript, "talk"), sounds(transcript, "said")
    assert talk["seconds"] == pytest.approx(2.0) and said["seconds"] == pytest.approx(1.2)
    assert int(receiver.payloads("event")[-1]["duration"]) in (6, 7)  # 2 s talk + 4 s wait
    samples, _ = soundfile.read(io.BytesIO(sandbox.call_audio(uuid)))
    began, _ = leg_span(sandbox, uuid)
    assert dominant_frequency(samples[span(talk, began)]) in (220.0, 330.0)  # the hum


def test_ssml_is_read_as_markup_not_spoken(sandbox):
    speech = sandbox.platform.speech
    plain = speech.seconds("Hello world")
    # A two-second break adds two seconds; the tags themselves are not read out.
    assert speech.seconds('<speak>Hello <break time="2s"/> world</speak>') - plain == pytest.approx(2, abs=0.3)


def test_a_talk_in_a_language_espeak_ng_lacks_is_said_in_english(client, sandbox, receiver):
    text = "Salamat po sa inyong pagtawag"
    uuid = place(client, receiver, "447700900000", ncco=[{"action": "talk", "text": text, "language": "fil-PH"}])
    receiver.wait_for_status("completed", uuid=uuid)
    (talk,) = sounds(sandbox.transcript(uuid), "talk")
    english = sandbox.platform.speech.say(text, "en-US")
    assert talk["seconds"] == pytest.approx(len(english) / RATE)
    samples, _ = soundfile.read(io.BytesIO(sandbox.call_audio(uuid)))
    where = span(talk, leg_span(sandbox, uuid)[0])
    assert np.abs(samples[where] - english[: where.stop - where.start]).max() < 1e-3


def test_an_unknown_language_falls_back_to_an_english_voice():
    speech = Speech()
    english = speech.say("hello there", "en-US")
    assert np.array_equal(speech.say("hello there", "xx-YY"), english)
    assert not np.array_equal(speech.say("hello there", "fr-FR"), english)  # a known one is used
    assert np.array_equal(speech.say("hello there", "en-ZZ"), speech.say("hello there", "en"))  # the base language


# -- recordings contain what was said and pressed -----------------------------------------------
def test_a_recording_has_the_speech_and_the_exact_key_tones_where_they_were_and_silence_elsewhere(
        client, sandbox, receiver):
    prompt, phrase = "Please leave a message after the tone", "this is my message"
    speech = sandbox.platform.speech
    prompt_seconds = speech.seconds(prompt)
    speech.seconds(phrase, PHONE_VOICE)  # synthesise both now, so neither is late on the call
    sandbox.phone(PHONE).script(script=[
        {"wait": prompt_seconds + 1.5}, {"say": phrase}, {"wait": 1}, {"press": "1"},
        {"wait": 1}, {"press": "9#"}, {"wait": 1}, {"hangup": True}])
    uuid = place(client, receiver, PHONE, ncco=[
        {"action": "record", "format": "wav", "eventUrl": [receiver.url("recording")]},
        {"action": "talk", "text": prompt}, {"action": "wait", "timeout": 60}])
    receiver.wait_for(lambda r: r.payloads("recording"))
    transcript = sandbox.transcript(uuid)
    (start,) = [e["at"] for e in transcript if e["kind"] == "action" and e["text"] == "record"]
    samples, rate = soundfile.read(io.BytesIO(download(sandbox, client, receiver.payloads("recording")[0]["recording_url"]).content))
    assert rate == RATE and samples.ndim == 1

    (talk,), (said,) = sounds(transcript, "talk"), sounds(transcript, "said")
    keys = sounds(transcript, "dtmf")
    assert [k["text"] for k in keys] == ["1", "9", "#"]
    # The prompt is exactly espeak-ng's audio, where the transcript says it played (the
    # recording starts a hair after its action is noted: find the sample it starts on).
    expected = speech.say(prompt)
    first = span(talk, start).start
    lag = min(range(max(-first, -160), 161), key=lambda lag: np.abs(samples[first + lag: first + lag + len(expected)] - expected).max())
    assert np.abs(samples[first + lag: first + lag + len(expected)] - expected).max() < 1e-3
    start -= lag / RATE
    assert rms(samples[span(said, start)]) > 0.02  # the caller's words
    for key in keys:
        tone = samples[span(key, start)]
        assert len(tone) == int(0.2 * RATE)
        assert key_heard(tone) == key["text"]
        assert rms(tone) > 0.1
    quiet = np.ones(len(samples), bool)
    for entry in [talk, said, *keys]:
        where = span(entry, start)
        quiet[max(0, where.start - 2): where.stop + 2] = False
    assert quiet.sum() > 3 * RATE  # the gaps between them...
    assert np.abs(samples[quiet]).max() == 0  # ...are silent


@pytest.mark.parametrize("audio_format, magic, content_type, container", [
    ("mp3", (b"ID3", b"\xff\xf3", b"\xff\xfb", b"\xff\xf2"), "audio/mpeg", "MP3"),
    ("ogg", (b"OggS",), "audio/ogg", "OGG"),
    ("wav", (b"RIFF",), "audio/wav", "WAV"),
])
def test_recordings_are_valid_files_as_long_as_the_record(client, sandbox, receiver, audio_format, magic,
                                                          content_type, container):
    sandbox.phone(PHONE).script(script=[{"wait": 1}, {"say": "testing one two three"}])
    uuid = place(client, receiver, PHONE, ncco=[
        {"action": "record", "format": audio_format, "timeOut": 5, "eventUrl": [receiver.url("recording")]}])
    receiver.wait_for(lambda r: r.payloads("recording"))
    (event,) = receiver.payloads("recording")
    response = download(sandbox, client, event["recording_url"])
    assert response.headers["Content-Type"] == content_type and len(response.content) == event["size"]
    assert response.content.startswith(magic)
    info = soundfile.info(io.BytesIO(response.content))
    assert (info.format, info.samplerate, info.channels) == (container, RATE, 1)
    (recorded,) = [e for e in sandbox.transcript(uuid) if e["kind"] == "recording"]
    assert recorded["text"] == event["recording_url"]
    assert info.duration == pytest.approx(recorded["seconds"], abs=0.07)
    assert_took(info.duration, 5)  # the record's timeOut
    assert abs(when(event["end_time"]) - when(event["start_time"]) - info.duration) <= 1  # whole seconds
    samples, _ = soundfile.read(io.BytesIO(response.content))
    assert rms(samples) > 0.01  # the phrase is in it


# -- streams ---------------------------------------------------------------------------------------
def test_an_mp3_stream_plays_for_its_real_length_and_is_heard(client, sandbox, receiver):
    mp3 = tone_file(3.0, 440, 44100, format="MP3", subtype="MPEG_LAYER_III")
    url = serve(receiver, "music.mp3", mp3, "audio/mpeg")
    uuid = place(client, receiver, "447700900000", ncco=[
        {"action": "stream", "streamUrl": [url]}, {"action": "wait", "timeout": 1}])
    receiver.wait_for_status("completed", uuid=uuid)
    transcript = sandbox.transcript(uuid)
    (stream,) = sounds(transcript, "stream")
    (after,) = [e for e in transcript if e["kind"] == "action" and e["text"] == "wait"]
    assert stream["seconds"] == pytest.approx(3.0, abs=0.06)
    assert_took(after["at"] - stream["at"], 3.0)
    samples, _ = soundfile.read(io.BytesIO(sandbox.phone("447700900000").audio(uuid)))
    began, _ = leg_span(sandbox, uuid)
    assert dominant_frequency(samples[span(stream, began)]) == pytest.approx(440, abs=2)


def test_a_stereo_8_khz_wav_stream_plays_for_its_real_length(client, sandbox, receiver):
    times = np.arange(8000 * 2) / 8000
    stereo = np.stack([np.sin(2 * np.pi * 300 * times), np.sin(2 * np.pi * 300 * times)], axis=1) * 0.3
    out = io.BytesIO()
    soundfile.write(out, stereo, 8000, format="WAV", subtype="PCM_16")
    url = serve(receiver, "stereo.wav", out.getvalue(), "audio/wav")
    uuid = place(client, receiver, "447700900000", ncco=[{"action": "stream", "streamUrl": [url]}])
    receiver.wait_for_status("completed", uuid=uuid)
    (stream,) = sounds(sandbox.transcript(uuid), "stream")
    assert stream["seconds"] == pytest.approx(2.0, abs=1e-3)
    samples, _ = soundfile.read(io.BytesIO(sandbox.call_audio(uuid)))
    assert dominant_frequency(samples[span(stream, leg_span(sandbox, uuid)[0])]) == pytest.approx(300, abs=2)


def test_a_stream_served_with_no_store_is_fetched_again(client, sandbox, receiver):
    files = [tone_file(1.0, 440, 16000, format="WAV"), tone_file(3.0, 440, 16000, format="WAV")]
    receiver.respond("greeting.wav", always=lambda _: Response(
        files[0], mimetype="audio/wav", headers={"Cache-Control": "no-store"}))
    lengths = []
    for _ in range(2):
        uuid = place(client, receiver, "447700900000", ncco=[{"action": "stream", "streamUrl": [receiver.url("greeting.wav")]}])
        receiver.wait_for_status("completed", uuid=uuid)
        lengths.append(sounds(sandbox.transcript(uuid), "stream")[0]["seconds"])
        files.pop(0)  # the app replaces the file
    assert lengths == [pytest.approx(1.0), pytest.approx(3.0)]


@pytest.mark.parametrize("status, body, why", [
    (200, b"<html><body>Not audio</body></html>", "could not play"),
    (404, b"Not found", "HTTP 404"),
], ids=["not audio", "404"])
def test_a_stream_that_cannot_be_played_is_an_error_note_and_the_ncco_goes_on(client, sandbox, receiver,
                                                                                 status, body, why):
    receiver.respond("page.html", always=lambda _: Response(body, status=status, mimetype="text/html"))
    url = receiver.url("page.html")
    uuid = place(client, receiver, "447700900000", ncco=[
        {"action": "stream", "streamUrl": [url]}, {"action": "talk", "text": "Still here"}])
    receiver.wait_for_status("completed", uuid=uuid)
    transcript = sandbox.transcript(uuid)
    errors = [e["text"] for e in transcript if e["kind"] == "error"]
    assert len(errors) == 1 and url in errors[0] and why in errors[0]
    assert [e["text"] for e in sounds(transcript, "talk")] == ["Still here"]
    assert all(e["seconds"] == 0 for e in sounds(transcript, "stream"))  # nothing was played


# -- the audio of a whole leg ---------------------------------------------------------------------
def test_call_audio_is_a_wav_of_the_whole_leg(client, sandbox, receiver):
    text = "Goodbye for now"
    sandbox.platform.speech.seconds(text)
    uuid = place(client, receiver, "447700900000", ncco=[
        {"action": "talk", "text": text}, {"action": "wait", "timeout": 2}])
    receiver.wait_for_status("completed", uuid=uuid)
    audio = sandbox.call_audio(uuid)
    assert audio == sandbox.phone("447700900000").audio() == sandbox.phone("447700900000").audio(uuid)
    info = soundfile.info(io.BytesIO(audio))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("WAV", "PCM_16", RATE, 1)
    began, ended = leg_span(sandbox, uuid)
    assert info.frames == int(round((ended - began) * RATE))  # from the first ring to the hangup
    samples, _ = soundfile.read(io.BytesIO(audio))
    (talk,) = sounds(sandbox.transcript(uuid), "talk")
    where = span(talk, began)
    assert np.abs(samples[where] - sandbox.platform.speech.say(text)[: where.stop - where.start]).max() < 1e-3
    assert np.abs(samples[: where.start - 1]).max() == 0  # ringing: nothing to hear
    assert np.abs(samples[where.stop + 1:]).max() == 0


def test_a_talk_stopped_early_stops_in_the_audio_too(client, sandbox, receiver):
    text = "This announcement is rather long, and it will be stopped well before it gets to the end"
    full = sandbox.platform.speech.say(text)
    uuid = place(client, receiver, "447700900000", ncco=[{"action": "wait", "timeout": 600}])
    receiver.wait_for_status("answered", uuid=uuid)
    client.voice.play_tts_into_call(uuid, TtsStreamOptions(text=text))
    wait_until(lambda: sounds(sandbox.transcript(uuid), "talk"))
    started = sounds(sandbox.transcript(uuid), "talk")[0]["at"]
    sleep_until(sandbox, started + 2)
    client.voice.stop_tts(uuid)
    sleep_until(sandbox, started + len(full) / RATE + 1)  # past where it would have ended
    client.voice.hangup(uuid)
    receiver.wait_for_status("completed", uuid=uuid)

    (talk,) = sounds(sandbox.transcript(uuid), "talk")
    assert talk["seconds"] == pytest.approx(2, abs=1e-6)  # stopped exactly where the DELETE came
    samples, _ = soundfile.read(io.BytesIO(sandbox.call_audio(uuid)))
    began, _ = leg_span(sandbox, uuid)
    where = span(talk, began)
    assert np.abs(samples[where] - full[: where.stop - where.start]).max() < 1e-3  # what played...
    assert np.abs(samples[where.stop + 1:]).max() == 0  # ...and nothing after the DELETE


# -- decoding files libsndfile cannot read ------------------------------------------------------------
def ffmpeg_tone(tmp_path, suffix: str, codec: list[str]) -> bytes:
    out = tmp_path / f"tone{suffix}"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2:sample_rate=48000",
                    *codec, str(out)], check=True, capture_output=True, timeout=60)
    return out.read_bytes()


needs_ffmpeg = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="ffmpeg is not installed")


@needs_ffmpeg
@pytest.mark.parametrize("suffix, codec", [(".m4a", ["-c:a", "aac"]), (".webm", ["-c:a", "libopus"])], ids=["aac", "opus"])
def test_decode_falls_back_to_ffmpeg(tmp_path, suffix, codec):
    data = ffmpeg_tone(tmp_path, suffix, codec)
    with pytest.raises(soundfile.LibsndfileError):
        soundfile.read(io.BytesIO(data))  # (libsndfile cannot read it)
    samples = media.decode(data)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) / RATE == pytest.approx(2.0, abs=0.05)
    assert dominant_frequency(samples) == pytest.approx(440, abs=2)


@needs_ffmpeg
def test_decode_without_ffmpeg_says_what_it_can_read(tmp_path, monkeypatch):
    data = ffmpeg_tone(tmp_path, ".m4a", ["-c:a", "aac"])
    monkeypatch.setattr(media.shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="not a wav, mp3 or ogg file"):
        media.decode(data)


def test_decode_refuses_what_is_not_audio():
    with pytest.raises(ValueError):
        media.decode(b"<html>hello</html>")


@needs_ffmpeg
def test_an_aac_stream_plays_in_a_call(client, sandbox, receiver, tmp_path):
    url = serve(receiver, "music.m4a", ffmpeg_tone(tmp_path, ".m4a", ["-c:a", "aac"]), "audio/mp4")
    uuid = place(client, receiver, "447700900000", ncco=[{"action": "stream", "streamUrl": [url]}])
    receiver.wait_for_status("completed", uuid=uuid)
    (stream,) = sounds(sandbox.transcript(uuid), "stream")
    assert stream["seconds"] == pytest.approx(2.0, abs=0.05)


# -- speech input --------------------------------------------------------------------------------
def speech_input(receiver, **speech):
    return [{"action": "input", "type": ["speech"], "speech": speech, "eventUrl": [receiver.url("input")]}]


def test_speech_input_gives_the_words_said_after_end_on_silence(client, sandbox, receiver):
    phrase = "I would like to pay my bill"
    sandbox.phone(PHONE).script(script=[{"await_input": True}, {"wait": 1}, {"say": phrase}])
    uuid = place(client, receiver, PHONE, ncco=speech_input(receiver, endOnSilence=1.5))
    receiver.wait_for(lambda r: r.payloads("input"))
    (result,) = receiver.payloads("input")
    speech = result["speech"]
    assert speech["timeout_reason"] == "end_on_silence_timeout"
    (heard,) = speech["results"]
    assert set(heard) == {"text", "confidence"} and heard["text"] == phrase
    assert isinstance(heard["confidence"], str) and 0 < float(heard["confidence"]) <= 1
    assert result["dtmf"] == {"digits": None, "timed_out": False}
    (said,) = sounds(sandbox.transcript(uuid), "said")
    # The result comes once the phrase is over and 1.5 s of silence has followed it.
    assert_took(when(result["timestamp"]) - when(said["time"]), said["seconds"] + 1.5)


def test_speech_input_with_nothing_said_times_out_at_start_timeout(client, sandbox, receiver):
    uuid = place(client, receiver, "447700900000", ncco=speech_input(receiver, startTimeout=2))
    receiver.wait_for(lambda r: r.payloads("input"))
    (result,) = receiver.payloads("input")
    assert result["speech"] == {"results": [], "timeout_reason": "start_timeout"}
    (listening,) = [e for e in sandbox.transcript(uuid) if e["kind"] == "action" and e["text"] == "input"]
    assert_took(when(result["timestamp"]) - when(listening["time"]), 2)


def test_speech_longer_than_max_duration_is_cut_off(client, sandbox, receiver):
    phrase = "I am calling about the order I placed last week which has still not arrived at my house"
    assert sandbox.platform.speech.seconds(phrase, PHONE_VOICE) > 4
    sandbox.phone(PHONE).script(script=[{"await_input": True}, {"say": phrase}])
    uuid = place(client, receiver, PHONE, ncco=speech_input(receiver, maxDuration=2))
    receiver.wait_for(lambda r: r.payloads("input"))
    (result,) = receiver.payloads("input")
    speech = result["speech"]
    assert speech["timeout_reason"] == "max_duration"
    (heard,) = speech["results"]
    words = heard["text"].split()
    assert 0 < len(words) < len(phrase.split()) and phrase.startswith(heard["text"])  # what was said in 2 s
    (said,) = sounds(sandbox.transcript(uuid), "said")
    assert_took(when(result["timestamp"]) - when(said["time"]), 2)


def test_save_audio_adds_a_downloadable_recording_of_what_was_said(client, sandbox, receiver):
    phrase = "sales please"
    sandbox.platform.speech.seconds(phrase, PHONE_VOICE)  # synthesised now, so it is said on time
    sandbox.phone(PHONE).script(script=[{"await_input": True}, {"wait": 1}, {"say": phrase}])
    uuid = place(client, receiver, PHONE, ncco=speech_input(receiver, saveAudio=True, endOnSilence=1))
    receiver.wait_for(lambda r: r.payloads("input"))
    speech = receiver.payloads("input")[0]["speech"]
    assert speech["results"][0]["text"] == phrase and speech["timeout_reason"] == "end_on_silence_timeout"
    assert speech["recording_url"].startswith("https://api.nexmo.com/v1/files/")
    response = download(sandbox, client, speech["recording_url"])
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("audio/")
    samples, rate = soundfile.read(io.BytesIO(response.content))
    transcript = sandbox.transcript(uuid)
    (said,) = sounds(transcript, "said")
    (listening,) = [e for e in transcript if e["kind"] == "action" and e["text"] == "input"]
    # From when the input listened to when it ended: quiet, the phrase, then a second of quiet.
    assert_took(said["at"] - listening["at"], 1)
    assert_took(len(samples) / rate, said["at"] + said["seconds"] + 1 - listening["at"])
    where = span(said, listening["at"])
    assert rms(samples[where]) > 0.02
    assert np.abs(samples[: where.start - int(0.1 * RATE)]).max() < 1e-3  # silent before the words


def test_a_pause_shorter_than_end_on_silence_does_not_end_the_speech(client, sandbox, receiver):
    sandbox.phone(PHONE).script(script=[
        {"await_input": True}, {"say": "I want to pay"}, {"wait": 0.5}, {"say": "my phone bill"}])
    uuid = place(client, receiver, PHONE, ncco=speech_input(receiver, endOnSilence=2))
    receiver.wait_for(lambda r: r.payloads("input"))
    speech = receiver.payloads("input")[0]["speech"]
    assert speech["timeout_reason"] == "end_on_silence_timeout"
    assert speech["results"][0]["text"] == "I want to pay my phone bill"
    last = sounds(sandbox.transcript(uuid), "said")[-1]
    assert_took(when(receiver.payloads("input")[0]["timestamp"]) - when(last["time"]), last["seconds"] + 2)
