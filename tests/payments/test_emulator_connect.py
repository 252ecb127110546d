"""Stripe Connect in the loopback emulator, driven through the real ``stripe`` client.

Connected accounts and their hosted onboarding, destination charges through Checkout (a
transfer and an application fee), refunds that give back both shares in proportion, balances
and payouts read with the ``Stripe-Account`` header, and the Connect events, signed like the
others. Uses the fixtures of ``conftest.py`` (``emulator``, ``receiver``, ``stripe_client``);
no database.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import stripe

from payments.emulator import StripeEmulator, objects
from tests.support.waiting import wait_for

from .emulator_support import API_KEY, Receiver, create_session, request, session_params

RETURN_URL = "http://127.0.0.1:8000/studio/payouts/return/"
REFRESH_URL = "http://127.0.0.1:8000/studio/payouts/refresh/"
CAPABILITIES = {"card_payments": {"requested": True}, "transfers": {"requested": True}}


def new_account(client: Any, **overrides: Any) -> Any:
    params: dict[str, Any] = {
        "type": "express",
        "country": "DE",
        "email": "maya@example.com",
        "capabilities": CAPABILITIES,
        **overrides,
    }
    return client.v1.accounts.create(params=params)


def onboarding_link(client: Any, account_id: str) -> Any:
    return client.v1.account_links.create(
        params={
            "account": account_id,
            "refresh_url": REFRESH_URL,
            "return_url": RETURN_URL,
            "type": "account_onboarding",
        }
    )


def onboarded_account(client: Any, emulator: StripeEmulator) -> Any:
    """An Express account whose onboarding was completed on the hosted page."""
    account = new_account(client)
    emulator.onboard(onboarding_link(client, account.id).url, "complete")
    return account


def destination_payment(
    client: Any,
    emulator: StripeEmulator,
    account_id: str,
    *,
    amount: int = 1999,
    fee: int = 200,
    currency: str = "eur",
) -> Any:
    """Pay a Checkout Session whose money goes to ``account_id`` less ``fee``; its charge."""
    session = create_session(
        client,
        line_items=[
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount,
                    "product_data": {"name": "Sourdough in 7 days"},
                },
                "quantity": 1,
            }
        ],
        payment_intent_data={
            "metadata": {"order_id": "7"},
            "transfer_data": {"destination": account_id},
            "application_fee_amount": fee,
        },
    )
    emulator.pay(session.id)
    intent_id = emulator.get(session.id)["payment_intent"]
    intent = client.v1.payment_intents.retrieve(intent_id, params={"expand": ["latest_charge"]})
    return intent.latest_charge


def funds(balance: Any, bucket: str, currency: str = "eur") -> int:
    """The amount in one currency of a balance's ``available`` or ``pending`` list."""
    amounts = [entry["amount"] for entry in balance[bucket] if entry["currency"] == currency]
    return sum(amounts)


def as_account(account_id: str) -> dict[str, Any]:
    """Request options that act for a connected account: the Stripe-Account header."""
    return {"stripe_account": account_id}


# -- accounts ------------------------------------------------------------------------------


def test_new_express_account_can_do_nothing_until_onboarded(stripe_client: Any) -> None:
    account = new_account(stripe_client)

    assert account.id.startswith("acct_")
    assert (account.object, account.type, account.country) == ("account", "express", "DE")
    assert account.default_currency == "eur"
    assert account.controller.stripe_dashboard.type == "express"
    assert account.capabilities.to_dict() == {"card_payments": "inactive", "transfers": "inactive"}
    assert not (account.charges_enabled or account.payouts_enabled or account.details_submitted)
    assert "external_account" in account.requirements.currently_due
    assert account.requirements.disabled_reason == "requirements.past_due"
    assert stripe_client.v1.accounts.retrieve(account.id).id == account.id


def test_account_made_with_controller_properties(stripe_client: Any) -> None:
    account = stripe_client.v1.accounts.create(
        params={
            "controller": {
                "fees": {"payer": "application"},
                "losses": {"payments": "application"},
                "stripe_dashboard": {"type": "express"},
            },
            "capabilities": CAPABILITIES,
        }
    )

    assert account.type == "none"
    assert account.controller.fees.payer == "application"
    assert account.controller.stripe_dashboard.type == "express"


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"capabilities": CAPABILITIES}, "type", "Missing required param: type."),
        ({"type": "gold"}, "type", "Invalid type"),
        ({"type": "express"}, "capabilities", "must request the `transfers` capability"),
        ({"type": "express", "colour": "red"}, "colour", "Received unknown parameter: colour"),
    ],
)
def test_bad_account_parameters_are_refused(
    stripe_client: Any, emulator: StripeEmulator, params: dict[str, Any], param: str, message: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.accounts.create(params=params)

    assert refused.value.http_status == 400
    assert refused.value.param == param
    assert message in str(refused.value.user_message)
    assert emulator.objects("account") == []


def test_account_update_sends_a_signed_connect_event(
    stripe_client: Any, emulator: StripeEmulator, receiver: Receiver
) -> None:
    account = new_account(stripe_client, metadata={"creator_id": "3"})

    updated = stripe_client.v1.accounts.update(
        account.id, params={"metadata": {"studio": "maya"}, "email": "new@example.com"}
    )

    assert updated.metadata.to_dict() == {"creator_id": "3", "studio": "maya"}
    wait_for(lambda: receiver.verified("account.updated"), what="a verified account.updated")
    [received] = receiver.verified("account.updated")
    assert received.payload["account"] == account.id
    assert received.payload["data"]["previous_attributes"] == {
        "email": "maya@example.com",
        "metadata": {"creator_id": "3"},
    }


# -- onboarding: account links and the hosted page -----------------------------------------


def test_account_link_points_to_a_hosted_onboarding_page(stripe_client: Any) -> None:
    account = new_account(stripe_client)

    link = onboarding_link(stripe_client, account.id)

    assert link.object == "account_link"
    assert link.expires_at > link.created
    status, _, page = request("GET", link.url)
    assert status == 200
    assert account.id in page
    for button in ("onboarding-complete", "onboarding-incomplete", "onboarding-restricted"):
        assert f'id="{button}"' in page


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (
            "complete",
            {
                "details_submitted": True,
                "charges_enabled": True,
                "payouts_enabled": True,
                "transfers": "active",
                "disabled_reason": None,
            },
        ),
        (
            "incomplete",
            {
                "details_submitted": False,
                "charges_enabled": False,
                "payouts_enabled": False,
                "transfers": "inactive",
                "disabled_reason": "requirements.past_due",
            },
        ),
        (
            "restricted",
            {
                "details_submitted": True,
                "charges_enabled": False,
                "payouts_enabled": False,
                "transfers": "inactive",
                "disabled_reason": "requirements.past_due",
            },
        ),
    ],
)
def test_each_onboarding_button_updates_the_account_and_returns(
    stripe_client: Any,
    emulator: StripeEmulator,
    receiver: Receiver,
    action: str,
    expected: dict[str, Any],
) -> None:
    account = new_account(stripe_client)
    link = onboarding_link(stripe_client, account.id)

    status, headers, _ = request("POST", link.url, {"action": action})

    assert (status, headers["Location"]) == (303, RETURN_URL)
    after = stripe_client.v1.accounts.retrieve(account.id)
    seen = {
        "details_submitted": after.details_submitted,
        "charges_enabled": after.charges_enabled,
        "payouts_enabled": after.payouts_enabled,
        "transfers": after.capabilities.transfers,
        "disabled_reason": after.requirements.disabled_reason,
    }
    assert seen == expected
    assert bool(after.requirements.currently_due) == (action != "complete")
    wait_for(lambda: receiver.verified("account.updated"), what="a verified account.updated")
    [received] = receiver.verified("account.updated")
    assert received.payload["account"] == account.id
    assert received.payload["data"]["object"]["charges_enabled"] == expected["charges_enabled"]


def test_used_or_expired_link_sends_the_browser_to_refresh_url(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    account = new_account(stripe_client)
    used = onboarding_link(stripe_client, account.id)
    assert request("POST", used.url, {"action": "incomplete"})[1]["Location"] == RETURN_URL
    expired = onboarding_link(stripe_client, account.id)
    emulator.expire_account_link(expired.url)

    for link in (used, expired):
        status, headers, _ = request("GET", link.url)
        assert (status, headers["Location"]) == (303, REFRESH_URL)
        status, headers, _ = request("POST", link.url, {"action": "complete"})
        assert (status, headers["Location"]) == (303, REFRESH_URL)
    assert not stripe_client.v1.accounts.retrieve(account.id).charges_enabled
    assert len(emulator.events("account.updated")) == 1


def test_account_link_needs_a_known_account_and_urls(stripe_client: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        onboarding_link(stripe_client, "acct_nope")
    assert unknown.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.account_links.create(
            params={"account": new_account(stripe_client).id, "type": "account_onboarding"}
        )
    assert missing.value.param == "refresh_url"


def test_login_link_opens_the_emulated_express_dashboard(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    account = new_account(stripe_client)
    with pytest.raises(stripe.InvalidRequestError, match="not completed onboarding"):
        stripe_client.v1.accounts.login_links.create(account.id)
    emulator.onboard(onboarding_link(stripe_client, account.id).url, "complete")

    link = stripe_client.v1.accounts.login_links.create(account.id)

    assert link.object == "login_link"
    status, _, page = request("GET", link.url)
    assert status == 200
    assert "Express dashboard (emulated)" in page
    assert account.id in page


# -- destination charges -------------------------------------------------------------------


def test_destination_charge_transfers_to_the_account_and_collects_the_fee(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    account = onboarded_account(stripe_client, emulator)

    charge = destination_payment(stripe_client, emulator, account.id, amount=1999, fee=200)

    assert charge.transfer_data.destination == account.id
    assert charge.application_fee_amount == 200
    transfer = stripe_client.v1.transfers.retrieve(charge.transfer)
    assert (transfer.amount, transfer.destination) == (1999, account.id)
    assert transfer.source_transaction == charge.id
    fee = stripe_client.v1.application_fees.retrieve(charge.application_fee)
    assert (fee.amount, fee.account, fee.charge) == (200, account.id, charge.id)
    connected = stripe_client.v1.balance.retrieve(options=as_account(account.id))
    assert (funds(connected, "pending"), funds(connected, "available")) == (1799, 0)
    platform = stripe_client.v1.balance.retrieve()
    assert (funds(platform, "pending"), funds(platform, "available")) == (200, 0)
    assert [t.id for t in stripe_client.v1.transfers.list({"destination": account.id})] == [
        transfer.id
    ]
    assert [f.id for f in stripe_client.v1.application_fees.list({"charge": charge.id})] == [fee.id]


def test_pending_funds_become_available_when_released(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    account = onboarded_account(stripe_client, emulator)
    destination_payment(stripe_client, emulator, account.id, amount=1999, fee=200)

    emulator.release_pending(account.id)

    connected = stripe_client.v1.balance.retrieve(options=as_account(account.id))
    assert (funds(connected, "pending"), funds(connected, "available")) == (0, 1799)
    assert funds(stripe_client.v1.balance.retrieve(), "pending") == 200


def test_funds_can_be_available_at_once() -> None:
    with StripeEmulator(funds_available_at_once=True) as emulator:
        client: Any = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.base_url})
        account = onboarded_account(client, emulator)

        destination_payment(client, emulator, account.id, amount=1999, fee=200)

        connected = client.v1.balance.retrieve(options=as_account(account.id))
        assert (funds(connected, "pending"), funds(connected, "available")) == (0, 1799)


@pytest.mark.parametrize("outcome", ["incomplete", "restricted", "pending"])
def test_checkout_refuses_a_destination_that_cannot_receive_transfers(
    stripe_client: Any, emulator: StripeEmulator, outcome: str
) -> None:
    account = new_account(stripe_client)
    emulator.set_account_state(account.id, outcome)

    with pytest.raises(stripe.InvalidRequestError) as refused:
        destination_payment(stripe_client, emulator, account.id)

    assert refused.value.code == "insufficient_capabilities_for_transfer"
    assert refused.value.param == "payment_intent_data[transfer_data][destination]"
    assert emulator.objects("checkout.session") == []


def test_paying_fails_if_the_destination_lost_transfers_meanwhile(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    account = onboarded_account(stripe_client, emulator)
    session = create_session(
        stripe_client,
        payment_intent_data={"transfer_data": {"destination": account.id}},
    )
    emulator.set_account_state(account.id, "restricted")

    with pytest.raises(Exception, match="capabilities"):
        emulator.pay(session.id)

    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert emulator.objects("transfer") == []
    status, _, page = request("POST", session.url, {"action": "pay"})
    assert status == 200
    assert "capabilities enabled: transfers" in page


@pytest.mark.parametrize(
    ("intent_data", "param", "code"),
    [
        (
            {"transfer_data": {"destination": "acct_nope"}},
            "payment_intent_data[transfer_data][destination]",
            "resource_missing",
        ),
        ({"application_fee_amount": 100}, "payment_intent_data[application_fee_amount]", None),
    ],
)
def test_bad_destination_parameters_are_refused(
    stripe_client: Any, intent_data: dict[str, Any], param: str, code: str | None
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        create_session(stripe_client, payment_intent_data=intent_data)

    assert (refused.value.param, refused.value.code) == (param, code)


def test_fee_larger_than_the_payment_is_refused(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    account = onboarded_account(stripe_client, emulator)

    with pytest.raises(stripe.InvalidRequestError) as refused:
        destination_payment(stripe_client, emulator, account.id, amount=1000, fee=1001)

    assert refused.value.param == "payment_intent_data[application_fee_amount]"


# -- refunds that give back both shares ----------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "amount", "fee", "partial", "fee_back_first"),
    [
        # 999 of 1999 cents: 200 * 999 / 1999 = 99.95 -> 100 (half up); the rest gives 100.
        ("eur", 1999, 200, 999, 100),
        # 500 of 1505 yen: 151 * 500 / 1505 = 50.17 -> 50; the rest gives 101.
        ("jpy", 1505, 151, 500, 50),
    ],
)
def test_partial_then_full_refund_give_back_transfer_and_fee_in_proportion(
    stripe_client: Any,
    emulator: StripeEmulator,
    receiver: Receiver,
    currency: str,
    amount: int,
    fee: int,
    partial: int,
    fee_back_first: int,
) -> None:
    account = onboarded_account(stripe_client, emulator)
    charge = destination_payment(
        stripe_client, emulator, account.id, amount=amount, fee=fee, currency=currency
    )
    both_shares = {"reverse_transfer": True, "refund_application_fee": True}

    first = stripe_client.v1.refunds.create(
        params={"charge": charge.id, "amount": partial, **both_shares}
    )
    rest = stripe_client.v1.refunds.create(params={"charge": charge.id, **both_shares})

    assert rest.amount == amount - partial
    transfer = stripe_client.v1.transfers.retrieve(charge.transfer)
    reversals = {r.id: r.amount for r in transfer.reversals.data}
    assert reversals == {first.transfer_reversal: partial, rest.transfer_reversal: rest.amount}
    assert (transfer.amount_reversed, transfer.reversed) == (amount, True)
    application_fee = stripe_client.v1.application_fees.retrieve(charge.application_fee)
    fee_refunds = [r.amount for r in reversed(application_fee.refunds.data)]
    assert fee_refunds == [fee_back_first, fee - fee_back_first]
    assert (application_fee.amount_refunded, application_fee.refunded) == (fee, True)
    connected = stripe_client.v1.balance.retrieve(options=as_account(account.id))
    platform = stripe_client.v1.balance.retrieve()
    for balance in (connected, platform):
        assert funds(balance, "pending", currency) + funds(balance, "available", currency) == 0
    wait_for(lambda: len(receiver.verified("charge.refunded")) == 2, what="two charge.refunded")
    refunded = [r.payload["data"]["object"] for r in receiver.verified("charge.refunded")]
    assert [c["amount_refunded"] for c in refunded] == [partial, amount]


def test_partial_refund_takes_the_shares_from_each_balance(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    account = onboarded_account(stripe_client, emulator)
    charge = destination_payment(stripe_client, emulator, account.id, amount=1999, fee=200)

    stripe_client.v1.refunds.create(
        params={
            "charge": charge.id,
            "amount": 999,
            "reverse_transfer": True,
            "refund_application_fee": True,
        }
    )

    connected = stripe_client.v1.balance.retrieve(options=as_account(account.id))
    assert funds(connected, "pending") == 1799 - 999 + 100
    assert funds(stripe_client.v1.balance.retrieve(), "pending") == 200 - 100


def test_without_the_flags_the_platform_pays_the_refund(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    account = onboarded_account(stripe_client, emulator)
    charge = destination_payment(stripe_client, emulator, account.id, amount=1999, fee=200)

    refund = stripe_client.v1.refunds.create(params={"charge": charge.id, "amount": 500})

    assert refund.transfer_reversal is None
    assert stripe_client.v1.transfers.retrieve(charge.transfer).amount_reversed == 0
    connected = stripe_client.v1.balance.retrieve(options=as_account(account.id))
    assert funds(connected, "pending") == 1799
    platform = stripe_client.v1.balance.retrieve()
    assert funds(platform, "pending") + funds(platform, "available") == 200 - 500


def test_share_flags_on_a_charge_without_destination_are_refused(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    session = create_session(stripe_client)
    emulator.pay(session.id)
    intent_id = emulator.get(session.id)["payment_intent"]

    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.refunds.create(
            params={"payment_intent": intent_id, "reverse_transfer": True}
        )

    assert refused.value.param == "reverse_transfer"
    assert emulator.objects("refund") == []


# -- Stripe-Account scoping, balances and payouts ------------------------------------------


def test_each_account_reads_only_its_own_balance_and_payouts(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    maya = onboarded_account(stripe_client, emulator)
    olu = onboarded_account(stripe_client, emulator)
    destination_payment(stripe_client, emulator, maya.id, amount=1999, fee=200)
    destination_payment(stripe_client, emulator, olu.id, amount=5000, fee=500)
    emulator.release_pending(maya.id)
    payout = stripe_client.v1.payouts.create(
        params={"amount": 1000, "currency": "eur"}, options=as_account(maya.id)
    )

    maya_balance = stripe_client.v1.balance.retrieve(options=as_account(maya.id))
    olu_balance = stripe_client.v1.balance.retrieve(options=as_account(olu.id))
    assert funds(maya_balance, "available") == 799
    assert funds(olu_balance, "pending") == 4500
    assert [p.id for p in stripe_client.v1.payouts.list(options=as_account(maya.id))] == [payout.id]
    assert list(stripe_client.v1.payouts.list(options=as_account(olu.id))) == []
    assert list(stripe_client.v1.payouts.list()) == []  # the platform's own payouts: none
    for reader in (as_account(olu.id), {}):
        with pytest.raises(stripe.InvalidRequestError) as hidden:
            stripe_client.v1.payouts.retrieve(payout.id, options=reader)
        assert hidden.value.http_status == 404


def test_events_read_with_stripe_account_are_that_accounts_own(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    maya = onboarded_account(stripe_client, emulator)
    olu = onboarded_account(stripe_client, emulator)

    maya_events = stripe_client.v1.events.list(options=as_account(maya.id))
    platform_events = stripe_client.v1.events.list()

    assert [(e.type, e.account) for e in maya_events] == [("account.updated", maya.id)]
    assert {e.account for e in platform_events} == {maya.id, olu.id}


def test_platform_requests_refuse_a_stripe_account_header(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    account = onboarded_account(stripe_client, emulator)

    with pytest.raises(stripe.InvalidRequestError, match="direct charges"):
        stripe_client.v1.checkout.sessions.create(
            params=session_params(), options=as_account(account.id)
        )

    assert emulator.objects("checkout.session") == []


def test_unknown_stripe_account_is_refused(stripe_client: Any) -> None:
    with pytest.raises(stripe.PermissionError) as refused:
        stripe_client.v1.balance.retrieve(options=as_account("acct_nope"))

    assert refused.value.http_status == 403
    assert refused.value.error is not None
    assert refused.value.error.code == "account_invalid"


def test_payout_of_more_than_available_is_refused(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    account = onboarded_account(stripe_client, emulator)
    destination_payment(stripe_client, emulator, account.id, amount=1999, fee=200)

    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payouts.create(
            params={"amount": 1, "currency": "eur"}, options=as_account(account.id)
        )

    assert refused.value.code == "balance_insufficient"
    assert emulator.objects("payout") == []


def test_payout_paid_is_a_signed_connect_event(
    stripe_client: Any, emulator: StripeEmulator, receiver: Receiver
) -> None:
    account = onboarded_account(stripe_client, emulator)
    destination_payment(stripe_client, emulator, account.id, amount=1999, fee=200)
    emulator.release_pending(account.id)
    payout = stripe_client.v1.payouts.create(
        params={"amount": 1799, "currency": "eur"}, options=as_account(account.id)
    )
    assert payout.status == "pending"

    emulator.mark_payout_paid(payout.id)

    wait_for(lambda: receiver.verified("payout.paid"), what="a verified payout.paid")
    [received] = receiver.verified("payout.paid")
    assert received.payload["account"] == account.id
    assert received.payload["data"]["object"]["id"] == payout.id
    paid = stripe_client.v1.payouts.retrieve(payout.id, options=as_account(account.id))
    assert paid.status == "paid"
    assert "account" not in receiver.verified("checkout.session.completed")[0].payload


def test_pay_out_control_pays_the_whole_available_balance(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    account = onboarded_account(stripe_client, emulator)
    destination_payment(stripe_client, emulator, account.id, amount=1999, fee=200)
    base = f"{emulator.base_url}/_emulator"
    assert request("POST", f"{base}/balance/release", {"account": account.id})[0] == 200

    status, _, body = request("POST", f"{base}/payouts", {"account": account.id})

    assert status == 200
    [payout] = json.loads(body)["data"]
    assert (payout["amount"], payout["status"]) == (1799, "paid")
    balance = json.loads(request("GET", f"{base}/balance?account={account.id}")[2])
    assert funds(balance, "available") == 0
    assert [e["account"] for e in emulator.events("payout.*")] == [account.id, account.id]


def test_account_state_control_over_http(stripe_client: Any, emulator: StripeEmulator) -> None:
    account = new_account(stripe_client)

    status, _, body = request(
        "POST", f"{emulator.base_url}/_emulator/accounts/{account.id}/state", {"outcome": "pending"}
    )

    assert status == 200
    assert json.loads(body)["requirements"]["disabled_reason"] == (
        "requirements.pending_verification"
    )
    assert stripe_client.v1.accounts.retrieve(account.id).capabilities.transfers == "pending"


# -- disputes ------------------------------------------------------------------------------


def test_closing_a_dispute_sends_charge_dispute_closed(
    stripe_client: Any, emulator: StripeEmulator, receiver: Receiver
) -> None:
    session = create_session(stripe_client)
    emulator.pay(session.id)
    dispute = emulator.create_dispute(emulator.get(session.id)["payment_intent"])

    emulator.close_dispute(dispute["id"], "lost")

    assert stripe_client.v1.disputes.retrieve(dispute["id"]).status == "lost"
    wait_for(lambda: receiver.verified("charge.dispute.closed"), what="charge.dispute.closed")
    [received] = receiver.verified("charge.dispute.closed")
    assert received.payload["data"]["object"]["status"] == "lost"
    with pytest.raises(Exception, match="already closed"):
        emulator.close_dispute(dispute["id"], "won")


# -- wire shapes ---------------------------------------------------------------------------


def test_connect_objects_have_the_fields_of_stripes_examples(
    stripe_client: Any, emulator: StripeEmulator
) -> None:
    account = onboarded_account(stripe_client, emulator)
    charge = destination_payment(stripe_client, emulator, account.id)
    refund = stripe_client.v1.refunds.create(
        params={
            "charge": charge.id,
            "amount": 500,
            "reverse_transfer": True,
            "refund_application_fee": True,
        }
    )
    emulator.release_pending(account.id)
    [payout] = emulator.pay_out(account.id)
    fee = emulator.get(charge.application_fee)
    transfer = emulator.get(charge.transfer)
    link = onboarding_link(stripe_client, account.id).to_dict()
    login = stripe_client.v1.accounts.login_links.create(account.id).to_dict()
    balance = stripe_client.v1.balance.retrieve(options=as_account(account.id)).to_dict()

    for kind, obj in [
        ("account", emulator.get(account.id)),
        ("transfer", transfer),
        ("transfer_reversal", emulator.get(refund.transfer_reversal)),
        ("application_fee", fee),
        ("fee_refund", fee["refunds"]["data"][0]),
        ("payout", payout),
        ("balance", balance),
        ("account_link", link),
        ("login_link", login),
    ]:
        assert set(obj) == set(objects.example(kind)), kind


# Stripe's own fixtures file (``fixtures3.json`` of github.com/stripe/openapi), not part of this
# repository: give its path to check that the vendored examples are still Stripe's, unedited.
# The test above checks the emulator against the vendored copy on every run.
STRIPE_FIXTURES = Path(os.environ.get("STRIPE_OPENAPI_FIXTURES", "/nonexistent/fixtures3.json"))


@pytest.mark.skipif(
    not STRIPE_FIXTURES.exists(), reason="set STRIPE_OPENAPI_FIXTURES to Stripe's fixtures3.json"
)
def test_vendored_examples_are_stripes_unchanged() -> None:
    vendored = json.loads(
        (Path(objects.__file__).parent / "fixtures" / "stripe_examples.json").read_text()
    )["resources"]
    stripes = json.loads(STRIPE_FIXTURES.read_text())["resources"]

    for kind, example in vendored.items():
        assert example == stripes[kind], kind
