"""A learner registers for a free workshop, end to end in headless Chromium."""

import pytest
from icalendar import Calendar
from playwright.sync_api import Page, expect

from tests.workshops.factories import (
    a_learner,
    in_minutes,
    index_page,
    workshop_page,
)
from workshops.models import Registration

pytestmark = [
    pytest.mark.browser,
    # live_server needs real commits (tests/conftest.py rebuilds the site's page tree).
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "a-long-enough-passphrase"
JOIN_URL = "https://meet.example.com/sourdough-live"


def test_learner_registers_for_a_free_workshop_downloads_the_invite_and_sees_the_join_link(
    page: Page, live_server, mailoutbox
):
    learner = a_learner(email="baker@example.com", password=PASSWORD, time_zone="Europe/Berlin")
    index = index_page()
    # Starts in 30 minutes: the join link is already open for registered learners.
    workshop = workshop_page(
        title="Shaping a loaf, live",
        starts_at=in_minutes(30),
        join_url=JOIN_URL,
        capacity=12,
        publish=True,
    )

    # Find it in the list and open it, as a visitor.
    page.goto(live_server.url + index.url)
    page.get_by_role("link", name="Shaping a loaf, live").click()
    expect(page.get_by_role("heading", name="Shaping a loaf, live")).to_be_visible()
    expect(page.get_by_text("12 seats left")).to_be_visible()
    expect(page.get_by_role("link", name="Join the workshop")).to_have_count(0)

    # Registering asks for a sign-in first, then comes back to the workshop.
    page.get_by_role("button", name="Register for free").click()
    page.get_by_placeholder("Email address").fill(learner.email)
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Shaping a loaf, live")).to_be_visible()
    page.get_by_role("button", name="Register for free").click()

    expect(page.get_by_text("You're registered.")).to_be_visible()
    expect(page.get_by_text("11 seats left")).to_be_visible()
    assert Registration.objects.get(learner=learner, workshop=workshop).status == "confirmed"
    assert [message.subject for message in mailoutbox] == [
        "You're registered: Shaping a loaf, live"
    ]

    # The join link is there, because the workshop starts within the hour.
    expect(page.get_by_role("link", name="Join the workshop")).to_have_attribute("href", JOIN_URL)

    # The calendar invite downloads and is a valid calendar with the stored start time.
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to your calendar (.ics)").click()
    [event] = Calendar.from_ical(download.value.path().read_bytes()).events
    assert event.start == workshop.starts_at
    assert str(event["SUMMARY"]) == "Shaping a loaf, live"
