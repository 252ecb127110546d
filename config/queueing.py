"""Queue a Celery task by its registered name once the current transaction commits.

Services hand work to tasks, and tasks call services: if a services module imported its
``tasks`` module, the two would import each other. So services queue tasks *by name* through
this one helper, and only ``tasks.py`` modules import services (the dependency rule is checked
by import-linter, see ``pyproject.toml``). An unknown name fails at once
(``celery.exceptions.NotRegistered``), in tests as in production.

``robust=True``: once the change is committed, a broker that cannot be reached is logged at
ERROR, never turned into a 500 for a request whose work is already saved.
"""

import importlib
from typing import Any

from django.db import transaction

from .celery import app


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
    """Send ``task_name(*args, **kwargs)`` to the broker now (the caller has committed)."""
    _task(task_name).delay(*args, **kwargs)
