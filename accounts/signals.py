"""The one place that notices a learner's schedule settings changing.

``learner_schedule_changed`` is sent with ``learner`` (the saved User) whenever a save changed
their time zone or lesson send hour, whatever made the save: the profile page's service, the
Django admin, the Wagtail admin, a data fix in the shell through ``user.save()``. Apps that
schedule things in the learner's local time (courses) reschedule on it; accounts itself knows
none of them (docs/architecture.md: accounts imports no other app).

How a change is noticed: every User loaded from the database remembers the two values it was
loaded with (``post_init``); ``post_save`` compares them with what was just written. A User
loaded without those fields (``only()``/``defer()``) has nothing to remember, so its save reads
the stored values first (``pre_save``). The signal is sent inside the save's transaction, so
the learner's lessons move together with the setting or, should rescheduling fail, not at all.

Not seen: ``User.objects.filter(...).update(time_zone=...)``, which runs no model signals. Code
that changes these fields in bulk must send ``learner_schedule_changed`` for each learner.
"""

from django.db.models.signals import post_init, post_save, pre_save
from django.dispatch import Signal, receiver

learner_schedule_changed = Signal()

SCHEDULE_FIELDS = ("time_zone", "lesson_send_hour")
# The (time_zone, lesson_send_hour) a User instance was loaded or last saved with.
_LOADED_SCHEDULE = "_schedule_as_loaded"


def _current_schedule(user) -> tuple[str, int]:
    return (user.time_zone, user.lesson_send_hour)


def _saves_schedule(update_fields) -> bool:
    return update_fields is None or any(name in update_fields for name in SCHEDULE_FIELDS)


@receiver(post_init, sender="accounts.User")
def remember_loaded_schedule(sender, instance, **kwargs):
    if all(name in instance.__dict__ for name in SCHEDULE_FIELDS):
        setattr(instance, _LOADED_SCHEDULE, _current_schedule(instance))


@receiver(pre_save, sender="accounts.User")
def read_stored_schedule_if_unknown(sender, instance, raw, update_fields, **kwargs):
    """A User loaded with these fields deferred: read what is stored before it is overwritten."""
    if raw or instance._state.adding or hasattr(instance, _LOADED_SCHEDULE):
        return
    if not _saves_schedule(update_fields):
        return
    stored = sender._base_manager.filter(pk=instance.pk).values_list(*SCHEDULE_FIELDS).first()
    if stored is not None:
        setattr(instance, _LOADED_SCHEDULE, tuple(stored))


@receiver(post_save, sender="accounts.User")
def announce_schedule_change(sender, instance, created, raw, update_fields, **kwargs):
    if raw or not _saves_schedule(update_fields):
        return
    before = getattr(instance, _LOADED_SCHEDULE, None)
    after = _current_schedule(instance)
    # From here on the saved values are the ones to compare with (a second save of the same
    # instance with nothing new sends nothing).
    setattr(instance, _LOADED_SCHEDULE, after)
    if created or before is None or before == after:
        return
    learner_schedule_changed.send(sender=sender, learner=instance)
