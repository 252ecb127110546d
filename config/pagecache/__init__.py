"""The anonymous full-page cache, and the one way to say "this page changed": purge.

What is cached: a ``GET`` of a public Wagtail page (home, catalog, course, workshop, storefront,
static pages) or of a view that calls :func:`cacheable` (search without a query), by an
anonymous visitor: no session cookie and no messages cookie. Anyone signed in, or with a
session or a pending message, bypasses it and gets ``Cache-Control: private``. A response that
sets a cookie (a CSRF token in a form), is not a 200, or is already private is never stored.
Stored pages go out as ``public, max-age=0, s-maxage=<seconds>`` with ``Vary: Cookie``, so a
CDN or a proxy in front caches exactly what this cache does and browsers always revalidate.

The cache is Django's cache alias ``settings.PAGE_CACHE["ALIAS"]`` ("pages"): Redis in
production and tests, a file cache in ``make run`` (the worker's purges must reach the web
process). The key is the host, scheme, path and query, and the values of the cookies in
``PAGE_CACHE["VARY_ON_COOKIES"]``: the browser's time zone (the ``tz`` cookie that
``static/js/site.js`` sets; times are rendered in it).

Invalidation is exact and by URL path. Every path has a *generation* token in the cache; a
stored page carries the token that was current when its rendering *started*, and is served
only while that token is still current. Purging a path deletes its token, which invalidates
every stored variant of it (pagination, filters, time zones, hosts) at once, and a rendering
that raced with the purge is stored under the old token, so it is never served. Purges run
at once (so the writer's own connection sees it) and again after the transaction commits (so
a request that rendered the old rows meanwhile is not kept).

For other apps (seats, prices, reviews, discount codes)::

    from config import pagecache

    pagecache.purge_pages_showing(page)        # a page object (any Page subclass)
    pagecache.purge_pages_showing_id(page_id)  # when only the id is at hand

It purges the page, each of its ancestors (storefront, home; the course of a lesson), the
listing pages its type names in ``page_cache_listed_on`` (e.g. the catalog for a course), the
pages that link to it (Wagtail's reference index), and the search page. Call it wherever
something a public page shows changes outside a page publish; publish, unpublish, slug
change, move and delete are handled here through Wagtail's signals. If
``settings.WAGTAILFRONTENDCACHE`` is configured, the same URLs are purged from the proxy/CDN
with Wagtail's frontend cache backends.

A page that changes with time rather than with an event (a workshop that starts) sets how
long it may be kept with :func:`cacheable` (``until=``).

Signed-in pages are never stored whole; the parts that are the same for every reader (a
lesson body) are kept with :func:`cached_fragment`, keyed by the page's live revision; what a
page and its children show alike (a course's outline: its title and its lessons' titles and
URLs; the menu) is kept with :func:`kept_until_purged` under the page's generation token, so
the purges above reach it too.
"""

from .core import (
    cacheable,
    cached_fragment,
    kept_for_page,
    kept_many_until_purged,
    kept_until_purged,
    purge_pages_showing,
    purge_pages_showing_id,
    purge_paths,
)

__all__ = [
    "cacheable",
    "cached_fragment",
    "kept_for_page",
    "kept_many_until_purged",
    "kept_until_purged",
    "purge_pages_showing",
    "purge_pages_showing_id",
    "purge_paths",
]
