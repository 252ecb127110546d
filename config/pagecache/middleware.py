"""The middleware that serves and stores anonymous pages (see the package docstring)."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers

from . import core

# django.contrib.messages' cookie storage keeps pending messages in this cookie.
MESSAGES_COOKIE = "messages"
HIT_HEADER = "X-Page-Cache"


def is_anonymous_request(request: HttpRequest) -> bool:
    """No session, no pending message, no credentials: the page is the same for everyone.

    Decided from the cookies alone, so a hit costs no session or user lookup. A signed-in
    visitor always has a session cookie.
    """
    return not (
        settings.SESSION_COOKIE_NAME in request.COOKIES
        or MESSAGES_COOKIE in request.COOKIES
        or "HTTP_AUTHORIZATION" in request.META
    )


def _entry_key(request: HttpRequest) -> str:
    # The cookies an anonymous page is rendered with (the browser's time zone): one stored
    # copy per value. Long values are nobody's real zone; they get the default rendering.
    varying = "|".join(
        value if len(value := request.COOKIES.get(name, "")) <= 64 else ""
        for name in core.config()["VARY_ON_COOKIES"]
    )
    return core.entry_key(
        host=request.get_host(),
        scheme=request.scheme or "",
        path=request.path_info,
        query=request.META.get("QUERY_STRING", ""),
        cookies=varying,
    )


def _storable(response: HttpResponseBase) -> bool:
    cache_control = response.get("Cache-Control", "")
    return (
        isinstance(response, HttpResponse)
        and response.status_code == 200
        # A cookie (a CSRF token, a session) belongs to one visitor.
        and not response.cookies
        and not any(word in cache_control for word in ("private", "no-store", "no-cache"))
    )


def _from_entry(entry: dict) -> HttpResponse:
    response = HttpResponse(entry["content"], status=entry["status"])
    for name, value in entry["headers"]:
        response[name] = value
    response[HIT_HEADER] = "hit"
    return response


class AnonymousPageCacheMiddleware:
    """Serve a stored page to an anonymous ``GET``; store what a page marked cacheable."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        settings_now = core.config()
        if not (
            settings_now["ENABLED"] and request.method == "GET" and is_anonymous_request(request)
        ):
            return self._bypass(request)

        cache = core.page_cache()
        generation_key = core.generation_key(request.path_info)
        entry_key = _entry_key(request)
        found = cache.get_many([generation_key, entry_key])
        generation = found.get(generation_key)
        entry = found.get(entry_key)
        if entry is not None and generation is not None and entry["generation"] == generation:
            return _from_entry(entry)

        response = self.get_response(request)
        if getattr(request, core.MARK, None) is None:
            return response
        if not isinstance(response, HttpResponse) or not _storable(response):
            patch_cache_control(response, private=True)
            return response
        seconds = core.seconds_to_keep(request)
        patch_vary_headers(response, ["Cookie"])
        if seconds <= 0:
            patch_cache_control(response, private=True)
            return response
        patch_cache_control(response, public=True, max_age=0, s_maxage=seconds)
        if generation is None:
            # No token when the rendering started (first visit, or purged): make one for the
            # next visitor rather than store this rendering, which may predate the purge.
            cache.add(generation_key, core.new_token(), timeout=core.GENERATION_SECONDS)
        else:
            cache.set(
                entry_key,
                {
                    "generation": generation,
                    "status": response.status_code,
                    "headers": list(response.items()),
                    "content": response.content,
                },
                timeout=seconds,
            )
        response[HIT_HEADER] = "miss"
        return response

    def _bypass(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if getattr(request, core.MARK, None) is not None:
            # The same page for a signed-in visitor (or one with a session): nobody shares it.
            patch_vary_headers(response, ["Cookie"])
            patch_cache_control(response, private=True)
        return response
