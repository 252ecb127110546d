"""Business rules of payments: start checkout, apply Stripe events, refund.

Stripe's webhooks are the source of truth (DESIGN.md invariant 4). Every state change locks the
order row, re-checks its state and returns quietly when the change already happened, so events
may arrive in any order and any number of times.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from config.mail import absolute_url
from courses import services as course_services
from courses.models import CoursePage, Enrollment

from . import gateway, tasks
from .models import Order, StripeEvent

logger = logging.getLogger(__name__)


class CheckoutError(Exception):
    """Checkout cannot start; the message is fit to show the buyer."""


class RefundNotAllowed(Exception):
    """This user may not refund this order; the message says why."""


@dataclass(frozen=True)
class CheckoutStart:
    redirect_url: str
    order: Order | None  # None when the buyer was already enrolled


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def start_checkout(
    *, buyer: User, course: CoursePage, now: datetime | None = None
) -> CheckoutStart:
    """Where to send a buyer who clicked Buy: Stripe's page for an open order, or the course.

    A double click finds the first click's order (the buyer's row lock serialises them) and
    reuses its session, so one purchase never makes two Checkout Sessions.
    """
    now = _now(now)
    if course.is_free:
        raise CheckoutError(_("This course is free: enrol from its page."))
    with transaction.atomic():
        User.objects.select_for_update().get(pk=buyer.pk)
        enrollment = Enrollment.objects.filter(learner=buyer, course=course).first()
        if enrollment is not None and enrollment.status == Enrollment.Status.REFUNDED:
            # courses.services.enroll() returns an existing enrolment as it is, so a second
            # payment would not give back access: refuse rather than take money for nothing.
            raise CheckoutError(
                _(
                    "Your earlier purchase of this course was refunded. "
                    "Please contact us to buy it again."
                )
            )
        if enrollment is not None:
            return CheckoutStart(redirect_url=course.url, order=None)
        # Reuse an open session only while the buyer still has time to pay on it.
        open_order = (
            Order.objects.filter(
                buyer=buyer,
                course=course,
                status=Order.Status.PENDING,
                checkout_expires_at__gt=now + timedelta(minutes=5),
            )
            .exclude(stripe_checkout_url="")
            .first()
        )
        if open_order is not None:
            return CheckoutStart(redirect_url=open_order.stripe_checkout_url, order=open_order)

        expires_at = now + timedelta(minutes=gateway.CHECKOUT_LIFETIME_MINUTES)
        order = Order.objects.create(
            buyer=buyer,
            course=course,
            item_title=course.title,
            amount=course.price_amount,
            currency=course.currency,
            checkout_expires_at=expires_at,
        )
        # Inside the transaction on purpose: if Stripe fails, the order is rolled back and
        # nothing half-written remains.
        session = gateway.create_checkout_session(
            order_id=str(order.pk),
            item_name=course.title,
            item_description=f"A course by {course.creator_page.title}",
            amount=order.amount,
            currency=order.currency,
            customer_email=buyer.email,
            success_url=absolute_url(reverse("payments:checkout_success", args=[order.pk]))
            + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=absolute_url(reverse("payments:checkout_cancel", args=[order.pk])),
            expires_at=expires_at,
        )
        order.stripe_checkout_session_id = session.id
        order.stripe_checkout_url = session.url or ""
        order.save(update_fields=["stripe_checkout_session_id", "stripe_checkout_url"])
    return CheckoutStart(redirect_url=order.stripe_checkout_url, order=order)


def _order_uuid(order_id: Any) -> uuid.UUID | None:
    """``order_id`` as a UUID, or None when it can't be one of ours (Stripe data is input)."""
    if isinstance(order_id, uuid.UUID):
        return order_id
    try:
        return uuid.UUID(str(order_id))
    except ValueError:
        return None


def _locked_order(order_id: Any) -> Order | None:
    pk = _order_uuid(order_id)
    if pk is None:
        return None
    # of=("self",): lock the order row only. Without it PostgreSQL would also lock the joined
    # buyer and course page rows, and refuses outright to lock the nullable side of the
    # LEFT JOIN to the course.
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("buyer", "course")
        .filter(pk=pk)
        .first()
    )


def fulfil(*, order_id: Any, payment_intent_id: str | None, now: datetime | None = None) -> bool:
    """Mark the order paid and enrol the buyer, once. Returns whether anything changed.

    Called by the webhook for a paid session and by the success page; whichever comes second
    finds the order paid and does nothing.
    """
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.status in (Order.Status.PAID, Order.Status.REFUNDED):
            return False
        # A payment that lands after the session expired or was cancelled still bought the
        # course: the money was taken, so the buyer gets what they paid for.
        order.status = Order.Status.PAID
        order.paid_at = _now(now)
        order.stripe_payment_intent_id = payment_intent_id or order.stripe_payment_intent_id
        order.save(update_fields=["status", "paid_at", "stripe_payment_intent_id", "updated_at"])
        assert order.course is not None  # noqa: S101 - a CHECK constraint guarantees it
        enrollment = course_services.enroll(
            learner=order.buyer, course=order.course, order=order, now=now
        )
        if not enrollment.has_access:
            # start_checkout refuses this case; if it happens anyway, staff must look at it.
            logger.error("Order %s was paid but the buyer's enrolment stays refunded", order.pk)
        _after_commit(tasks.send_payment_confirmation, order.pk)
    return True


def _after_commit(task: Any, order_id: uuid.UUID) -> None:
    """Queue an e-mail task once the transaction commits.

    ``robust``: by then the change is committed, so a broker hiccup must not turn the webhook
    into a 500 (Stripe's retry would find the event applied and send nothing).
    """
    transaction.on_commit(lambda: task.delay(str(order_id)), robust=True)


def _close(*, order_id: Any, status: Order.Status) -> bool:
    """Move a pending order to a final unpaid state (expired, cancelled, failed), once."""
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.status != Order.Status.PENDING:
            return False
        order.status = status
        order.save(update_fields=["status", "updated_at"])
    return True


def cancel_checkout(*, order: Order) -> bool:
    """The buyer came back from Stripe's page with "cancel": close the session and the order.

    Returns False when there is a payment after all (the order is paid, or its session is
    complete and the webhook will say how it ended), True otherwise. The order stays locked
    while Stripe expires the session, so the ``checkout.session.expired`` event that the expiry
    sends waits and then finds the order cancelled, not "expired". Raises
    ``stripe.StripeError`` if Stripe can't be reached; the order then stays as it was.
    """
    with transaction.atomic():
        order_row = _locked_order(order.pk)
        if order_row is None or order_row.status in (Order.Status.PAID, Order.Status.REFUNDED):
            return False
        if order_row.status != Order.Status.PENDING:
            return True  # already closed unpaid
        session_id = order_row.stripe_checkout_session_id
        if session_id:
            session = gateway.retrieve_checkout_session(session_id)
            if session.status == "complete":
                return False
            if session.status == "open":
                gateway.expire_checkout_session(session_id)
        order_row.status = Order.Status.CANCELLED
        order_row.save(update_fields=["status", "updated_at"])
    return True


def refresh_from_stripe(*, order: Order) -> None:
    """The success page's check: if Stripe says the session is paid, fulfil now.

    The webhook does the same; this only spares the buyer a wait when it is slow.
    """
    if order.status != Order.Status.PENDING or not order.stripe_checkout_session_id:
        return
    session = gateway.retrieve_checkout_session(order.stripe_checkout_session_id)
    if session.payment_status == "paid":
        payment_intent = session.payment_intent  # an id, unless expanded
        if payment_intent is not None and not isinstance(payment_intent, str):
            payment_intent = payment_intent.id
        fulfil(order_id=order.pk, payment_intent_id=payment_intent)


def _record_payment_intent(*, order_id: uuid.UUID, payment_intent_id: str | None) -> None:
    if not payment_intent_id:
        return
    Order.objects.filter(pk=order_id, stripe_payment_intent_id__isnull=True).update(
        stripe_payment_intent_id=payment_intent_id
    )


def _order_id_of(stripe_object: dict) -> uuid.UUID | None:
    """The order a session (or a charge, through its intent's metadata) was made for."""
    metadata = stripe_object.get("metadata") or {}
    order_id = metadata.get("order_id") if isinstance(metadata, dict) else None
    return _order_uuid(order_id or stripe_object.get("client_reference_id"))


def _order_of_payment(payment: dict) -> Order | None:
    """The order a charge or dispute belongs to: by payment intent, else by metadata."""
    payment_intent_id = payment.get("payment_intent")
    if isinstance(payment_intent_id, str) and payment_intent_id:
        order = Order.objects.filter(stripe_payment_intent_id=payment_intent_id).first()
        if order is not None:
            return order
    order_id = _order_id_of(payment)
    return Order.objects.filter(pk=order_id).first() if order_id else None


def revoke_refunded(*, order_id: Any, now: datetime | None = None) -> bool:
    """Stripe refunded the charge: the order is refunded and the course access ends, once."""
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.status == Order.Status.REFUNDED:
            return False
        order.status = Order.Status.REFUNDED
        order.refunded_at = _now(now)
        order.save(update_fields=["status", "refunded_at", "updated_at"])
        enrollment = Enrollment.objects.filter(order_id=order.pk).first()
        if enrollment is not None:
            course_services.revoke(enrollment=enrollment, now=now)
        _after_commit(tasks.send_refund_confirmation, order.pk)
    return True


def flag_dispute(*, order_id: Any, now: datetime | None = None) -> bool:
    """A buyer disputed the charge with their bank: flag the order and tell staff, once."""
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.disputed_at is not None:
            return False
        order.disputed_at = _now(now)
        order.save(update_fields=["disputed_at", "updated_at"])
        _after_commit(tasks.send_dispute_alert, order.pk)
    return True


SESSION_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
)


def apply_event(event: dict) -> None:
    """Apply one verified Stripe event to our state. Unknown types are ignored."""
    kind = event["type"]
    obj = event["data"]["object"]
    if kind in SESSION_EVENTS:
        order_id = _order_id_of(obj)
        if order_id is None or not Order.objects.filter(pk=order_id).exists():
            logger.warning("Stripe event %s names no order of ours (%s)", event["id"], order_id)
            return
        if kind == "checkout.session.expired":
            _close(order_id=order_id, status=Order.Status.EXPIRED)
        elif kind == "checkout.session.async_payment_failed":
            _close(order_id=order_id, status=Order.Status.FAILED)
        elif obj.get("payment_status") == "paid":
            fulfil(order_id=order_id, payment_intent_id=obj.get("payment_intent"))
        else:
            # Completed with a delayed payment method: wait for async_payment_succeeded.
            _record_payment_intent(order_id=order_id, payment_intent_id=obj.get("payment_intent"))
    elif kind in ("charge.refunded", "charge.dispute.created"):
        order = _order_of_payment(obj)
        if order is None:
            logger.warning("Stripe event %s names no order of ours", event["id"])
            return
        if kind == "charge.refunded":
            if obj.get("refunded"):  # fully refunded; partial refunds keep access
                revoke_refunded(order_id=order.pk)
        else:
            flag_dispute(order_id=order.pk)


def handle_webhook_event(event: dict) -> bool:
    """Store a verified event once and apply it in the same transaction.

    Returns False for a redelivery of an event already applied. If applying fails, the
    transaction rolls back (nothing half-done), the error is recorded on the event, and the
    exception propagates so the view answers 500 and Stripe retries.
    """
    try:
        with transaction.atomic():
            # A concurrent delivery of the same new event waits on the primary key here until
            # the first one commits, then finds it processed.
            stored, _created = StripeEvent.objects.select_for_update().get_or_create(
                id=event["id"], defaults={"type": event["type"], "payload": event}
            )
            if stored.processed_at is not None:
                return False
            apply_event(event)
            stored.processed_at = timezone.now()
            stored.error = ""
            stored.save(update_fields=["processed_at", "error"])
            return True
    except Exception as problem:
        _record_failure(event, problem)
        raise


def _record_failure(event: dict, problem: Exception) -> None:
    """Keep the event with its error for staff (outside the rolled-back transaction)."""
    stored, created = StripeEvent.objects.get_or_create(
        id=event["id"],
        defaults={"type": event["type"], "payload": event, "error": repr(problem)},
    )
    # A concurrent delivery may have applied it meanwhile: never mark that one as failed.
    if not created and stored.processed_at is None:
        StripeEvent.objects.filter(pk=stored.pk, processed_at__isnull=True).update(
            error=repr(problem)
        )


def may_refund(*, user: User, order: Order, now: datetime | None = None) -> str | None:
    """None if ``user`` may refund ``order`` now, else the reason they may not."""
    if order.status != Order.Status.PAID:
        return _("Only paid orders can be refunded.")
    if user.is_active and user.is_staff:
        return None
    creator_page = order.course.creator_page if order.course else None
    if creator_page is None or getattr(creator_page, "creator_id", None) != user.pk:
        return _("Only staff or the course's creator can refund this order.")
    window_days = settings.CREATOR_REFUND_WINDOW_DAYS
    if order.paid_at is None or _now(now) > order.paid_at + timedelta(days=window_days):
        return _("Creators can refund within %(days)d days of payment.") % {"days": window_days}
    return None


def request_refund(*, user: User, order: Order, now: datetime | None = None) -> Order:
    """Ask Stripe to refund ``order``; access ends when ``charge.refunded`` arrives.

    Raises ``RefundNotAllowed`` (the message says why) or ``stripe.StripeError``.
    """
    reason = may_refund(user=user, order=order, now=now)
    if reason is not None:
        raise RefundNotAllowed(reason)
    if not order.stripe_payment_intent_id:
        raise RefundNotAllowed(_("This order has no payment to refund."))
    gateway.create_refund(order_id=str(order.pk), payment_intent_id=order.stripe_payment_intent_id)
    Order.objects.filter(pk=order.pk, refund_requested_at__isnull=True).update(
        refund_requested_at=_now(now)
    )
    order.refresh_from_db()
    return order
