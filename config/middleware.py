"""The site's own middleware (its order is in MIDDLEWARE, config/settings/base.py): request ids
and health probes first of all, and the friendly 405 page."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from . import health
from .logs import REQUEST_ID_HEADER, current_request, request_id_for


class RequestIdMiddleware:
    """Give every request an id, put it in every log line (config.logs) and on the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.id = request_id_for(request)  # type: ignore[attr-defined]
        token = current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        response[REQUEST_ID_HEADER] = request.id  # type: ignore[attr-defined]
        return response


class HealthCheckMiddleware:
    """Answer /healthz and /readyz before host checks, HTTPS redirects, sessions and users.

    Probes come from the load balancer or orchestrator by IP address over plain HTTP: no
    ALLOWED_HOSTS name, no TLS, no cookies. Nothing else is reachable this way.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return health.healthz(request)
        if request.path == "/readyz":
            return health.readyz(request)
        return self.get_response(request)


class FriendlyMethodNotAllowedMiddleware:
    """A page in the site's look for a 405 (a GET on a POST-only URL, say: a form link opened
    in a new tab), instead of the browser's empty error page.

    Only for empty 405 responses to requests that accept HTML: an API's own 405 body stays.
    The ``Allow`` header and the status are kept.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 405
            and not response.content
            and "text/html" in request.headers.get("Accept", "text/html")
        ):
            response.content = render_to_string("405.html", request=request)
            response["Content-Type"] = "text/html; charset=utf-8"
        return response
