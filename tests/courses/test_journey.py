"""A learner finds a free course, enrols, gets the day-0 e-mail, follows it to the lesson and
completes it, in Chromium."""

import re

import pytest
from playwright.sync_api import Page, expect

from courses.dispatch import claim_due_deliveries
from courses.models import Enrollment
from tests.accounts.factories import PASSWORD
from tests.courses.factories import body_sentence, catalog_page, course_page, learner

pytestmark = [
    pytest.mark.browser,
    # live_server needs real commits (tests/conftest.py rebuilds the site's page tree).
    pytest.mark.django_db(transaction=True),
]


def test_learner_enrolls_gets_the_day_0_email_opens_its_link_and_completes_the_lesson(
    page: Page, live_server, settings, mailoutbox
):
    settings.SITE_URL = live_server.url  # links in e-mails point at the live server
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

    # The beat job's dispatcher runs (its send task runs eagerly here): the day-0 lesson arrives,
    # whole, with a link to its web version.
    claim_due_deliveries()
    [email] = mailoutbox
    assert email.subject == "Day 1: Weekday sourdough: day 0 - Weekday sourdough"
    assert body_sentence("Weekday sourdough: day 0") in email.body
    link = re.search(rf"Read this lesson on the web: ({re.escape(live_server.url)}\S+)", email.body)
    assert link, email.body

    # Follow the e-mail's link, read day 0 and mark it complete: the progress bar moves.
    page.goto(link.group(1))
    expect(page.get_by_text(body_sentence("Weekday sourdough: day 0"))).to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "0")
    page.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_text("You completed this lesson.")).to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "33")
    expect(page.get_by_text("33% · 1 of 3 lessons")).to_be_visible()
