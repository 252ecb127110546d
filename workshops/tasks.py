"""Celery tasks of the workshops app: thin, ids only, each hands straight to a service.

Every one is safe to run twice: the services re-check state under a lock, and each e-mail
sender re-checks the state it describes.
"""

from datetime import datetime

from celery import shared_task
from django.db import transaction

from . import emails, services


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


@shared_task(ignore_result=True)
def deliver_email(sender: str, params: dict) -> None:
    """Kept for one release: a message the previous release queued (during a rolling deploy)
    writes its e-mail to the outbox now, after re-checking the state it describes. Remove next.
    """
    with transaction.atomic():
        emails.SENDERS[sender](**params)
