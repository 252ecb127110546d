"""Stripe-shaped objects, built from Stripe's own example objects.

Each builder deep-copies the vendored example (``fixtures/stripe_examples.json``), so a response
has every field a real one has, then overrides two kinds of field:

- the fields the emulator tracks (ids, amounts, status, urls, metadata, timestamps...);
- example-only values that would mislead a reader, such as random shipping costs or a
  ``livemode: true`` source: these get the value a plain test-mode Checkout payment has.

Objects are plain dicts, stored as they are returned; the state module mutates them in place.
"""

from __future__ import annotations

import copy
import json
import secrets
import string
import time
from functools import cache
from pathlib import Path
from typing import Any

_FIXTURES = Path(__file__).parent / "fixtures" / "stripe_examples.json"
_ALPHABET = string.ascii_letters + string.digits

# The version stripe-python 16 pins. Events from Stripe carry the account's (or the webhook
# endpoint's) version; the emulator behaves as an account on this one.
DEFAULT_API_VERSION = "2026-10-28.endive"

StripeObject = dict[str, Any]


def new_id(prefix: str, length: int = 24) -> str:
    """A Stripe-like id: ``new_id("pi")`` -> ``"pi_3Qx..."``."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def now() -> int:
    return int(time.time())


@cache
def _examples() -> dict[str, StripeObject]:
    with _FIXTURES.open(encoding="utf-8") as fixtures:
        resources: dict[str, StripeObject] = json.load(fixtures)["resources"]
    return resources


def example(kind: str) -> StripeObject:
    """A fresh deep copy of Stripe's example ``kind`` object (``"checkout.session"``, ...)."""
    return copy.deepcopy(_examples()[kind])


def list_object(data: list[StripeObject], *, url: str, has_more: bool) -> StripeObject:
    # stripe-python's ListObject reads ``url`` to fetch further pages.
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def checkout_session(
    *,
    amount_total: int,
    currency: str,
    success_url: str,
    cancel_url: str | None,
    customer_email: str | None,
    client_reference_id: str | None,
    metadata: dict[str, str],
    expires_at: int,
    payment_method_types: list[str],
) -> StripeObject:
    """An open, unpaid Checkout Session in payment mode; the caller sets ``url``."""
    session = example("checkout.session")
    session.update(
        id=new_id("cs_test", 58),
        object="checkout.session",
        livemode=False,
        created=now(),
        expires_at=expires_at,
        mode="payment",
        status="open",
        payment_status="unpaid",
        amount_subtotal=amount_total,
        amount_total=amount_total,
        currency=currency,
        success_url=success_url,
        cancel_url=cancel_url,
        customer_email=customer_email,
        client_reference_id=client_reference_id,
        metadata=metadata,
        payment_method_types=payment_method_types,
        # Present only once the customer has paid.
        payment_intent=None,
        customer_details=None,
        collected_information=None,
        # Plain payment mode: no shipping, tax, discounts, invoice or conversion.
        total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        shipping_cost=None,
        shipping_address_collection=None,
        shipping_options=[],
        currency_conversion=None,
        after_expiration=None,
        consent=None,
        consent_collection=None,
        custom_text={
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        invoice_creation={
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        payment_method_configuration_details=None,
        adaptive_pricing={"enabled": False},
        managed_payments={"enabled": False},
        ui_mode="hosted",
    )
    return session


def customer_details(email: str | None) -> StripeObject:
    """What a completed session records about the payer (the example's shape, our e-mail)."""
    details: StripeObject = example("checkout.session")["customer_details"]
    details.update(email=email, tax_ids=[])
    return details


def payment_intent(
    *,
    amount: int,
    currency: str,
    metadata: dict[str, str],
    description: str | None,
    payment_method_types: list[str],
    receipt_email: str | None,
) -> StripeObject:
    """A PaymentIntent that is processing; the state module moves it on."""
    intent = example("payment_intent")
    intent_id = new_id("pi")
    intent.update(
        id=intent_id,
        object="payment_intent",
        livemode=False,
        created=now(),
        amount=amount,
        amount_capturable=0,
        amount_received=0,
        amount_details={"tip": {}},
        currency=currency,
        metadata=metadata,
        description=description,
        payment_method=new_id("pm"),
        payment_method_types=payment_method_types,
        receipt_email=receipt_email,
        client_secret=f"{intent_id}_secret_{new_id('x', 25)[2:]}",
        status="processing",
        capture_method="automatic_async",
        automatic_payment_methods=None,
        canceled_at=None,
        cancellation_reason=None,
        last_payment_error=None,
        latest_charge=None,
        next_action=None,
        processing=None,
        shipping=None,
        transfer_data=None,
        payment_method_configuration_details=None,
        managed_payments={"enabled": False},
    )
    return intent


def charge(intent: StripeObject, *, email: str | None) -> StripeObject:
    """A succeeded, captured card charge for all of ``intent``."""
    new_charge = example("charge")
    charge_id = new_id("ch")
    amount = intent["amount"]
    new_charge.update(
        id=charge_id,
        object="charge",
        livemode=False,
        created=now(),
        amount=amount,
        amount_captured=amount,
        amount_refunded=0,
        currency=intent["currency"],
        description=intent["description"],
        metadata=dict(intent["metadata"]),
        payment_intent=intent["id"],
        payment_method=intent["payment_method"],
        receipt_email=intent["receipt_email"],
        balance_transaction=new_id("txn"),
        captured=True,
        paid=True,
        status="succeeded",
        refunded=False,
        disputed=False,
        outcome={
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        refunds=list_object([], url=f"/v1/charges/{charge_id}/refunds", has_more=False),
        # The emulator serves no receipts.
        receipt_url=None,
        source=None,
        transfer_data=None,
    )
    new_charge["billing_details"].update(email=email, name=None)
    card = new_charge["payment_method_details"]["card"]
    card["overcapture"]["maximum_amount_capturable"] = amount
    card["wallet"] = None
    return new_charge


def refund(
    *, charge: StripeObject, amount: int, metadata: dict[str, str], reason: str | None
) -> StripeObject:
    """A succeeded refund of ``amount`` from ``charge``."""
    new_refund = example("refund")
    new_refund.update(
        id=new_id("re"),
        object="refund",
        created=now(),
        amount=amount,
        currency=charge["currency"],
        charge=charge["id"],
        payment_intent=charge["payment_intent"],
        payment_method=charge["payment_method"],
        balance_transaction=new_id("txn"),
        metadata=metadata,
        reason=reason,
        status="succeeded",
    )
    return new_refund


def dispute(*, charge: StripeObject, amount: int, reason: str) -> StripeObject:
    """A dispute that needs a response within a week, as a card dispute starts."""
    new_dispute = example("dispute")
    new_dispute.update(
        id=new_id("dp"),
        object="dispute",
        livemode=False,
        created=now(),
        amount=amount,
        currency=charge["currency"],
        charge=charge["id"],
        payment_intent=charge["payment_intent"],
        reason=reason,
        status="needs_response",
        is_charge_refundable=False,
        metadata={},
        enhanced_eligibility_types=[],
    )
    new_dispute["evidence_details"]["due_by"] = now() + 7 * 24 * 3600
    new_dispute["payment_method_details"]["card"]["case_type"] = "chargeback"
    return new_dispute


def event(
    *,
    event_type: str,
    data_object: StripeObject,
    api_version: str,
    pending_webhooks: int,
    request_id: str | None,
    idempotency_key: str | None,
) -> StripeObject:
    """An event whose ``data.object`` is a snapshot of ``data_object`` as it is now."""
    new_event = example("event")
    new_event.update(
        id=new_id("evt"),
        object="event",
        type=event_type,
        created=now(),
        livemode=False,
        api_version=api_version,
        pending_webhooks=pending_webhooks,
        request={"id": request_id, "idempotency_key": idempotency_key},
        data={"object": copy.deepcopy(data_object)},
    )
    return new_event
