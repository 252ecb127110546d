"""Stripe events: stored once by id and applied in the same transaction."""

import logging

from django.db import transaction
from django.utils import timezone

from ..models import Order, StripeEvent
from . import connect, ledger
from .checkout import _close
from .common import _order_id_of, _order_of_payment, _record_payment_intent
from .fulfilment import close_dispute, flag_dispute, fulfil, revoke_refunded

logger = logging.getLogger(__name__)


SESSION_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
)


REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed")


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
    elif kind in ("charge.refunded", "charge.dispute.created", "charge.dispute.closed"):
        order = _order_of_payment(obj)
        if order is None:
            logger.warning("Stripe event %s names no order of ours", event["id"])
            return
        if kind == "charge.refunded":
            ledger.record_refunds_of_charge(obj, order=order)
            if obj.get("refunded"):  # fully refunded; partial refunds keep access
                revoke_refunded(order_id=order.pk, charge=obj)
        elif kind == "charge.dispute.created":
            flag_dispute(order_id=order.pk)
        else:
            close_dispute(order_id=order.pk, status=str(obj.get("status") or ""))
    elif kind == "account.updated":
        # A creator's connected account changed (a Connect event): copy Stripe's state.
        if not connect.record_account_event(event):
            logger.info("Stripe event %s is about no account of ours, or an old state", event["id"])
    # The same refunds charge.refunded lists, one by one, in any order: matched by id.
    elif kind in REFUND_EVENTS and not ledger.record_stripe_refund(obj):
        logger.warning("Stripe event %s names no refund of an order of ours", event["id"])


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
