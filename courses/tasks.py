"""Celery tasks of the courses app: thin, ids only, idempotent.

The lesson tasks never retry through the broker: a lesson e-mail's retries live in its outbox
row (``due_at``, ``attempts``), which the every-minute dispatcher scans. A send task that dies
leaves its rows ``sending`` until their lease expires, and the dispatcher claims them again.
Every other e-mail goes through the one outbox of ``accounts.outbox``.
"""

from celery import shared_task

from . import dispatch


@shared_task(ignore_result=True)
def dispatch_due_lessons() -> int:
    """The beat job: claim the lesson e-mails that are due and queue their sending."""
    return len(dispatch.claim_due_deliveries())


@shared_task(ignore_result=True)
def send_lesson_batch(delivery_ids: list[int], claim_token: str) -> None:
    """Send claimed lesson e-mails (a chunk of ids from one claim) over one SMTP connection.

    Only rows still ``sending`` under ``claim_token`` are sent: a copy of this task (a broker
    redelivery) or a task from an expired claim sends nothing.
    """
    dispatch.send_deliveries(delivery_ids=delivery_ids, claim_token=claim_token)
