"""Applying a payment's outcome to what it bought: fulfil (enrol or confirm the seat), revoke
on refund, flag a dispute. Each locks the order, re-checks its state and returns quietly when
the change already happened."""

import logging
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from courses import services as course_services
from courses.models import Enrollment
from workshops import services as workshop_services
from workshops.models import Registration

from .. import discounts, emails
from ..models import Order
from .common import _after_commit, _locked_order, _now

logger = logging.getLogger(__name__)


def fulfil(*, order_id: Any, payment_intent_id: str | None, now: datetime | None = None) -> bool:
    """Mark the order paid and deliver what it bought (enrolment or seat), once. Returns
    whether anything changed.

    Called by the webhook for a paid session and by the success page; whichever comes second
    finds the order paid and does nothing.
    """
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.status in (Order.Status.PAID, Order.Status.REFUNDED):
            return False
        # A payment that lands after the session expired or was cancelled still bought the
        # item: the money was taken, so the buyer gets what they paid for (or it back).
        if order.status != Order.Status.PENDING:
            discounts.keep_use_after_late_payment(order=order)
        order.status = Order.Status.PAID
        order.paid_at = _now(now)
        order.stripe_payment_intent_id = payment_intent_id or order.stripe_payment_intent_id
        order.save(update_fields=["status", "paid_at", "stripe_payment_intent_id", "updated_at"])
        if order.workshop_registration_id is not None:
            _fulfil_seat(order, now=now)
            return True
        assert order.course is not None  # noqa: S101 - a CHECK constraint guarantees it
        try:
            enrollment = course_services.enroll(
                learner=order.buyer, course=order.course, order=order, now=now
            )
            owned_already = enrollment.order_id != order.pk
        except course_services.EnrollmentError:
            owned_already = True  # a refunded enrolment that a payment can't reopen
        if owned_already:
            # The buyer owned the course already (another order paid first, such as a card
            # payment before a slow SEPA one), or their access was refunded: this payment
            # bought nothing, so it goes back at once, with one e-mail saying why.
            logger.info("Order %s paid for a course the buyer already had: refunding", order.pk)
            _refund_automatically(order)
            emails.queue_already_owned_refund(order_id=order.pk)
            return True
        emails.queue_payment_confirmation(order_id=order.pk)
    return True


def _fulfil_seat(order: Order, *, now: datetime | None) -> None:
    """The paid order's seat becomes confirmed; a payment too late for any seat is refunded.

    Runs in ``fulfil``'s transaction with the order locked; the refund itself is asked of
    Stripe after the commit (``_refund_automatically``).
    """
    registration_id = order.workshop_registration_id
    assert registration_id is not None  # noqa: S101 - the caller checked
    if workshop_services.confirm_paid_seat(registration_id=registration_id, now=now):
        # workshops e-mails "you're registered" with the invite; this is the receipt.
        emails.queue_payment_confirmation(order_id=order.pk)
        return
    logger.info("Order %s was paid after its seat was gone: refunding it", order.pk)
    # A released hold: workshops sends "sold out, payment refunded". Any other end (the learner
    # gave the held seat back, the workshop was cancelled) gets payments' refund e-mail now.
    told_by_workshops = (
        Registration.objects.filter(pk=registration_id).values_list("status", flat=True).get()
        == Registration.Status.RELEASED
    )
    workshop_services.mark_refunded(registration_id=registration_id, now=now)
    _refund_automatically(order)
    if not told_by_workshops:
        emails.queue_refund_confirmation(order_id=order.pk)


def _refund_automatically(order: Order) -> None:
    """Flag a paid order (locked by the caller) as refunded by us, and ask Stripe after commit
    (``refunds.request_automatic_refund``, on a worker): no Stripe call under the lock.

    The flag tells ``revoke_refunded`` that the buyer was told already.
    """
    order.refunded_automatically = True
    order.save(update_fields=["refunded_automatically", "updated_at"])
    _after_commit("refund_automatically", order.pk)


def revoke_refunded(
    *, order_id: Any, charge: dict | None = None, now: datetime | None = None
) -> bool:
    """Stripe refunded the charge: the order is refunded and what it bought ends, once.

    A course enrolment is revoked; a seat is marked refunded (a confirmed one is freed and
    offered to the waitlist). The learner gets the refund e-mail, unless the refund was
    automatic and they were told when it was made.
    """
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.status == Order.Status.REFUNDED:
            return False
        order.status = Order.Status.REFUNDED
        order.refunded_at = _now(now)
        if charge is not None:
            _record_payment_from_charge(order, charge)
        order.save(
            update_fields=[
                "status",
                "refunded_at",
                "paid_at",
                "stripe_payment_intent_id",
                "updated_at",
            ]
        )
        if order.workshop_registration_id is not None:
            workshop_services.mark_refunded(registration_id=order.workshop_registration_id, now=now)
        else:
            enrollment = Enrollment.objects.filter(order_id=order.pk).first()
            if enrollment is not None:
                course_services.revoke(enrollment=enrollment, now=now)
        if not order.refunded_automatically:
            emails.queue_refund_confirmation(order_id=order.pk)
    return True


def _record_payment_from_charge(order: Order, charge: dict) -> None:
    """A refund that arrives before the payment's own event still records the payment: when it
    was made and its intent, so that staff can reconcile the order with Stripe."""
    if order.paid_at is None:
        created = charge.get("created")
        order.paid_at = (
            datetime.fromtimestamp(created, tz=UTC)
            if isinstance(created, int)
            else order.refunded_at
        )
    payment_intent_id = charge.get("payment_intent")
    if not order.stripe_payment_intent_id and isinstance(payment_intent_id, str):
        order.stripe_payment_intent_id = payment_intent_id or None


def flag_dispute(*, order_id: Any, now: datetime | None = None) -> bool:
    """A buyer disputed the charge with their bank: flag the order and tell staff and the
    creator, once. Access stays while the dispute is open (``close_dispute``)."""
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.disputed_at is not None:
            return False
        order.disputed_at = _now(now)
        order.save(update_fields=["disputed_at", "updated_at"])
        emails.queue_dispute_alert(order_id=order.pk)
        emails.queue_creator_dispute_notice(order_id=order.pk)
    return True


# Stripe's dispute statuses once closed: the buyer's bank sided with the buyer only in "lost".
DISPUTE_LOST = "lost"


def close_dispute(*, order_id: Any, status: str, now: datetime | None = None) -> bool:
    """A dispute ended (``charge.dispute.closed``): record how, and tell creator and staff, once.

    Lost means the bank gave the buyer their money back, so what they bought ends as after a
    refund (the enrolment is revoked, the seat freed); won or a closed warning changes nothing
    for the buyer. Access is kept while a dispute is open: most are won.
    """
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.dispute_closed_at is not None:
            return False
        order.dispute_status = status[:30]
        order.dispute_closed_at = _now(now)
        order.disputed_at = order.disputed_at or order.dispute_closed_at
        order.save(
            update_fields=["dispute_status", "dispute_closed_at", "disputed_at", "updated_at"]
        )
        if status == DISPUTE_LOST:
            if order.workshop_registration_id is not None:
                workshop_services.mark_refunded(
                    registration_id=order.workshop_registration_id, now=now
                )
            else:
                enrollment = Enrollment.objects.filter(order_id=order.pk).first()
                if enrollment is not None:
                    course_services.revoke(enrollment=enrollment, now=now)
        emails.queue_dispute_closed(order_id=order.pk)
        emails.queue_creator_dispute_notice(order_id=order.pk)
    return True
