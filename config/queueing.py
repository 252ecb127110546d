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
import time
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


# After a failed best-effort publish, the next ones in this process are skipped for this
# long: each try costs the request most of a second while the broker is down, and the rows
# wait for the sweeper either way.
BEST_EFFORT_PAUSE_SECONDS = 30.0


class _BrokerTrouble:
    """When this process last failed to reach the broker (monotonic seconds), or None.

    Only a shortcut for speed: nothing depends on it for correctness.
    """

    failed_at: float | None = None

    @classmethod
    def recent(cls) -> bool:
        return (
            cls.failed_at is not None
            and time.monotonic() - cls.failed_at < BEST_EFFORT_PAUSE_SECONDS
        )


def enqueue_on_commit_best_effort(task_name: str, *args: Any) -> None:
    """Publish ``task_name(*args)`` once after commit; if the broker is down, only warn.

    Only for work a beat job finds on its own (its rows say what is left to do): the request
    neither waits for kombu's publish retries nor fails, and the sweeper does the work later.
    For ``BEST_EFFORT_PAUSE_SECONDS`` after a failure this process doesn't try again.
    """
    task = _task(task_name)

    def publish() -> None:
        if _BrokerTrouble.recent():
            logger.info(
                "%s not queued (the broker was just unreachable); the sweeper will do it", task_name
            )
            return
        try:
            task.apply_async(args, retry=False)
        except (OperationalError, OSError) as error:
            _BrokerTrouble.failed_at = time.monotonic()
            logger.warning("%s not queued (%s); the beat sweeper will do it", task_name, error)
        else:
            _BrokerTrouble.failed_at = None

    transaction.on_commit(publish)
