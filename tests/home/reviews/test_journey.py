"""A learner's review in headless Chromium: read half the course, mark it done, rate it on the
course page, and see the review and the new average there."""

import re

import pytest
from playwright.sync_api import Page, expect

from courses import services as course_services
from home.models import Review
from home.reviews import services as review_services
from tests.accounts.factories import PASSWORD
from tests.courses.factories import course_page, enroll, learner
from tests.home.factories import creator_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_learner_who_finished_half_the_course_reviews_it_and_the_average_moves(
    page: Page, live_server
):
    storefront = creator_page(title="Maya Okafor", slug="maya")
    course = course_page(creator=storefront, lessons=2, publish=False, title="Weekday sourdough")
    first_lesson, _second = course.lessons()
    # Someone reviewed it before: 3 stars.
    earlier = learner(email="earlier@example.com", first_name="Ola")
    course_services.complete_lesson(enrollment=enroll(earlier, course), lesson=first_lesson)
    review_services.write_review(author=earlier, page=course, rating=3, body="Good enough.")
    bea = learner(email="bea@example.com", first_name="Bea")
    enroll(bea, course)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_placeholder("Email address").fill(bea.email)
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^sign in$", re.IGNORECASE)).click()
    expect(page.get_by_role("heading", name="My learning")).to_be_visible()

    page.goto(f"{live_server.url}{course.url}")
    reviews = page.locator("#reviews")
    expect(reviews).to_contain_text("3.0 out of 5, from 1 review")
    expect(reviews.get_by_role("button", name="Post review")).to_have_count(0)

    # Day 0's lesson, read and marked complete: one of two lessons, half the course.
    page.goto(f"{live_server.url}{first_lesson.url}")
    page.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_text("You completed this lesson.")).to_be_visible()

    page.goto(f"{live_server.url}{course.url}")
    reviews.get_by_label("5 of 5 stars").check()
    reviews.get_by_label("Your review (optional)").fill("The loaf finally rose. Thank you!")
    reviews.get_by_role("button", name="Post review").click()

    expect(page.get_by_role("status")).to_contain_text("Your review is on the page.")
    expect(reviews).to_contain_text("4.0 out of 5, from 2 reviews")
    expect(reviews.locator(".review").first).to_contain_text("The loaf finally rose. Thank you!")
    expect(reviews.locator(".review").first).to_contain_text("Bea")
    assert Review.objects.get(author=bea).rating == 5
