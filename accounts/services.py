from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .models import User


@transaction.atomic
def update_learner_settings(
    *, user: User, time_zone: str, lesson_send_hour: int, first_name: str, last_name: str
) -> User:
    """Save the learner's settings; a new zone or send hour reschedules their lessons (the
    save sends ``learner_schedule_changed``, see accounts/signals.py)."""
    user.time_zone = time_zone
    user.lesson_send_hour = lesson_send_hour
    user.first_name = first_name
    user.last_name = last_name
    user.full_clean()
    user.save(update_fields=["time_zone", "lesson_send_hour", "first_name", "last_name"])
    return user


def mark_email_bouncing(*, user_id: int, address: str, now: datetime | None = None) -> bool:
    """Record that mail to ``address`` was permanently refused, if it is still the user's.

    A no-op when the user changed their address meanwhile or is already marked. Returns
    whether this call marked it.
    """
    return bool(
        User.objects.filter(
            pk=user_id, email__iexact=address, email_bouncing_since__isnull=True
        ).update(email_bouncing_since=now or timezone.now())
    )


def confirm_email_works(*, user: User) -> User:
    """The learner says their address is right after all: lesson mail resumes."""
    User.objects.filter(pk=user.pk).update(email_bouncing_since=None)
    user.email_bouncing_since = None
    return user
