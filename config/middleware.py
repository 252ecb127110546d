"""Middleware that must run before everything else (see MIDDLEWARE in config/settings/base.py)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
