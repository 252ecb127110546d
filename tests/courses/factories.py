"""Courses, lessons, learners and enrolments for every courses test.

Two families, both kept because many tests use them:

- ``course_page``, ``lesson_page``, ``catalog_page``, ``cohort_course``, ``learner``: pages built
  the way editors build them, added under a storefront and published (``publish=False`` only
  adds the page: live, without a revision), and a learner whose day 0 is due at once;
- ``course``, ``lesson``, ``morning_learner``, ``text_body``: the quicker pages of the dispatch
  and lesson e-mail tests (live from creation, no revision, plain text bodies), and a learner
  whose lessons arrive at 08:00 in their own zone.

``enroll(user, course, now=...)`` enrolls through the real service, for both.
"""

import json
from datetime import date
from html import escape

from wagtail.rich_text import RichText

from accounts.models import User
from courses import services
from courses.models import CourseIndexPage, CoursePage, Enrollment, LessonPage, ScheduleMode, Topic
from home.models import CreatorPage
from tests.accounts.factories import UserFactory
from tests.home.factories import creator_page, home_page, publish_child


def body_sentence(title: str) -> str:
    """A sentence that appears only in the body of the lesson called ``title``."""
    return f"The secret of {title.lower()} is patience and a warm kitchen."


def lesson_body(sentence: str) -> list:
    """A lesson body in the block types a creator uses most: text, code and a callout."""
    return [
        ("text", RichText(f"<p>{sentence}</p>")),
        ("code", {"language": "sql", "code": "SELECT 1;"}),
        ("callout", {"kind": "tip", "title": "Tip", "text": RichText("<p>Go slowly.</p>")}),
    ]


def _add(parent, page, publish: bool):
    if publish:
        return publish_child(parent, page)
    parent.add_child(instance=page)
    return page


def topic(name: str = "Baking") -> Topic:
    return Topic.objects.get_or_create(name=name, defaults={"slug": name.lower()})[0]


def catalog_page(**fields) -> CourseIndexPage:
    fields.setdefault("title", "Courses")
    fields.setdefault("slug", "courses")
    fields.setdefault("show_in_menus", True)
    return publish_child(home_page(), CourseIndexPage(**fields))


def lesson_page(course: CoursePage, *, day: int, publish: bool = True, **fields) -> LessonPage:
    fields.setdefault("title", f"Lesson for day {day}")
    fields.setdefault("estimated_minutes", 10)
    fields.setdefault("body", lesson_body(body_sentence(fields["title"])))
    return _add(course, LessonPage(day=day, **fields), publish)


def course_page(
    *,
    creator: CreatorPage | None = None,
    lessons: int = 3,
    topics: list[Topic] | None = None,
    publish: bool = True,
    **fields,
) -> CoursePage:
    """A course on ``creator``'s storefront (a new one by default) with lessons on days 0.."""
    fields.setdefault("title", "Weekday sourdough")
    fields.setdefault("tagline", "Bake a real loaf around a working week.")
    course = CoursePage(**fields)
    if topics:
        course.topics.set(topics)
    _add(creator or creator_page(), course, publish)
    for day in range(lessons):
        lesson_page(course, day=day, publish=publish, title=f"{course.title}: day {day}")
    return course


def cohort_course(*, start: date, **fields) -> CoursePage:
    return course_page(schedule_mode=ScheduleMode.COHORT, cohort_start_date=start, **fields)


def learner(**fields):
    """A learner whose day-0 lesson is due at once whenever they enrol.

    Send hour 0: day 0 is due at local midnight of the enrolment day, always already past, and
    day 1 at the next midnight, always in the future. Tests don't depend on the clock.
    """
    fields.setdefault("time_zone", "Europe/Berlin")
    fields.setdefault("lesson_send_hour", 0)
    return UserFactory(**fields)


def enroll(user, course: CoursePage, **kwargs) -> Enrollment:
    return services.enroll(learner=user, course=course, **kwargs)


# -- quick pages for the dispatch and lesson e-mail tests ------------------------------------


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


def lesson(parent: CoursePage, *, day: int, title: str | None = None, body=None) -> LessonPage:
    title = title or f"Lesson for day {day}"
    return parent.add_child(
        instance=LessonPage(
            title=title,
            day=day,
            summary=f"What day {day} is about",
            body=body if body is not None else text_body(f"The body of {title}."),
        ),
    )


def morning_learner(*, time_zone: str = "Europe/Berlin", send_hour: int = 8, **fields) -> User:
    """A learner with a verified address whose lessons arrive at ``send_hour`` (08:00) local time.

    Pass ``verified_email=False`` for an unverified address.
    """
    return UserFactory.create(time_zone=time_zone, lesson_send_hour=send_hour, **fields)
