"""Pages for the payments tests: a creator's storefront and a paid course with lessons.

A minimal stand-in for ``tests/courses/factories.py``, which the ``site`` branch is writing:
once that lands, these helpers can delegate to it. Pages are added live without a revision
(three times faster than publishing one); tests that edit a price publish a revision themselves.
"""

import itertools
from typing import cast

from django.conf import settings
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Page, Site

from accounts.models import User
from courses.models import CoursePage, LessonPage
from home.models import CreatorPage, HomePage
from tests.accounts.factories import UserFactory

_numbers = itertools.count(1)


def user(**fields) -> User:
    """``UserFactory(...)``, typed as the model it makes."""
    return cast(User, UserFactory(**fields))


def home_page() -> HomePage:
    """The default site's HomePage, made again if a transactional test's flush removed it.

    The migrations make it. Transactional tests could restore it with ``serialized_rollback``,
    but once a browser test has started Playwright's event loop, Django looks the serialized
    data up on another connection object (asgiref gives each async context its own) and
    silently restores nothing. Making the few rows here works in any order.
    """
    site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
    if site is not None:
        return site.root_page.specific
    if not Locale.objects.exists():
        Locale.objects.create(
            language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
        )
    root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
    home = root.add_child(instance=HomePage(title="microcourses", slug="home"))
    Site.objects.create(
        hostname="localhost",
        port=80,
        site_name="microcourses",
        root_page=home,
        is_default_site=True,
    )
    return home


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
