"""Template helpers of the courses pages: storefront courses, local times."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as format_date

from courses.models import CourseIndexPage, CoursePage

register = template.Library()

# "Tue 1 Dec, 08:00": short enough for a list, with the weekday people plan by.
MOMENT_FORMAT = "D j M, H:i"


@register.simple_tag
def storefront_courses(storefront):
    """The live, public courses on a creator's storefront, newest first."""
    return (
        CoursePage.objects.live()
        .public()
        .child_of(storefront)
        .defer_streamfields()
        .select_related("cover_image")
        .prefetch_related("cover_image__renditions")
        .order_by("-first_published_at", "title")
    )


@register.filter
def local_moment(value: datetime | None) -> str:
    """An aware moment in the reader's zone (the middleware activated it), zone named.

    ``local_moment(dt) == "Tue 1 Dec, 08:00 (Europe/Berlin)"``.
    """
    if value is None:
        return ""
    local = format_date(timezone.localtime(value), MOMENT_FORMAT)
    return f"{local} ({timezone.get_current_timezone_name()})"


@register.simple_tag(takes_context=True)
def catalog_url(context) -> str:
    """The catalog's URL (the live ``CourseIndexPage``), or the home page while there is none."""
    catalog = CourseIndexPage.objects.live().first()
    url = catalog.get_url(context.get("request")) if catalog else None
    return url or "/"
