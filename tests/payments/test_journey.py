"""A learner buys a course, end to end in headless Chromium: our site, the emulator's hosted
checkout page, its webhook to the live server, and back.
"""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from courses.dispatch import claim_due_deliveries
from courses.models import Enrollment, LessonDelivery
from payments.models import Order
from tests.accounts.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    # The live server's threads see only committed rows (the pages the migrations made are
    # made again by factories.home_page after each flush).
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def shop(live_server, settings, stripe_emulator):
    # Stripe sends the browser back to SITE_URL (success and cancel URLs).
    settings.SITE_URL = live_server.url
    return stripe_emulator


def sign_in(page: Page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_placeholder("Email address").fill(email)
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="My learning")).to_be_visible()


def click_buy(page: Page, live_server, course) -> None:
    """Open the course page and click its Buy button."""
    page.goto(f"{live_server.url}{course.url}")
    expect(page.get_by_text("€49.00").first).to_be_visible()
    page.get_by_role("button", name="Buy", exact=True).click()


def test_learner_pays_on_the_hosted_page_and_is_enrolled(
    page: Page, live_server, shop, buyer, course, mailoutbox
):
    sign_in(page, live_server, buyer.email)

    click_buy(page, live_server, course)

    expect(page).to_have_url(re.compile(rf"^{re.escape(shop.base_url)}/c/pay/cs_test_"))
    expect(page.locator("#items")).to_contain_text(course.title)
    expect(page.locator("#total")).to_have_text("€49.00")
    expect(page.locator("#email")).to_have_text(buyer.email)

    page.locator("#pay").click()

    order = Order.objects.get()
    expect(page).to_have_url(re.compile(rf"/payments/orders/{order.pk}/success/\?session_id="))
    expect(page.get_by_role("heading", name="You are in!")).to_be_visible()
    expect(page.get_by_text("€49.00")).to_be_visible()

    # The webhook arrives too (in the background); it changes nothing twice.
    assert shop.wait_for_deliveries(timeout=15)
    assert [a.status for a in shop.deliveries()] == [200]
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert [m.subject for m in mailoutbox] == [f"Payment received: {course.title}"]

    enrollment = Enrollment.objects.get(learner=buyer, course=course)
    first_lesson = course.lessons().first()
    day0 = LessonDelivery.objects.get(enrollment=enrollment, lesson=first_lesson)
    assert day0.status == LessonDelivery.Status.PENDING

    # The dispatcher sends day 0 when it is due (at once, or at the buyer's 08:00 today).
    claim_due_deliveries(now=max(timezone.now(), day0.due_at))
    day0.refresh_from_db()
    assert day0.status == LessonDelivery.Status.SENT
    assert mailoutbox[-1].subject == f"Day 1: {first_lesson.title} - {course.title}"

    # The buyer reads lesson 1 on the site.
    page.goto(f"{live_server.url}{first_lesson.url}")
    expect(page.get_by_text("The body of lesson 1.")).to_be_visible()


def test_declined_card_then_cancel_leaves_no_order_and_no_enrollment(
    page: Page, live_server, shop, buyer, course
):
    sign_in(page, live_server, buyer.email)
    click_buy(page, live_server, course)
    expect(page).to_have_url(re.compile(rf"^{re.escape(shop.base_url)}/c/pay/"))

    page.locator("#pay-declined").click()

    expect(page.get_by_role("alert")).to_have_text("Your card was declined.")
    order = Order.objects.get()
    assert order.status == Order.Status.PENDING
    assert not Enrollment.objects.exists()

    page.locator("#cancel").click()

    # Back on the course page, still able to buy.
    page.wait_for_url(f"{live_server.url}{course.url}")
    expect(page.get_by_role("button", name="Buy", exact=True)).to_be_visible()
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert shop.get(order.stripe_checkout_session_id)["status"] == "expired"
    assert shop.wait_for_deliveries(timeout=15)
    assert Order.objects.get().status == Order.Status.CANCELLED  # not "expired"
    assert not Enrollment.objects.exists()
