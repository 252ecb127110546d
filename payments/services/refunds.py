"""Refunds: who may refund what, staff and creator refunds, and cancelled paid seats."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from config.queueing import enqueue

from .. import gateway
from ..models import Order
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
    """
    with transaction.atomic():
        order = (
            Order.objects.select_for_update()
            .filter(workshop_registration_id=registration_id, status=Order.Status.PAID)
            .first()
        )
        if order is None:
            logger.warning("Cancelled paid seat %s has no paid order to refund", registration_id)
            return None
        if order.refund_requested_at is not None:
            return order
        if not order.stripe_payment_intent_id:
            logger.error("Order %s has no payment intent to refund; staff must refund it", order.pk)
            return order
        gateway.create_refund(
            order_id=str(order.pk), payment_intent_id=order.stripe_payment_intent_id
        )
        order.refund_requested_at = _now(now)
        order.save(update_fields=["refund_requested_at", "updated_at"])
    return order


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
