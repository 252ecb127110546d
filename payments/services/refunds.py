"""Refunds: who may refund what, staff and creator refunds, and cancelled paid seats."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from accounts.models import User
from config.queueing import enqueue

from ..models import Order, Refund
from . import ledger
from .common import RefundNotAllowed, _now

logger = logging.getLogger(__name__)


def refund_cancelled_seat_soon(*, registration_id: int) -> None:
    """A paid seat was cancelled (workshops' signal, after its commit): refund it on a worker.

    On a worker because Stripe may be unreachable right now: the task retries, while the
    learner's cancellation (already committed) is not turned into an error page.
    """
    enqueue("payments.tasks.refund_cancelled_seat", registration_id)


def refund_cancelled_seat(*, registration_id: int, now: datetime | None = None) -> Order | None:
    """Ask Stripe to refund the paid order of a cancelled seat, once; no staff needed.

    The learner cancelled before the cutoff, or the creator cancelled the workshop: workshops
    checked that. The seat ends as refunded when ``charge.refunded`` arrives. Returns the order
    (None if the seat has no paid order). Raises ``stripe.StripeError`` (the task retries).
    Holds no lock while Stripe answers: the refund's idempotency key (the order) makes a
    concurrent or repeated call refund once.
    """
    order = Order.objects.filter(
        workshop_registration_id=registration_id, status=Order.Status.PAID
    ).first()
    if order is None:
        logger.warning("Cancelled paid seat %s has no paid order to refund", registration_id)
        return None
    if order.refund_requested_at is not None:
        return order
    if not order.stripe_payment_intent_id:
        logger.error("Order %s has no payment intent to refund; staff must refund it", order.pk)
        return order
    _refund_whole_order(order, source=Refund.Source.AUTOMATIC)
    Order.objects.filter(pk=order.pk, refund_requested_at__isnull=True).update(
        refund_requested_at=_now(now)
    )
    order.refresh_from_db()
    return order


def request_automatic_refund(*, order_id: Any, now: datetime | None = None) -> bool:
    """Ask Stripe for the refund ``_refund_automatically`` decided on, outside any transaction.

    Idempotent twice over: a refund already requested is not asked again, and the request's
    idempotency key is the order's, so even a repeat after a crash refunds once. Raises
    ``stripe.StripeError`` (the task retries). Returns whether Stripe was asked now.
    """
    order = Order.objects.filter(pk=order_id, refunded_automatically=True).first()
    if order is None or order.refund_requested_at is not None:
        return False
    if not order.stripe_payment_intent_id:
        logger.error("Order %s has no payment intent to refund; staff must refund it", order.pk)
        return False
    _refund_whole_order(order, source=Refund.Source.AUTOMATIC)
    Order.objects.filter(pk=order.pk, refund_requested_at__isnull=True).update(
        refund_requested_at=_now(now)
    )
    return True


def _refund_whole_order(order: Order, *, source: Refund.Source) -> None:
    """A full refund the platform makes by itself (once per order: the order's key), with its
    ledger row; a retry reuses the row still waiting for Stripe's answer."""
    row = Refund.objects.filter(
        order=order, source=source, amount=order.amount, status=Refund.Status.REQUESTED
    ).first()
    if row is None:
        if ledger.refundable_amount(order) < order.amount:
            logger.error(
                "Order %s was partly refunded already; staff must refund the rest", order.pk
            )
            return
        row = ledger.start_refund(order=order, amount=order.amount, source=source)
    ledger.send_refund(refund=row, idempotency_key=f"refund-{order.pk}")


def may_refund(*, user: User, order: Order, now: datetime | None = None) -> str | None:
    """None if ``user`` may refund ``order`` now, else the reason they may not."""
    if order.status != Order.Status.PAID:
        return _("Only paid orders can be refunded.")
    if user.is_active and user.is_staff:
        return None
    item = order.item_page
    creator_page = item.creator_page if item is not None else None
    if creator_page is None or getattr(creator_page, "creator_id", None) != user.pk:
        if order.is_workshop_seat:
            return _("Only staff or the workshop's creator can refund this order.")
        return _("Only staff or the course's creator can refund this order.")
    window_days = settings.CREATOR_REFUND_WINDOW_DAYS
    if order.paid_at is None or _now(now) > order.paid_at + timedelta(days=window_days):
        return _("Creators can refund within %(days)d days of payment.") % {"days": window_days}
    return None


def request_refund(
    *,
    user: User,
    order: Order,
    amount: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Order:
    """Refund ``amount`` minor units of ``order`` (None: all that is left), as ``user``.

    A ledger row is written, Stripe asked, its answer recorded. Access ends only when the
    whole amount is refunded and ``charge.refunded`` says so; a partial refund keeps it.
    Asking for "all of it" when nothing is left changes nothing. Raises ``RefundNotAllowed``
    (the message says why) or ``stripe.StripeError``.
    """
    refusal = may_refund(user=user, order=order, now=now)
    if refusal is not None:
        raise RefundNotAllowed(refusal)
    if not order.stripe_payment_intent_id:
        raise RefundNotAllowed(_("This order has no payment to refund."))
    remaining = ledger.refundable_amount(order)
    if amount is None:
        if remaining == 0:
            return order
        amount = remaining
    source = Refund.Source.STAFF if user.is_staff else Refund.Source.CREATOR
    row = ledger.start_refund(
        order=order, amount=amount, source=source, requested_by=user, reason=reason
    )
    # The whole order at once keeps the order's key: however often it is asked, one refund.
    key = f"refund-{order.pk}" if amount == order.amount else None
    ledger.send_refund(refund=row, idempotency_key=key)
    Order.objects.filter(pk=order.pk, refund_requested_at__isnull=True).update(
        refund_requested_at=_now(now)
    )
    order.refresh_from_db()
    return order
