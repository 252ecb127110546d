"""The staff's "System status" page in the Wagtail admin (Settings menu): the readiness checks
of ``/readyz``, which Celery workers answer a ping, and when beat last sent each periodic job.
"""

from dataclasses import dataclass
from datetime import datetime

from django.urls import path
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from django_celery_beat.models import PeriodicTask
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from config import health
from config.admin_permissions import StaffOnlyViewMixin
from config.celery import app as celery_app

# The page waits at most this long for workers to answer; a worker busy past it shows as silent.
PING_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class WorkerPing:
    hostname: str
    answered: bool


@dataclass(frozen=True)
class BrokerError:
    detail: str


def worker_pings() -> list[WorkerPing] | BrokerError:
    """Every worker that answers ``celery inspect ping`` within the timeout."""
    try:
        replies = celery_app.control.inspect(timeout=PING_TIMEOUT_SECONDS).ping() or {}
    except Exception as error:  # a broker outage is shown, not raised
        return BrokerError(f"{type(error).__name__}: {error}")
    return [
        WorkerPing(hostname, reply.get("ok") == "pong")
        for hostname, reply in sorted(replies.items())
    ]


@dataclass(frozen=True)
class PeriodicTaskRow:
    name: str
    task: str
    enabled: bool
    last_run_at: datetime | None
    total_run_count: int


def periodic_tasks() -> list[PeriodicTaskRow]:
    """Beat's jobs with when beat last sent each (django-celery-beat records it)."""
    return [
        PeriodicTaskRow(t.name, t.task, t.enabled, t.last_run_at, t.total_run_count)
        for t in PeriodicTask.objects.order_by("name")
    ]


class SystemStatusView(StaffOnlyViewMixin, WagtailAdminTemplateMixin, TemplateView):
    """Staff only: readiness, which Celery workers answer a ping, when beat last ran each job."""

    template_name = "home/system_status.html"
    page_title = gettext_lazy("System status")
    header_icon = "pick"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            checks=health.readiness(),
            workers=worker_pings(),
            periodic_tasks=periodic_tasks(),
        )
        return context


def system_status_urls():
    return [path("system-status/", SystemStatusView.as_view(), name="system_status")]
