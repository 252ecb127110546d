""" "My learning": each course's progress, what comes next and when, in the learner's zone."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from courses import services
from tests.courses.factories import course_page, enroll, learner
from tests.home.factories import creator_page

pytestmark = pytest.mark.django_db

MONDAY_NOON = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)


def test_dashboard_shows_progress_and_when_the_next_lesson_unlocks_in_my_zone(client):
    course = course_page(title="Weekday sourdough", lessons=3)
    user = learner(time_zone="Europe/Berlin", lesson_send_hour=8)
    enrollment = enroll(user, course, now=MONDAY_NOON)
    services.complete_lesson(
        enrollment=enrollment, lesson=course.lessons().first(), now=MONDAY_NOON
    )

    with freeze_time(MONDAY_NOON + datetime.timedelta(hours=1)):
        client.force_login(user)
        html = client.get(reverse("dashboard")).content.decode()

    assert "Weekday sourdough" in html
    assert "33% · 1 of 3 lessons" in html
    # Day 0 arrived at once; day 1 is due on Tuesday at 08:00 in Berlin (07:00 UTC).
    assert "Weekday sourdough: day 1" in html
    assert "unlocks Tue 1 Dec, 08:00 (Europe/Berlin)" in html
    assert reverse("courses:pause", args=[enrollment.pk]) in html
    assert "Nothing here yet" not in html


def test_dashboard_offers_continue_reading_and_resume_for_a_paused_course(client):
    reading = course_page(title="Weekday sourdough", lessons=2)
    paused = course_page(title="SQL on Monday", lessons=2)
    user = learner()
    enroll(user, reading)
    paused_enrollment = services.pause(enrollment=enroll(user, paused))
    client.force_login(user)

    html = client.get(reverse("dashboard")).content.decode()

    day_0 = reading.lessons().first()
    assert f'href="{day_0.url}"' in html and "Continue: Weekday sourdough: day 0" in html
    assert "Paused since" in html
    assert reverse("courses:resume", args=[paused_enrollment.pk]) in html


def test_refunded_courses_stay_on_the_dashboard_marked_refunded_without_access(client):
    # Issue #13: a refunded course used to vanish from "My learning" without a trace.
    user = learner()
    course = course_page(title="SQL on Monday")
    services.revoke(enrollment=enroll(user, course))
    client.force_login(user)

    html = client.get(reverse("dashboard")).content.decode()

    assert "SQL on Monday" in html and "Refunded" in html
    assert "The lessons are no longer available to you." in html
    # Nothing to read or pause: no way back into the lessons from here.
    assert "Continue:" not in html and "Pause" not in html
    assert "Nothing here yet" not in html


def test_dashboard_query_count_does_not_grow_with_courses(client):
    creator = creator_page()
    user = learner()
    client.force_login(user)

    def enroll_in(count: int) -> None:
        for _ in range(count):
            course = course_page(creator=creator, title="Course", lessons=2, publish=False)
            enrollment = enroll(user, course)
            services.complete_lesson(enrollment=enrollment, lesson=course.lessons().first())

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("dashboard")).status_code == 200
        return len(captured)

    queries()  # the menu and the site, kept for every page
    enroll_in(2)
    # The first view reads the new courses' outlines (kept afterwards) in two queries together.
    first_with_two, then_with_two = queries(), queries()
    enroll_in(8)
    first_with_ten, then_with_ten = queries(), queries()

    assert (first_with_ten, then_with_ten) == (first_with_two, then_with_two)
    assert first_with_two == then_with_two + 2
    assert client.get(reverse("dashboard")).content.decode().count('class="progress"') == 10


def test_dashboard_paginates_after_twenty_courses(client):
    creator = creator_page()
    user = learner()
    for n in range(21):
        enroll(user, course_page(creator=creator, title=f"Course {n}", lessons=1, publish=False))
    client.force_login(user)

    first = client.get(reverse("dashboard"))
    second = client.get(reverse("dashboard"), {"page": 2})

    assert len(first.context["courses"]) == 20
    assert len(second.context["courses"]) == 1
    assert "Page 1 of 2" in first.content.decode()
