"""The one module that talks to Stripe (or, locally and in tests, the loopback emulator).

Only ``STRIPE_API_BASE`` and the keys tell the two apart. stripe-python 16 returns
``StripeObject``s, which are not dicts: use attribute access or ``.to_dict()``.
"""

import json
from datetime import datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import connections

from workshops.rules import HOLD_MINUTES

# A Checkout Session lives exactly as long as the workshop seat it may hold (Stripe refuses an
# expires_at less than 30 minutes out).
CHECKOUT_LIFETIME_MINUTES = HOLD_MINUTES


class CalledInsideTransaction(RuntimeError):
    """A Stripe call was attempted while a database transaction of ours was open.

    A transaction open across a network call keeps every row it locked or wrote locked for as
    long as Stripe takes (seconds, with retries), so other buyers, webhooks and workers queue
    behind it (architecture.md #11). Commit first, call Stripe, then record the result; the
    idempotency keys make a retry after a crash safe.
    """


def assert_no_open_transaction() -> None:
    """Refuse to call out while any of our own transactions is open, on any database.

    The atomic blocks a Django test case wraps around each test are not ours and are ignored,
    so tests see exactly the production rule.
    """
    for connection in connections.all(initialized_only=True):
        ours = [b for b in connection.atomic_blocks if not getattr(b, "_from_testcase", False)]
        if connection.in_atomic_block and ours:
            raise CalledInsideTransaction(
                f"Stripe called inside a transaction on database {connection.alias!r}"
            )


def client() -> stripe.StripeClient:
    assert_no_open_transaction()
    base_addresses: dict = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else {}
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses=base_addresses,  # type: ignore[arg-type]
        max_network_retries=2,
    )


def create_checkout_session(
    *,
    order_id: str,
    item_name: str,
    item_description: str,
    amount: int,
    currency: str,
    customer_email: str,
    success_url: str,
    cancel_url: str,
    expires_at: datetime,
    destination_account_id: str = "",
    application_fee_amount: int = 0,
) -> stripe.checkout.Session:
    """A Checkout Session for one order. With ``destination_account_id`` it is a destination
    charge: Stripe transfers the payment to the creator's connected account and keeps
    ``application_fee_amount`` (minor units) for the platform."""
    # Any: stripe's typed params know transfer_data, but not a dict built up step by step.
    payment_intent_data: Any = {"metadata": {"order_id": order_id}}
    if destination_account_id:
        payment_intent_data["transfer_data"] = {"destination": destination_account_id}
        payment_intent_data["application_fee_amount"] = application_fee_amount
    return client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount,
                        "product_data": {"name": item_name, "description": item_description},
                    },
                }
            ],
            "customer_email": customer_email,
            "client_reference_id": order_id,
            "metadata": {"order_id": order_id},
            "payment_intent_data": payment_intent_data,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "expires_at": int(expires_at.timestamp()),
        },
        # One order makes one session, however often the buyer clicks.
        options={"idempotency_key": f"checkout-session-{order_id}"},
    )


def retrieve_checkout_session(session_id: str) -> stripe.checkout.Session:
    return client().v1.checkout.sessions.retrieve(session_id)


def expire_checkout_session(session_id: str) -> stripe.checkout.Session:
    return client().v1.checkout.sessions.expire(session_id)


def create_refund(
    *,
    order_id: str,
    payment_intent_id: str,
    amount: int | None = None,
    idempotency_key: str | None = None,
    destination_charge: bool = False,
) -> stripe.Refund:
    """Refund ``amount`` minor units (None: all that is left) of the order's payment.

    ``idempotency_key`` names this one refund (a ledger row); by default the order, which
    makes "refund all of it" happen once however often it is asked. A ``destination_charge``
    also takes back, in proportion to the refund, the creator's transfer and the platform's
    application fee: each side gives back its own share.
    """
    params: dict[str, Any] = {
        "payment_intent": payment_intent_id,
        "metadata": {"order_id": order_id},
    }
    if destination_charge:
        params["reverse_transfer"] = True
        params["refund_application_fee"] = True
    if amount is not None:
        params["amount"] = amount
    return client().v1.refunds.create(
        params=params,  # type: ignore[arg-type]
        options={"idempotency_key": idempotency_key or f"refund-{order_id}"},
    )


# Stripe Connect: creators' Express accounts (docs/architecture.md, "Money").


def create_connected_account(*, creator_id: int, email: str) -> stripe.Account:
    """A new Express account for a creator, able to take card payments and receive transfers.

    The idempotency key is the creator: a double click (or a retry after a lost answer)
    within Stripe's 24 hours makes one account.
    """
    return client().v1.accounts.create(
        params={
            "type": "express",
            "email": email,
            "capabilities": {
                "card_payments": {"requested": True},
                "transfers": {"requested": True},
            },
            "metadata": {"creator_id": str(creator_id)},
        },
        options={"idempotency_key": f"connected-account-{creator_id}"},
    )


def retrieve_connected_account(account_id: str) -> stripe.Account:
    return client().v1.accounts.retrieve(account_id)


def create_onboarding_link(*, account_id: str, refresh_url: str, return_url: str) -> str:
    """A single-use URL of Stripe's hosted onboarding for the account (valid minutes only,
    so it is made when the creator clicks, never stored)."""
    link = client().v1.account_links.create(
        params={
            "account": account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        }
    )
    return link.url


def create_dashboard_link(account_id: str) -> str:
    """A single-use sign-in URL of the creator's Express dashboard."""
    return client().v1.accounts.login_links.create(account_id).url


def retrieve_connected_balance(account_id: str) -> stripe.Balance:
    """The connected account's own balance (the ``Stripe-Account`` header)."""
    return client().v1.balance.retrieve(options={"stripe_account": account_id})


def list_connected_payouts(account_id: str, *, limit: int = 10) -> list[stripe.Payout]:
    """The connected account's latest payouts to its bank, newest first."""
    payouts = client().v1.payouts.list(
        params={"limit": limit}, options={"stripe_account": account_id}
    )
    return list(payouts.data)


class InvalidWebhook(Exception):
    """A webhook we must refuse: bad or stale signature, or a body that is no Stripe event."""


# Stripe's default: a signature older than this is a replay.
WEBHOOK_TOLERANCE_SECONDS = 300


def verify_webhook(*, payload: bytes, signature: str) -> dict[str, Any]:
    """The event as a plain dict, if ``signature`` proves Stripe sent ``payload`` recently.

    Checks the signature on the raw bytes first, then that the body is an event with an id, a
    type and a ``data.object``; raises ``InvalidWebhook`` otherwise.
    """
    try:
        _verify_signature(payload, signature)
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError) as problem:
        # ValueError: not UTF-8, or not JSON.
        raise InvalidWebhook(str(problem)) from problem
    if not _is_event(event):
        raise InvalidWebhook("not a Stripe event")
    return event


def _verify_signature(payload: bytes, signature: str) -> None:
    """Signed with the platform endpoint's secret, or with the Connect endpoint's (events of
    creators' accounts come from their own endpoint, which has its own secret)."""
    secrets = [settings.STRIPE_WEBHOOK_SECRET]
    if settings.STRIPE_CONNECT_WEBHOOK_SECRET:
        secrets.append(settings.STRIPE_CONNECT_WEBHOOK_SECRET)
    for secret in secrets[:-1]:
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, secret, WEBHOOK_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError:
            continue
        return
    stripe.WebhookSignature.verify_header(
        payload, signature, secrets[-1], WEBHOOK_TOLERANCE_SECONDS
    )


def _is_event(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and 0 < len(event["id"]) <= 255
        and isinstance(event.get("type"), str)
        and 0 < len(event["type"]) <= 100
        and isinstance(event.get("data"), dict)
        and isinstance(event["data"].get("object"), dict)
    )
