"""Reads for the system status page."""

from dataclasses import dataclass
from datetime import datetime

from django_celery_beat.models import PeriodicTask

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
