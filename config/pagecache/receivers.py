"""Wagtail's page signals purge the cached pages that show the page that changed.

Infrastructure, not a business rule: whatever publishes, unpublishes, moves or deletes a page
(the admin, a service, a shell) must not leave an anonymous visitor a stale copy.
"""

from django.db.models.signals import pre_delete
from wagtail.models import Page
from wagtail.signals import page_published, page_slug_changed, page_unpublished, post_page_move

from . import core


def on_published_or_unpublished(sender, instance, **kwargs) -> None:
    core.purge_pages_showing(instance)


def on_slug_changed(sender, instance, instance_before, **kwargs) -> None:
    old_paths = core.old_paths(page=instance, url_path_before=instance_before.url_path)
    core.purge_pages_showing(instance, extra_paths=old_paths)


def on_moved(sender, instance, parent_page_before, url_path_before, **kwargs) -> None:
    # The old parent (its listing) and its ancestors, and every old URL under the page.
    core.purge_pages_showing(parent_page_before)
    core.purge_pages_showing(
        instance, extra_paths=core.old_paths(page=instance, url_path_before=url_path_before)
    )


def on_deleted(sender, instance, **kwargs) -> None:
    # Before the delete: afterwards the page has no URL and no ancestors to find.
    if isinstance(instance, Page) and instance.depth and instance.depth > 1:
        core.purge_pages_showing(instance)


def connect() -> None:
    page_published.connect(on_published_or_unpublished, dispatch_uid="pagecache-published")
    page_unpublished.connect(on_published_or_unpublished, dispatch_uid="pagecache-unpublished")
    page_slug_changed.connect(on_slug_changed, dispatch_uid="pagecache-slug")
    post_page_move.connect(on_moved, dispatch_uid="pagecache-moved")
    pre_delete.connect(on_deleted, dispatch_uid="pagecache-deleted")
