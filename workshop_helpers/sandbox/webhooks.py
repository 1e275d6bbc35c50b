"""Webhooks: how the platform calls the application's server.

Three rules from the Voice API docs shape this module:
- Each request is signed (HS256 JWT with `payload_hash`) when the application has
  `signed_callbacks` on; GET sends fields as a query string (nested objects JSON-encoded),
  POST as a JSON body.
- A request whose answer is an NCCO (answer, input, notify) is retried once on a timeout,
  a dropped connection, or HTTP 429/503/504, and then goes to `fallback_answer_url` (if
  set) with `reason` and `original_request` added. Plain status events are not retried.
- A leg's webhooks are delivered one at a time, in the order the leg sent them (`Outbox`),
  so an application never sees `completed` before `answered` for the same leg.

The docs: https://developer.vonage.com/en/voice/voice-api/webhook-reference (each webhook
and its fields) and https://developer.vonage.com/en/getting-started/concepts/webhooks#decoding-signed-webhooks
(the signature).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass, field

import aiohttp

from ..ncco import NccoError, parse_ncco
from .application import SandboxApplication
from .auth import sign_webhook
from .clock import Clock

log = logging.getLogger(__name__)

#: Statuses after which one retry is worth it (the documented list).
RETRY_STATUSES = {429, 503, 504}

SYNTAX_ERROR = "Syntax error in NCCO. Invalid value type or action."


@dataclass
class Webhook:
    """One request the platform will make: where, how, what, and how long to wait."""

    url: str
    method: str
    payload: dict
    kind: str  # answer, event, input, notify, record, fallback
    connect_timeout: float = 1.0
    read_timeout: float = 10.0
    leg: str | None = None


@dataclass
class Delivery:
    """What happened to one request: kept in the platform's webhook log for tests."""

    webhook: Webhook
    status_code: int | None = None
    body: bytes = b""
    content_type: str = ""
    error: str | None = None
    attempts: int = 0

    def as_dict(self) -> dict:
        return {
            "leg": self.webhook.leg,
            "kind": self.webhook.kind,
            "url": self.webhook.url,
            "method": self.webhook.method,
            "payload": self.webhook.payload,
            "status_code": self.status_code,
            "error": self.error,
            "attempts": self.attempts,
        }


class NccoFetchError(Exception):
    """An NCCO could not be had from the application. `reason` goes in the error event."""

    def __init__(self, reason: str, detail: str = "", invalid: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.invalid = invalid  # the server answered, but not with a valid NCCO


@dataclass
class WebhookClient:
    """Sends webhooks for one application over one shared HTTP connection pool."""

    app: SandboxApplication
    http: aiohttp.ClientSession
    clock: Clock  # each request runs inside clock.request(): a virtual clock waits for its answer
    history: deque = field(default_factory=lambda: deque(maxlen=50_000))

    async def send(self, webhook: Webhook, retry: bool = False) -> Delivery:
        """Make the request (once, or with the documented single retry)."""
        delivery = Delivery(webhook)
        self.history.append(delivery)
        for attempt in (1, 2) if retry else (1,):
            delivery.attempts = attempt
            try:
                status, body, content_type = await self._request(webhook)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                delivery.error = _describe(error)
                if isinstance(error, (aiohttp.InvalidURL, ValueError, aiohttp.ClientSSLError)):
                    break  # a bad URL or certificate will not get better (not retried)
                continue
            delivery.status_code, delivery.body, delivery.content_type = status, body, content_type
            delivery.error = None
            if status not in RETRY_STATUSES:
                break
        if delivery.error:
            log.info("webhook %s %s failed: %s", webhook.method, webhook.url, delivery.error)
        return delivery

    async def send_for_ncco(self, webhook: Webhook) -> list | None:
        """Send a webhook whose answer is an NCCO (answer, input, notify): with the
        documented retry, then to the application's `fallback_answer_url` if the first URL
        fails. The parsed NCCO; None means "no NCCO" (an empty 2xx answer).
        Raises NccoFetchError when neither gives a usable answer.
        """
        try:
            return _ncco_from(await self.send(webhook, retry=True))
        except NccoFetchError as first_failure:
            fallback = self.app.webhook("fallback_answer_url")
            if not fallback:
                raise
            original_type = "answer" if webhook.kind == "answer" else "event"
            connect_timeout, read_timeout = self.app.timeouts("fallback_answer_url")
            retry = Webhook(
                url=fallback["address"],
                method=fallback["http_method"],
                payload={
                    **webhook.payload,
                    "reason": first_failure.reason,
                    "original_request": {"url": webhook.url, "type": original_type},
                },
                kind="fallback",
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                leg=webhook.leg,
            )
            return _ncco_from(await self.send(retry, retry=True))

    async def download(self, url: str, seconds: float = 10) -> tuple[bytes, float | None]:
        """Fetch a file the platform plays (a `stream` URL): its bytes, and for how many
        seconds it may be kept (its Cache-Control; None: no limit). ValueError if it cannot."""
        try:
            timeout = aiohttp.ClientTimeout(total=seconds)
            with self.clock.request(seconds):
                async with self.http.get(url, timeout=timeout) as response:
                    if response.status != 200:
                        raise ValueError(f"HTTP {response.status} from {url}")
                    return await response.read(), keep_for(response.headers.get("Cache-Control", ""))
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise ValueError(_describe(error)) from None

    async def _request(self, webhook: Webhook) -> tuple[int, bytes, str]:
        """One HTTP request; returns (status, body, content type).

        The connect and read timeouts are the application's, and apply to the socket
        only: time spent waiting for a free connection in our own pool is not the
        application's fault, so it does not count against it.
        """
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=webhook.connect_timeout, sock_read=webhook.read_timeout
        )
        headers = {"User-Agent": "Vonage Voice API sandbox"}
        if webhook.method.upper() == "GET":
            body, params = b"", _query_params(webhook.payload)
        else:
            body, params = json.dumps(webhook.payload).encode(), None
            headers["Content-Type"] = "application/json"
        if self.app.voice()["signed_callbacks"]:
            headers["Authorization"] = sign_webhook(body, self.app)
        with self.clock.request(webhook.connect_timeout + webhook.read_timeout):
            async with self.http.request(
                webhook.method.upper(),
                webhook.url,
                params=params,
                data=body or None,
                headers=headers,
                timeout=timeout,
            ) as response:
                return response.status, await response.read(), response.headers.get("Content-Type", "")


class Outbox:
    """One leg's webhooks, sent one at a time in the order they were queued."""

    def __init__(self, client: WebhookClient):
        self._client = client
        self._queue: asyncio.Queue = asyncio.Queue()
        self._closed = False
        self._worker = asyncio.get_running_loop().create_task(self._run())

    def post(self, webhook: Webhook) -> None:
        """Queue a status event; its answer is ignored (as the platform ignores it)."""
        if self._closed:
            log.error("webhook %s for leg %s sent after the leg ended: dropped", webhook.kind, webhook.leg)
            return
        self._queue.put_nowait((self._client.send, webhook, None))

    def queue_ncco_request(self, webhook: Webhook) -> asyncio.Future:
        """Queue a webhook whose answer is an NCCO behind the leg's earlier webhooks; the
        future holds its answer (or NccoFetchError). Await it to wait for its turn and its
        answer; a synchronous connect's failure keeps it to await later (`Leg.status_ncco`)."""
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((self._client.send_for_ncco, webhook, future))
        return future

    async def close(self) -> None:
        """Deliver everything queued, then stop."""
        self._closed = True
        self._queue.put_nowait(None)
        await self._worker

    async def _run(self) -> None:
        while (item := await self._queue.get()) is not None:
            send, webhook, future = item
            if future is None:  # a status event: send it, whatever the answer
                try:
                    await send(webhook)
                except Exception:  # a bug here must not stop the leg's later events
                    log.exception("webhook %s to %s failed", webhook.kind, webhook.url)
            elif not future.cancelled():  # else nobody waits for it (the call ended)
                await self._fetch_for(future, send, webhook)

    @staticmethod
    async def _fetch_for(future: asyncio.Future, send, webhook: Webhook) -> None:
        """Fetch an NCCO for whoever waits on `future`; if they stop waiting (a hangup),
        stop too: no retry, no fallback, and the leg's next events are not held up."""
        request = asyncio.ensure_future(send(webhook))
        future.add_done_callback(lambda f: request.cancel() if f.cancelled() else None)
        await asyncio.wait({request})
        if request.cancelled() or future.done():
            return
        if request.exception() is not None:
            future.set_exception(request.exception())
        else:
            future.set_result(request.result())


def _ncco_from(delivery: Delivery) -> list | None:
    """Turn an HTTP answer into an NCCO, None (empty answer), or NccoFetchError."""
    url = delivery.webhook.url
    if delivery.error:
        raise NccoFetchError(delivery.error, f"{url}: {delivery.error}")
    if not 200 <= delivery.status_code < 300:
        reason = f"HTTP {delivery.status_code} from {url}"
        raise NccoFetchError(reason, reason)
    if not delivery.body.strip():
        if delivery.webhook.kind in ("answer", "fallback"):  # a call needs an NCCO to start
            detail = f"{url} answered with an empty body; the answer webhook must return an NCCO"
            raise NccoFetchError(SYNTAX_ERROR, detail, invalid=True)
        return None  # input or notify: go on with the current NCCO
    if "json" not in delivery.content_type:
        detail = f"{url} answered with Content-Type {delivery.content_type or 'none'}, not application/json"
        raise NccoFetchError(SYNTAX_ERROR, detail, invalid=True)
    try:
        return parse_ncco(delivery.body)
    except NccoError as error:
        raise NccoFetchError(SYNTAX_ERROR, str(error), invalid=True) from None


def _query_params(payload: dict) -> dict:
    """GET webhooks: scalars as they are, nested objects JSON-encoded (as documented)."""
    params = {}
    for key, value in payload.items():
        if value is None:
            continue
        if isinstance(value, (dict, list)):
            params[key] = json.dumps(value, separators=(",", ":"))
        elif isinstance(value, bool):
            params[key] = "true" if value else "false"
        else:
            params[key] = str(value)
    return params


def _describe(error: Exception) -> str:
    """The reason an error event gives for a request that got no HTTP answer."""
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return "Connect timed out."
    if isinstance(error, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return "Read timed out."
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"Connection refused or unreachable ({error.os_error or error})."
    if isinstance(error, (aiohttp.InvalidURL, ValueError)):
        return f"Invalid URL ({error})."
    return "Connection closed."



def keep_for(cache_control: str) -> float | None:
    """Seconds a response may be reused, by its Cache-Control (the platform honours it)."""
    directives = [d.strip().lower() for d in cache_control.split(",") if d.strip()]
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    for directive in directives:
        name, _, value = directive.partition("=")
        if name in ("max-age", "s-maxage") and value.strip().isdigit():
            return float(value)
    return None
