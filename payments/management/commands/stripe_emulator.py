"""``manage.py stripe_emulator``: run the loopback Stripe emulator until Ctrl-C.

Defaults come from settings when present: ``STRIPE_EMULATOR_PORT`` (else the port of a loopback
``STRIPE_API_BASE``, else 12111), ``STRIPE_WEBHOOK_URL`` (else this site's webhook view on
127.0.0.1:8000) and ``STRIPE_WEBHOOK_SECRET`` (else a generated one, printed at start).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.emulator import StripeEmulator

DEFAULT_PORT = 12111
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/payments/stripe/webhook/"


class Command(BaseCommand):
    help = "Run the loopback Stripe emulator: API, hosted test checkout page, signed webhooks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=None, help="0 picks a free port.")
        parser.add_argument(
            "--webhook-url", default=None, help='Where to POST events; "" stores them only.'
        )
        parser.add_argument("--webhook-secret", default=None, help="The whsec_... signing secret.")
        parser.add_argument(
            "--funds-available-at-once",
            action="store_true",
            help="Payments reach balances as available funds, not pending ones.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"] if options["port"] is not None else _default_port()
        webhook_url = options["webhook_url"]
        if webhook_url is None:
            webhook_url = getattr(settings, "STRIPE_WEBHOOK_URL", DEFAULT_WEBHOOK_URL)
        secret = options["webhook_secret"] or getattr(settings, "STRIPE_WEBHOOK_SECRET", None)
        _show_logs(self.stdout, options["verbosity"])
        try:
            emulator = StripeEmulator(
                port=port,
                webhook_url=webhook_url or None,
                webhook_secret=secret or None,
                funds_available_at_once=options["funds_available_at_once"],
            ).start()
        except (OSError, ValueError) as problem:
            raise CommandError(f"Cannot start the Stripe emulator: {problem}") from problem

        self.stdout.write(f"Stripe emulator listening on {emulator.base_url}")
        if webhook_url:
            self.stdout.write(f"Webhooks go to {webhook_url}")
        else:
            self.stdout.write("No webhook URL: events are stored only.")
        if not secret:
            self.stdout.write(f"Webhook signing secret: {emulator.webhook_secret}")
        self.stdout.write("Press Ctrl-C to stop.")
        try:
            _wait_for_interrupt()
        finally:
            emulator.stop()
            self.stdout.write("Stripe emulator stopped.")


def _default_port() -> int:
    configured = getattr(settings, "STRIPE_EMULATOR_PORT", None)
    if configured is not None:
        return int(configured)
    # The app's own API base, when it points at a loopback emulator, names the port to use.
    api_base = urlsplit(getattr(settings, "STRIPE_API_BASE", "") or "")
    if api_base.hostname in ("127.0.0.1", "localhost") and api_base.port:
        return api_base.port
    return DEFAULT_PORT


def _wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM (honcho stops its processes with SIGTERM)."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, request_stop)
    try:
        while not stop.wait(timeout=1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _show_logs(stream: Any, verbosity: int) -> None:
    """Print the emulator's events and deliveries (and, at -v 2, every request)."""
    if verbosity < 1:
        return
    logger = logging.getLogger("payments.emulator")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbosity >= 2 else logging.INFO)
    logger.propagate = False
