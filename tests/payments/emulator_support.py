"""What the emulator's own tests share: a webhook receiver that verifies like the app, raw
HTTP requests, and a Checkout Session's parameters.

Its fixtures (``receiver``, ``emulator``, ``stripe_client``) are in ``conftest.py``.
"""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode, urlsplit

import stripe

SECRET = "whsec_test_emulator"
API_KEY = "sk_test_emulator"
SUCCESS_URL = "http://127.0.0.1:8000/checkout/success/?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://127.0.0.1:8000/checkout/cancelled/"


@dataclass(frozen=True)
class Received:
    event_id: str
    event_type: str
    verified: bool
    error: str
    payload: dict[str, Any]


class Receiver:
    """A stdlib HTTP endpoint that verifies each webhook's signature and records it."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.fail_next = 0  # answer this many verified deliveries with a 500 first
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhook/"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def verified(self, event_type: str | None = None) -> list[Received]:
        return [
            r
            for r in self.received()
            if r.verified and (event_type is None or r.event_type == event_type)
        ]

    def _record(self, body: bytes, signature: str | None) -> int:
        payload = json.loads(body)
        try:
            event = stripe.Webhook.construct_event(body, signature, self.secret, tolerance=300)
        except stripe.SignatureVerificationError as problem:
            received = Received(payload["id"], payload["type"], False, str(problem), payload)
            status = 400
        else:
            received = Received(event.id, event.type, True, "", payload)
            status = 200
        with self._lock:
            self._received.append(received)
            if received.verified and self.fail_next > 0:
                self.fail_next -= 1
                status = 500
        return status

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver._record(body, self.headers.get("Stripe-Signature"))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output quiet

        return Handler


# -- helpers -------------------------------------------------------------------------------


def session_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 1500,
                    "product_data": {"name": "Sourdough in 7 days", "description": "Day by day"},
                },
                "quantity": 1,
            }
        ],
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "customer_email": "learner@example.com",
        "client_reference_id": "order-7",
        "metadata": {"order_id": "7"},
        "payment_intent_data": {"metadata": {"order_id": "7"}},
    }
    params.update(overrides)
    return params


def create_session(client: Any, **overrides: Any) -> Any:
    return client.v1.checkout.sessions.create(params=session_params(**overrides))


def request(
    method: str, url: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """One raw HTTP request, redirects not followed: (status, headers, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    body = urlencode(form) if form is not None else None
    all_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=all_headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()
