"""The page Stripe sends the buyer back to: it shows the order's state, and may fulfil early."""

import pytest
from django.urls import reverse

from courses.models import Enrollment
from payments.models import Order
from tests.accounts.factories import UserFactory

from .helpers import buy_and_get_order, latest_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(buyer_client, course, stripe_api) -> Order:
    return buy_and_get_order(buyer_client, course)


def success_page(client, order: Order, django_capture_on_commit_callbacks):
    url = reverse("payments:checkout_success", args=[order.pk])
    with django_capture_on_commit_callbacks(execute=True):
        return client.get(f"{url}?session_id={order.stripe_checkout_session_id}")


def test_pending_order_says_confirming_and_refreshes_itself(
    buyer_client, order, django_capture_on_commit_callbacks
):
    response = success_page(buyer_client, order, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Confirming your payment" in html
    assert '<meta http-equiv="refresh"' in html
    assert response["Cache-Control"] == "private, no-store"


def test_paid_order_says_you_are_in(
    buyer_client, order, stripe_api, deliver, django_capture_on_commit_callbacks
):
    stripe_api.pay(order.stripe_checkout_session_id)
    deliver(latest_event(stripe_api, "checkout.session.completed"))

    response = success_page(buyer_client, order, django_capture_on_commit_callbacks)

    html = response.content.decode()
    assert "You are in" in html
    assert "€49.00" in html
    assert "http-equiv" not in html


def test_late_webhook_the_success_page_fulfils_and_the_webhook_then_changes_nothing(
    buyer_client, order, stripe_api, deliver, mailoutbox, django_capture_on_commit_callbacks
):
    # stripe_api delivers nothing by itself: the webhook is "late" until the test posts it.
    stripe_api.pay(order.stripe_checkout_session_id)

    response = success_page(buyer_client, order, django_capture_on_commit_callbacks)

    assert "You are in" in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.stripe_payment_intent_id is not None
    assert Enrollment.objects.count() == 1
    assert len(mailoutbox) == 1

    assert deliver(latest_event(stripe_api, "checkout.session.completed")).status_code == 200

    assert Enrollment.objects.count() == 1
    assert len(mailoutbox) == 1


def test_delayed_payment_stays_confirming_until_it_settles(
    buyer_client, order, stripe_api, django_capture_on_commit_callbacks
):
    stripe_api.pay(order.stripe_checkout_session_id, "delayed")

    response = success_page(buyer_client, order, django_capture_on_commit_callbacks)

    assert "Confirming your payment" in response.content.decode()
    assert Order.objects.get().status == Order.Status.PENDING
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize("status", [Order.Status.EXPIRED, Order.Status.CANCELLED])
def test_closed_order_says_it_did_not_go_through(
    status, buyer_client, order, django_capture_on_commit_callbacks
):
    Order.objects.filter(pk=order.pk).update(status=status)

    html = success_page(buyer_client, order, django_capture_on_commit_callbacks).content.decode()

    assert "did not go through" in html
    assert "you have not been charged" in html


def test_stripe_unreachable_still_shows_the_page(
    buyer_client, order, settings, django_capture_on_commit_callbacks
):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"

    response = success_page(buyer_client, order, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert "Confirming your payment" in response.content.decode()


def test_someone_elses_order_is_404(client, order, django_capture_on_commit_callbacks):
    client.force_login(UserFactory())

    assert success_page(client, order, django_capture_on_commit_callbacks).status_code == 404


def test_signed_out_visitor_is_asked_to_sign_in(client, order, django_capture_on_commit_callbacks):
    client.logout()  # the buyer's client, which bought the order

    response = success_page(client, order, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
