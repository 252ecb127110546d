"""Celery tasks of the home app: thin, ids only, idempotent."""

from celery import shared_task


@shared_task(ignore_result=True)
def send_announcement(announcement_id: int) -> int:
    """Kept for one release so that messages queued before the upgrade run: announcements are
    now rows of the site's outbox (``accounts/outbox.py``), sent by its own tasks. Does nothing.
    """
    return 0
