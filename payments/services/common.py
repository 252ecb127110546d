"""What the payment services share: errors, finding and locking an order from Stripe data,
and queuing an e-mail task after commit."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from config.queueing import enqueue_on_commit

from ..models import Order


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
        .select_related("buyer", "course", "workshop_registration")
        .filter(pk=pk)
        .first()
    )


def _after_commit(task: str, order_id: uuid.UUID) -> None:
    """Queue ``payments.tasks.<task>`` for this order once the transaction commits (robust: by
    then the change is committed, so a broker hiccup must not turn the webhook into a 500;
    Stripe's retry would find the event applied and send nothing)."""
    enqueue_on_commit(f"payments.tasks.{task}", str(order_id))


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
