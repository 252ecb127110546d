"""Paid workshop seats: checkout holds a seat, Stripe's events confirm, release or refund it.

The emulator makes the events through the real ``stripe`` client; the tests sign them as Stripe
does and post them to the webhook view (``deliver``), inside the test's transaction.
"""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from payments import selectors, services
from payments.models import Order
from tests.home.factories import creator_page
from tests.workshops.factories import a_learner, paid_workshop
from workshops import services as workshop_services
from workshops.models import Registration, SeatInventory, WaitlistEntry, WorkshopPage

from .factories import user
from .helpers import latest_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def workshop(creator) -> WorkshopPage:
    storefront = creator_page(title="Maya Okafor", slug="maya-okafor", creator=creator)
    return paid_workshop(
        parent=storefront, title="Laminated dough", price_amount=2500, currency="EUR", capacity=3
    )


def buy_seat(client, workshop: WorkshopPage):
    """Click Buy on the workshop page: the POST its form makes."""
    return client.post(reverse("payments:buy_workshop", args=[workshop.pk]))


def buy_seat_and_get_order(client, workshop: WorkshopPage) -> Order:
    response = buy_seat(client, workshop)
    assert response.status_code == 303, response
    return Order.objects.get(stripe_checkout_url=response["Location"])


def seats(workshop: WorkshopPage) -> tuple[int, int, int]:
    inventory = SeatInventory.objects.get(workshop=workshop)
    return inventory.held, inventory.confirmed, inventory.offered


def seat_of(order: Order) -> Registration:
    """The order's registration, as it is in the database now."""
    assert order.workshop_registration_id is not None
    return Registration.objects.get(pk=order.workshop_registration_id)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def pay(stripe_api, deliver, order: Order) -> None:
    stripe_api.pay(order.stripe_checkout_session_id)
    assert deliver(latest_event(stripe_api, "checkout.session.completed")).status_code == 200
    order.refresh_from_db()


def invites(message) -> list:
    return [a for a in message.attachments if a[0].endswith(".ics")]


# -- starting checkout ------------------------------------------------------------------------


def test_buy_holds_a_seat_and_redirects_to_a_session_at_the_workshops_price(
    buyer_client, buyer, workshop, stripe_api
):
    response = buy_seat(buyer_client, workshop)

    assert response.status_code == 303
    order = Order.objects.get()
    assert response["Location"] == order.stripe_checkout_url
    registration = Registration.objects.get()
    assert (registration.learner, registration.status, registration.paid) == (
        buyer,
        Registration.Status.HELD,
        True,
    )
    assert seats(workshop) == (1, 0, 0)
    assert order.status == Order.Status.PENDING
    assert (order.workshop_registration, order.course) == (registration, None)
    assert (order.amount, order.currency, order.item_title) == (2500, "EUR", "Laminated dough")
    session = stripe_api.get(order.stripe_checkout_session_id)
    assert session["amount_total"] == 2500
    assert session["metadata"] == {"order_id": str(order.pk)}
    # The session ends with the hold: nobody pays for a seat that was already given back.
    assert order.checkout_expires_at == registration.hold_expires_at
    assert registration.hold_expires_at is not None
    assert session["expires_at"] == int(registration.hold_expires_at.timestamp())


def test_double_clicked_buy_makes_one_order_one_session_and_holds_one_seat(
    buyer_client, workshop, stripe_api
):
    first = buy_seat(buyer_client, workshop)
    second = buy_seat(buyer_client, workshop)

    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1
    assert len(stripe_api.objects("checkout.session")) == 1
    assert Registration.objects.count() == 1
    assert seats(workshop) == (1, 0, 0)


def test_sold_out_says_so_and_writes_nothing(buyer_client, workshop, stripe_api):
    for _ in range(3):
        workshop_services.hold_seat(learner=a_learner(), workshop=workshop)

    response = buy_seat(buyer_client, workshop)

    assert response.status_code == 302
    assert response["Location"] == workshop.url
    assert messages_of(response) == [workshop_services.SOLD_OUT]
    assert not Order.objects.exists()
    assert seats(workshop) == (3, 0, 0)
    assert stripe_api.objects("checkout.session") == []


def test_stripe_down_at_checkout_start_writes_nothing_and_holds_no_seat(
    buyer_client, workshop, settings
):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port

    response = buy_seat(buyer_client, workshop)

    assert response.status_code == 302
    assert response["Location"] == workshop.url
    assert messages_of(response) == ["We could not reach the payment provider. Please try again."]
    assert not Order.objects.exists()
    assert not Registration.objects.exists()
    assert seats(workshop) == (0, 0, 0)


def test_a_confirmed_seat_goes_back_to_the_workshop_without_a_new_order(
    buyer_client, workshop, stripe_api, deliver
):
    pay(stripe_api, deliver, buy_seat_and_get_order(buyer_client, workshop))

    response = buy_seat(buyer_client, workshop)

    assert response.status_code == 303
    assert response["Location"] == workshop.url
    assert messages_of(response) == ["You already have a seat at this workshop."]
    assert Order.objects.count() == 1


def test_buy_by_get_or_signed_out_changes_nothing(client, buyer_client, workshop, stripe_api):
    url = reverse("payments:buy_workshop", args=[workshop.pk])
    assert buyer_client.get(url)["Location"] == workshop.url
    client.logout()
    assert client.post(url)["Location"].startswith(reverse("account_login"))
    assert not Order.objects.exists()
    assert seats(workshop) == (0, 0, 0)


def test_paying_for_a_claimed_waitlist_seat_uses_the_held_seat_not_a_second_one(
    client, workshop, stripe_api, django_capture_on_commit_callbacks
):
    others = [workshop_services.hold_seat(learner=a_learner(), workshop=workshop) for _ in "abc"]
    learner = user(email="waiting@example.com")
    workshop_services.join_waitlist(learner=learner, workshop=workshop)
    with django_capture_on_commit_callbacks(execute=True):
        workshop_services.release_hold(registration_id=others[0].pk)
    assert WaitlistEntry.objects.get(learner=learner).status == WaitlistEntry.Status.OFFERED
    assert seats(workshop) == (2, 0, 1)
    client.force_login(learner)

    order = buy_seat_and_get_order(client, workshop)  # the claim page's button

    registration = Registration.objects.get(learner=learner)
    assert order.workshop_registration == registration
    assert registration.status == Registration.Status.HELD
    assert WaitlistEntry.objects.get(learner=learner).status == WaitlistEntry.Status.CLAIMED
    assert seats(workshop) == (3, 0, 0)


def test_a_seat_held_earlier_is_held_on_for_as_long_as_its_new_session(
    client, workshop, stripe_api
):
    learner = user(email="slow@example.com")
    earlier = timezone.now() - timedelta(minutes=20)
    held = workshop_services.hold_seat(learner=learner, workshop=workshop, now=earlier)
    client.force_login(learner)

    order = buy_seat_and_get_order(client, workshop)

    held.refresh_from_db()
    assert order.workshop_registration == held
    assert held.hold_expires_at is not None
    assert held.hold_expires_at == order.checkout_expires_at
    assert held.hold_expires_at > timezone.now() + timedelta(minutes=29)
    assert seats(workshop) == (1, 0, 0)


# -- paying -----------------------------------------------------------------------------------


def test_paying_confirms_the_seat_with_one_registration_e_mail_and_one_receipt(
    buyer_client, buyer, workshop, stripe_api, deliver, mailoutbox
):
    order = buy_seat_and_get_order(buyer_client, workshop)

    pay(stripe_api, deliver, order)
    deliver(latest_event(stripe_api, "checkout.session.completed"))  # a redelivery

    assert order.status == Order.Status.PAID
    registration = Registration.objects.get()
    assert registration.status == Registration.Status.CONFIRMED
    assert seats(workshop) == (0, 1, 0)
    assert sorted(m.subject for m in mailoutbox) == [
        "Payment received: Laminated dough",
        "You're registered: Laminated dough",
    ]
    [registered] = [m for m in mailoutbox if m.subject.startswith("You're registered")]
    [receipt] = [m for m in mailoutbox if m.subject.startswith("Payment received")]
    assert len(invites(registered)) == 1
    assert invites(receipt) == []
    assert "€25.00" in receipt.body
    assert "separate e-mail" in receipt.body
    assert {m.to[0] for m in mailoutbox} == {buyer.email}


def test_the_success_page_shows_the_seat(buyer_client, workshop, stripe_api, deliver):
    order = buy_seat_and_get_order(buyer_client, workshop)
    pay(stripe_api, deliver, order)

    html = buyer_client.get(reverse("payments:checkout_success", args=[order.pk])).content.decode()

    assert "Your seat is confirmed" in html
    assert f'href="{workshop.url}"' in html


# -- checkout ending unpaid ------------------------------------------------------------------


def test_expired_webhook_twice_and_the_sweeper_release_the_seat_once(
    buyer_client, workshop, stripe_api, deliver
):
    workshop_services.hold_seat(learner=a_learner(), workshop=workshop)  # someone else's
    order = buy_seat_and_get_order(buyer_client, workshop)
    assert seats(workshop) == (2, 0, 0)

    stripe_api.expire_now(order.stripe_checkout_session_id)
    expired = latest_event(stripe_api, "checkout.session.expired")
    assert deliver(expired).status_code == 200
    assert deliver(expired).status_code == 200
    workshop_services.release_expired_holds(now=timezone.now() + timedelta(hours=1))

    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    assert seat_of(order).status == "released"
    # The sweeper released the other hold (its time also ran out), each exactly once.
    assert seats(workshop) == (0, 0, 0)


def test_sweeper_first_then_the_expired_webhook_release_once(
    buyer_client, workshop, stripe_api, deliver
):
    order = buy_seat_and_get_order(buyer_client, workshop)
    workshop_services.hold_seat(learner=a_learner(), workshop=workshop)  # a moment later
    workshop_services.release_expired_holds(now=order.checkout_expires_at)  # only ours is due
    assert seats(workshop) == (1, 0, 0)

    stripe_api.expire_now(order.stripe_checkout_session_id)
    assert deliver(latest_event(stripe_api, "checkout.session.expired")).status_code == 200

    assert seats(workshop) == (1, 0, 0)
    assert Order.objects.get(pk=order.pk).status == Order.Status.EXPIRED


def test_cancel_on_stripes_page_gives_the_seat_back(buyer_client, workshop, stripe_api):
    order = buy_seat_and_get_order(buyer_client, workshop)

    response = buyer_client.get(reverse("payments:checkout_cancel", args=[order.pk]))

    assert response["Location"] == workshop.url
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
    assert Registration.objects.get().status == Registration.Status.RELEASED
    assert seats(workshop) == (0, 0, 0)


def test_failed_delayed_payment_gives_the_seat_back(buyer_client, workshop, stripe_api, deliver):
    order = buy_seat_and_get_order(buyer_client, workshop)
    stripe_api.pay(order.stripe_checkout_session_id, "delayed")
    stripe_api.settle(order.stripe_checkout_session_id, "failed")
    assert deliver(latest_event(stripe_api, "checkout.session.completed")).status_code == 200
    assert seats(workshop) == (1, 0, 0)  # still held while the payment settles

    failed = latest_event(stripe_api, "checkout.session.async_payment_failed")
    assert deliver(failed).status_code == 200

    assert Order.objects.get(pk=order.pk).status == Order.Status.FAILED
    assert seats(workshop) == (0, 0, 0)


# -- a payment too late for a seat ----------------------------------------------------------


def test_late_payment_after_resale_is_refunded_automatically_with_one_e_mail(
    client, buyer_client, buyer, workshop, stripe_api, deliver, mailoutbox
):
    order = buy_seat_and_get_order(buyer_client, workshop)
    for _ in range(2):
        workshop_services.hold_seat(learner=a_learner(), workshop=workshop)
    # The hold ran out; the last seat went to someone else.
    workshop_services.release_hold(registration_id=seat_of(order).pk)
    client.force_login(user(email="quick@example.com"))
    buy_seat_and_get_order(client, workshop)
    assert seats(workshop) == (3, 0, 0)

    pay(stripe_api, deliver, order)

    assert order.status == Order.Status.PAID
    assert order.refunded_automatically
    assert order.refund_requested_at is not None
    [refund] = stripe_api.objects("refund")
    assert (refund["payment_intent"], refund["amount"]) == (order.stripe_payment_intent_id, 2500)
    assert seat_of(order).status == "refunded"
    assert seats(workshop) == (3, 0, 0)  # no oversell
    assert [m.subject for m in mailoutbox] == ["Sold out, payment refunded: Laminated dough"]

    assert deliver(latest_event(stripe_api, "charge.refunded")).status_code == 200
    assert deliver(latest_event(stripe_api, "checkout.session.completed")).status_code == 200

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert len(stripe_api.objects("refund")) == 1
    assert len(mailoutbox) == 1
    assert seats(workshop) == (3, 0, 0)


# -- cancelled paid seats are refunded without staff -----------------------------------------


def test_learner_cancels_a_paid_seat_refund_frees_it_for_the_waitlist(
    buyer_client,
    buyer,
    workshop,
    stripe_api,
    deliver,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    order = buy_seat_and_get_order(buyer_client, workshop)
    pay(stripe_api, deliver, order)
    for _ in range(2):
        workshop_services.hold_seat(learner=a_learner(), workshop=workshop)
    waiting = user(email="waiting@example.com")
    workshop_services.join_waitlist(learner=waiting, workshop=workshop)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = buyer_client.post(reverse("workshops:cancel", args=[workshop.pk]))

    assert messages_of(response) == ["Your seat is cancelled. Your payment will be refunded."]
    order.refresh_from_db()
    assert order.refund_requested_at is not None
    [refund] = stripe_api.objects("refund")
    assert refund["metadata"] == {"order_id": str(order.pk)}
    assert WaitlistEntry.objects.get(learner=waiting).status == WaitlistEntry.Status.OFFERED

    assert deliver(latest_event(stripe_api, "charge.refunded")).status_code == 200
    assert deliver(latest_event(stripe_api, "charge.refunded")).status_code == 200

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert seat_of(order).status == "refunded"
    assert seats(workshop) == (2, 0, 1)
    subjects = [m.subject for m in mailoutbox if m.to == [buyer.email]]
    assert subjects == ["Refund issued: Laminated dough"]
    assert "Your seat at the workshop has ended." in mailoutbox[-1].body


def test_the_cancellation_signal_twice_requests_one_refund(
    buyer_client, workshop, stripe_api, deliver
):
    order = buy_seat_and_get_order(buyer_client, workshop)
    pay(stripe_api, deliver, order)
    registration_id = order.workshop_registration_id
    assert registration_id is not None

    first = services.refund_cancelled_seat(registration_id=registration_id)
    second = services.refund_cancelled_seat(registration_id=registration_id)

    assert first == second == order
    assert len(stripe_api.objects("refund")) == 1


def test_creator_cancels_the_workshop_and_every_paid_seat_is_refunded(
    client, workshop, stripe_api, deliver, django_capture_on_commit_callbacks
):
    orders = []
    for number in range(3):
        client.force_login(user(email=f"learner{number}@example.com"))
        orders.append(buy_seat_and_get_order(client, workshop))
    for order in orders[:2]:
        pay(stripe_api, deliver, order)
    # The third never paid: its held seat is cancelled, nothing to refund, and its session
    # is expired so that it can't be paid for a workshop that won't happen.

    with django_capture_on_commit_callbacks(execute=True):
        workshop_services.cancel_workshop(workshop=workshop)

    refunds = stripe_api.objects("refund")
    assert sorted(r["metadata"]["order_id"] for r in refunds) == sorted(
        str(o.pk) for o in orders[:2]
    )
    for event in stripe_api.events(type="charge.refunded"):
        assert deliver(event).status_code == 200
    statuses = [Order.objects.get(pk=o.pk).status for o in orders]
    assert statuses == [Order.Status.REFUNDED, Order.Status.REFUNDED, Order.Status.CANCELLED]
    assert stripe_api.get(orders[2].stripe_checkout_session_id)["status"] == "expired"
    assert seats(workshop) == (0, 0, 0)


# -- who sees and refunds workshop orders --------------------------------------------------


def test_the_workshops_creator_sees_and_may_refund_its_orders_within_the_window(
    buyer_client, creator, workshop, stripe_api, deliver, settings
):
    order = buy_seat_and_get_order(buyer_client, workshop)
    pay(stripe_api, deliver, order)
    stranger = user(email="other@example.com")
    creator_page(title="Other Creator", slug="other-creator", creator=stranger)

    assert list(selectors.orders_visible_to(creator)) == [order]
    assert list(selectors.orders_visible_to(stranger)) == []
    assert services.may_refund(user=creator, order=order) is None
    assert services.may_refund(user=stranger, order=order) == (
        "Only staff or the workshop's creator can refund this order."
    )
    assert order.paid_at is not None
    late = order.paid_at + timedelta(days=settings.CREATOR_REFUND_WINDOW_DAYS, seconds=1)
    assert "within" in (services.may_refund(user=creator, order=order, now=late) or "")
    assert [page.pk for page in selectors.storefronts_that_sell()] == [workshop.get_parent().pk]


def test_payment_after_the_learner_gave_the_held_seat_back_is_refunded_with_one_e_mail(
    buyer_client, workshop, stripe_api, deliver, mailoutbox
):
    order = buy_seat_and_get_order(buyer_client, workshop)
    buyer_client.post(reverse("workshops:cancel", args=[workshop.pk]))  # "Give the seat back"
    assert seats(workshop) == (0, 0, 0)

    pay(stripe_api, deliver, order)  # paid in the other tab anyway
    assert deliver(latest_event(stripe_api, "charge.refunded")).status_code == 200

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert len(stripe_api.objects("refund")) == 1
    assert seat_of(order).status == Registration.Status.REFUNDED
    assert seats(workshop) == (0, 0, 0)
    assert [m.subject for m in mailoutbox] == ["Refund issued: Laminated dough"]
