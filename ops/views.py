"""Health probes for load balancers, and the staff's system status page in the Wagtail admin."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import cache_control, never_cache
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.documents.views import serve as wagtail_document_serve

from . import health, selectors


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. It touches nothing else, so a database outage does not
    make an orchestrator restart every web process."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when this process can serve (database, cache, broker, storage reachable,
    every migration applied), else 503 naming what failed, so the balancer routes around it."""
    results = health.readiness()
    ready = all(result.ok for result in results)
    return JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "checks": {
                r.name: {"ok": r.ok, "detail": r.detail, "ms": r.milliseconds} for r in results
            },
        },
        status=200 if ready else 503,
    )


class SystemStatusView(WagtailAdminTemplateMixin, TemplateView):
    """Staff only: readiness, which Celery workers answer a ping, when beat last ran each job."""

    template_name = "ops/system_status.html"
    page_title = gettext_lazy("System status")
    header_icon = "pick"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            checks=health.readiness(),
            workers=selectors.worker_pings(),
            periodic_tasks=selectors.periodic_tasks(),
        )
        return context


# Wagtail's document view, with the answer kept out of shared caches: it is a lesson's download
# (or, on S3, a redirect to a presigned URL that anyone holding it could use until it expires).
serve_document = cache_control(private=True, no_store=True)(wagtail_document_serve.serve)
