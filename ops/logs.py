"""Log records that say what they belong to, and error mail that cannot flood an inbox.

``ContextFilter`` adds ``request_id``, ``user_id`` and ``task_id`` to every record, so a JSON log
line (production) can be followed back to its request or Celery task.
"""

import logging
import time

from celery import current_task
from django.core.cache import cache
from django.utils.functional import empty

from .context import current_request


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request = current_request.get()
        record.request_id = getattr(request, "id", None)
        record.user_id = _user_id_if_known(request)
        task = current_task
        record.task_id = task.request.id if task else None
        return True


def _user_id_if_known(request: object) -> int | None:
    # Only a user that the request already loaded: a log call must never query the database
    # (it may be logging that the database is down).
    lazy_user = getattr(request, "user", None)
    wrapped = getattr(lazy_user, "_wrapped", empty)
    if wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    return getattr(wrapped, "pk", None)


class RateLimitFilter(logging.Filter):
    """Let one record of a kind (logger and message template) through per ``seconds``.

    Counted in the shared cache, so ten web processes hitting the same error send one e-mail;
    when the cache itself is down, counted in this process instead.
    """

    def __init__(self, seconds: int = 300) -> None:
        super().__init__()
        self.seconds = seconds
        self._last_sent: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = f"ops:mail-admins:{record.name}:{hash(str(record.msg)) & 0xFFFFFFFF:x}"
        try:
            return bool(cache.add(key, 1, timeout=self.seconds))
        except Exception:  # the cache may be what is failing
            now = time.monotonic()
            if now - self._last_sent.get(key, -self.seconds) < self.seconds:
                return False
            self._last_sent[key] = now
            return True
