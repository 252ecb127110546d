"""Becoming a creator, end to end in headless Chromium: a new user applies, staff approve in
the Wagtail admin, the creator signs in to the admin, finds their storefront and writes a free
course with three lessons there; a learner enrols and gets lesson 1 by e-mail; the creator's
studio dashboard counts the enrolment."""

import re

import pytest
from django.utils.text import slugify
from playwright.sync_api import Browser, Page, expect

from courses.dispatch import claim_due_deliveries
from courses.models import CoursePage, Enrollment
from home.models import CreatorApplication
from tests.accounts.factories import PASSWORD
from tests.courses.factories import learner
from tests.payments.factories import user

from .factories import site_roots, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_placeholder("Email address").fill(email)
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="My learning")).to_be_visible()


COURSE = "Kimchi in three days"
LESSONS = ["Salt the cabbage", "Make the paste", "Pack the jar"]  # days 0, 1, 2


def fill_title(page: Page, title: str) -> None:
    """Type a new page's title; leaving the field fills the slug (Promote tab) from it."""
    field = page.get_by_placeholder("Page title*")
    field.fill(title)
    field.blur()
    expect(page.locator("input[name=slug]")).to_have_value(slugify(title))


def publish(page: Page, title: str) -> None:
    """Publish the page being edited (Publish sits in the menu beside Save draft)."""
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Publish").click()
    expect(
        page.get_by_text(re.compile(f"{re.escape(title)}.* created and published"))
    ).to_be_visible()


def test_a_user_applies_staff_approve_the_creator_publishes_a_course_and_a_learner_enrolls(
    page: Page, browser: Browser, live_server, settings, mailoutbox
):
    settings.SITE_URL = live_server.url  # links in e-mails point at the live server
    # No autosave: a background draft save would race the Publish button (and turn the create
    # view into an edit view half-way through).
    settings.WAGTAIL_AUTOSAVE_INTERVAL = 0
    site_roots()
    applicant = user(email="nora@example.com")
    staff = staff_user()

    sign_in(page, live_server, applicant.email)
    page.goto(f"{live_server.url}/studio/apply/")
    page.get_by_label("Display name").fill("Nora Quinn")
    page.get_by_label("Niche").fill("Fermentation")
    page.get_by_label("Short bio").fill("I ferment everything.")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".pending-application")).to_contain_text("Nora Quinn")

    staff_page = browser.new_page()
    sign_in(staff_page, live_server, staff.email)
    staff_page.goto(f"{live_server.url}/admin/creator_applications/")
    staff_page.get_by_role("link", name="Nora Quinn").click()
    staff_page.get_by_role("button", name="Approve").click()
    expect(staff_page.get_by_text("Nora Quinn is a creator now")).to_be_visible()
    staff_page.close()

    assert CreatorApplication.objects.get().status == CreatorApplication.Status.APPROVED
    assert [message.to for message in mailoutbox] == [["nora@example.com"]]

    page.goto(f"{live_server.url}/admin/pages/")
    expect(page).to_have_url(re.compile(r"/admin/pages/\d+/$"))
    expect(page.get_by_role("heading", name=re.compile("Nora Quinn"))).to_be_visible()
    page.goto(f"{live_server.url}/admin/studio/")
    expect(page.get_by_text("No courses yet.")).to_be_visible()

    # The creator writes a free course on their storefront: Add child page -> Course.
    page.goto(f"{live_server.url}/admin/pages/")
    page.get_by_role("link", name="Add child page").click()
    page.get_by_role("link", name="Course", exact=True).click()
    fill_title(page, COURSE)
    # The price is typed in major units ("19.00"), in a text field.
    expect(page.get_by_role("textbox", name="Price")).to_have_value("0")
    publish(page, COURSE)

    # Three lessons under it, days 0-2, each with a text block typed into Draftail. The course
    # has no lessons yet, so its row's menu adds the first; publishing a lesson shows the
    # course's own listing, whose header adds the next.
    page.get_by_role("button", name=re.compile(f"More options for .{COURSE}")).click()
    page.get_by_text("Add child page", exact=True).click()
    for day, title in enumerate(LESSONS):
        if day:
            page.get_by_role("link", name="Add child page").click()
        expect(page.get_by_role("heading", name="New: Lesson")).to_be_visible()
        fill_title(page, title)
        page.get_by_role("spinbutton", name="Day").fill(str(day))
        page.get_by_role("button", name="Insert a block").first.click()
        page.get_by_role("option", name="Text", exact=True).click()
        editor = page.locator("[contenteditable=true]")
        editor.click()
        editor.press_sequentially(f"Today: {title.lower()}.")
        # Draftail copies its content into the form's hidden input a moment after typing.
        expect(page.locator("input[name=body-0-value]")).to_have_value(
            re.compile(f"Today: {title.lower()}")
        )
        publish(page, title)

    course = CoursePage.objects.live().get(title=COURSE)
    assert course.price_amount == 0
    assert [(lesson.day, lesson.title) for lesson in course.lessons()] == list(enumerate(LESSONS))

    # A learner, in a browser of their own, opens the course page and enrols for free.
    learner(email="lee@example.com")
    learner_page = browser.new_page()
    sign_in(learner_page, live_server, "lee@example.com")
    learner_page.goto(f"{live_server.url}{course.url}")
    expect(learner_page.get_by_role("heading", name=COURSE, level=1)).to_be_visible()
    learner_page.get_by_role("button", name="Enrol for free").click()
    expect(learner_page.get_by_text(f"You are enrolled in “{COURSE}”")).to_be_visible()
    learner_page.close()
    assert Enrollment.objects.filter(learner__email="lee@example.com", course=course).count() == 1

    # The dispatcher sends lesson 1 (day 0), with the body the creator typed.
    mailoutbox.clear()
    claim_due_deliveries()
    [email] = mailoutbox
    assert email.to == ["lee@example.com"]
    assert email.subject == f"Day 1: {LESSONS[0]} - {COURSE}"
    assert "Today: salt the cabbage." in email.body

    # The creator's dashboard counts one enrolment in the course.
    page.goto(f"{live_server.url}/admin/studio/")
    expect(page.get_by_role("region", name=COURSE)).to_contain_text(re.compile(r"\b1 enrolment\b"))
