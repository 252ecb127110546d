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

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun, worker_process_init
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("microcourses")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class TaskCancelled(SystemExit):
    """Celery cancelled the running task (a SIGTERM to its pool process).

    A ``SystemExit``: no ``except Exception`` swallows it, Celery lets it through, and the pool
    process ends once ``finally`` blocks have run, as billiard expects of a terminated job
    (it starts a fresh process in its place).
    """


class _Cancellation:
    deferring = 0
    requested = False
    # Set once the cancellation is raised: the process ends after it, and a second SIGTERM
    # (Celery cancels again for each broker connection it loses) must not interrupt the
    # ``finally`` blocks that record what was done.
    raised = False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if _Cancellation.raised:
        return
    if _Cancellation.deferring:
        _Cancellation.requested = True
        return
    _Cancellation.raised = True
    raise TaskCancelled(1)


class _PoolProcess:
    is_one = False


@worker_process_init.connect
def _note_pool_process(**kwargs) -> None:
    _PoolProcess.is_one = True


@task_prerun.connect
def _sigterm_cancels_the_task(**kwargs) -> None:
    # In a pool process, billiard's own SIGTERM handler (installed after worker_process_init)
    # exits at once, wherever the task is; ours waits for cancellation_deferred() blocks.
    # Installed per task, so it is ours whatever billiard did at start.
    if _PoolProcess.is_one and signal.getsignal(signal.SIGTERM) is not _on_sigterm:
        signal.signal(signal.SIGTERM, _on_sigterm)


@task_prerun.connect
@task_postrun.connect
def _close_old_database_connections(sender: Task | None = None, **kwargs) -> None:
    # Around each task, as Django does around each request: a connection older than
    # CONN_MAX_AGE, or one that failed, is closed; the rest are reused (production keeps them
    # for a minute). Celery's own closing after every task is held back by CELERY_DB_REUSE_MAX.
    # Not for a task run eagerly inside a caller's transaction (the tests), which it would break.
    if sender is not None and not getattr(sender.request, "is_eager", False):
        close_old_connections()


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
        _Cancellation.raised = True
        raise TaskCancelled(1)
