"""Celery tasks of the workshops app: thin, ids only, each hands straight to a service.

Every one is safe to run twice: the services re-check state under a lock, and each e-mail
sender re-checks the state it describes.
"""

import logging
from datetime import datetime

from celery import shared_task
from django.conf import settings

from . import emails, services

logger = logging.getLogger(__name__)

EMAIL_MAX_RETRIES = 5


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


@shared_task(bind=True, ignore_result=True, max_retries=EMAIL_MAX_RETRIES)
def deliver_email(self, sender: str, params: dict) -> None:
    """Send one e-mail of emails.py (``sender`` names it in ``emails.SENDERS``).

    A failing mail server is retried with a growing delay, bounded by the broker's visibility
    timeout; after the last attempt the failure is logged at ERROR, which reaches staff.
    """
    try:
        emails.SENDERS[sender](**params)
    except Exception as error:
        if self.request.retries >= EMAIL_MAX_RETRIES or self.request.is_eager:
            logger.exception("Workshop e-mail %s %s failed for good.", sender, params)
            raise
        delay = min(60 * 2**self.request.retries, settings.CELERY_MAX_COUNTDOWN_SECONDS)
        raise self.retry(exc=error, countdown=delay) from error
