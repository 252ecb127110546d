"""Celery tasks of the accounts app: the e-mail outbox (``accounts/outbox.py``), thin."""

from datetime import datetime

from celery import shared_task

from . import outbox


@shared_task(ignore_result=True)
def send_outbound_emails(email_ids: list[int]) -> int:
    """Send these outbox rows if they are still due; a copy of the task sends nothing."""
    return len(outbox.send_now(email_ids=email_ids).sent)


@shared_task(ignore_result=True)
def sweep_outbox(*, now: str | None = None) -> int:
    """Beat, every minute: send the rows no task is sending (broker outage, dead worker, retry).

    ``now`` (ISO 8601) only for a run by hand; beat passes nothing.
    """
    return len(outbox.sweep(now=datetime.fromisoformat(now) if now else None).sent)
