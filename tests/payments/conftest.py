"""Fixtures of the payments tests: the Stripe emulator (the only fake), signed webhooks, pages.

Two ways to get events to the webhook view:

- ``stripe_emulator``: the emulator POSTs signed events to the live server, exactly as Stripe
  would. Needs ``django_db(transaction=True)``: the live server's threads only see committed
  rows. (tests/conftest.py rebuilds the site's page tree for such tests.)
- ``stripe_api`` + ``deliver``: the emulator only stores its events; the test signs each one as
  Stripe does and posts it through Django's test client, inside the test's transaction (fast).
"""

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import stripe
from django.conf import settings as django_settings

from courses.models import CoursePage
from payments.emulator import StripeEmulator
from tests.accounts.factories import UserFactory

from .emulator_support import API_KEY, SECRET, Receiver
from .factories import paid_course, storefront
from .helpers import WEBHOOK_PATH, post_webhook, sign

# Quick automatic retries: a refused delivery is retried in well under a second.
FAST_RETRIES = (0.05, 0.1, 0.2, 0.4)


def _quiet(emulator: StripeEmulator) -> None:
    # Let a delivery in flight finish before the test's data goes away; send nothing new.
    emulator.pause_delivery()
    emulator.wait_for_deliveries(timeout=10)


# One emulator of each kind per session (starting one costs a tenth of a second); each test
# gets it reset: no objects, events, idempotency keys or deliveries, delivery resumed.


@pytest.fixture(scope="session")
def _live_emulator(live_server) -> Iterator[StripeEmulator]:
    emulator = StripeEmulator(
        port=0,
        webhook_url=f"{live_server.url}{WEBHOOK_PATH}",
        webhook_secret=django_settings.STRIPE_WEBHOOK_SECRET,
        retry_delays=FAST_RETRIES,
    ).start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def _storing_emulator() -> Iterator[StripeEmulator]:
    emulator = StripeEmulator(port=0).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def stripe_emulator(_live_emulator, settings) -> Iterator[StripeEmulator]:
    """The emulator, delivering signed webhooks to the live server's endpoint."""
    _live_emulator.reset()
    settings.STRIPE_API_BASE = _live_emulator.base_url
    yield _live_emulator
    _quiet(_live_emulator)


@pytest.fixture
def stripe_api(_storing_emulator, settings) -> Iterator[StripeEmulator]:
    """The emulator without a webhook endpoint: its events are stored for ``deliver``."""
    _storing_emulator.reset()
    settings.STRIPE_API_BASE = _storing_emulator.base_url
    yield _storing_emulator


@pytest.fixture
def deliver(client, settings, django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """Post a Stripe event (a dict) to the webhook view, signed as Stripe signs it.

    On-commit callbacks (the e-mails) run as they would after a real commit.
    """

    def deliver(event: dict[str, Any], *, signed_at: int | None = None):
        body = json.dumps(event, indent=2)
        signature = sign(body, settings.STRIPE_WEBHOOK_SECRET, signed_at)
        with django_capture_on_commit_callbacks(execute=True):
            return post_webhook(client, body, signature)

    return deliver


# -- the emulator's own tests: a fresh emulator POSTing to a verifying receiver -----------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook endpoint that verifies each delivery's signature as the app does."""
    receiver = Receiver(SECRET).start()
    yield receiver
    receiver.stop()


@pytest.fixture
def emulator(receiver: Receiver) -> Iterator[StripeEmulator]:
    """A fresh emulator of its own, delivering to ``receiver`` with quick retries."""
    emu = StripeEmulator(
        webhook_url=receiver.url, webhook_secret=SECRET, retry_delays=FAST_RETRIES
    ).start()
    yield emu
    emu.stop()


@pytest.fixture
def stripe_client(emulator: StripeEmulator) -> Any:
    # Typed Any: the tests send parameters the typed client refuses (unknown ones, on purpose)
    # and read expanded fields whose static type is "id or object".
    return stripe.StripeClient(
        API_KEY, base_addresses={"api": emulator.base_url}, max_network_retries=0
    )


@pytest.fixture
def buyer():
    return UserFactory(email="buyer@example.com", first_name="Bea")


@pytest.fixture
def creator():
    return UserFactory(email="maya@example.com", first_name="Maya")


@pytest.fixture
def course(creator) -> CoursePage:
    return paid_course(storefront_page=storefront(creator=creator), price_amount=4900)


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer)
    return client
