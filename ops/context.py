"""What the current log line belongs to: the request (its id, its user) or the Celery task.

The request id comes from the proxy's ``X-Request-ID`` when it sends a sane one (so one id
follows a request through the proxy's and our logs), otherwise we make one. It is echoed on
every response.
"""

import re
import uuid
from contextvars import ContextVar

from django.http import HttpRequest

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


def request_id_for(request: HttpRequest) -> str:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if _SANE_REQUEST_ID.match(offered) else uuid.uuid4().hex
