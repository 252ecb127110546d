"""A learner pays for a workshop, downloads the invite, sees the join link when it opens: end to
end in headless Chromium, through our pages, the emulator's hosted checkout page and its
webhook to the live server."""

import re

import pytest
from icalendar import Calendar
from playwright.sync_api import Page, expect

from payments.models import Order
from tests.accounts.factories import PASSWORD
from tests.workshops.factories import a_learner, in_minutes, paid_workshop
from workshops.models import Registration, SeatInventory

pytestmark = [
    pytest.mark.browser,
    # The live server's threads see only committed rows.
    pytest.mark.django_db(transaction=True),
]

JOIN_URL = "https://meet.example.com/croissants-live"


@pytest.fixture
def shop(live_server, settings, stripe_emulator):
    # Stripe sends the browser back to SITE_URL (success and cancel URLs).
    settings.SITE_URL = live_server.url
    return stripe_emulator


def test_learner_pays_for_a_workshop_downloads_the_invite_and_sees_the_join_link(
    page: Page, live_server, shop, mailoutbox
):
    learner = a_learner(email="baker@example.com", time_zone="Europe/Berlin")
    # Starts in 30 minutes: the join link is already open for confirmed registrants.
    workshop = paid_workshop(
        title="Croissants, live",
        starts_at=in_minutes(30),
        join_url=JOIN_URL,
        capacity=8,
        price_amount=3500,
        currency="EUR",
        publish=True,
    )
    workshop_url = live_server.url + workshop.url

    page.goto(workshop_url)
    expect(page.get_by_role("link", name="Join the workshop")).to_have_count(0)
    # Buying asks for a sign-in first, then comes back to the workshop.
    page.get_by_role("button", name="Buy a seat · €35.00").click()
    page.get_by_placeholder("Email address").fill(learner.email)
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Croissants, live")).to_be_visible()
    page.get_by_role("button", name="Buy a seat · €35.00").click()

    # Stripe's (the emulator's) hosted page, while the seat is held.
    expect(page).to_have_url(re.compile(rf"^{re.escape(shop.base_url)}/c/pay/cs_test_"))
    expect(page.locator("#items")).to_contain_text("Croissants, live")
    expect(page.locator("#total")).to_have_text("€35.00")
    assert Registration.objects.get(learner=learner).status == Registration.Status.HELD

    page.locator("#pay").click()

    order = Order.objects.get()
    expect(page).to_have_url(re.compile(rf"/payments/orders/{order.pk}/success/\?session_id="))
    expect(page.get_by_role("heading", name="You are in!")).to_be_visible()
    assert shop.wait_for_deliveries(timeout=15)
    order.refresh_from_db()
    assert (order.status, order.amount) == (Order.Status.PAID, 3500)
    assert Registration.objects.get(learner=learner).status == Registration.Status.CONFIRMED
    inventory = SeatInventory.objects.get(workshop=workshop)
    assert (inventory.held, inventory.confirmed) == (0, 1)
    assert sorted(message.subject for message in mailoutbox) == [
        "Payment received: Croissants, live",
        "You're registered: Croissants, live",
    ]

    page.get_by_role("link", name="Go to the workshop").click()
    expect(page.get_by_text("You’re registered.")).to_be_visible()
    expect(page.get_by_role("link", name="Join the workshop")).to_have_attribute("href", JOIN_URL)

    with page.expect_download() as download:
        page.get_by_role("link", name="Add to your calendar (.ics)").click()
    [event] = Calendar.from_ical(download.value.path().read_bytes()).events
    assert event.start == workshop.starts_at
    assert str(event["SUMMARY"]) == "Croissants, live"
