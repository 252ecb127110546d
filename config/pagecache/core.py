"""Keys, generations and purges of the page cache (see the package docstring)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.core.cache import BaseCache, caches
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

if TYPE_CHECKING:
    from wagtail.models import Page

logger = logging.getLogger(__name__)
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

# The request attribute that says "this response may be stored for everyone" and until when.
MARK = "page_cache_until"
# How long a path's generation token lives: far longer than any stored page. A token that
# expires or is evicted only makes the pages stored under it unusable, never stale ones usable.
GENERATION_SECONDS = 7 * 24 * 60 * 60
SEARCH_PATH = "/search/"
# Fragments are keyed by what they show (a revision): they need no purge, only room.
FRAGMENT_SECONDS = 24 * 60 * 60


DEFAULTS = {
    "ENABLED": True,
    "ALIAS": "pages",
    "SECONDS": 300,
    "KEY_PREFIX": "pc",
    "VARY_ON_COOKIES": [],
}


def config() -> dict[str, Any]:
    return {**DEFAULTS, **getattr(settings, "PAGE_CACHE", {})}


def page_cache() -> BaseCache:
    return caches[config()["ALIAS"]]


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def generation_key(path: str) -> str:
    return f"{config()['KEY_PREFIX']}:g:{_digest(path)}"


def entry_key(*, host: str, scheme: str, path: str, query: str, cookies: str) -> str:
    return f"{config()['KEY_PREFIX']}:p:{_digest(f'{scheme}|{host}|{path}|{query}|{cookies}')}"


def cacheable(request: HttpRequest, *, until: datetime | None = None) -> None:
    """Let this response be stored for every anonymous visitor (the middleware decides whether
    the visitor is one), at most until ``until`` when it changes by itself at that moment."""
    current = getattr(request, MARK, None)
    if current is None or (until is not None and until < current):
        setattr(request, MARK, until or datetime.max.replace(tzinfo=UTC))


def seconds_to_keep(request: HttpRequest, *, now: datetime | None = None) -> int:
    until = getattr(request, MARK)
    left = (until - (now or timezone.now())).total_seconds()
    return max(0, min(int(config()["SECONDS"]), int(left)))


def cached_fragment(name: str, *key_parts: object, render: Callable[[], str]) -> str:
    """``render()``, kept in the page cache under ``name`` and ``key_parts``: for parts of a
    page that are the same for every reader (a lesson body). The parts must change whenever
    the fragment does (a page's live revision and publish time): nothing purges fragments."""
    key = f"{config()['KEY_PREFIX']}:f:{name}:{_digest(repr(key_parts))}"
    cache = page_cache()
    html = cache.get(key)
    if html is None:
        html = render()
        cache.set(key, html, timeout=FRAGMENT_SECONDS)
    return html


def kept_until_purged(name: str, *, path: str, key: object, render: Callable[[], T]) -> T:
    """``render()``, kept until the page at the URL ``path`` is purged, which happens whenever
    it or a page below it is published, unpublished, moved or deleted (``purge_pages_showing``
    purges every ancestor): for what a page and its children show alike to every reader (a
    course's outline, the menu). ``key`` tells apart the pages that may share ``path`` on
    other sites. The value is stored with the path's generation token, read *before*
    rendering as the middleware does, and used only while that token is current, so a
    rendering that raced with a purge is never read again. Token and value are read in one
    round trip. Without an enabled page cache nothing is purged, so nothing is kept."""
    kept = kept_many_until_purged(
        name, {key: path}, render=lambda missing: {key: render() for key in missing}
    )
    return kept[key]


def kept_for_page(name: str, page: Page, *, request=None, render: Callable[[], T]) -> T:
    """``kept_until_purged`` under ``page``'s own URL path: for what a page shows every reader
    alike, which its purges (a publish, or a change the app purges it for) make fresh."""
    parts = page.get_url_parts(request)
    if parts is None:  # not routable: nothing would purge it
        return render()
    return kept_until_purged(name, path=parts[2], key=page.pk, render=render)


def kept_many_until_purged(
    name: str, paths: Mapping[K, str], *, render: Callable[[list[K]], Mapping[K, T]]
) -> dict[K, T]:
    """``kept_until_purged`` for several values at once, each under its own page's URL path
    (``paths``: key -> path): one round trip reads them all, and ``render`` is called once
    with the keys whose values were missing or stale (a list of pages read in one query).
    Keys that ``render`` leaves out are neither kept nor returned."""
    if not paths:
        return {}
    if not config()["ENABLED"]:
        return dict(render(list(paths)))
    cache = page_cache()
    token_keys = {key: generation_key(path) for key, path in paths.items()}
    value_keys = {
        key: f"{config()['KEY_PREFIX']}:k:{name}:{_digest(repr((path, key)))}"
        for key, path in paths.items()
    }
    found = cache.get_many([*token_keys.values(), *value_keys.values()])
    generations = {key: found.get(token_key) for key, token_key in token_keys.items()}
    unknown = [key for key, generation in generations.items() if generation is None]
    if unknown:
        for key in unknown:
            cache.add(token_keys[key], new_token(), timeout=GENERATION_SECONDS)
        again = cache.get_many([token_keys[key] for key in unknown])
        generations.update({key: again.get(token_keys[key]) for key in unknown})
    kept: dict[K, T] = {}
    for key in paths:
        stored = found.get(value_keys[key])
        if stored is not None and generations[key] is not None and stored[0] == generations[key]:
            kept[key] = stored[1]
    missing = [key for key in paths if key not in kept]
    if missing:
        rendered = render(missing)
        cache.set_many(
            {
                value_keys[key]: (generations[key], rendered[key])
                for key in missing
                if key in rendered and generations[key] is not None  # else: keeps nothing
            },
            timeout=FRAGMENT_SECONDS,
        )
        kept.update((key, rendered[key]) for key in missing if key in rendered)
    return kept


def new_token() -> str:
    return uuid.uuid4().hex


def purge_paths(paths: Iterable[str], *, full_urls: Iterable[str] = ()) -> None:
    """Invalidate every stored variant of these URL paths, now and again after commit."""
    keys = sorted({generation_key(path) for path in paths})
    urls = sorted(set(full_urls))
    if not keys or not config()["ENABLED"]:
        return
    page_cache().delete_many(keys)
    # Also after commit: a request that read the old rows in between stored them under the
    # token it saw, which is deleted again here.
    transaction.on_commit(lambda: page_cache().delete_many(keys))
    if urls and getattr(settings, "WAGTAILFRONTENDCACHE", None):
        # A proxy/CDN purge is a network call: never inside the transaction (invariant 11).
        transaction.on_commit(lambda: _purge_frontend(urls))


def _purge_frontend(urls: list[str]) -> None:
    from wagtail.contrib.frontend_cache.utils import purge_urls_from_cache

    try:
        purge_urls_from_cache(urls)
    except Exception:
        # The proxy's copy expires after s-maxage anyway; a failed purge must not fail the
        # change that caused it.
        logger.exception("Purging %d URLs from the frontend cache failed", len(urls))


def _url_parts(page: Page) -> tuple[str, str] | None:
    """``(root_url, path)`` of a routable page, else None."""
    parts = page.get_url_parts()
    if parts is None:
        return None
    _site_id, root_url, path = parts
    return root_url or "", path


def pages_showing(page: Page) -> list[Page]:
    """The page, its ancestors, the listings its type names, and the pages linking to it."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import Page, ReferenceIndex

    shown_on: list[Page] = [page, *Page.objects.ancestor_of(page).filter(depth__gt=1)]
    listing_models = [
        apps.get_model(label) for label in getattr(page.specific_class, "page_cache_listed_on", ())
    ]
    if listing_models:
        shown_on.extend(Page.objects.type(*listing_models))
    linking_ids = (
        ReferenceIndex.get_references_to(page)
        .filter(base_content_type=ContentType.objects.get_for_model(Page))
        .values_list("object_id", flat=True)
    )
    shown_on.extend(Page.objects.filter(pk__in=[int(pk) for pk in linking_ids]))
    return shown_on


def purge_pages_showing(page: Page, *, extra_paths: Iterable[str] = ()) -> None:
    """Purge every cached page that shows ``page`` (see the package docstring)."""
    paths = {SEARCH_PATH, *extra_paths}
    urls: set[str] = set()
    for shown_on in pages_showing(page):
        parts = _url_parts(shown_on)
        if parts is None:
            continue
        root_url, path = parts
        paths.add(path)
        if root_url:
            urls.add(root_url + path)
    purge_paths(paths, full_urls=urls)


def purge_pages_showing_id(page_id: int) -> None:
    from wagtail.models import Page

    page = Page.objects.filter(pk=page_id).first()
    if page is not None:
        purge_pages_showing(page)


def old_paths(*, page: Page, url_path_before: str) -> list[str]:
    """The site-relative paths the page and its descendants had before a move or slug change."""
    from wagtail.models import Page

    parts = _url_parts(page)
    if parts is None:
        return []
    _root_url, new_path = parts
    # url_path is the path from the tree's root ("/home/maya/"); the URL path drops the site
    # root's part ("/maya/"). The same prefix is dropped from the old one.
    prefix = page.url_path[: len(page.url_path) - len(new_path)]
    if not url_path_before.startswith(prefix):
        return []
    old_path = url_path_before[len(prefix) :]
    descendants = Page.objects.descendant_of(page).values_list("url_path", flat=True)
    return [old_path, *(old_path + url_path[len(page.url_path) :] for url_path in descendants)]
