"""Pages for the payments tests: a creator's storefront and a paid course with lessons.

A minimal stand-in for ``tests/courses/factories.py``, which the ``site`` branch is writing:
once that lands, these helpers can delegate to it. Pages are added live without a revision
(three times faster than publishing one); tests that edit a price publish a revision themselves.
"""

import itertools
from typing import cast

from accounts.models import User
from courses.models import CoursePage, LessonPage
from home.models import CreatorPage
from tests.accounts.factories import UserFactory
from tests.home.factories import home_page

_numbers = itertools.count(1)


def user(**fields) -> User:
    """``UserFactory(...)``, typed as the model it makes."""
    return cast(User, UserFactory(**fields))


def storefront(*, creator=None, **fields) -> CreatorPage:
    """A creator's storefront owned by ``creator`` (a new user if omitted)."""
    fields.setdefault("title", "Maya Okafor")
    fields.setdefault("slug", f"{fields['title'].lower().replace(' ', '-')}-{next(_numbers)}")
    page = CreatorPage(creator=creator or UserFactory(first_name="Maya"), **fields)
    return home_page().add_child(instance=page)


def paid_course(
    *,
    storefront_page: CreatorPage | None = None,
    price_amount: int = 4900,
    currency: str = "EUR",
    lessons: int = 2,
    **fields,
) -> CoursePage:
    """A live paid course with ``lessons`` live lessons on days 0, 1, 2..."""
    fields.setdefault("title", "Sourdough in 7 days")
    fields.setdefault("slug", fields["title"].lower().replace(" ", "-"))
    parent = storefront_page or storefront()
    course = parent.add_child(
        instance=CoursePage(price_amount=price_amount, currency=currency, **fields)
    )
    for day in range(lessons):
        course.add_child(
            instance=LessonPage(
                title=f"Day {day}: lesson {day + 1}",
                slug=f"day-{day}",
                day=day,
                summary=f"What day {day} is about.",
                body=[("text", f"<p>The body of lesson {day + 1}.</p>")],
            ),
        )
    return course
