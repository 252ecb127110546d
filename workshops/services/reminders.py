"""Reminder e-mails before a workshop starts, each sent once."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from ..models import Registration
from ..rules import REMINDERS
from .common import _now, _queue_email


def send_due_reminders(*, now: datetime | None = None) -> int:
    """Send the reminders that are due (a beat job every few minutes); returns how many.

    Each reminder has a point in time: 24 hours and 1 hour before the start, in absolute time
    (the start is stored in UTC, so a DST change in between moves nothing). A reminder goes to
    a registration that is confirmed now and was *created at or before its point*: someone who
    registers 30 minutes before the start got a confirmation e-mail moments ago and gets
    neither reminder; someone who registers 5 hours before gets the 1-hour one only. A reminder
    whose point passed while the next one is already due is skipped (after a long outage nobody
    gets "in 24 hours" one hour before the start).

    Who sends is decided by a conditional UPDATE that sets the reminder's timestamp where it is
    still NULL: two runs at once, or a run repeated, send each reminder once.
    """
    now = _now(now)
    sent = 0
    longest_first = sorted(REMINDERS, key=lambda reminder: -reminder[0])
    for index, (hours, field) in enumerate(longest_first):
        before = timedelta(hours=hours)
        # Due until the next (shorter) reminder's point; the last one until the start.
        shorter = longest_first[index + 1 : index + 2]
        until = timedelta(hours=shorter[0][0]) if shorter else timedelta(0)
        for registration_id in list(
            _due_for_reminder(field=field, before=before, until=until, now=now)
        ):
            with transaction.atomic():
                claimed = Registration.objects.filter(
                    pk=registration_id,
                    status=Registration.Status.CONFIRMED,
                    **{f"{field}__isnull": True},
                ).update(**{field: now})
                if claimed:
                    _queue_email("reminder", registration_id=registration_id, hours_before=hours)
                    sent += 1
    return sent


def _due_for_reminder(*, field: str, before: timedelta, until: timedelta, now: datetime):
    """Confirmed registrations whose reminder point (start - before) has come, not yet sent."""
    point = F("workshop__starts_at") - before
    return (
        Registration.objects.filter(
            status=Registration.Status.CONFIRMED,
            workshop__starts_at__lte=now + before,
            workshop__starts_at__gt=now + until,
            workshop__seats__cancelled_at__isnull=True,
            created_at__lte=point,
            **{f"{field}__isnull": True},
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
