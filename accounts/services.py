from django.db import transaction

from .models import User
from .signals import learner_schedule_changed


@transaction.atomic
def update_learner_settings(
    *, user: User, time_zone: str, lesson_send_hour: int, first_name: str, last_name: str
) -> User:
    """Save the learner's settings; a new zone or send hour reschedules their lessons."""
    schedule_changed = (user.time_zone, user.lesson_send_hour) != (time_zone, lesson_send_hour)
    user.time_zone = time_zone
    user.lesson_send_hour = lesson_send_hour
    user.first_name = first_name
    user.last_name = last_name
    user.full_clean()
    user.save(update_fields=["time_zone", "lesson_send_hour", "first_name", "last_name"])
    if schedule_changed:
        learner_schedule_changed.send(sender=User, learner=user)
    return user
