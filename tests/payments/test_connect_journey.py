"""Stripe Connect end to end in headless Chromium (issue #12): a creator is refused publishing
a paid course, connects through the emulator's hosted onboarding page and publishes it; a
learner buys it; the studio shows gross, fee and net; staff refund part of it and then the
rest from the Orders admin; the creator's share is reversed in proportion and the "Get paid"
page agrees with the emulator's balance of the creator's account."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from courses.models import CoursePage
from payments.models import ConnectedAccount, Order
from tests.studio.factories import approved_creator, staff_user

from .factories import user
from .test_journey import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COURSE = "Knife skills in five days"


def publish_paid_course(page: Page, live_server) -> None:
    """The creator's storefront: Add child page -> Course, a title, a price, Publish."""
    page.goto(f"{live_server.url}/admin/pages/")
    page.get_by_role("link", name="Add child page").click()
    page.get_by_role("link", name="Course", exact=True).click()
    title = page.get_by_placeholder("Page title*")
    title.fill(COURSE)
    title.blur()
    page.get_by_role("textbox", name="Price").fill("19.99")
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Publish").click()


def get_paid_figures(page: Page, live_server) -> dict[str, str]:
    page.goto(f"{live_server.url}/admin/studio/get-paid/")
    row = page.locator("table.earnings tr[data-currency=EUR]")
    balance = page.locator("table.stripe-balance tr[data-currency=EUR]")
    return {
        "gross": row.locator(".gross").inner_text(),
        "fees": row.locator(".fees").inner_text(),
        "net": row.locator(".net").inner_text(),
        "at_stripe": balance.locator(".pending").inner_text(),
    }


def refund(page: Page, live_server, order: Order, amount: str = "") -> None:
    page.goto(f"{live_server.url}/admin/orders/inspect/{order.pk}/")
    if amount:
        page.locator("#refund-amount").fill(amount)
    page.get_by_role("button", name="Refund…").click()
    page.get_by_role("button", name=re.compile("^Yes, refund")).click()
    expect(page.get_by_text(re.compile("Refund of .* requested"))).to_be_visible()


def test_a_creator_connects_sells_and_refunds_reverse_their_share_in_proportion(
    page: Page, browser: Browser, live_server, settings, stripe_emulator
):
    settings.SITE_URL = live_server.url
    settings.WAGTAIL_AUTOSAVE_INTERVAL = 0
    shop = stripe_emulator
    creator, _storefront = approved_creator(email="maya@example.com", display_name="Maya Okafor")
    staff = staff_user()
    learner = user(email="bea@example.com")

    # Without a Stripe account, the editor refuses to publish a paid course and says why.
    sign_in(page, live_server, creator.email)
    publish_paid_course(page, live_server)
    expect(page.get_by_text("connected a Stripe account")).to_be_visible()
    assert not CoursePage.objects.filter(title=COURSE, live=True).exists()

    # "Get paid": connect, complete Stripe's hosted onboarding, back in the studio.
    page.goto(f"{live_server.url}/admin/studio/get-paid/")
    page.get_by_role("button", name="Connect with Stripe").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(shop.base_url)}/connect/onboarding/"))
    page.locator("#onboarding-complete").click()
    expect(page).to_have_url(re.compile(r"/admin/studio/get-paid/\?returned=1$"))
    expect(page.locator(".connect-state")).to_have_attribute("data-state", "enabled")
    account = ConnectedAccount.objects.get(creator=creator)

    publish_paid_course(page, live_server)
    expect(page.get_by_text(re.compile(f"{COURSE}.* created and published"))).to_be_visible()
    course = CoursePage.objects.get(title=COURSE)

    # A learner buys it on the emulator's hosted checkout page.
    buyer_page = browser.new_page()
    sign_in(buyer_page, live_server, learner.email)
    buyer_page.goto(f"{live_server.url}{course.url}")
    buyer_page.get_by_role("button", name="Buy", exact=True).click()
    buyer_page.locator("#pay").click()
    expect(buyer_page.get_by_role("heading", name="You are in!")).to_be_visible()
    assert shop.wait_for_deliveries(timeout=15)
    order = Order.objects.get(status=Order.Status.PAID)
    assert order.destination_account_id == account.stripe_account_id

    # The creator's figures: €19.99 gross, €2.00 fee (10 %, rounded half up), €17.99 net,
    # and Stripe holds exactly the net for them.
    assert get_paid_figures(page, live_server) == {
        "gross": "€19.99",
        "fees": "€2.00",
        "net": "€17.99",
        "at_stripe": "€17.99",
    }

    # Staff refund €10.01, then the rest, from the Orders admin.
    staff_page = browser.new_page()
    sign_in(staff_page, live_server, staff.email)
    refund(staff_page, live_server, order, amount="10.01")
    assert shop.wait_for_deliveries(timeout=15)
    # The creator gives back 10.01 less the fee's share round(2.00 x 10.01 / 19.99) = 1.00.
    after_partial = get_paid_figures(page, live_server)
    assert after_partial["net"] == "€8.98"
    assert after_partial["fees"] == "€1.00"
    assert after_partial["at_stripe"] == after_partial["net"]

    refund(staff_page, live_server, order)
    assert shop.wait_for_deliveries(timeout=15)
    after_full = get_paid_figures(page, live_server)
    assert (after_full["net"], after_full["fees"], after_full["at_stripe"]) == (
        "€0.00",
        "€0.00",
        "€0.00",
    )
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (Order.Status.REFUNDED, 1999)
