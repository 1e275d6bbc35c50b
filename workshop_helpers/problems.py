"""What went wrong on a call, said under the cell that waits on it.

Your handlers run in the webhook server's background thread, where nothing may print (it
would land in whichever cell runs next). So the server writes each failure down beside
the webhook that caused it (the `handler_error` column), the platform sends its error
events, and the cell that waits on the call (`ws.wait_for`, an exercise's check) prints
them all, in the order they happened, in words.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import pandas as pd

#: How each webhook's handler is set in a notebook (`@ws.answer`, `@ws.on_input`, ...).
HANDLER_NAMES = {
    "answer": "answer", "event": "on_event", "input": "on_input", "notify": "on_notify",
    "recording": "on_recording", "fallback": "on_fallback",
}

# Frames from these folders are the kit's, the libraries' or Python's, not yours.
_NOT_YOURS = tuple(str(Path(p).resolve()) for p in {
    Path(__file__).parent, sys.prefix, sys.base_prefix, sys.exec_prefix,
})


def handler_raised(kind: str, error: BaseException) -> str:
    """`error` from your `kind` handler (a webhook's kind, or a handler's name as said,
    like "voice bot's on_dtmf"), with the line of your code that raised it."""
    said = f"your {HANDLER_NAMES.get(kind, kind)} handler raised {type(error).__name__}: {error}"
    yours = [frame for frame in traceback.extract_tb(error.__traceback__) if _is_yours(frame.filename)]
    if yours:
        frame = yours[-1]
        said += f"\n    in {frame.name}, line {frame.lineno}"
        if frame.line:
            said += f": {frame.line.strip()}"
    return said


#: How the webhook server's refusals for a missing or a wrong signature begin (server.py
#: writes them so): the two a wrong signature secret causes, so `refused` advises on it.
UNSIGNED = "not signed"
FORGED = "bad signature"

#: What a handler may return that is not an NCCO at all (its webhook is answered empty).
NOT_AN_NCCO = (str, bytes, int, float, bool)


def handler_returned(kind: str, result: object) -> str | None:
    """What is wrong with what your `kind` handler returned, if it is not an NCCO."""
    name = HANDLER_NAMES[kind]
    if result is None:
        if kind in ("answer", "fallback"):
            return (f"your {name} handler returned None: return a list of actions (did you "
                    "forget `return`?); the call had nothing to do, so it ended")
        if kind in ("input", "notify"):
            return (f"your {name} handler returned None, so the call went on with the rest "
                    "of its NCCO: return a list of actions to say what happens next")
        return None
    if isinstance(result, NOT_AN_NCCO):
        return f"your {name} handler returned a {type(result).__name__}: return a list of actions"
    return None


def ncco_refused(kind: str, error: Exception) -> str:
    """The NCCO your handler returned failed validation (the validator's words)."""
    return f"your {HANDLER_NAMES[kind]} handler returned an NCCO the platform would refuse: {error}"


#: What to do when the platform could not fetch something an NCCO pointed it at.
_FETCH_ADVICE = {
    "could not play": "a stream's URL must be one the platform can fetch (offline, use "
                      "ws.hold_music_url, or a file your own server serves)",
    "could not open": "a websocket's URI must be a server that is listening",
}


def problems(events: pd.DataFrame, deliveries: list[dict] = (), noted: list[str] = ()) -> list[str]:
    """What went wrong on one call: its events (from the store, oldest first) and, in
    the sandbox, what the platform saw of each webhook it sent (`sandbox.webhooks(uuid)`)
    and the errors it noted on the call (`noted`: a stream it could not play, say, which
    the real platform reports to nobody: you would only hear silence).
    Causes come first (your handlers, webhooks that failed); what the platform did about
    them follows in one plain line, with its own words only when no cause is known."""
    causes, reported = [], []
    for _, row in events.iterrows():
        if isinstance(row["handler_error"], str):
            causes.append(row["handler_error"])
        payload = row["payload"] if isinstance(row["payload"], dict) else {}
        if row["kind"] == "event" and payload.get("reason") and not payload.get("status"):
            detail = f" ({payload['detail']})" if payload.get("detail") else ""
            reported.append(f"the platform reported an error: {payload['reason']}{detail}")
        elif row["kind"] == "event" and ("dtmf" in payload or "speech" in payload):
            causes.append("an input's result (the keys or speech) went to your event webhook, "
                          "not to on_input: give the Input an eventUrl=[ws.webhook_url(\"input\")]")
    for delivery in deliveries:
        failed = delivery.get("error")
        status = delivery.get("status_code")
        if failed:
            causes.append(f"the platform's {delivery['kind']} webhook to {delivery['url']} failed: {failed}")
        elif status is not None and status >= 400 and status != 500:  # a 500 is a handler's, above
            causes.append(f"the platform's {delivery['kind']} webhook to {delivery['url']} got HTTP {status}")
    for text in noted:
        advice = next((a for start, a in _FETCH_ADVICE.items() if text.startswith(start)), None)
        if advice:  # (the other errors it notes, it also sent as error events: above)
            causes.append(f"the platform {text.rstrip('.')}: {advice}")
    if causes and reported:
        reported = ["so the platform could not go on with the call, and ended it"]
    return causes + reported


def refused(count: int, reasons: list[str], mode: str) -> str:
    """Requests your webhook server refused (so no handler of yours ran for them)."""
    said = (f"your webhook server refused {count} request(s) ({', '.join(reasons)}), so no handler "
            "ran for them")
    if not any(reason.startswith((UNSIGNED, FORGED)) for reason in reasons):
        return said  # each reason says what to do (a GET, a body too large, a replay)
    if mode == "live":
        return (f"{said}: check VONAGE_SIGNATURE_SECRET in .env; it must be your account's "
                "signature secret (the dashboard's API settings), or every webhook is refused")
    return f"{said}: only requests the platform signed are let in (not ones sent by hand)"


def report(found: list[str], on: str) -> str:
    """The problems `found` on `on` ("call <uuid>", say), one line each."""
    lines = [f"Problems on {on}:"]
    lines += [f"- {problem}" for problem in found]
    lines.append("(ws.show_logs() has the whole tracebacks; ws.call_events(uuid) every webhook of the call)")
    return "\n".join(lines)


def _is_yours(filename: str) -> bool:
    if filename.startswith("<frozen"):
        return False
    return not str(Path(filename).resolve()).startswith(_NOT_YOURS)
