"""A follower's journey in headless Chromium: a creator's code link, the discounted price on
the course page, sign-in, the emulator's hosted checkout charging that price, and the Order
recording the discount."""

import re

import pytest
from playwright.sync_api import Page, expect

from payments.models import DiscountCode, Order
from tests.accounts.factories import PASSWORD

from .discount_factories import percent_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_visitor_follows_a_code_link_and_pays_the_discounted_price(
    page: Page, live_server, settings, stripe_emulator, creator, buyer, course
):
    settings.SITE_URL = live_server.url
    percent_code(creator=creator, name="MAYA20", percent=20, item=course, max_uses=50)

    # The link from the creator's social profile, followed before signing in.
    page.goto(f"{live_server.url}/c/MAYA20/")

    expect(page).to_have_url(f"{live_server.url}{course.url}")
    expect(page.get_by_role("status")).to_contain_text("Code “MAYA20” applied")
    price = page.locator(".course-aside .price")
    expect(price).to_contain_text("€39.20")
    expect(price.locator("s")).to_have_text("€49.00")
    expect(price).to_contain_text("with code MAYA20")

    page.get_by_role("button", name="Buy", exact=True).click()
    page.get_by_placeholder("Email address").fill(buyer.email)
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^sign in$", re.IGNORECASE)).click()

    # Back on the course page after signing in: the code is still there.
    expect(page).to_have_url(f"{live_server.url}{course.url}")
    expect(page.locator(".course-aside .price")).to_contain_text("€39.20")
    page.get_by_role("button", name="Buy", exact=True).click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(stripe_emulator.base_url)}/c/pay/cs_test_"))
    expect(page.locator("#total")).to_have_text("€39.20")
    page.locator("#pay").click()

    order = Order.objects.get()
    expect(page).to_have_url(re.compile(rf"/payments/orders/{order.pk}/success/"))
    assert stripe_emulator.wait_for_deliveries(timeout=15)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert (order.amount, order.list_amount, order.discount_amount) == (3920, 4900, 980)
    assert order.discount_code is not None and order.discount_code.name == "MAYA20"
    assert DiscountCode.objects.get().uses_taken == 1
