"""Races on a held seat with real concurrency: the emulator POSTs to the live server from its
own threads while the sweeper runs in another, each with its own PostgreSQL connection."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from payments.models import Order
from tests.support.threads import LockstepThreads
from tests.workshops.factories import a_learner, paid_workshop
from workshops import services as workshop_services
from workshops.models import Registration, SeatInventory

from .helpers import latest_event

pytestmark = pytest.mark.django_db(transaction=True)


def test_expired_webhook_twice_and_the_sweeper_at_once_free_the_seat_once(
    buyer_client, stripe_emulator
):
    workshop = paid_workshop(capacity=3)
    response = buyer_client.post(reverse("payments:buy_workshop", args=[workshop.pk]))
    order = Order.objects.get(stripe_checkout_url=response["Location"])
    assert order.checkout_expires_at is not None
    # Someone else's hold that is not due: it must survive all of this.
    workshop_services.hold_seat(
        learner=a_learner(), workshop=workshop, now=timezone.now() + timedelta(minutes=10)
    )
    assert SeatInventory.objects.get(workshop=workshop).held == 2
    stripe_emulator.pause_delivery()  # only the explicit deliveries below
    stripe_emulator.expire_now(order.stripe_checkout_session_id)
    expired = latest_event(stripe_emulator, "checkout.session.expired")
    sweep_at = order.checkout_expires_at + timedelta(seconds=1)

    with LockstepThreads(3) as threads:
        outcomes = threads.run(
            [
                lambda: stripe_emulator.deliver(expired["id"]),
                lambda: stripe_emulator.deliver(expired["id"]),
                lambda: workshop_services.release_expired_holds(now=sweep_at),
            ]
        )

    assert [outcome.error for outcome in outcomes] == [None, None, None]
    assert [attempt.status for attempt in stripe_emulator.deliveries(expired["id"])] == [200, 200]
    assert SeatInventory.objects.get(workshop=workshop).held == 1
    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    assert order.workshop_registration is not None
    assert order.workshop_registration.status == Registration.Status.RELEASED
