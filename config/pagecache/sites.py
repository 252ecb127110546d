"""Wagtail's site lookup, kept: no query for the site and its home page on every request.

Wagtail finds the request's ``Site`` (one query) and, to route a page, the site's root page
as its specific model (one more) on every request, and remembers them only for that request.
:class:`KeptSiteMiddleware` hands Wagtail a copy kept until the home page's path ("/") is
purged, which every publish, unpublish, move or delete below it does, and which a saved or
deleted ``Site`` does too (the receivers below).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponseBase
from django.http.request import split_domain_port
from wagtail.models import Site

from . import core

SITE_PATH = "/"


def _read_site(request: HttpRequest) -> Site | None:
    site = Site._find_for_request(request)
    if site is not None:
        # Routing starts at the root page's specific page: loaded now, kept with the site.
        site.root_page.localized.specific  # noqa: B018 - fills Wagtail's cached property
    return site


def kept_site_for(request: HttpRequest) -> Site | None:
    # The same host and port Wagtail's own lookup matches on.
    hostname = split_domain_port(request._get_raw_host())[0]  # type: ignore[attr-defined]
    return core.kept_until_purged(
        "site",
        path=SITE_PATH,
        key=(hostname, request.get_port()),
        render=lambda: _read_site(request),
    )


class KeptSiteMiddleware:
    """Sets the request's site where Wagtail's ``Site.find_for_request`` looks first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request._wagtail_site = kept_site_for(request)  # type: ignore[attr-defined]
        return self.get_response(request)


def on_site_changed(sender, **kwargs) -> None:
    core.purge_paths([SITE_PATH])


def connect() -> None:
    post_save.connect(on_site_changed, sender=Site, dispatch_uid="pagecache-site-saved")
    post_delete.connect(on_site_changed, sender=Site, dispatch_uid="pagecache-site-deleted")
