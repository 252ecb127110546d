"""Log records that say what they belong to, and error mail that cannot flood an inbox.

``ContextFilter`` adds ``request_id``, ``user_id`` and ``task_id`` to every record, so a JSON log
line (production) can be followed back to its request or Celery task.

The request id comes from the proxy's ``X-Request-ID`` when it sends a sane one (so one id
follows a request through the proxy's and our logs), otherwise we make one. It is echoed on
every response.
"""

import hashlib
import logging
import re
import time
import uuid
from contextvars import ContextVar

from celery import current_task
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.functional import LazyObject, empty

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


def request_id_for(request: HttpRequest) -> str:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if _SANE_REQUEST_ID.match(offered) else uuid.uuid4().hex


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
    user = getattr(request, "user", None)
    if isinstance(user, LazyObject):
        user = user._wrapped
    if user is None or user is empty or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "pk", None)


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
        # A stable digest (not hash(), which differs between processes) of the message template.
        kind = hashlib.blake2b(f"{record.name}:{record.msg}".encode(), digest_size=8).hexdigest()
        key = f"ops:mail-admins:{kind}"
        try:
            return bool(cache.add(key, 1, timeout=self.seconds))
        except Exception:  # the cache may be what is failing
            now = time.monotonic()
            if now - self._last_sent.get(key, -self.seconds) < self.seconds:
                return False
            self._last_sent[key] = now
            return True
