"""Celery tasks of the workshops app: thin, ids only, each hands straight to a service.

Every one is safe to run twice: the services re-check state under a lock, and each e-mail
sender re-checks the state it describes.
"""

import logging
from datetime import datetime

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def release_expired_holds() -> int:
    return services.release_expired_holds()


@shared_task(ignore_result=True)
def expire_offers() -> int:
    return services.expire_offers()


@shared_task(ignore_result=True)
def send_due_reminders(*, now: str | None = None) -> int:
    """``now`` (ISO 8601) only for a replay by hand; beat passes nothing."""
    return services.send_due_reminders(now=datetime.fromisoformat(now) if now else None)


@shared_task(ignore_result=True)
def offer_free_seats_task(workshop_id: int) -> int:
    return services.offer_free_seats(workshop_id=workshop_id)
