"""Business rules of payments: start checkout, apply Stripe events, refund.

An order buys a course (``enroll`` on payment) or a workshop seat (a seat ``hold_seat`` holds
while the buyer pays, ``confirm_paid_seat`` on payment, ``release_hold`` when the checkout ends
unpaid). workshops never imports payments: it asks for refunds of cancelled paid seats through
its ``paid_registration_cancelled`` signal (receivers.py).

E-mails for a seat, one per thing said: workshops sends "you're registered" with the calendar
invite when the seat is confirmed, and payments sends the receipt (amount, order number, no
workshop details) for the payment. A payment that came too late for a seat gets neither: it is
refunded at once and workshops sends the one "sold out, payment refunded" e-mail.

The package is split by subject: ``checkout`` (start and close a Checkout Session),
``fulfilment`` (what a payment or a refund does to what it bought), ``webhooks`` (store and
apply Stripe events), ``refunds``; shared helpers in ``common``. Callers import the public
names from here: ``from payments import services``.

Stripe's webhooks are the source of truth (architecture.md #4). Every state change locks the
order row, re-checks its state and returns quietly when the change already happened, so events
may arrive in any order and any number of times.
"""

from . import connect
from .checkout import (
    cancel_checkout,
    expire_checkout_of_seat,
    expire_checkout_of_seat_soon,
    refresh_from_stripe,
    start_checkout,
    start_workshop_checkout,
)
from .common import CheckoutError, CheckoutStart, RefundNotAllowed
from .fulfilment import close_dispute, flag_dispute, fulfil, revoke_refunded
from .ledger import record_stripe_refund, refundable_amount
from .refunds import (
    may_refund,
    refund_cancelled_seat,
    refund_cancelled_seat_soon,
    request_automatic_refund,
    request_refund,
)
from .webhooks import SESSION_EVENTS, apply_event, handle_webhook_event

__all__ = [
    "SESSION_EVENTS",
    "CheckoutError",
    "CheckoutStart",
    "RefundNotAllowed",
    "apply_event",
    "cancel_checkout",
    "close_dispute",
    "connect",
    "expire_checkout_of_seat",
    "expire_checkout_of_seat_soon",
    "flag_dispute",
    "fulfil",
    "handle_webhook_event",
    "may_refund",
    "record_stripe_refund",
    "refresh_from_stripe",
    "refund_cancelled_seat",
    "refund_cancelled_seat_soon",
    "refundable_amount",
    "request_automatic_refund",
    "request_refund",
    "revoke_refunded",
    "start_checkout",
    "start_workshop_checkout",
]
