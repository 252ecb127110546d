"""Entry points from other parts of the system; each hands straight to a service."""

from django.dispatch import receiver
from wagtail.signals import page_published

from accounts.signals import learner_schedule_changed

from . import services
from .models import LessonPage


@receiver(learner_schedule_changed)
def reschedule_lessons(sender, learner, **kwargs):
    services.reschedule_for_learner(learner=learner)


@receiver(page_published, sender=LessonPage)
def schedule_published_lesson(sender, instance, **kwargs):
    # A lesson published after learners enrolled reaches them too; re-publishing an existing
    # lesson finds every row already written and changes nothing.
    services.schedule_new_lesson(lesson=instance)
