"""The loopback Stripe emulator, driven through the real ``stripe`` client.

Each test starts an emulator on a free port and a small webhook receiver that checks every
delivery with ``stripe.Webhook.construct_event(..., tolerance=300)``, exactly as the app's
webhook view does. No database is used. Waits are bounded polls, never timing assertions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import stripe

from payments.emulator import StripeEmulator, StripeError
from tests.support.waiting import wait_for

from .emulator_support import (
    API_KEY,
    CANCEL_URL,
    SUCCESS_URL,
    Receiver,
    create_session,
    request,
    session_params,
)

# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def client(stripe_client: Any) -> Any:
    return stripe_client


# -- creating and reading sessions ---------------------------------------------------------


def test_create_session_returns_an_open_session_with_a_hosted_page(
    client: Any, emulator: StripeEmulator
) -> None:
    session = create_session(client)

    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert (session.amount_total, session.currency) == (1500, "eur")
    assert session.url == f"{emulator.base_url}/c/pay/{session.id}"
    assert session.metadata.to_dict() == {"order_id": "7"}
    assert session.client_reference_id == "order-7"
    assert session.customer_email == "learner@example.com"
    assert session.payment_intent is None
    assert session.livemode is False
    assert session.last_response.headers["Request-Id"].startswith("req_")
    # Stripe's default expiry is 24 hours.
    assert 23 * 3600 < session.expires_at - time.time() <= 24 * 3600


def test_amount_total_sums_every_line_item(client: Any) -> None:
    item = session_params()["line_items"][0]
    two = {**item, "quantity": 2}
    session = create_session(client, line_items=[item, two])
    assert session.amount_total == 1500 * 3


def test_same_idempotency_key_replays_the_same_session(client: Any) -> None:
    options: Any = {"idempotency_key": "order-7-checkout"}
    first = client.v1.checkout.sessions.create(params=session_params(), options=options)
    second = client.v1.checkout.sessions.create(params=session_params(), options=options)

    assert second.id == first.id
    assert first.last_response.headers["Idempotent-Replayed"] == "false"
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(client.v1.checkout.sessions.list().data) == 1


def test_same_idempotency_key_with_other_parameters_is_refused(
    client: Any,
) -> None:
    options: Any = {"idempotency_key": "order-7-checkout"}
    client.v1.checkout.sessions.create(params=session_params(), options=options)

    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(
            params=session_params(client_reference_id="order-8"), options=options
        )
    assert len(client.v1.checkout.sessions.list().data) == 1


@pytest.mark.parametrize(
    ("change", "param"),
    [
        (lambda p: p.pop("mode"), "mode"),
        (lambda p: p.pop("success_url"), "success_url"),
        (lambda p: p["line_items"][0].pop("quantity"), "line_items[0][quantity]"),
        (
            lambda p: p["line_items"][0]["price_data"]["product_data"].pop("name"),
            "line_items[0][price_data][product_data][name]",
        ),
    ],
    ids=["mode", "success_url", "quantity", "product_name"],
)
def test_missing_required_parameter(
    client: Any, change: Callable[[dict[str, Any]], object], param: str
) -> None:
    params = session_params()
    change(params)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.create(params=params)
    assert (raised.value.param, raised.value.code) == (param, "parameter_missing")
    assert raised.value.http_status == 400


@pytest.mark.parametrize(
    ("change", "param"),
    [
        (lambda p: p.update(colour="blue"), "colour"),
        (
            lambda p: p["line_items"][0]["price_data"].update(colour="blue"),
            "line_items[0][price_data][colour]",
        ),
    ],
    ids=["top_level", "nested"],
)
def test_unknown_parameter_is_rejected(
    client: Any, change: Callable[[dict[str, Any]], object], param: str
) -> None:
    params = session_params()
    change(params)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.create(params=params)
    assert (raised.value.param, raised.value.code) == (param, "parameter_unknown")
    assert raised.value.user_message == f"Received unknown parameter: {param}"


@pytest.mark.parametrize("seconds_from_now", [60, 25 * 3600])
def test_expires_at_must_be_between_30_minutes_and_24_hours(
    client: Any, seconds_from_now: int
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create_session(client, expires_at=int(time.time()) + seconds_from_now)
    assert raised.value.param == "expires_at"


def test_expires_at_is_kept_when_in_range(client: Any) -> None:
    expires_at = int(time.time()) + 30 * 60
    assert create_session(client, expires_at=expires_at).expires_at == expires_at


def test_wrong_or_missing_api_key_is_401(emulator: StripeEmulator) -> None:
    live = stripe.StripeClient("sk_live_nope", base_addresses={"api": emulator.base_url})
    with pytest.raises(stripe.AuthenticationError) as raised:
        live.v1.checkout.sessions.list()
    assert raised.value.http_status == 401

    status, _, body = request("GET", f"{emulator.base_url}/v1/checkout/sessions")
    assert status == 401
    assert json.loads(body)["error"]["type"] == "invalid_request_error"


def test_retrieve_and_unknown_ids(client: Any) -> None:
    session = create_session(client)
    assert client.v1.checkout.sessions.retrieve(session.id).id == session.id

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.retrieve("pi_nope")


# -- paying --------------------------------------------------------------------------------


def test_pay_completes_the_session_and_delivers_a_signed_event(
    client: Any, emulator: StripeEmulator, receiver: Receiver
) -> None:
    session = create_session(client)

    redirect = emulator.pay(session.id)

    assert redirect == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    wait_for(lambda: receiver.verified("checkout.session.completed"))
    [delivered] = receiver.verified()
    data = delivered.payload["data"]["object"]
    assert (data["id"], data["status"], data["payment_status"]) == (session.id, "complete", "paid")

    paid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert paid.url is None
    intent = paid.payment_intent
    assert (intent.status, intent.amount, intent.amount_received) == ("succeeded", 1500, 1500)
    # As on Stripe, payment_intent_data's metadata (not the session's) is on the intent.
    assert intent.metadata.to_dict() == {"order_id": "7"}
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.paid, charge.captured, charge.amount) == (True, True, 1500)
    assert charge.payment_intent == intent.id
    assert emulator.wait_for_deliveries(timeout=10)
    assert client.v1.events.retrieve(delivered.event_id).pending_webhooks == 0


def test_session_metadata_stays_on_the_session(client: Any, emulator: StripeEmulator) -> None:
    params = session_params()
    del params["payment_intent_data"]
    session = client.v1.checkout.sessions.create(params=params)
    emulator.pay(session.id)
    paid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert paid.metadata.to_dict() == {"order_id": "7"}
    assert paid.payment_intent.metadata.to_dict() == {}


def test_declined_card_changes_nothing_and_sends_no_event(
    client: Any, emulator: StripeEmulator, receiver: Receiver
) -> None:
    session = create_session(client)

    assert emulator.pay(session.id, "declined") is None

    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert emulator.events() == []
    assert emulator.wait_for_deliveries(timeout=10)
    assert receiver.received() == []


def test_delayed_payment_then_async_payment_succeeded(
    client: Any, emulator: StripeEmulator, receiver: Receiver
) -> None:
    session = create_session(client)

    emulator.pay(session.id, "delayed")
    wait_for(lambda: receiver.verified("checkout.session.completed"))
    completed = receiver.verified("checkout.session.completed")[0].payload["data"]["object"]
    assert (completed["status"], completed["payment_status"]) == ("complete", "unpaid")

    emulator.settle(session.id, "succeeded")
    wait_for(lambda: receiver.verified("checkout.session.async_payment_succeeded"))
    paid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert paid.payment_status == "paid"
    assert paid.payment_intent.status == "succeeded"
    assert paid.payment_intent.latest_charge is not None


def test_delayed_payment_then_async_payment_failed(
    client: Any, emulator: StripeEmulator, receiver: Receiver
) -> None:
    session = create_session(client)
    emulator.pay(session.id, "delayed")

    emulator.settle(session.id, "failed")

    wait_for(lambda: receiver.verified("checkout.session.async_payment_failed"))
    failed = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert failed.payment_status == "unpaid"
    assert failed.payment_intent.status == "requires_payment_method"
    with pytest.raises(StripeError):
        emulator.settle(session.id, "succeeded")  # nothing is waiting to settle any more


# -- expiry --------------------------------------------------------------------------------


def test_expire_through_the_api(client: Any, emulator: StripeEmulator, receiver: Receiver) -> None:
    session = create_session(client)

    expired = client.v1.checkout.sessions.expire(session.id)

    assert (expired.status, expired.url) == ("expired", None)
    wait_for(lambda: receiver.verified("checkout.session.expired"))
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.expire(session.id)
    assert "status of `expired`" in raised.value.user_message


def test_completed_session_cannot_be_expired(client: Any, emulator: StripeEmulator) -> None:
    session = create_session(client)
    emulator.pay(session.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)


def test_sweeper_expires_overdue_sessions(
    client: Any, emulator: StripeEmulator, receiver: Receiver
) -> None:
    session = create_session(client)

    emulator.set_expires_at(session.id, int(time.time()) - 1)

    wait_for(lambda: client.v1.checkout.sessions.retrieve(session.id).status == "expired")
    wait_for(lambda: receiver.verified("checkout.session.expired"))


def test_expire_now_control(client: Any, emulator: StripeEmulator, receiver: Receiver) -> None:
    session = create_session(client)

    assert emulator.expire_now(session.id)["status"] == "expired"

    [event] = emulator.events(type="checkout.session.expired")
    assert event["data"]["object"]["id"] == session.id
    with pytest.raises(StripeError):
        emulator.pay(session.id)


# -- refunds and disputes ------------------------------------------------------------------


def paid_intent_id(client: Any, emulator: StripeEmulator) -> str:
    session = create_session(client)
    emulator.pay(session.id)
    intent_id: str = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    return intent_id


def test_refund_updates_the_charge_and_sends_charge_refunded(
    client: Any, emulator: StripeEmulator, receiver: Receiver
) -> None:
    intent_id = paid_intent_id(client, emulator)

    refund = client.v1.refunds.create(
        params={"payment_intent": intent_id, "amount": 500, "metadata": {"order_id": "7"}},
        options={"idempotency_key": "refund-7-1"},
    )

    assert (refund.status, refund.amount, refund.payment_intent) == ("succeeded", 500, intent_id)
    charge = client.v1.charges.retrieve(refund.charge)
    assert (charge.amount_refunded, charge.refunded) == (500, False)
    wait_for(lambda: receiver.verified("charge.refunded") and receiver.verified("refund.created"))
    refunded = receiver.verified("charge.refunded")[0].payload
    assert refunded["data"]["object"]["amount_refunded"] == 500
    assert refunded["request"]["idempotency_key"] == "refund-7-1"

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 1001})
    assert (raised.value.param, raised.value.code) == ("amount", "amount_too_large")

    rest = client.v1.refunds.create(params={"charge": refund.charge})
    assert rest.amount == 1000
    assert client.v1.charges.retrieve(refund.charge).refunded is True
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": intent_id})
    assert raised.value.code == "charge_already_refunded"


def test_refund_needs_a_payment(client: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"amount": 100})
    assert raised.value.code == "parameter_missing"


def test_dispute_sends_charge_dispute_created(
    client: Any, emulator: StripeEmulator, receiver: Receiver
) -> None:
    intent_id = paid_intent_id(client, emulator)

    dispute = emulator.create_dispute(intent_id, reason="fraudulent")

    wait_for(lambda: receiver.verified("charge.dispute.created"))
    delivered = receiver.verified("charge.dispute.created")[0].payload["data"]["object"]
    assert (delivered["id"], delivered["object"], delivered["amount"]) == (
        dispute["id"],
        "dispute",
        1500,
    )
    assert client.v1.charges.retrieve(dispute["charge"]).disputed is True


# -- events and delivery controls ----------------------------------------------------------


def test_events_api_lists_newest_first_with_type_filter(
    client: Any, emulator: StripeEmulator
) -> None:
    first, second = create_session(client), create_session(client)
    emulator.pay(first.id)
    client.v1.checkout.sessions.expire(second.id)

    events = client.v1.events.list()
    assert [e.type for e in events.data] == [
        "checkout.session.expired",
        "checkout.session.completed",
    ]
    only = client.v1.events.list(params={"type": "checkout.session.completed"})
    assert [e.data.object.id for e in only.data] == [first.id]
    page = client.v1.events.list(params={"limit": 1})
    assert (len(page.data), page.has_more) == (1, True)
    assert len(list(page.auto_paging_iter())) == 2


def test_duplicate_delivery(emulator: StripeEmulator, receiver: Receiver, client: Any) -> None:
    emulator.pay(create_session(client).id)
    [event] = emulator.events()
    wait_for(lambda: receiver.verified())

    attempts = emulator.deliver(event["id"], times=2)

    assert [a.status for a in attempts] == [200, 200]
    assert [r.event_id for r in receiver.verified()] == [event["id"]] * 3


def test_concurrent_delivery(emulator: StripeEmulator, receiver: Receiver, client: Any) -> None:
    emulator.pause_delivery()
    emulator.pay(create_session(client).id)
    [event] = emulator.events()

    attempts = emulator.deliver(event["id"], times=4, concurrent=True)

    assert all(a.ok for a in attempts) and len(attempts) == 4
    assert [r.event_id for r in receiver.verified()] == [event["id"]] * 4


def test_out_of_order_delivery(emulator: StripeEmulator, receiver: Receiver, client: Any) -> None:
    emulator.pause_delivery()
    session = create_session(client)
    emulator.pay(session.id, "delayed")
    emulator.settle(session.id, "succeeded")
    completed, succeeded = emulator.events()
    assert emulator.queued() == [completed["id"], succeeded["id"]]

    emulator.deliver_in_order([succeeded["id"], completed["id"]])

    assert [r.event_type for r in receiver.verified()] == [
        "checkout.session.async_payment_succeeded",
        "checkout.session.completed",
    ]


def test_stale_signature_timestamp_is_rejected_by_the_receiver(
    emulator: StripeEmulator, receiver: Receiver, client: Any
) -> None:
    emulator.pause_delivery()
    emulator.pay(create_session(client).id)
    [event] = emulator.events()

    [attempt] = emulator.deliver(event["id"], signed_at=int(time.time()) - 600)

    assert attempt.status == 400
    [received] = receiver.received()
    assert not received.verified
    assert "tolerance" in received.error


def test_deliver_later(emulator: StripeEmulator, receiver: Receiver, client: Any) -> None:
    emulator.pause_delivery()
    emulator.pay(create_session(client).id)
    [event] = emulator.events()

    emulator.deliver_later(event["id"], delay=0.2)

    wait_for(lambda: receiver.verified())
    assert emulator.queued() == [event["id"]]  # the paused automatic delivery still waits


def test_failed_delivery_is_retried(
    emulator: StripeEmulator, receiver: Receiver, client: Any
) -> None:
    receiver.fail_next = 2
    emulator.pay(create_session(client).id)
    [event] = emulator.events()

    wait_for(lambda: [a.status for a in emulator.deliveries(event["id"])] == [500, 500, 200])
    assert [a.attempt for a in emulator.deliveries(event["id"])] == [1, 2, 3]
    assert emulator.wait_for_deliveries(timeout=10)


def test_dropped_event_is_never_delivered(
    emulator: StripeEmulator, receiver: Receiver, client: Any
) -> None:
    emulator.pause_delivery()
    emulator.pay(create_session(client).id)
    [event] = emulator.events()

    emulator.drop(event["id"])
    emulator.resume_delivery()

    assert emulator.wait_for_deliveries(timeout=10)
    assert emulator.deliveries() == []
    assert receiver.received() == []


def test_without_a_webhook_url_events_are_only_stored(receiver: Receiver) -> None:
    with StripeEmulator() as emulator:
        client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.base_url})
        emulator.pay(create_session(client).id)
        [event] = emulator.events()
        assert event["pending_webhooks"] == 0
        assert emulator.wait_for_deliveries(timeout=10)
        with pytest.raises(StripeError):
            emulator.deliver(event["id"])
        emulator.set_webhook(receiver.url)
        assert emulator.deliver(event["id"])[0].status == 400  # signed with another secret


def test_http_controls(emulator: StripeEmulator, receiver: Receiver, client: Any) -> None:
    base = f"{emulator.base_url}/_emulator"
    session = create_session(client)

    assert request("POST", f"{base}/delivery/pause", {})[0] == 200
    status, _, body = request("POST", f"{base}/checkout/sessions/{session.id}/pay", {})
    assert status == 200
    assert json.loads(body)["redirect"].endswith(session.id)
    events = json.loads(request("GET", f"{base}/events?type=checkout.session.completed")[2])
    event_id = events["data"][0]["id"]
    status, _, body = request("POST", f"{base}/events/{event_id}/deliver", {"times": "2"})
    assert [a["status"] for a in json.loads(body)["data"]] == [200, 200]
    assert len(receiver.verified()) == 2
    assert request("POST", f"{base}/reset", {})[0] == 200
    assert emulator.events() == []
    status, _, body = request("POST", f"{base}/checkout/sessions/cs_nope/pay", {})
    assert (status, json.loads(body)["error"]["code"]) == (404, "resource_missing")


# -- the hosted checkout page --------------------------------------------------------------


def test_hosted_page_shows_items_amount_email_and_buttons(
    client: Any,
) -> None:
    session = create_session(client)

    status, headers, page = request("GET", session.url)

    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "Sourdough in 7 days" in page
    assert "€15.00" in page
    assert "learner@example.com" in page
    for button in ('id="pay"', 'id="pay-declined"', 'id="pay-delayed"', 'id="cancel"'):
        assert button in page


def test_hosted_page_formats_zero_decimal_currencies(client: Any) -> None:
    line_item = session_params()["line_items"][0]
    line_item["price_data"]["currency"] = "jpy"
    session = create_session(client, line_items=[line_item])

    page = request("GET", session.url)[2]

    assert "¥1,500" in page
    assert "¥15.00" not in page


def test_hosted_page_buttons(client: Any, emulator: StripeEmulator, receiver: Receiver) -> None:
    session = create_session(client)

    status, headers, _ = request("POST", session.url, {"action": "cancel"})
    assert (status, headers["Location"]) == (303, CANCEL_URL)

    status, _, page = request("POST", session.url, {"action": "pay-declined"})
    assert status == 200
    assert "Your card was declined." in page
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"

    status, headers, _ = request("POST", session.url, {"action": "pay"})
    assert (status, headers["Location"]) == (
        303,
        SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id),
    )
    wait_for(lambda: receiver.verified("checkout.session.completed"))

    page = request("GET", session.url)[2]
    assert "This checkout session is complete." in page
    assert 'id="pay"' not in page


def test_hosted_page_of_an_expired_or_unknown_session(
    client: Any, emulator: StripeEmulator
) -> None:
    session = create_session(client)
    client.v1.checkout.sessions.expire(session.id)

    page = request("GET", f"{emulator.base_url}/c/pay/{session.id}")[2]
    assert "This checkout session has expired." in page
    assert 'id="pay"' not in page

    assert request("GET", f"{emulator.base_url}/c/pay/cs_test_nope")[0] == 404


def test_emulator_refuses_to_listen_beyond_loopback() -> None:
    with pytest.raises(ValueError):
        StripeEmulator(host="0.0.0.0")  # noqa: S104 - the point of the test
