"""The emulator delivers its signed webhooks to a live server, as Stripe would, with real
concurrency: threads with their own PostgreSQL connections, committed transactions.
"""

import threading
import time
from urllib.parse import urlsplit

import pytest
from django.db import connections
from django.test import Client

from courses.models import Enrollment, LessonDelivery
from payments.models import Order, StripeEvent

from .helpers import buy, buy_and_get_order, latest_event

# The live server's threads see only committed rows. The pages the migrations made, which
# the flush after each test removes, are made again by factories.home_page.
pytestmark = pytest.mark.django_db(transaction=True)


def all_delivered(emulator) -> None:
    assert emulator.wait_for_deliveries(timeout=15), "webhooks still in flight"
    refused = [a for a in emulator.deliveries() if not a.ok]
    assert not refused, refused


def test_paying_on_the_emulator_pays_the_order_through_the_webhook(
    buyer_client, buyer, course, stripe_emulator, mailoutbox
):
    order = buy_and_get_order(buyer_client, course)

    stripe_emulator.pay(order.stripe_checkout_session_id)
    all_delivered(stripe_emulator)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    enrollment = Enrollment.objects.get()
    assert (enrollment.learner, enrollment.order_id) == (buyer, order.pk)
    assert LessonDelivery.objects.filter(enrollment=enrollment).count() == 2
    assert [m.subject for m in mailoutbox] == [f"Payment received: {course.title}"]
    event = latest_event(stripe_emulator, "checkout.session.completed")
    assert StripeEvent.objects.get().id == event["id"]


def test_the_same_event_five_times_in_a_row_and_five_at_once_enrolls_once(
    buyer_client, course, stripe_emulator, mailoutbox
):
    order = buy_and_get_order(buyer_client, course)
    stripe_emulator.pause_delivery()  # no automatic delivery: the five are the first ones
    stripe_emulator.pay(order.stripe_checkout_session_id)
    event = latest_event(stripe_emulator, "checkout.session.completed")
    # A replay signed ten minutes ago is refused and leaves no trace.
    [stale] = stripe_emulator.deliver(event["id"], signed_at=int(time.time()) - 600)
    assert stale.status == 400
    assert not StripeEvent.objects.exists()
    assert Order.objects.get().status == Order.Status.PENDING

    at_once = stripe_emulator.deliver(event["id"], times=5, concurrent=True)
    in_a_row = stripe_emulator.deliver(event["id"], times=5)

    assert [a.status for a in at_once + in_a_row] == [200] * 10
    assert Order.objects.get().status == Order.Status.PAID
    assert Enrollment.objects.count() == 1
    assert LessonDelivery.objects.count() == 2
    assert len(mailoutbox) == 1
    assert StripeEvent.objects.count() == 1


def test_async_succeeded_delivered_before_completed_pays_once(
    buyer_client, course, stripe_emulator, mailoutbox
):
    order = buy_and_get_order(buyer_client, course)
    stripe_emulator.pause_delivery()
    stripe_emulator.pay(order.stripe_checkout_session_id, "delayed")
    stripe_emulator.settle(order.stripe_checkout_session_id, "succeeded")
    completed = latest_event(stripe_emulator, "checkout.session.completed")
    succeeded = latest_event(stripe_emulator, "checkout.session.async_payment_succeeded")

    attempts = stripe_emulator.deliver_in_order([succeeded["id"], completed["id"]])

    assert [a.status for a in attempts] == [200, 200]
    assert Order.objects.get().status == Order.Status.PAID
    assert Enrollment.objects.count() == 1
    assert len(mailoutbox) == 1


def test_cancel_ends_cancelled_even_though_the_expiry_sends_an_expired_event(
    buyer_client, course, stripe_emulator
):
    order = buy_and_get_order(buyer_client, course)
    cancel_url = stripe_emulator.cancel(order.stripe_checkout_session_id)
    assert cancel_url is not None

    response = buyer_client.get(urlsplit(cancel_url).path)
    all_delivered(stripe_emulator)

    assert response.status_code == 302
    assert Order.objects.get().status == Order.Status.CANCELLED
    assert stripe_emulator.get(order.stripe_checkout_session_id)["status"] == "expired"
    expired = latest_event(stripe_emulator, "checkout.session.expired")
    assert StripeEvent.objects.get(pk=expired["id"]).processed_at is not None


def test_two_concurrent_buy_clicks_make_one_order_and_one_session(buyer, course, stripe_api):
    barrier = threading.Barrier(2)
    locations: list[str] = []
    errors: list[BaseException] = []

    def click() -> None:
        try:
            client = Client()  # its own session, in its own thread, on its own connection
            client.force_login(buyer)
            barrier.wait(timeout=10)
            response = buy(client, course)
            assert response.status_code == 303, response
            locations.append(response["Location"])
        except BaseException as problem:
            errors.append(problem)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors, errors
    assert len(locations) == 2
    assert locations[0] == locations[1]
    assert Order.objects.count() == 1
    assert len(stripe_api.objects("checkout.session")) == 1
