"""Wagtail's view-restriction check without its two queries while no page has a restriction.

Wagtail checks every page it serves for view restrictions (a password, signed-in users only,
groups) on the page and its ancestors: two queries on every request. Most sites have none, so
whether any restriction exists at all is kept until a restriction is saved or deleted (the
receivers below purge it), and pages skip the check while there are none.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from wagtail.models import Page, PageViewRestriction

from . import core

# Not a URL path: a generation of its own, purged only when a restriction changes.
RESTRICTIONS_PATH = "#page-view-restrictions"


def any_view_restrictions() -> bool:
    return core.kept_until_purged(
        "any-view-restrictions",
        path=RESTRICTIONS_PATH,
        key=None,
        render=lambda: PageViewRestriction.objects.exists(),
    )


class ViewRestrictionsKeptMixin:
    """For page models: Wagtail's ``get_view_restrictions()``, without a query while the site
    has no view restriction at all."""

    def get_view_restrictions(self):
        if not any_view_restrictions():
            return PageViewRestriction.objects.none()
        return super().get_view_restrictions()  # type: ignore[misc]


def on_restriction_changed(sender, instance: PageViewRestriction, **kwargs) -> None:
    # The flag, and the anonymous copies of the page and of every page below it: a page that
    # became private must not be served from the cache to anyone.
    page = Page.objects.filter(pk=instance.page_id).first()
    paths = [RESTRICTIONS_PATH]
    if page is not None:
        core.purge_pages_showing(page)
        for below in Page.objects.descendant_of(page):
            parts = core._url_parts(below)
            if parts is not None:
                paths.append(parts[1])
    core.purge_paths(paths)


def connect() -> None:
    post_save.connect(
        on_restriction_changed,
        sender=PageViewRestriction,
        dispatch_uid="pagecache-restriction-saved",
    )
    post_delete.connect(
        on_restriction_changed,
        sender=PageViewRestriction,
        dispatch_uid="pagecache-restriction-deleted",
    )
