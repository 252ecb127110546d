"""A visitor becomes a learner, end to end in headless Chromium."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User

pytestmark = [
    pytest.mark.browser,
    # live_server needs real commits (tests/conftest.py rebuilds the site's page tree).
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "a-long-enough-passphrase"


def test_visitor_signs_up_verifies_signs_in_sets_zone_and_sees_dashboard(
    page: Page, live_server, mailoutbox
):
    # Sign up from the navigation. The browser runs in Asia/Tokyo (conftest).
    page.goto(live_server.url)
    page.get_by_role("link", name="Sign up").click()
    page.get_by_placeholder("Email address").fill("newcomer@example.com")
    page.get_by_placeholder("Password", exact=True).fill(PASSWORD)
    page.get_by_placeholder("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    assert User.objects.get(email="newcomer@example.com").time_zone == "Asia/Tokyo"

    # Follow the link in the e-mail and confirm.
    assert len(mailoutbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[0].body)
    assert link, mailoutbox[0].body
    page.goto(link.group(0))
    page.get_by_role("button", name="Confirm").click()

    # Sign in.
    page.get_by_placeholder("Email address").fill("newcomer@example.com")
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="My learning")).to_be_visible()

    # Choose another zone and send hour.
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Time zone").select_option("Asia/Kathmandu")
    page.get_by_label("Lesson e-mails arrive at").select_option("7")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="My learning")).to_be_visible()
    expect(page.get_by_text("Your settings are saved.")).to_be_visible()
    expect(page.get_by_text("Asia/Kathmandu")).to_be_visible()
    expect(page.get_by_text("Lessons arrive at 07:00")).to_be_visible()
