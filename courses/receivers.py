"""Entry points from other parts of the system; each hands straight to a service."""

from django.db.models.signals import pre_save
from django.dispatch import receiver
from wagtail.signals import page_published

from accounts.signals import learner_schedule_changed

from . import services
from .models import CoursePage, LessonPage, ScheduleMode

# Set on a CoursePage being saved: its cohort start date as the database had it until then.
_LIVE_COHORT_START = "_cohort_start_date_before_publish"


@receiver(learner_schedule_changed)
def reschedule_lessons(sender, learner, **kwargs):
    services.reschedule_for_learner(learner=learner)


@receiver(page_published, sender=LessonPage)
def schedule_published_lesson(sender, instance, **kwargs):
    # A lesson published after learners enrolled reaches them too; re-publishing an existing
    # lesson finds every row already written and changes nothing.
    services.schedule_new_lesson(lesson=instance)


@receiver(pre_save, sender=CoursePage)
def remember_live_cohort_start(sender, instance, raw, update_fields, **kwargs):
    """Keep the start date the live course had, for ``move_cohort_start`` below.

    The page's own row holds the live revision's fields (a draft is saved as a revision only),
    so until publishing writes the new revision's fields, it holds the previous live date.
    """
    if raw or instance._state.adding:
        return
    if update_fields is not None and "cohort_start_date" not in update_fields:
        return
    stored = (
        CoursePage.objects.filter(pk=instance.pk, schedule_mode=ScheduleMode.COHORT)
        .values_list("cohort_start_date", flat=True)
        .first()
    )
    setattr(instance, _LIVE_COHORT_START, stored)


@receiver(page_published, sender=CoursePage)
def move_cohort_with_its_start_date(sender, instance, **kwargs):
    previous_start_date = getattr(instance, _LIVE_COHORT_START, None)
    if previous_start_date is not None:
        services.move_cohort_start(course=instance, previous_start_date=previous_start_date)
