"""The project's Celery application.

Configuration lives in Django settings under the ``CELERY_`` namespace (see
``config/settings/base.py``); tasks are discovered in each app's ``tasks.py``.

``worker_cancel_long_running_tasks_on_connection_loss`` is on (base settings): when a worker
loses its broker connection, the broker gives its unacknowledged tasks to another worker, so
Celery stops the copies still running here with a SIGTERM to the pool process. Without it both
copies run at once. A task that must not be cut short in the middle of one step (an SMTP
conversation) wraps that step in ``cancellation_deferred()``: the SIGTERM then takes effect
when the step is over, as a ``TaskCancelled`` exception, so ``finally`` blocks record what was
done. Outside a worker process the handler is not installed and the context manager does
nothing.
"""

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("microcourses")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class TaskCancelled(BaseException):
    """Celery cancelled the running task (a SIGTERM to its pool process).

    A ``BaseException``, like ``SystemExit``: no ``except Exception`` swallows it.
    """


class _Cancellation:
    deferring = 0
    requested = False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if _Cancellation.deferring:
        _Cancellation.requested = True
        return
    raise TaskCancelled()


@worker_process_init.connect
def _sigterm_cancels_the_task(**kwargs) -> None:
    # Celery's prefork children get SIGTERM's default action (die at once, no ``finally``).
    signal.signal(signal.SIGTERM, _on_sigterm)


@contextmanager
def cancellation_deferred() -> Iterator[None]:
    """Let a cancellation that arrives in this block take effect at its end."""
    _Cancellation.deferring += 1
    try:
        yield
    finally:
        _Cancellation.deferring -= 1
    if not _Cancellation.deferring and _Cancellation.requested:
        _Cancellation.requested = False
        raise TaskCancelled()
