"""No Stripe call while a transaction of ours is open (DESIGN.md invariant 11), and the fixes
that rule brought: a double click is one Checkout Session through a partial unique constraint,
a payment for something already owned goes back once, a refund that arrives first still
records the payment, a seat given back can no longer be paid."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from courses.models import Enrollment
from payments import gateway, services
from payments.models import Order
from tests.home.factories import creator_page
from tests.workshops.factories import paid_workshop
from workshops import services as workshop_services
from workshops.models import Registration, SeatInventory

from .helpers import buy, buy_and_get_order, latest_event

pytestmark = pytest.mark.django_db


# -- the gateway's rule ----------------------------------------------------------------------


def test_the_gateway_refuses_to_call_stripe_inside_a_transaction_holding_a_row_lock(
    buyer, stripe_api
):
    with transaction.atomic():
        type(buyer).objects.select_for_update().get(pk=buyer.pk)
        with pytest.raises(gateway.CalledInsideTransaction):
            gateway.retrieve_checkout_session("cs_test_anything")
    # Nothing was sent: the emulator saw no request that made an object or an event.
    assert stripe_api.events() == []


def test_the_gateway_calls_stripe_once_the_transaction_is_committed(
    buyer_client, course, stripe_api
):
    order = buy_and_get_order(buyer_client, course)
    assert order.stripe_checkout_session_id is not None

    session = gateway.retrieve_checkout_session(order.stripe_checkout_session_id)

    assert session.id == order.stripe_checkout_session_id


def test_a_second_pending_order_for_the_same_course_is_refused_by_the_database(
    buyer_client, buyer, course, stripe_api
):
    order = buy_and_get_order(buyer_client, course)

    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(
            buyer=buyer, course=course, item_title="x", amount=order.amount, currency="EUR"
        )
    # A closed order does not count: a new checkout may follow an expired one.
    Order.objects.filter(pk=order.pk).update(status=Order.Status.EXPIRED)
    Order.objects.create(buyer=buyer, course=course, item_title="x", amount=1, currency="EUR")


def test_an_order_about_to_run_out_is_closed_and_its_session_expired_before_a_new_one(
    buyer_client, course, stripe_api
):
    first = buy_and_get_order(buyer_client, course)
    # Four minutes left: too little to pay in, so Buy makes a new session...
    assert first.checkout_expires_at is not None
    Order.objects.filter(pk=first.pk).update(
        checkout_expires_at=first.checkout_expires_at.replace(year=2000)
    )

    second = buy_and_get_order(buyer_client, course)

    # ...after closing the first, so that the buyer can't pay both.
    first.refresh_from_db()
    assert second.pk != first.pk
    assert first.status == Order.Status.EXPIRED
    assert stripe_api.get(first.stripe_checkout_session_id)["status"] == "expired"
    assert stripe_api.get(second.stripe_checkout_session_id)["status"] == "open"


# -- a payment for something the buyer owns already -------------------------------------------


def _second_payment_settling_after_the_first(buyer_client, course, stripe_api, deliver):
    """Order A is paid by a delayed method (SEPA); meanwhile its checkout ended and the buyer
    paid order B by card. Returns (A, the event that settles A)."""
    slow = buy_and_get_order(buyer_client, course)
    stripe_api.pay(slow.stripe_checkout_session_id, "delayed")
    assert deliver(latest_event(stripe_api, "checkout.session.completed")).status_code == 200
    # The order closed unpaid on our side (as the old checkout did when a session ran out).
    Order.objects.filter(pk=slow.pk).update(status=Order.Status.EXPIRED)
    card = buy_and_get_order(buyer_client, course)
    stripe_api.pay(card.stripe_checkout_session_id)
    assert deliver(latest_event(stripe_api, "checkout.session.completed")).status_code == 200
    assert Enrollment.objects.get().order_id == card.pk
    settled = stripe_api.settle(slow.stripe_checkout_session_id, "succeeded")
    return slow, settled


def test_a_second_payment_for_an_owned_course_is_refunded_once_with_one_e_mail(
    buyer_client, course, stripe_api, deliver, mailoutbox
):
    slow, settled = _second_payment_settling_after_the_first(
        buyer_client, course, stripe_api, deliver
    )
    mailoutbox.clear()

    assert deliver(settled).status_code == 200
    assert deliver(settled).status_code == 200  # redelivered

    slow.refresh_from_db()
    assert slow.status == Order.Status.PAID
    assert slow.refunded_automatically
    assert slow.refund_requested_at is not None
    [refund] = stripe_api.objects("refund")
    assert refund["payment_intent"] == slow.stripe_payment_intent_id
    assert refund["amount"] == slow.amount
    assert [m.subject for m in mailoutbox] == [f"Refund issued: you already have {course.title}"]
    assert "refunded your second payment" in mailoutbox[0].body

    # Stripe confirms the refund (twice): the order ends refunded, access stays, no more mail.
    refunded = latest_event(stripe_api, "charge.refunded")
    assert deliver(refunded).status_code == 200
    assert deliver(refunded).status_code == 200
    slow.refresh_from_db()
    assert slow.status == Order.Status.REFUNDED
    assert Enrollment.objects.get().status == Enrollment.Status.ACTIVE
    assert len(stripe_api.objects("refund")) == 1
    assert len(mailoutbox) == 1


def test_the_refund_of_a_second_payment_arriving_before_its_payment_event_changes_nothing_more(
    buyer_client, course, stripe_api, deliver, mailoutbox
):
    slow, settled = _second_payment_settling_after_the_first(
        buyer_client, course, stripe_api, deliver
    )
    assert deliver(settled).status_code == 200
    refunded = latest_event(stripe_api, "charge.refunded")
    mailoutbox.clear()

    # Out of order: the refund first, then the payment's event again.
    assert deliver(refunded).status_code == 200
    assert deliver(settled).status_code == 200

    slow.refresh_from_db()
    assert slow.status == Order.Status.REFUNDED
    assert len(stripe_api.objects("refund")) == 1
    assert Enrollment.objects.get().status == Enrollment.Status.ACTIVE
    assert mailoutbox == []


def test_a_refund_arriving_before_the_payment_event_records_paid_at_and_the_payment_intent(
    buyer_client, course, stripe_api, deliver, mailoutbox
):
    order = buy_and_get_order(buyer_client, course)
    stripe_api.pay(order.stripe_checkout_session_id)
    completed = latest_event(stripe_api, "checkout.session.completed")
    intent_id = completed["data"]["object"]["payment_intent"]
    # Staff refunded in Stripe's dashboard before our webhook heard of the payment.
    gateway.client().v1.refunds.create(params={"payment_intent": intent_id})

    assert deliver(latest_event(stripe_api, "charge.refunded")).status_code == 200
    assert deliver(completed).status_code == 200

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert order.stripe_payment_intent_id == intent_id
    assert order.paid_at is not None
    assert order.refunded_at is not None
    assert order.paid_at <= order.refunded_at
    assert not Enrollment.objects.exists()


# -- a held seat given back ----------------------------------------------------------------


def test_giving_a_held_seat_back_expires_its_checkout_session(
    buyer_client, buyer, creator, stripe_api, django_capture_on_commit_callbacks
):
    storefront = creator_page(title="Maya Okafor", slug="maya-okafor", creator=creator)
    workshop = paid_workshop(parent=storefront, price_amount=2500, currency="EUR", capacity=3)
    response = buyer_client.post(reverse("payments:buy_workshop", args=[workshop.pk]))
    order = Order.objects.get(stripe_checkout_url=response["Location"])
    assert stripe_api.get(order.stripe_checkout_session_id)["status"] == "open"
    seat = Registration.objects.get(learner=buyer)

    with django_capture_on_commit_callbacks(execute=True):
        workshop_services.cancel_registration(registration=seat)

    assert stripe_api.get(order.stripe_checkout_session_id)["status"] == "expired"
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert SeatInventory.objects.get(workshop=workshop).held == 0
    assert services.expire_checkout_of_seat(registration_id=seat.pk) is None  # nothing left


def test_a_second_buy_click_reuses_the_order_and_the_session(buyer_client, course, stripe_api):
    first = buy(buyer_client, course)
    second = buy(buyer_client, course)

    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1
    assert len(stripe_api.objects("checkout.session")) == 1
