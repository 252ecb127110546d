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
    destination: str | None = None,
    application_fee_amount: int | None = None,
) -> StripeObject:
    """A PaymentIntent that is processing; the state module moves it on.

    ``destination`` makes it a destination charge: the money is transferred to that connected
    account, less ``application_fee_amount`` for the platform.
    """
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
        transfer_data=None if destination is None else {"destination": destination},
        application_fee_amount=application_fee_amount,
        transfer_group=None if destination is None else f"group_{intent_id}",
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
        # A destination charge: the state module adds ``transfer`` and ``application_fee``.
        transfer_data=(
            None
            if intent["transfer_data"] is None
            else {"amount": None, "destination": intent["transfer_data"]["destination"]}
        ),
        transfer_group=intent["transfer_group"],
        application_fee=None,
        application_fee_amount=intent["application_fee_amount"],
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
    account: str | None = None,
    previous_attributes: StripeObject | None = None,
) -> StripeObject:
    """An event whose ``data.object`` is a snapshot of ``data_object`` as it is now.

    An event about a connected account carries its id in a top-level ``account``, as Stripe's
    Connect events do; the platform's own events have no such key.
    """
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
    if account is not None:
        new_event["account"] = account
    if previous_attributes is not None:
        new_event["data"]["previous_attributes"] = copy.deepcopy(previous_attributes)
    return new_event


# -- Connect -------------------------------------------------------------------------------

# What a new Express account must still provide before it can be paid (Stripe's example list).
ONBOARDING_REQUIREMENTS = [
    "business_profile.product_description",
    "business_profile.url",
    "external_account",
    "individual.first_name",
    "individual.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]


def account(
    *,
    account_type: str,
    controller: StripeObject,
    country: str,
    email: str | None,
    default_currency: str,
    metadata: dict[str, str],
    business_type: str | None,
    requested_capabilities: list[str],
) -> StripeObject:
    """A connected account that has not been onboarded: nothing enabled, requirements due."""
    new_account = example("account")
    account_id = new_id("acct", 16)
    new_account.update(
        id=account_id,
        object="account",
        type=account_type,
        controller=controller,
        created=now(),
        country=country,
        email=email,
        default_currency=default_currency,
        metadata=metadata,
        business_type=business_type,
        charges_enabled=False,
        payouts_enabled=False,
        details_submitted=False,
        # A new account's requested capabilities wait for onboarding.
        capabilities=dict.fromkeys(requested_capabilities, "inactive"),
        external_accounts=list_object(
            [], url=f"/v1/accounts/{account_id}/external_accounts", has_more=False
        ),
    )
    new_account["requirements"].update(
        currently_due=list(ONBOARDING_REQUIREMENTS),
        eventually_due=list(ONBOARDING_REQUIREMENTS),
        past_due=list(ONBOARDING_REQUIREMENTS),
        disabled_reason="requirements.past_due",
    )
    return new_account


def account_link(*, url: str, expires_at: int) -> StripeObject:
    link = example("account_link")
    link.update(created=now(), expires_at=expires_at, url=url)
    return link


def login_link(*, url: str) -> StripeObject:
    link = example("login_link")
    link.update(created=now(), url=url)
    return link


def transfer(*, charge: StripeObject, destination: str) -> StripeObject:
    """The transfer of a destination charge: the whole charge amount, to ``destination``."""
    new_transfer = example("transfer")
    transfer_id = new_id("tr")
    new_transfer.update(
        id=transfer_id,
        created=now(),
        amount=charge["amount"],
        amount_reversed=0,
        reversed=False,
        currency=charge["currency"],
        destination=destination,
        destination_payment=new_id("py", 14),
        source_transaction=charge["id"],
        balance_transaction=new_id("txn"),
        metadata={},
        transfer_group=f"group_{charge['payment_intent']}",
        reversals=list_object([], url=f"/v1/transfers/{transfer_id}/reversals", has_more=False),
    )
    return new_transfer


def transfer_reversal(*, transfer: StripeObject, amount: int, refund_id: str) -> StripeObject:
    reversal = example("transfer_reversal")
    reversal.update(
        id=new_id("trr"),
        created=now(),
        amount=amount,
        currency=transfer["currency"],
        transfer=transfer["id"],
        source_refund=refund_id,
        balance_transaction=new_id("txn"),
        destination_payment_refund=new_id("pyr", 14),
        metadata={},
    )
    return reversal


def application_fee(*, charge: StripeObject, account: str, amount: int) -> StripeObject:
    fee = example("application_fee")
    fee_id = new_id("fee")
    fee.update(
        id=fee_id,
        created=now(),
        account=account,
        amount=amount,
        amount_refunded=0,
        refunded=False,
        # The emulator has no Connect application of its own; a stable made-up id.
        application="ca_emulator",
        balance_transaction=new_id("txn"),
        charge=charge["id"],
        currency=charge["currency"],
        fee_source={"charge": charge["id"], "type": "charge"},
        originating_transaction=None,
        refunds=list_object([], url=f"/v1/application_fees/{fee_id}/refunds", has_more=False),
    )
    return fee


def fee_refund(*, fee: StripeObject, amount: int) -> StripeObject:
    refunded = example("fee_refund")
    refunded.update(
        id=new_id("fr"),
        created=now(),
        amount=amount,
        currency=fee["currency"],
        fee=fee["id"],
        balance_transaction=new_id("txn"),
        metadata={},
    )
    return refunded


def balance(
    *, available: dict[str, int], pending: dict[str, int], default_currency: str
) -> StripeObject:
    """A balance with one entry per currency (the default currency at 0 when there is none)."""
    currencies = sorted(set(available) | set(pending)) or [default_currency]

    def funds(amounts: dict[str, int]) -> list[StripeObject]:
        return [
            {
                "amount": amounts.get(currency, 0),
                "currency": currency,
                "source_types": {"card": amounts.get(currency, 0)},
            }
            for currency in currencies
        ]

    new_balance = example("balance")
    new_balance.update(
        available=funds(available),
        pending=funds(pending),
        connect_reserved=[{"amount": 0, "currency": currency} for currency in currencies],
    )
    return new_balance


def payout(
    *, amount: int, currency: str, description: str | None, metadata: dict[str, str]
) -> StripeObject:
    """A standard payout to the account's bank account, on its way."""
    new_payout = example("payout")
    new_payout.update(
        id=new_id("po"),
        created=now(),
        amount=amount,
        currency=currency,
        arrival_date=now() + 2 * 24 * 3600,
        automatic=False,
        balance_transaction=new_id("txn"),
        description=description,
        destination=new_id("ba"),
        metadata=metadata,
        status="pending",
    )
    return new_payout
