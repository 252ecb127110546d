"""A learner finds a free course, enrols, reads the first lesson and completes it, in Chromium."""

import pytest
from playwright.sync_api import Page, expect

from courses.models import Enrollment
from tests.accounts.factories import PASSWORD
from tests.courses.factories import body_sentence, catalog_page, course_page, learner

pytestmark = [
    pytest.mark.browser,
    # live_server needs real commits (tests/conftest.py rebuilds the site's page tree).
    pytest.mark.django_db(transaction=True),
]


def test_learner_enrols_from_the_catalog_reads_day_0_and_completes_it(page: Page, live_server):
    catalog_page()
    course_page(title="Weekday sourdough", lessons=3)
    # Send hour 0: day 0 is due the moment they enrol, whatever the time of day.
    learner(email="lee@example.com", time_zone="Europe/Berlin", lesson_send_hour=0)

    # Sign in.
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_placeholder("Email address").fill("lee@example.com")
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="My learning")).to_be_visible()

    # Find the course in the catalog and enrol.
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Courses", exact=True
    ).click()
    page.get_by_role("link", name="Weekday sourdough", exact=True).click()
    expect(page.get_by_role("heading", name="Weekday sourdough", level=1)).to_be_visible()
    page.get_by_role("button", name="Enrol for free").click()
    expect(page.get_by_text("You are enrolled in “Weekday sourdough”")).to_be_visible()
    assert Enrollment.objects.filter(learner__email="lee@example.com").count() == 1

    # It is on the dashboard, with nothing done yet.
    page.get_by_role("link", name="My learning").click()
    expect(page.get_by_role("link", name="Weekday sourdough", exact=True)).to_be_visible()
    expect(page.get_by_text("0% · 0 of 3 lessons")).to_be_visible()

    # Read day 0 and mark it complete: the progress bar moves.
    page.get_by_role("link", name="Continue: Weekday sourdough: day 0").click()
    expect(page.get_by_text(body_sentence("Weekday sourdough: day 0"))).to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "0")
    page.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_text("You completed this lesson.")).to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "33")
    expect(page.get_by_text("33% · 1 of 3 lessons")).to_be_visible()
