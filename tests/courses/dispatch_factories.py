"""Courses, lessons, learners and enrolments for the dispatch and lesson e-mail tests."""

import json
from datetime import date, datetime
from html import escape

from accounts.models import User
from courses import services
from courses.models import CoursePage, Enrollment, LessonPage, ScheduleMode
from tests.accounts.factories import UserFactory
from tests.home.factories import creator_page


def text_body(text: str) -> str:
    return json.dumps([{"type": "text", "value": f"<p>{escape(text)}</p>"}])


def course(
    *,
    title: str = "Sourdough in 7 days",
    lessons: int = 3,
    schedule_mode: str = ScheduleMode.RELATIVE,
    cohort_start_date: date | None = None,
    creator=None,
) -> CoursePage:
    """A live course with ``lessons`` live lessons on days 0, 1, 2...

    Pages are live from creation; these tests need no revisions, and skipping Wagtail's
    publish step (revision, reference and search index) makes each course several times faster.
    """
    page = (creator or creator_page()).add_child(
        instance=CoursePage(
            title=title,
            tagline="Bake real bread at home",
            schedule_mode=schedule_mode,
            cohort_start_date=cohort_start_date,
        ),
    )
    for day in range(lessons):
        lesson(page, day=day)
    return page


def lesson(course_page: CoursePage, *, day: int, title: str | None = None, body=None) -> LessonPage:
    title = title or f"Lesson for day {day}"
    return course_page.add_child(
        instance=LessonPage(
            title=title,
            day=day,
            summary=f"What day {day} is about",
            body=body if body is not None else text_body(f"The body of {title}."),
        ),
    )


def learner(*, time_zone: str = "Europe/Berlin", send_hour: int = 8, **fields) -> User:
    """A learner with a verified address (pass ``verified_email=False`` for an unverified one)."""
    return UserFactory.create(time_zone=time_zone, lesson_send_hour=send_hour, **fields)


def enroll(learner_user: User, course_page: CoursePage, *, now: datetime) -> Enrollment:
    return services.enroll(learner=learner_user, course=course_page, now=now)
