"""The money ledger (docs/architecture.md, invariant 12): an order's fee and creator share, and one
``Refund`` row per refund, reconciled with Stripe.

A refund is written first (``requested``, committed), then asked of Stripe outside any
transaction, then recorded from Stripe's answer. Stripe's events (``charge.refunded``,
``refund.created``/``updated``/``failed``) record the same refunds again: rows are matched by
Stripe's refund id, so any order and any number of deliveries leave one row per refund with
Stripe's amount and status. ``Order.amount_refunded`` is the sum of the succeeded rows.
"""

import logging
from typing import Any

import stripe
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from accounts.models import User
from config.money import format_money

from .. import gateway
from ..fees import split_refund
from ..models import Order, Refund
from .common import RefundNotAllowed, _locked_order, _order_id_of

logger = logging.getLogger(__name__)

# Rows whose money is gone or on its way: what is left to refund excludes them.
_COMMITTED = (Refund.Status.REQUESTED, Refund.Status.PENDING, Refund.Status.SUCCEEDED)
_STRIPE_STATUS = {
    "pending": Refund.Status.PENDING,
    "requires_action": Refund.Status.PENDING,
    "succeeded": Refund.Status.SUCCEEDED,
    "failed": Refund.Status.FAILED,
    "canceled": Refund.Status.CANCELED,
}


def refundable_amount(order: Order) -> int:
    """What may still be refunded: the amount less every refund made or on its way."""
    taken = (
        Refund.objects.filter(order=order, status__in=_COMMITTED).aggregate(total=Sum("amount"))[
            "total"
        ]
        or 0
    )
    return max(order.amount - taken, 0)


def start_refund(
    *,
    order: Order,
    amount: int,
    source: Refund.Source,
    requested_by: User | None = None,
    reason: str = "",
) -> Refund:
    """Write the ``requested`` row for a refund of ``amount``, under the order's lock, so two
    concurrent requests can't both take the same remaining amount."""
    with transaction.atomic():
        locked = _locked_order(order.pk)
        assert locked is not None  # noqa: S101 - the caller has the order
        remaining = refundable_amount(locked)
        if not 0 < amount <= remaining:
            raise RefundNotAllowed(
                _("Enter an amount between %(smallest)s and %(largest)s.")
                % {
                    "smallest": format_money(1, locked.currency),
                    "largest": format_money(remaining, locked.currency),
                }
                if remaining
                else _("Nothing is left to refund on this order.")
            )
        parts = split_refund(
            refund_amount=amount,
            amount=locked.amount,
            fee=locked.platform_fee_amount,
            refunded_before=locked.amount - remaining,
        )
        return Refund.objects.create(
            order=locked,
            amount=amount,
            currency=locked.currency,
            platform_fee_refunded=parts.fee,
            creator_share_reversed=parts.creator_share,
            source=source,
            requested_by=requested_by,
            reason=reason[:255],
        )


def send_refund(*, refund: Refund, idempotency_key: str | None = None) -> Refund:
    """Ask Stripe for ``refund`` (outside any transaction) and record its answer.

    Raises ``stripe.StripeError`` after marking the row failed; a refund Stripe made although
    its answer was lost is found again by ``record_stripe_refund`` from its events.
    """
    order = refund.order
    assert order.stripe_payment_intent_id  # noqa: S101 - callers check
    try:
        stripe_refund = gateway.create_refund(
            order_id=str(order.pk),
            payment_intent_id=order.stripe_payment_intent_id,
            amount=refund.amount,
            idempotency_key=idempotency_key or f"refund-row-{refund.pk}",
            # Creator and platform each give back their share of a destination charge.
            destination_charge=bool(order.destination_account_id),
        )
    except stripe.StripeError:
        Refund.objects.filter(pk=refund.pk, stripe_refund_id__isnull=True).update(
            status=Refund.Status.FAILED
        )
        raise
    record_stripe_refund(stripe_refund.to_dict(), requested=refund)
    refund.refresh_from_db()
    return refund


def record_stripe_refund(
    stripe_refund: dict[str, Any], *, requested: Refund | None = None, order: Order | None = None
) -> bool:
    """Make the ledger agree with one Stripe refund object. Idempotent; any order.

    The row is found by Stripe's refund id, else it is ``requested`` (our answer), else our
    oldest requested row of that amount still without an id (an answer that was lost), else a
    new row (a refund made in Stripe's dashboard). Returns False for a refund of no order of
    ours.
    """
    refund_id = stripe_refund.get("id")
    amount = stripe_refund.get("amount")
    if not isinstance(refund_id, str) or not isinstance(amount, int) or amount <= 0:
        return False
    order = order or (requested.order if requested is not None else None)
    order = order or _order_of_refund(stripe_refund)
    if order is None:
        return False
    status = _STRIPE_STATUS.get(str(stripe_refund.get("status")), Refund.Status.PENDING)
    with transaction.atomic():
        locked = _locked_order(order.pk)
        assert locked is not None  # noqa: S101 - found above
        row = Refund.objects.filter(stripe_refund_id=refund_id).first()
        if row is None and requested is not None:
            row = Refund.objects.filter(pk=requested.pk, stripe_refund_id__isnull=True).first()
        if row is None:
            row = (
                Refund.objects.filter(
                    order=locked,
                    amount=amount,
                    status=Refund.Status.REQUESTED,
                    stripe_refund_id__isnull=True,
                )
                .order_by("created_at")
                .first()
            )
        if row is None:
            parts = split_refund(
                refund_amount=amount,
                amount=locked.amount,
                fee=locked.platform_fee_amount,
                refunded_before=locked.amount - refundable_amount(locked),
            )
            row = Refund(
                order=locked,
                currency=locked.currency,
                platform_fee_refunded=parts.fee,
                creator_share_reversed=parts.creator_share,
                source=Refund.Source.STRIPE,
                reason=str(stripe_refund.get("reason") or ""),
            )
        row.stripe_refund_id = refund_id
        row.amount = amount
        row.status = status
        row.save()
        _update_refunded_total(locked)
    return True


def record_refunds_of_charge(charge: dict[str, Any], *, order: Order) -> None:
    """``charge.refunded``: record every refund the charge of ``order`` lists."""
    refunds = charge.get("refunds")
    data = refunds.get("data") if isinstance(refunds, dict) else None
    for stripe_refund in data or []:
        if isinstance(stripe_refund, dict):
            record_stripe_refund(stripe_refund, order=order)


def _update_refunded_total(order: Order) -> None:
    sums = Refund.objects.filter(order=order, status=Refund.Status.SUCCEEDED).aggregate(
        total=Sum("amount"), fee=Sum("platform_fee_refunded")
    )
    total, fee = sums["total"] or 0, sums["fee"] or 0
    if (order.amount_refunded, order.platform_fee_refunded) != (total, fee):
        order.amount_refunded = total
        order.platform_fee_refunded = fee
        order.save(update_fields=["amount_refunded", "platform_fee_refunded", "updated_at"])


def _order_of_refund(stripe_refund: dict[str, Any]) -> Order | None:
    payment_intent_id = stripe_refund.get("payment_intent")
    if isinstance(payment_intent_id, str) and payment_intent_id:
        order = Order.objects.filter(stripe_payment_intent_id=payment_intent_id).first()
        if order is not None:
            return order
    order_id = _order_id_of(stripe_refund)
    return Order.objects.filter(pk=order_id).first() if order_id else None
