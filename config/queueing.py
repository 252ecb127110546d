"""Queue a Celery task by its registered name once the current transaction commits.

Services hand work to tasks, and tasks call services: if a services module imported its
``tasks`` module, the two would import each other. So services queue tasks *by name* through
this one helper, and only ``tasks.py`` modules import services (the dependency rule is checked
by import-linter, see ``pyproject.toml``). An unknown name fails at once
(``celery.exceptions.NotRegistered``), in tests as in production.

``robust=True``: once the change is committed, a broker that cannot be reached is logged at
ERROR, never turned into a 500 for a request whose work is already saved.

``enqueue_on_commit_best_effort`` is for tasks whose work is in rows a beat job sweeps up anyway
(the e-mail outbox): one publish, no retries, and a broker that is down is a WARNING, because
nothing is lost.
"""

import importlib
import logging
from typing import Any

from django.db import transaction
from kombu.exceptions import OperationalError

from .celery import app

logger = logging.getLogger(__name__)


def _task(task_name: str):
    """The registered task; NotRegistered (a KeyError) for a typo, before anything commits."""
    if task_name not in app.tasks:
        # A web process imports an app's tasks.py only when asked. Import just that module:
        # Celery's import_default_modules() would run django.setup() again (its Django
        # fixup), which re-applies LOGGING in the middle of a request.
        importlib.import_module(task_name.rpartition(".")[0])
    return app.tasks[task_name]


def enqueue_on_commit(task_name: str, *args: Any, **kwargs: Any) -> None:
    """Send ``task_name(*args, **kwargs)`` to the broker after the transaction commits."""
    task = _task(task_name)
    transaction.on_commit(lambda: task.delay(*args, **kwargs), robust=True)


def enqueue(task_name: str, *args: Any, **kwargs: Any) -> None:
    """Send ``task_name(*args, **kwargs)`` to the broker now (the caller has committed).

    Robust like ``enqueue_on_commit``: the caller's change is committed, so a broker that can't
    be reached is logged at ERROR (with what to run by hand), never a 500.
    """
    task = _task(task_name)
    try:
        task.delay(*args, **kwargs)
    except (OperationalError, OSError):
        logger.exception(
            "Could not queue %s(*%r, **%r): the broker is unreachable", task_name, args, kwargs
        )


def enqueue_on_commit_best_effort(task_name: str, *args: Any) -> None:
    """Publish ``task_name(*args)`` once after commit; if the broker is down, only warn.

    Only for work a beat job finds on its own (its rows say what is left to do): the request
    neither waits for kombu's publish retries nor fails, and the sweeper does the work later.
    """
    task = _task(task_name)

    def publish() -> None:
        try:
            task.apply_async(args, retry=False)
        except (OperationalError, OSError) as error:
            logger.warning("%s not queued (%s); the beat sweeper will do it", task_name, error)

    transaction.on_commit(publish)
