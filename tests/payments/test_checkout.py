"""Starting checkout: Buy makes one Order and one Checkout Session at the price of that moment."""

import http.client
import time
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from courses import services as course_services
from courses.models import Enrollment
from payments.models import Order
from tests.accounts.factories import UserFactory

from .factories import paid_course
from .helpers import buy, buy_and_get_order

pytestmark = pytest.mark.django_db


def test_buy_redirects_to_the_session_and_copies_the_price_onto_a_pending_order(
    buyer_client, buyer, course, stripe_api
):
    response = buy(buyer_client, course)

    assert response.status_code == 303
    order = Order.objects.get()
    assert response["Location"] == order.stripe_checkout_url
    assert response["Location"].startswith(f"{stripe_api.base_url}/c/pay/cs_test_")
    assert order.status == Order.Status.PENDING
    assert (order.buyer, order.course_id) == (buyer, course.pk)
    assert (order.amount, order.currency, order.item_title) == (4900, "EUR", course.title)
    assert order.stripe_checkout_session_id is not None
    assert order.stripe_checkout_session_id.startswith("cs_test_")
    assert order.checkout_expires_at is not None

    session = stripe_api.get(order.stripe_checkout_session_id)
    assert (session["status"], session["payment_status"]) == ("open", "unpaid")
    assert (session["amount_total"], session["currency"]) == (4900, "eur")
    assert session["customer_email"] == "buyer@example.com"
    assert session["client_reference_id"] == str(order.pk)
    assert session["metadata"] == {"order_id": str(order.pk)}
    assert session["success_url"] == (
        f"http://testserver/payments/orders/{order.pk}/success/?session_id={{CHECKOUT_SESSION_ID}}"
    )
    assert session["cancel_url"] == f"http://testserver/payments/orders/{order.pk}/cancel/"
    # Stripe's minimum lifetime, which is also how long the order waits.
    assert 29 * 60 < session["expires_at"] - time.time() <= 30 * 60
    assert abs(order.checkout_expires_at.timestamp() - session["expires_at"]) < 1

    # The line item as the hosted page shows it: name, description, the one amount.
    page = stripe_api_page(stripe_api, order.stripe_checkout_session_id)
    assert course.title in page
    assert "A course by Maya Okafor" in page
    assert "€49.00" in page


def stripe_api_page(emulator, session_id: str | None) -> str:
    """The hosted checkout page of a session, as the buyer's browser gets it."""
    connection = http.client.HTTPConnection("127.0.0.1", urlsplit(emulator.base_url).port)
    try:
        connection.request("GET", f"/c/pay/{session_id}")
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def test_payment_intent_carries_the_order_id_so_refunds_and_disputes_find_the_order(
    buyer_client, course, stripe_api
):
    order = buy_and_get_order(buyer_client, course)
    stripe_api.pay(order.stripe_checkout_session_id)

    session = stripe_api.get(order.stripe_checkout_session_id)
    intent = stripe_api.get(session["payment_intent"])
    assert intent["metadata"] == {"order_id": str(order.pk)}


def test_double_clicked_buy_makes_one_order_and_one_session(buyer_client, course, stripe_api):
    first = buy(buyer_client, course)
    second = buy(buyer_client, course)

    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1
    assert len(stripe_api.objects("checkout.session")) == 1


def test_price_edited_after_checkout_started_changes_neither_order_nor_session(
    buyer_client, course, stripe_api
):
    order = buy_and_get_order(buyer_client, course)

    course.price_amount = 9900
    course.save_revision().publish()

    again = buy(buyer_client, course)  # the buyer comes back to the open session
    order.refresh_from_db()
    assert again["Location"] == order.stripe_checkout_url
    assert (order.amount, order.currency) == (4900, "EUR")
    assert stripe_api.get(order.stripe_checkout_session_id)["amount_total"] == 4900
    assert len(stripe_api.objects("checkout.session")) == 1


def test_a_new_buyer_after_the_price_edit_pays_the_new_price(buyer_client, course, stripe_api):
    course.price_amount = 9900
    course.save_revision().publish()

    order = buy_and_get_order(buyer_client, course)

    assert order.amount == 9900
    assert stripe_api.get(order.stripe_checkout_session_id)["amount_total"] == 9900


def test_zero_decimal_currency_is_charged_in_whole_units(buyer_client, stripe_api):
    course = paid_course(title="Knife skills", price_amount=1500, currency="JPY")

    order = buy_and_get_order(buyer_client, course)

    assert (order.amount, order.currency, order.amount_display) == (1500, "JPY", "¥1,500")
    session = stripe_api.get(order.stripe_checkout_session_id)
    assert (session["amount_total"], session["currency"]) == (1500, "jpy")
    assert "¥1,500" in stripe_api_page(stripe_api, session["id"])


def test_an_expired_session_is_not_reused(buyer_client, course, stripe_api):
    first = buy_and_get_order(buyer_client, course)
    Order.objects.filter(pk=first.pk).update(status=Order.Status.EXPIRED)

    second = buy_and_get_order(buyer_client, course)

    assert second.pk != first.pk
    assert len(stripe_api.objects("checkout.session")) == 2


def test_an_enrolled_learner_is_sent_to_the_course_without_a_new_order(
    buyer_client, buyer, course, stripe_api
):
    course_services.enroll(learner=buyer, course=course)

    response = buy(buyer_client, course)

    assert response.status_code == 303
    assert response["Location"] == course.url
    assert not Order.objects.exists()
    assert stripe_api.objects("checkout.session") == []


def test_a_free_course_cannot_be_bought(buyer_client, stripe_api):
    course = paid_course(title="Free taster", price_amount=0)

    response = buy(buyer_client, course)

    assert response.status_code == 302
    assert response["Location"] == course.url
    assert not Order.objects.exists()


def test_buy_needs_a_signed_in_user(client, course, stripe_api):
    response = buy(client, course)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not Order.objects.exists()


def test_buy_by_get_sends_the_visitor_to_the_course_page(buyer_client, course, stripe_api):
    # Where the login page's "next" leads after signing in from a Buy click.
    response = buyer_client.get(reverse("payments:buy_course", args=[course.pk]))

    assert response.status_code == 302
    assert response["Location"] == course.url
    assert not Order.objects.exists()


def test_buy_an_unpublished_course_is_404(buyer_client, course, stripe_api):
    course.unpublish()

    assert buy(buyer_client, course).status_code == 404


def test_stripe_down_shows_a_message_and_keeps_no_order(buyer_client, course, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port

    response = buy(buyer_client, course)

    assert response.status_code == 302
    assert response["Location"] == course.url
    assert not Order.objects.exists()


def test_refunded_learner_buying_again_is_refused_rather_than_charged_for_nothing(
    buyer_client, buyer, course, stripe_api
):
    enrollment = course_services.enroll(learner=buyer, course=course)
    course_services.revoke(enrollment=enrollment)

    response = buy(buyer_client, course)

    assert response.status_code == 302
    assert response["Location"] == course.url
    assert not Order.objects.exists()
    assert Enrollment.objects.get().status == Enrollment.Status.REFUNDED


def test_cancel_closes_the_order_and_expires_the_session(buyer_client, course, stripe_api):
    order = buy_and_get_order(buyer_client, course)
    cancel_url = stripe_api.cancel(order.stripe_checkout_session_id)
    assert cancel_url is not None

    response = buyer_client.get(urlsplit(cancel_url).path)

    assert response.status_code == 302
    assert response["Location"] == course.url
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert stripe_api.get(order.stripe_checkout_session_id)["status"] == "expired"


def test_cancel_of_someone_elses_order_is_404(client, buyer_client, course, stripe_api):
    order = buy_and_get_order(buyer_client, course)
    client.force_login(UserFactory())

    response = client.get(reverse("payments:checkout_cancel", args=[order.pk]))

    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
