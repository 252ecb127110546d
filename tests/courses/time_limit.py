"""A stand-in for Celery's soft time limit, for the lesson dispatch tests."""

from celery.exceptions import SoftTimeLimitExceeded
from django.core import mail
from django.core.mail.backends import locmem


class TimeLimitAfter(locmem.EmailBackend):
    """The in-memory backend, but Celery's soft time limit strikes after ``accept`` messages.

    Stands in for the signal Celery raises inside a task that runs too long.
    """

    accept = 0

    def send_messages(self, messages):
        if len(mail.outbox) >= self.accept:
            raise SoftTimeLimitExceeded()
        return super().send_messages(messages)
