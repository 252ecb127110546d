"""Refunds: who may ask for one, and what Stripe's ``charge.refunded`` changes."""

from datetime import timedelta
from typing import Any

import pytest

from courses.models import Enrollment, LessonDelivery
from courses.selectors import Denial, lesson_access
from payments import gateway, services
from payments.models import Order

from .factories import paid_course, storefront, user
from .helpers import buy_and_get_order, latest_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return user(email="staff@example.com", is_staff=True)


@pytest.fixture
def paid_order(buyer_client, course, stripe_api, deliver) -> Order:
    order = buy_and_get_order(buyer_client, course)
    stripe_api.pay(order.stripe_checkout_session_id)
    assert deliver(latest_event(stripe_api, "checkout.session.completed")).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def refunds(emulator) -> list[dict[str, Any]]:
    return emulator.objects("refund")


def test_staff_refund_ends_access_cancels_unsent_lessons_and_e_mails_the_learner(
    paid_order, staff, buyer, course, stripe_api, deliver, mailoutbox
):
    enrollment = Enrollment.objects.get()
    day0, day1 = course.lessons()
    first = enrollment.deliveries.get(lesson=day0)
    assert lesson_access(user=buyer, lesson=day0, now=first.due_at).allowed
    # The first lesson went out already; the second is still waiting in the outbox.
    LessonDelivery.objects.filter(pk=first.pk).update(
        status=LessonDelivery.Status.SENT, sent_at=first.due_at
    )

    order = services.request_refund(user=staff, order=paid_order)

    assert order.refund_requested_at is not None
    assert order.status == Order.Status.PAID  # until Stripe confirms
    [refund] = refunds(stripe_api)
    assert (refund["amount"], refund["currency"], refund["status"]) == (4900, "eur", "succeeded")
    assert refund["payment_intent"] == paid_order.stripe_payment_intent_id
    assert refund["metadata"] == {"order_id": str(paid_order.pk)}

    refunded_event = latest_event(stripe_api, "charge.refunded")
    assert deliver(refunded_event).status_code == 200
    assert deliver(latest_event(stripe_api, "refund.created")).status_code == 200
    assert deliver(refunded_event).status_code == 200  # a redelivery changes nothing

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert order.refunded_at is not None
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.REFUNDED
    statuses = dict(enrollment.deliveries.values_list("lesson_id", "status"))
    assert statuses == {day0.pk: LessonDelivery.Status.SENT, day1.pk: "cancelled"}
    assert [m.subject for m in mailoutbox] == [
        f"Payment received: {course.title}",
        f"Refund issued: {course.title}",
    ]
    access = lesson_access(user=buyer, lesson=day0, now=first.due_at + timedelta(days=1))
    assert access.denial == Denial.REFUNDED


def test_refund_requested_twice_refunds_once(paid_order, staff, stripe_api):
    services.request_refund(user=staff, order=paid_order)
    services.request_refund(user=staff, order=paid_order)

    assert len(refunds(stripe_api)) == 1
    assert len(stripe_api.events(type="charge.refunded")) == 1


def test_creator_may_refund_their_course_within_the_window(paid_order, creator, stripe_api):
    assert paid_order.paid_at is not None

    services.request_refund(
        user=creator, order=paid_order, now=paid_order.paid_at + timedelta(days=13, hours=23)
    )

    assert len(refunds(stripe_api)) == 1


def test_creator_may_not_refund_after_the_window(paid_order, creator, stripe_api):
    assert paid_order.paid_at is not None

    with pytest.raises(services.RefundNotAllowed, match="within 14 days"):
        services.request_refund(
            user=creator, order=paid_order, now=paid_order.paid_at + timedelta(days=14, hours=1)
        )

    assert refunds(stripe_api) == []
    paid_order.refresh_from_db()
    assert paid_order.refund_requested_at is None


def test_the_creator_window_comes_from_settings(paid_order, creator, stripe_api, settings):
    settings.CREATOR_REFUND_WINDOW_DAYS = 3
    assert paid_order.paid_at is not None

    with pytest.raises(services.RefundNotAllowed, match="within 3 days"):
        services.request_refund(
            user=creator, order=paid_order, now=paid_order.paid_at + timedelta(days=4)
        )


def test_staff_may_refund_long_after_the_creator_window(paid_order, staff, stripe_api):
    assert paid_order.paid_at is not None

    services.request_refund(user=staff, order=paid_order, now=paid_order.paid_at + timedelta(90))

    assert len(refunds(stripe_api)) == 1


def test_a_creator_may_never_refund_another_creators_course(paid_order, stripe_api):
    other_creator = user(email="theo@example.com")
    paid_course(
        storefront_page=storefront(title="Theo Lindqvist", creator=other_creator), title="SQL"
    )

    with pytest.raises(services.RefundNotAllowed, match="Only staff or the course's creator"):
        services.request_refund(user=other_creator, order=paid_order)

    assert refunds(stripe_api) == []


def test_a_learner_may_never_refund(paid_order, buyer, stripe_api):
    with pytest.raises(services.RefundNotAllowed):
        services.request_refund(user=buyer, order=paid_order)

    assert refunds(stripe_api) == []


def test_an_unpaid_order_cannot_be_refunded(buyer_client, course, staff, stripe_api):
    order = buy_and_get_order(buyer_client, course)

    with pytest.raises(services.RefundNotAllowed, match="Only paid orders"):
        services.request_refund(user=staff, order=order)


def test_a_partial_refund_made_in_stripe_keeps_access(paid_order, stripe_api, deliver, mailoutbox):
    # Staff refunded part of the price in Stripe's dashboard (a goodwill gesture).
    gateway.client().v1.refunds.create(
        params={"payment_intent": paid_order.stripe_payment_intent_id or "", "amount": 1000}
    )
    event = latest_event(stripe_api, "charge.refunded")
    assert event["data"]["object"]["refunded"] is False

    assert deliver(event).status_code == 200

    assert Order.objects.get().status == Order.Status.PAID
    assert Enrollment.objects.get().status == Enrollment.Status.ACTIVE
    assert len(mailoutbox) == 1  # the payment confirmation only
