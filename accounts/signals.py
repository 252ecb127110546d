"""The one place that notices a learner's schedule settings changing.

``learner_schedule_changed`` is sent with ``learner`` (the saved User) whenever a save changed
their time zone or lesson send hour, whatever made the save: the profile page's service, the
Django admin, the Wagtail admin (accounts/wagtail_users.py), a data fix in the shell through
``user.save()``. Apps that schedule things in the learner's local time (courses) reschedule on
it; accounts itself knows none of them (docs/architecture.md: accounts imports no other app).

How a change is noticed: a save that writes either field first reads the values stored until
then (``pre_save``, one query; a sign-in's ``save(update_fields=["last_login"])`` reads
nothing), and ``post_save`` compares them with what was written. Comparing with the stored row
rather than with what the instance was loaded with also catches a change made meanwhile by
someone else. The signal is sent inside the save's transaction, so the learner's lessons move
together with the setting or, should rescheduling fail, not at all.

Not seen: ``User.objects.filter(...).update(time_zone=...)``, which runs no model signals. Code
that changes these fields in bulk must send ``learner_schedule_changed`` for each learner.
"""

from django.db.models.signals import post_save, pre_save
from django.dispatch import Signal, receiver

learner_schedule_changed = Signal()

SCHEDULE_FIELDS = ("time_zone", "lesson_send_hour")
# Set between pre_save and post_save: the (time_zone, lesson_send_hour) stored before the save.
_STORED_SCHEDULE = "_schedule_before_save"


def _saves_schedule(update_fields) -> bool:
    return update_fields is None or any(name in update_fields for name in SCHEDULE_FIELDS)


@receiver(pre_save, sender="accounts.User")
def read_stored_schedule(sender, instance, raw, update_fields, **kwargs):
    if raw or instance._state.adding or not _saves_schedule(update_fields):
        return
    stored = sender._base_manager.filter(pk=instance.pk).values_list(*SCHEDULE_FIELDS).first()
    if stored is not None:
        setattr(instance, _STORED_SCHEDULE, tuple(stored))


@receiver(post_save, sender="accounts.User")
def announce_schedule_change(sender, instance, created, **kwargs):
    before = instance.__dict__.pop(_STORED_SCHEDULE, None)
    if created or before is None:
        return
    # A field deferred at load time and never set was not written: it still holds ``before``.
    pairs = zip(SCHEDULE_FIELDS, before, strict=True)
    after = tuple(instance.__dict__.get(name, stored) for name, stored in pairs)
    if after != before:
        learner_schedule_changed.send(sender=sender, learner=instance)
