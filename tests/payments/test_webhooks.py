"""Stripe's events through the webhook view: verified, stored once, applied once, in any order.

The emulator makes the events (through the real ``stripe`` client); each test signs them as
Stripe does and posts them with Django's test client, inside the test's transaction.
``test_webhook_delivery.py`` has the same paths with the emulator delivering to a live server.
"""

import json
import time
import uuid

import pytest
from django.db import connection

from courses.models import Enrollment, LessonDelivery
from payments.models import Order, StripeEvent

from .helpers import buy_and_get_order, latest_event, post_webhook, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(buyer_client, course, stripe_api) -> Order:
    return buy_and_get_order(buyer_client, course)


def completed_event_of_a_paid_order(stripe_api, order: Order) -> dict:
    stripe_api.pay(order.stripe_checkout_session_id)
    return latest_event(stripe_api, "checkout.session.completed")


def assert_untouched(order: Order) -> None:
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.paid_at is None
    assert not Enrollment.objects.exists()


# -- paying ----------------------------------------------------------------------------------


def test_completed_paid_session_marks_the_order_paid_and_enrolls_once(
    order, buyer, course, stripe_api, deliver, mailoutbox
):
    event = completed_event_of_a_paid_order(stripe_api, order)

    response = deliver(event)

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.paid_at is not None
    session = stripe_api.get(order.stripe_checkout_session_id)
    assert order.stripe_payment_intent_id == session["payment_intent"]
    enrollment = Enrollment.objects.get()
    assert (enrollment.learner, enrollment.course_id, enrollment.order_id) == (
        buyer,
        course.pk,
        order.pk,
    )
    # The lesson outbox is written with the enrolment: one row per lesson, day 0 first.
    deliveries = LessonDelivery.objects.filter(enrollment=enrollment).order_by("due_at")
    assert [d.lesson.day for d in deliveries] == [0, 1]
    assert {d.status for d in deliveries} == {LessonDelivery.Status.PENDING}
    assert [m.subject for m in mailoutbox] == [f"Payment received: {course.title}"]
    assert mailoutbox[0].to == ["buyer@example.com"]
    stored = StripeEvent.objects.get()
    assert (stored.id, stored.type) == (event["id"], "checkout.session.completed")
    assert stored.processed_at is not None
    assert stored.error == ""


def test_the_same_event_five_times_enrolls_once_and_e_mails_once(
    order, stripe_api, deliver, mailoutbox
):
    event = completed_event_of_a_paid_order(stripe_api, order)

    statuses = [deliver(event).status_code for _ in range(5)]

    assert statuses == [200] * 5
    assert Order.objects.get().status == Order.Status.PAID
    assert Enrollment.objects.count() == 1
    assert LessonDelivery.objects.count() == 2
    assert len(mailoutbox) == 1
    assert StripeEvent.objects.count() == 1


def test_async_payment_succeeded_before_completed_pays_once(order, stripe_api, deliver, mailoutbox):
    stripe_api.pay(order.stripe_checkout_session_id, "delayed")
    stripe_api.settle(order.stripe_checkout_session_id, "succeeded")
    completed = latest_event(stripe_api, "checkout.session.completed")
    succeeded = latest_event(stripe_api, "checkout.session.async_payment_succeeded")
    assert completed["data"]["object"]["payment_status"] == "unpaid"

    assert deliver(succeeded).status_code == 200
    assert deliver(completed).status_code == 200

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.stripe_payment_intent_id == completed["data"]["object"]["payment_intent"]
    assert Enrollment.objects.count() == 1
    assert len(mailoutbox) == 1
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == 2


def test_delayed_payment_waits_for_settlement_then_pays(order, stripe_api, deliver, mailoutbox):
    stripe_api.pay(order.stripe_checkout_session_id, "delayed")
    deliver(latest_event(stripe_api, "checkout.session.completed"))

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.stripe_payment_intent_id is not None  # kept for refunds and disputes
    assert not Enrollment.objects.exists()

    stripe_api.settle(order.stripe_checkout_session_id, "succeeded")
    deliver(latest_event(stripe_api, "checkout.session.async_payment_succeeded"))

    assert Order.objects.get().status == Order.Status.PAID
    assert Enrollment.objects.count() == 1
    assert len(mailoutbox) == 1


def test_async_payment_failed_fails_the_order_without_enrollment(
    order, stripe_api, deliver, mailoutbox
):
    stripe_api.pay(order.stripe_checkout_session_id, "delayed")
    stripe_api.settle(order.stripe_checkout_session_id, "failed")

    deliver(latest_event(stripe_api, "checkout.session.async_payment_failed"))
    deliver(latest_event(stripe_api, "checkout.session.completed"))  # late, and unpaid

    assert Order.objects.get().status == Order.Status.FAILED
    assert not Enrollment.objects.exists()
    assert mailoutbox == []


# -- ending unpaid -----------------------------------------------------------------------------


def test_expired_session_expires_the_order(order, stripe_api, deliver):
    stripe_api.expire_now(order.stripe_checkout_session_id)

    assert deliver(latest_event(stripe_api, "checkout.session.expired")).status_code == 200

    assert Order.objects.get().status == Order.Status.EXPIRED
    assert not Enrollment.objects.exists()


def test_expired_event_after_payment_changes_nothing(order, stripe_api, deliver):
    paid = completed_event_of_a_paid_order(stripe_api, order)
    deliver(paid)
    expired = dict(paid, id="evt_forged_but_signed_expired", type="checkout.session.expired")

    deliver(expired)

    assert Order.objects.get().status == Order.Status.PAID
    assert Enrollment.objects.get().has_access


def test_payment_after_cancel_still_buys_the_course(order, stripe_api, deliver):
    # The buyer paid in one tab and cancelled in another: the money was taken.
    event = completed_event_of_a_paid_order(stripe_api, order)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)

    deliver(event)

    assert Order.objects.get().status == Order.Status.PAID
    assert Enrollment.objects.count() == 1


# -- refusing what is not from Stripe ----------------------------------------------------------


def body_of(event: dict) -> str:
    return json.dumps(event, indent=2)


@pytest.mark.parametrize(
    "scenario",
    [
        "tampered signature",
        "tampered body",
        "wrong secret",
        "stale timestamp",
        "missing header",
        "garbage header",
    ],
)
def test_unverified_webhook_is_400_and_stores_nothing(
    scenario, client, order, stripe_api, settings, mailoutbox
):
    event = completed_event_of_a_paid_order(stripe_api, order)
    body = body_of(event)
    secret = settings.STRIPE_WEBHOOK_SECRET
    signature: str | None = sign(body, secret)
    if scenario == "tampered signature":
        assert signature is not None
        signature = signature[:-4] + ("0000" if not signature.endswith("0000") else "1111")
    elif scenario == "tampered body":
        body = body.replace(str(order.pk), str(uuid.uuid4()))
    elif scenario == "wrong secret":
        signature = sign(body, "whsec_someone_else")
    elif scenario == "stale timestamp":
        signature = sign(body, secret, int(time.time()) - 600)  # ten minutes ago
    elif scenario == "missing header":
        signature = None
    elif scenario == "garbage header":
        signature = "nonsense"

    response = post_webhook(client, body, signature)

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0
    assert_untouched(order)
    assert mailoutbox == []


@pytest.mark.parametrize(
    "body",
    [
        '{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": ',
        "[1, 2, 3]",
        '"just a string"',
        '{"id": "evt_1", "type": "checkout.session.completed"}',
        '{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": "cs_1"}}',
        '{"id": 42, "type": "checkout.session.completed", "data": {"object": {}}}',
    ],
    ids=["truncated JSON", "a list", "a string", "no data", "data not an object", "id not text"],
)
def test_malformed_but_signed_body_is_400_and_stores_nothing(body, client, settings):
    response = post_webhook(client, body, sign(body, settings.STRIPE_WEBHOOK_SECRET))

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


def test_body_that_is_not_utf8_is_400(client, settings):
    body = b'{"id": "evt_\xff"}'
    signature = sign(body.decode("latin-1"), settings.STRIPE_WEBHOOK_SECRET)

    assert post_webhook(client, body, signature).status_code == 400
    assert StripeEvent.objects.count() == 0


def test_webhook_answers_only_post(client):
    assert client.get("/payments/stripe/webhook/").status_code == 405


# -- events that are not for us ----------------------------------------------------------------


@pytest.mark.parametrize(
    "order_id",
    ["0b0e7f5c-8a52-4b07-9a55-6d0f3c2b1a90", "not-a-uuid", ""],
    ids=["unknown uuid", "not a uuid", "none"],
)
def test_event_naming_no_order_of_ours_is_stored_logged_and_acknowledged(
    order_id, order, stripe_api, deliver, caplog
):
    event = completed_event_of_a_paid_order(stripe_api, order)
    session = event["data"]["object"]
    session["metadata"] = {"order_id": order_id}
    session["client_reference_id"] = order_id or None
    event["id"] = "evt_for_another_shop"

    response = deliver(event)

    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.id == "evt_for_another_shop"
    assert stored.processed_at is not None
    assert "names no order of ours" in caplog.text
    assert_untouched(order)


def test_event_type_we_do_not_handle_is_stored_and_acknowledged(order, stripe_api, deliver):
    deliver(completed_event_of_a_paid_order(stripe_api, order))
    refund_created = {
        "id": "evt_refund_created",
        "object": "event",
        "type": "customer.created",
        "data": {"object": {"id": "cus_1", "object": "customer"}},
    }

    assert deliver(refund_created).status_code == 200
    assert StripeEvent.objects.get(pk="evt_refund_created").processed_at is not None


# -- a failure while applying --------------------------------------------------------------------


def test_failure_while_applying_rolls_back_answers_500_and_a_redelivery_applies_it(
    order, stripe_api, deliver, mailoutbox
):
    event = completed_event_of_a_paid_order(stripe_api, order)
    # The database refuses lesson delivery rows for a while. Fulfilment has already marked the
    # order paid and written the enrolment when the outbox insert fails.
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE courses_lessondelivery "
            "ADD CONSTRAINT test_refuses_deliveries CHECK (false) NOT VALID"
        )

    response = deliver(event)

    assert response.status_code == 500
    assert_untouched(order)  # nothing half-applied: no paid order, no enrolment
    assert not LessonDelivery.objects.exists()
    assert mailoutbox == []
    stored = StripeEvent.objects.get()
    assert stored.processed_at is None
    assert "test_refuses_deliveries" in stored.error

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE courses_lessondelivery DROP CONSTRAINT test_refuses_deliveries")

    assert deliver(event).status_code == 200  # Stripe's retry

    stored.refresh_from_db()
    assert stored.processed_at is not None
    assert stored.error == ""
    assert Order.objects.get().status == Order.Status.PAID
    assert Enrollment.objects.count() == 1
    assert LessonDelivery.objects.count() == 2
    assert len(mailoutbox) == 1


# -- disputes --------------------------------------------------------------------------------


def test_dispute_flags_the_order_and_e_mails_staff_once(
    order, stripe_api, deliver, mailoutbox, settings
):
    settings.ADMINS = [("Staff", "staff@example.com")]
    deliver(completed_event_of_a_paid_order(stripe_api, order))
    order.refresh_from_db()
    stripe_api.create_dispute(order.stripe_payment_intent_id, reason="fraudulent")
    dispute = latest_event(stripe_api, "charge.dispute.created")

    assert deliver(dispute).status_code == 200
    assert deliver(dispute).status_code == 200

    order.refresh_from_db()
    assert order.disputed_at is not None
    assert order.status == Order.Status.PAID  # the bank decides; the flag is for staff
    alerts = [m for m in mailoutbox if m.to == ["staff@example.com"]]
    assert len(alerts) == 1
    assert str(order.pk) in alerts[0].subject
    assert "buyer@example.com" in alerts[0].body
    assert "€49.00" in alerts[0].body
