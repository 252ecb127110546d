"""Celery tasks of the home app: thin, ids only, idempotent."""

from celery import shared_task

from home.studio import announcements


@shared_task(ignore_result=True)
def send_announcement(announcement_id: int) -> int:
    """Send an announcement's pending messages; a second run sends nothing again."""
    return announcements.send_all(announcement_id=announcement_id)
