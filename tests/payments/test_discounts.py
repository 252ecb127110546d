"""Follower codes: shown on the page from a link, charged at checkout, recorded on the Order,
uses counted and given back; bad codes show the full price with a reason, never an error."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from payments import discounts
from payments.models import DiscountCode, Order
from tests.workshops.factories import paid_workshop

from .discount_factories import amount_code, percent_code
from .factories import paid_course, storefront, user
from .helpers import buy, buy_and_get_order, latest_event

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_code_link_shows_the_discounted_price_and_checkout_charges_it(
    buyer_client, creator, course, stripe_api
):
    percent_code(creator=creator, name="MAYA20", percent=20, item=course)

    page = buyer_client.get(f"{course.url}?code=maya20")

    assert page.status_code == 200
    html = page.content.decode()
    assert "€39.20" in html and "€49.00" in html  # the new price beside the struck list price
    assert "with code MAYA20" in html
    assert messages_of(page) == ["Code “MAYA20” applied: €39.20 instead of €49.00."]

    order = buy_and_get_order(buyer_client, course)

    assert (order.amount, order.list_amount, order.discount_amount) == (3920, 4900, 980)
    assert order.discount_code is not None and order.discount_code.name == "MAYA20"
    assert order.discount_use_held
    session = stripe_api.get(order.stripe_checkout_session_id)
    assert session["amount_total"] == 3920
    assert DiscountCode.objects.get().uses_taken == 1
    # A visitor without the code sees the full price only.
    assert "€39.20" not in Client().get(course.url).content.decode()


def test_short_link_remembers_the_code_and_opens_the_item(buyer_client, creator, course):
    amount_code(creator=creator, name="BREAD5", amount="5", item=course)

    response = buyer_client.get("/c/bread5/")

    assert response.status_code == 302
    assert response["Location"] == course.url
    assert buyer_client.session[discounts.SESSION_KEY] == "BREAD5"
    assert "€44.00" in buyer_client.get(course.url).content.decode()


def test_storefront_wide_code_applies_to_every_item_of_that_creator_only(
    buyer_client, creator, course, stripe_api
):
    other_course = paid_course(
        storefront_page=course.get_parent(), title="Rye basics", price_amount=2000
    )
    stranger_course = paid_course(title="Not Maya's", slug="not-mayas", price_amount=3000)
    percent_code(creator=creator, name="ALLMAYA", percent=50)

    response = buyer_client.get("/c/ALLMAYA/")
    assert response["Location"] == course.get_parent().url

    assert "€10.00" in buyer_client.get(other_course.url).content.decode()
    stranger_page = buyer_client.get(stranger_course.url)
    assert "€15.00" not in stranger_page.content.decode()
    order = buy_and_get_order(buyer_client, stranger_course)
    assert (order.amount, order.discount_code) == (3000, None)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("unknown", "There is no code “NOPE”. Prices are shown in full."),
        ("expired", "The code “NOPE” has expired. Prices are shown in full."),
        ("used up", "The code “NOPE” has been used up. Prices are shown in full."),
        ("switched off", "There is no code “NOPE”. Prices are shown in full."),
    ],
)
def test_a_bad_code_says_why_and_the_page_and_checkout_use_the_full_price(
    setup, message, buyer_client, creator, course, stripe_api
):
    if setup != "unknown":
        code = percent_code(creator=creator, name="NOPE", max_uses=1)
        if setup == "expired":
            DiscountCode.objects.filter(pk=code.pk).update(
                expires_at=timezone.now() - timedelta(minutes=1)
            )
        elif setup == "used up":
            DiscountCode.objects.filter(pk=code.pk).update(uses_taken=1)
        else:
            discounts.set_active(creator=creator, code_id=code.pk, active=False)

    page = buyer_client.get(f"{course.url}?code=nope")

    assert page.status_code == 200
    assert messages_of(page) == [message]
    assert "€49.00" in page.content.decode()
    short = buyer_client.get("/c/NOPE/", follow=True)
    assert short.status_code == 200
    assert message in messages_of(short)
    # Even with the name forced into the session, checkout charges the full price.
    session = buyer_client.session
    session[discounts.SESSION_KEY] = "NOPE"
    session.save()
    assert buy_and_get_order(buyer_client, course).amount == 4900


def test_a_code_for_another_item_says_it_does_not_apply_here(buyer_client, creator, course):
    rye = paid_course(storefront_page=course.get_parent(), title="Rye", price_amount=2000)
    percent_code(creator=creator, name="RYEONLY", item=rye)

    page = buyer_client.get(f"{course.url}?code=RYEONLY")

    assert messages_of(page) == [
        f"The code “RYEONLY” does not apply to “{course.title}”. It costs the full price."
    ]
    assert "with code" not in page.content.decode()


def test_expired_and_cancelled_checkouts_give_their_use_back_once(
    buyer_client, creator, course, stripe_api, deliver
):
    code = percent_code(creator=creator, name="TWO", max_uses=2)
    session = buyer_client.session
    session[discounts.SESSION_KEY] = "TWO"
    session.save()
    order = buy_and_get_order(buyer_client, course)
    assert DiscountCode.objects.get(pk=code.pk).uses_taken == 1

    stripe_api.expire_now(order.stripe_checkout_session_id)
    expired = latest_event(stripe_api, "checkout.session.expired")
    deliver(expired)
    deliver(dict(expired, id="evt_expired_again"))  # and a second "expired" changes nothing

    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    assert not order.discount_use_held
    assert DiscountCode.objects.get(pk=code.pk).uses_taken == 0

    second = buy_and_get_order(buyer_client, course)
    assert DiscountCode.objects.get(pk=code.pk).uses_taken == 1
    buyer_client.get(reverse("payments:checkout_cancel", args=[second.pk]))
    second.refresh_from_db()
    assert second.status == Order.Status.CANCELLED
    assert DiscountCode.objects.get(pk=code.pk).uses_taken == 0


def test_payment_after_expiry_keeps_the_discount_and_takes_the_use_again(
    buyer_client, creator, course, stripe_api, deliver
):
    code = percent_code(creator=creator, name="LATE", max_uses=5)
    session = buyer_client.session
    session[discounts.SESSION_KEY] = "LATE"
    session.save()
    order = buy_and_get_order(buyer_client, course)
    stripe_api.pay(order.stripe_checkout_session_id)
    paid = latest_event(stripe_api, "checkout.session.completed")
    deliver(dict(paid, id="evt_expired_first", type="checkout.session.expired"))
    assert DiscountCode.objects.get(pk=code.pk).uses_taken == 0

    deliver(paid)

    order.refresh_from_db()
    assert (order.status, order.amount, order.discount_use_held) == (Order.Status.PAID, 3920, True)
    assert DiscountCode.objects.get(pk=code.pk).uses_taken == 1


def test_workshop_seat_checkout_charges_the_code_in_the_workshop_currency(buyer_client, stripe_api):
    workshop = paid_workshop(price_amount=3000, currency="JPY")
    creator = user(email="host@example.com")
    host = storefront(creator=creator, title="Host")
    workshop.move(host, pos="last-child")
    workshop.refresh_from_db()
    amount_code(creator=creator, name="YEN500", amount="500", item=workshop)

    page = buyer_client.get(f"{workshop.url}?code=YEN500")
    assert "¥2,500" in page.content.decode()
    assert "Buy a seat · ¥2,500" in page.content.decode()
    response = buyer_client.post(reverse("payments:buy_workshop", args=[workshop.pk]))

    order = Order.objects.get(stripe_checkout_url=response["Location"])
    assert (order.amount, order.list_amount, order.currency) == (2500, 3000, "JPY")
    assert stripe_api.get(order.stripe_checkout_session_id)["amount_total"] == 2500


def test_a_code_never_takes_the_price_below_stripes_smallest_charge(
    buyer_client, creator, course, stripe_api
):
    amount_code(creator=creator, name="HUGE", amount="100", item=course)
    buyer_client.get("/c/HUGE/")

    order = buy_and_get_order(buyer_client, course)

    assert (order.amount, order.discount_amount) == (50, 4850)


# -- making codes: owners only, bad input refused ------------------------------------------


def test_a_creator_cannot_make_a_code_for_another_creators_item(creator, course):
    theo = user(email="theo@example.com")
    storefront(creator=theo, title="Theo")

    with pytest.raises(discounts.DiscountCodeError, match="your own courses and workshops"):
        percent_code(creator=theo, name="STEAL", item=course)
    assert not DiscountCode.objects.exists()


def test_a_storefront_wide_code_of_one_creator_never_discounts_anothers_items(creator, course):
    theo = user(email="theo@example.com")
    storefront(creator=theo, title="Theo")
    percent_code(creator=theo, name="THEO10", percent=10)

    assert discounts.check(name="THEO10", item=course).offer is None


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": "x", "percent_off": 10}, "3 to 40 letters"),
        ({"name": "ZERO", "percent_off": 0}, "between 1 and 100"),
        ({"name": "BOTH", "percent_off": 10, "amount_off_major": Decimal(1)}, "either"),
        ({"name": "CENTS", "amount_off_major": Decimal("0.001"), "currency": "EUR"}, "2 decimals"),
        ({"name": "NOCUR", "amount_off_major": Decimal(5)}, "currency"),
        ({"name": "NOUSE", "percent_off": 5, "max_uses": 0}, "at least 1"),
    ],
)
def test_bad_code_input_is_refused_with_a_reason(creator, course, fields, error):
    with pytest.raises(discounts.DiscountCodeError, match=error):
        discounts.create_code(creator=creator, **fields)
    assert not DiscountCode.objects.exists()


def test_code_names_are_unique_whatever_their_case(creator, course):
    percent_code(creator=creator, name="SAME")
    with pytest.raises(discounts.DiscountCodeError, match="taken"):
        percent_code(creator=creator, name="same")


def test_buy_without_a_code_is_unchanged(buyer_client, course, stripe_api):
    buy(buyer_client, course)
    order = Order.objects.get()
    assert (order.amount, order.list_amount, order.discount_amount) == (4900, None, 0)


def test_the_receipt_shows_the_code_and_what_it_took_off(
    buyer_client, creator, course, stripe_api, deliver, mailoutbox
):
    percent_code(creator=creator, name="MAYA20", percent=20)
    buyer_client.get("/c/MAYA20/")
    order = buy_and_get_order(buyer_client, course)
    stripe_api.pay(order.stripe_checkout_session_id)

    deliver(latest_event(stripe_api, "checkout.session.completed"))

    (receipt,) = mailoutbox
    assert "Amount: €39.20 (€49.00 less €9.80 with code MAYA20)" in receipt.body
    html = receipt.alternatives[0][0]
    assert "Code MAYA20" in html and "&minus;€9.80 (of €49.00)" in html
