"""The emulator's process-facing side: :class:`StripeEmulator` and its HTTP server.

One :class:`StripeEmulator` owns three background threads: the HTTP server (Stripe's ``/v1``
API, the hosted checkout page, the ``/_emulator`` test controls), the webhook delivery queue,
and a sweeper that expires overdue Checkout Sessions about once a second.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import api
from .checkout_page import (
    CANCEL_ACTION,
    DECLINED_MESSAGE,
    PAY_ACTIONS,
    render_checkout,
    render_not_found,
)
from .connect_pages import (
    ONBOARDING_ACTIONS,
    render_dashboard,
    render_link_not_found,
    render_onboarding,
)
from .errors import StripeError, invalid
from .objects import DEFAULT_API_VERSION, StripeObject
from .state import EmulatorState
from .webhooks import DeliveryAttempt, WebhookDispatcher

logger = logging.getLogger("payments.emulator")

DEFAULT_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)


class StripeEmulator:
    """A loopback Stripe: API, hosted checkout page, signed webhooks, and test controls.

    ``port=0`` picks a free port; read :attr:`base_url` after :meth:`start`. Without a
    ``webhook_url`` events are only stored. Without a ``webhook_secret`` one is generated
    (read :attr:`webhook_secret`).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        *,
        api_version: str = DEFAULT_API_VERSION,
        sweep_interval: float = 1.0,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        latency: float = 0.0,
        funds_available_at_once: bool = False,
    ) -> None:
        self.host = _loopback_address(host)
        self.port = port
        self.webhook_secret = webhook_secret or f"whsec_{secrets.token_hex(24)}"
        self._sweep_interval = sweep_interval
        # Seconds each /v1 request waits before it is answered, as a real network round trip
        # to Stripe would (benchmarks); 0 answers at once.
        self.latency = latency
        self._state = EmulatorState(api_version=api_version, publish=self._publish)
        # Money received is pending until release_pending(), as Stripe holds it for days;
        # True skips the wait (``manage.py stripe_emulator --funds-available-at-once``).
        self._state.funds_available_at_once = funds_available_at_once
        self._dispatcher = WebhookDispatcher(
            url=webhook_url,
            secret=self.webhook_secret,
            retry_delays=retry_delays,
            on_delivered=self._state.mark_delivered,
        )
        self._state.webhook_endpoints = 1 if webhook_url else 0
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> StripeEmulator:
        """Bind, start the background threads, and return once it is listening."""
        if self._server is not None:
            raise RuntimeError("The Stripe emulator is already running.")
        self._server = _Server((self.host, self.port), self, self._state)
        self.port = self._server.server_address[1]
        self._state.base_url = self.base_url
        self._stopping.clear()
        self._dispatcher.start()
        self._threads = [
            threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="stripe-emulator-http",
                daemon=True,
            ),
            threading.Thread(target=self._sweep, name="stripe-emulator-sweeper", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        logger.debug("Stripe emulator listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and delivering; stored state is kept until :meth:`reset`."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._dispatcher.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server = None
        self._threads = []

    def __enter__(self) -> StripeEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: pass it as ``base_addresses={"api": ...}``."""
        if self._server is None:
            raise RuntimeError("Start the Stripe emulator before asking for its URL.")
        return f"http://{self.host}:{self.port}"

    @property
    def webhook_url(self) -> str | None:
        return self._dispatcher.url

    def set_webhook(self, url: str | None, secret: str | None = None) -> None:
        """Point deliveries at ``url`` (None: store events only), optionally with a new secret."""
        if secret:
            self.webhook_secret = secret
        with self._state.lock:
            self._dispatcher.configure(url, self.webhook_secret)
            self._state.webhook_endpoints = 1 if url else 0

    def reset(self) -> None:
        """Forget every object, event, idempotency key and delivery; resume delivery."""
        with self._state.lock:
            self._state.reset()
            self._dispatcher.reset()

    # -- the customer on the hosted page ---------------------------------------------------

    def pay(
        self, session_id: str, outcome: str = "paid", *, email: str | None = None
    ) -> str | None:
        """Click a pay button: ``paid``, ``declined`` or ``delayed``.

        Returns the URL the browser is sent to (success_url with the session id filled in),
        or None for a declined card, where the page stays open.
        """
        return self._state.pay(session_id, outcome, email=email)

    def cancel(self, session_id: str) -> str | None:
        """Click Cancel: returns the cancel_url; the session stays open."""
        return self._state.cancel(session_id)

    def settle(self, session_id: str, outcome: str = "succeeded") -> StripeObject:
        """Finish a delayed payment, ``succeeded`` or ``failed``; returns the event sent."""
        return self._state.settle(session_id, outcome)

    # -- time and disputes -----------------------------------------------------------------

    def expire_now(self, session_id: str) -> StripeObject:
        """Expire an open session now, whatever its ``expires_at``, as the sweeper would."""
        self._state.set_expires_at(session_id, int(time.time()))
        self._state.expire_due_sessions()
        return self._state.retrieve(session_id, "checkout.session", "session")

    def set_expires_at(self, session_id: str, expires_at: int) -> StripeObject:
        """Move an open session's expiry; the background sweeper acts on it within a second."""
        return self._state.set_expires_at(session_id, expires_at)

    def create_dispute(
        self, payment_id: str, *, reason: str = "fraudulent", amount: int | None = None
    ) -> StripeObject:
        """Dispute a charge (``ch_...``, or a ``pi_...``'s charge); sends charge.dispute.created."""
        return self._state.create_dispute(payment_id, reason=reason, amount=amount)

    def close_dispute(self, dispute_id: str, status: str = "lost") -> StripeObject:
        """Close a dispute as ``won``, ``lost`` or ``warning_closed``; sends
        charge.dispute.closed."""
        return self._state.close_dispute(dispute_id, status)

    # -- Connect ---------------------------------------------------------------------------

    def onboard(self, account_link_url: str, outcome: str = "complete") -> str:
        """Press a button of the hosted onboarding page (``complete``, ``incomplete``,
        ``restricted``); returns the URL the browser goes to (refresh_url once used/expired)."""
        token = account_link_url.rstrip("/").rsplit("/", 1)[-1]
        return self._state.onboard(token, outcome)

    def expire_account_link(self, account_link_url: str) -> None:
        """Make an account link expire now: its page then redirects to its refresh_url."""
        self._state.expire_account_link(account_link_url)

    def set_account_state(self, account_id: str, outcome: str) -> StripeObject:
        """Put a connected account into an onboarding outcome without the page (``complete``,
        ``incomplete``, ``restricted``, or ``pending`` verification); sends account.updated."""
        return self._state.set_account_state(account_id, outcome)

    def balance(self, account_id: str | None = None) -> StripeObject:
        """The balance of a connected account, or of the platform (None)."""
        return self._state.balance(account_id)

    def release_pending(self, account_id: str | None = None) -> StripeObject:
        """Make pending funds available now (Stripe waits days); returns the new balance."""
        return self._state.release_pending(account_id)

    def pay_out(self, account_id: str | None = None) -> list[StripeObject]:
        """Pay out the whole available balance, a payout per currency, paid at once (sends
        payout.created and payout.paid with the account)."""
        return self._state.pay_out(account_id)

    def mark_payout_paid(self, payout_id: str) -> StripeObject:
        """A pending payout (from ``POST /v1/payouts``) arrives: status paid, payout.paid."""
        return self._state.mark_payout_paid(payout_id)

    # -- reading state ---------------------------------------------------------------------

    def get(self, object_id: str) -> StripeObject:
        """A snapshot of any stored object by id (session, intent, charge, event, ...)."""
        return self._state.get(object_id)

    def objects(self, kind: str) -> list[StripeObject]:
        """Snapshots of every object of one kind (``"checkout.session"``...), oldest first."""
        return self._state.objects_of(kind)

    def events(self, type: str | None = None) -> list[StripeObject]:
        """Stored events, oldest first; ``type`` may use ``*`` (``"checkout.session.*"``)."""
        events = self._state.objects_of("event")
        if type is None:
            return events
        return [event for event in events if fnmatch.fnmatchcase(event["type"], type)]

    def deliveries(self, event_id: str | None = None) -> list[DeliveryAttempt]:
        """Every delivery attempt so far (optionally for one event), in the order made."""
        return self._dispatcher.attempts(event_id)

    def queued(self) -> list[str]:
        """Ids of events waiting for automatic delivery (paused, or due for a retry)."""
        return self._dispatcher.queued()

    # -- webhook delivery controls ---------------------------------------------------------

    def pause_delivery(self) -> None:
        """Hold automatic deliveries; events queue up until :meth:`resume_delivery`."""
        self._dispatcher.pause()

    def resume_delivery(self) -> None:
        self._dispatcher.resume()

    def drop(self, event_id: str) -> None:
        """Never deliver ``event_id`` automatically (a lost webhook)."""
        self._dispatcher.drop(event_id)

    def deliver(
        self,
        event_id: str,
        times: int = 1,
        *,
        concurrent: bool = False,
        signed_at: int | None = None,
    ) -> list[DeliveryAttempt]:
        """POST an event now, ``times`` times (one after another, or all at once).

        These are extra deliveries: they don't touch the automatic queue and are not retried.
        ``signed_at`` backdates the signature timestamp, to look like a late or replayed event.
        """
        if times < 1:
            raise invalid("times must be at least 1.", "times")
        if concurrent:
            return self._dispatcher.send_concurrently(event_id, times, signed_at=signed_at)
        return [self._dispatcher.send(event_id, signed_at=signed_at) for _ in range(times)]

    def deliver_in_order(
        self, event_ids: Sequence[str], *, signed_at: int | None = None
    ) -> list[DeliveryAttempt]:
        """POST the events one by one in exactly this order (to test out-of-order arrival)."""
        return [self._dispatcher.send(event_id, signed_at=signed_at) for event_id in event_ids]

    def deliver_later(self, event_id: str, delay: float, *, signed_at: int | None = None) -> None:
        """POST the event once, ``delay`` seconds from now, in the background."""
        self._dispatcher.send_later(event_id, delay, signed_at=signed_at)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Wait until no delivery is running or due; False if ``timeout`` passed first.

        Events held by :meth:`pause_delivery` don't count, so this returns while paused.
        """
        return self._dispatcher.wait_idle(timeout)

    # -- internals -------------------------------------------------------------------------

    def _publish(self, event: StripeObject) -> None:
        # Stripe pretty-prints webhook bodies; the exact bytes are what gets signed.
        body = json.dumps(event, indent=2)
        self._dispatcher.publish(event["id"], event["type"], body)
        logger.info("Event %s %s", event["type"], event["id"])

    def _sweep(self) -> None:
        while not self._stopping.wait(self._sweep_interval):
            try:
                self._state.expire_due_sessions()
            except Exception:  # a bug here must not stop expiry for the rest of the run
                logger.exception("Expiring overdue Checkout Sessions failed")


def _loopback_address(host: str) -> str:
    """The IPv4 loopback address to bind; anything reachable from outside is refused."""
    address = "127.0.0.1" if host == "localhost" else host
    try:
        is_loopback = ipaddress.IPv4Address(address).is_loopback
    except ValueError:
        is_loopback = False
    if not is_loopback:
        raise ValueError(f"The Stripe emulator binds to loopback only (127.0.0.1), not {host!r}.")
    return address


# -- HTTP ----------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], emulator: StripeEmulator, state: EmulatorState
    ) -> None:
        self.emulator = emulator
        self.state = state
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "stripe-emulator"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        try:
            if url.path.startswith("/v1/"):
                self._api(url.path, url.query, body)
            elif url.path.startswith("/c/pay/"):
                self._checkout(url.path.removeprefix("/c/pay/"), body)
            elif url.path.startswith("/connect/onboarding/"):
                self._onboarding(url.path.removeprefix("/connect/onboarding/"), body)
            elif url.path.startswith("/connect/express/") and self.command == "GET":
                self._dashboard(url.path.removeprefix("/connect/express/"))
            elif url.path.startswith("/_emulator/"):
                self._control(url.path, url.query, body)
            else:
                self._send_json(404, {"error": {"message": "Not found", "type": "emulator"}})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away; nothing to answer
        except Exception:
            logger.exception("The Stripe emulator failed on %s %s", self.command, self.path)
            self._send_json(
                500, {"error": {"message": "Emulator error, see its log.", "type": "api_error"}}
            )

    def _api(self, path: str, query: str, body: str) -> None:
        if self.server.emulator.latency:
            # Outside the state lock: concurrent requests wait in parallel, as on a network.
            time.sleep(self.server.emulator.latency)
        response = api.handle(
            self.server.state,
            method=self.command,
            path=path,
            query=query,
            body=body,
            authorization=self.headers.get("Authorization"),
            idempotency_key=self.headers.get("Idempotency-Key"),
            stripe_version=self.headers.get("Stripe-Version"),
            stripe_account=self.headers.get("Stripe-Account"),
        )
        headers = {**response.headers, "Cache-Control": "no-cache, no-store"}
        self._send_json(response.status, response.body, headers)

    def _checkout(self, session_id: str, body: str) -> None:
        """The hosted page: GET shows it, POST is a button press."""
        state = self.server.state
        alert = None
        if self.command == "POST":
            form = dict(parse_qsl(body))
            action = form.get("action", "")
            try:
                if action in PAY_ACTIONS:
                    next_url = state.pay(
                        session_id, PAY_ACTIONS[action], email=form.get("email") or None
                    )
                    alert = None if next_url else DECLINED_MESSAGE
                elif action == CANCEL_ACTION:
                    next_url = state.cancel(session_id)
                else:
                    next_url, alert = None, f"Unknown action {action!r}."
            except StripeError as refusal:
                # Paid, expired or unknown meanwhile: the page below says which. Still open:
                # the refusal (a destination that lost its transfers capability) is shown.
                next_url, alert = None, refusal.message
            if next_url:
                self._send(303, b"", "text/plain", {"Location": next_url})
                return
        view = state.checkout_view(session_id)
        if view is None:
            self._send_html(404, render_not_found(session_id))
            return
        session, line_items = view
        self._send_html(200, render_checkout(session, line_items, alert=alert))

    def _onboarding(self, token: str, body: str) -> None:
        """The hosted onboarding page: GET shows it, POST is a button press."""
        state = self.server.state
        view = state.onboarding_view(token)
        if view is None:
            self._send_html(404, render_link_not_found("onboarding"))
            return
        grant, account = view
        if not grant.usable:
            self._send(303, b"", "text/plain", {"Location": grant.refresh_url})
            return
        if self.command == "POST":
            action = dict(parse_qsl(body)).get("action", "")
            if action in ONBOARDING_ACTIONS:
                next_url = state.onboard(token, action)
                self._send(303, b"", "text/plain", {"Location": next_url})
                return
        self._send_html(200, render_onboarding(grant, account))

    def _dashboard(self, token: str) -> None:
        view = self.server.state.dashboard_view(token)
        if view is None:
            self._send_html(404, render_link_not_found("dashboard"))
            return
        self._send_html(200, render_dashboard(*view))

    def _control(self, path: str, query: str, body: str) -> None:
        params = dict(parse_qsl(query))
        params.update(parse_qsl(body))
        for method, pattern, control in _CONTROLS:
            match = pattern.fullmatch(path)
            if match and method == self.command:
                try:
                    result = control(self.server.emulator, params, *match.groups())
                except StripeError as error:
                    self._send_json(error.status, error.to_body())
                except (ValueError, KeyError) as error:
                    self._send_json(400, {"error": {"message": str(error), "type": "emulator"}})
                else:
                    self._send_json(200, {"ok": True} if result is None else result)
                return
        self._send_json(404, {"error": {"message": f"No control {path}", "type": "emulator"}})

    def _send_json(
        self, status: int, payload: object, headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload, indent=2).encode()
        self._send(status, body, "application/json", headers)

    def _send_html(self, status: int, page: str) -> None:
        self._send(status, page.encode(), "text/html; charset=utf-8")

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


# -- /_emulator test controls: (method, path pattern, function(emulator, params, *ids)) ------

Control = Callable[..., Any]


def _attempts(attempts: list[DeliveryAttempt]) -> dict[str, Any]:
    return {"data": [attempt.to_dict() for attempt in attempts]}


def _optional_int(params: dict[str, str], name: str) -> int | None:
    return int(params[name]) if params.get(name) else None


def _deliver(emu: StripeEmulator, p: dict[str, str], event_id: str) -> dict[str, Any]:
    signed_at = _optional_int(p, "signed_at")
    if p.get("delay"):
        emu.deliver_later(event_id, float(p["delay"]), signed_at=signed_at)
        return {"ok": True, "scheduled": True}
    times = int(p.get("times", "1"))
    concurrent = p.get("concurrent", "false").lower() == "true"
    return _attempts(emu.deliver(event_id, times, concurrent=concurrent, signed_at=signed_at))


def _deliver_in_order(emu: StripeEmulator, p: dict[str, str]) -> dict[str, Any]:
    event_ids = [event_id for event_id in p["event_ids"].split(",") if event_id]
    return _attempts(emu.deliver_in_order(event_ids, signed_at=_optional_int(p, "signed_at")))


def _pay(emu: StripeEmulator, p: dict[str, str], session_id: str) -> dict[str, Any]:
    return {"redirect": emu.pay(session_id, p.get("outcome", "paid"), email=p.get("email"))}


def _dispute(emu: StripeEmulator, p: dict[str, str], payment_id: str) -> StripeObject:
    reason = p.get("reason", "fraudulent")
    return emu.create_dispute(payment_id, reason=reason, amount=_optional_int(p, "amount"))


def _account(p: dict[str, str]) -> str | None:
    """The ``account`` parameter of a balance control; absent means the platform."""
    return p.get("account") or None


def _wait(emu: StripeEmulator, p: dict[str, str]) -> dict[str, Any]:
    return {"idle": emu.wait_for_deliveries(float(p.get("timeout", "10")))}


def _route(method: str, pattern: str, control: Control) -> tuple[str, re.Pattern[str], Control]:
    return method, re.compile(pattern), control


_ID = r"([^/]+)"
_CONTROLS = [
    _route("GET", r"/_emulator/events", lambda emu, p: {"data": emu.events(p.get("type"))}),
    _route(
        "GET", r"/_emulator/deliveries", lambda emu, p: _attempts(emu.deliveries(p.get("event_id")))
    ),
    _route("GET", r"/_emulator/queued", lambda emu, p: {"data": emu.queued()}),
    _route("POST", r"/_emulator/delivery/pause", lambda emu, p: emu.pause_delivery()),
    _route("POST", r"/_emulator/delivery/resume", lambda emu, p: emu.resume_delivery()),
    _route("POST", r"/_emulator/wait_for_deliveries", _wait),
    _route("POST", r"/_emulator/reset", lambda emu, p: emu.reset()),
    _route("POST", rf"/_emulator/events/{_ID}/deliver", _deliver),
    _route("POST", r"/_emulator/events/deliver_in_order", _deliver_in_order),
    _route("POST", rf"/_emulator/events/{_ID}/drop", lambda emu, p, event_id: emu.drop(event_id)),
    _route("POST", rf"/_emulator/checkout/sessions/{_ID}/pay", _pay),
    _route(
        "POST",
        rf"/_emulator/checkout/sessions/{_ID}/cancel",
        lambda emu, p, session_id: {"redirect": emu.cancel(session_id)},
    ),
    _route(
        "POST",
        rf"/_emulator/checkout/sessions/{_ID}/settle",
        lambda emu, p, session_id: emu.settle(session_id, p.get("outcome", "succeeded")),
    ),
    _route(
        "POST",
        rf"/_emulator/checkout/sessions/{_ID}/expire_now",
        lambda emu, p, session_id: emu.expire_now(session_id),
    ),
    _route(
        "POST",
        rf"/_emulator/checkout/sessions/{_ID}/expires_at",
        lambda emu, p, session_id: emu.set_expires_at(session_id, int(p["expires_at"])),
    ),
    _route("POST", rf"/_emulator/charges/{_ID}/dispute", _dispute),
    _route("GET", rf"/_emulator/objects/{_ID}", lambda emu, p, object_id: emu.get(object_id)),
    _route(
        "POST",
        rf"/_emulator/disputes/{_ID}/close",
        lambda emu, p, dispute_id: emu.close_dispute(dispute_id, p.get("status", "lost")),
    ),
    _route(
        "POST",
        rf"/_emulator/accounts/{_ID}/state",
        lambda emu, p, account_id: emu.set_account_state(account_id, p["outcome"]),
    ),
    _route(
        "POST",
        r"/_emulator/account_links/expire",
        lambda emu, p: emu.expire_account_link(p["url"]),
    ),
    _route("GET", r"/_emulator/balance", lambda emu, p: emu.balance(_account(p))),
    _route("POST", r"/_emulator/balance/release", lambda emu, p: emu.release_pending(_account(p))),
    _route("POST", r"/_emulator/payouts", lambda emu, p: {"data": emu.pay_out(_account(p))}),
    _route(
        "POST",
        rf"/_emulator/payouts/{_ID}/paid",
        lambda emu, p, payout_id: emu.mark_payout_paid(payout_id),
    ),
]
