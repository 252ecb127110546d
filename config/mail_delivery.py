"""The rules every outbox follows when it talks to the mail server: one place for each.

Both outboxes use them: lessons (``courses/dispatch.py``, rendered once per batch) and every
other e-mail (``accounts/outbox.py``). ``config`` is the base layer, so both may import it.

- **Transient or permanent.** A 5xx about this message or its recipient is permanent: sending
  again cannot help, the row fails at once (and a refused recipient is marked bouncing).
  Connection trouble, a 4xx, a failed greeting or login is transient: it is about the mail
  server, not this message, and usually passes.
- **Backoff.** A transient failure is retried with capped exponential backoff (1, 2, 4, 8,
  then every 15 minutes) for at least ``RETRY_WINDOW`` (72 hours, as long as Stripe retries a
  webhook): ``MAX_ATTEMPTS`` tries. The retry is a time on the row, never a task countdown.
- **Leases.** A row being sent belongs to its send run for ``SEND_LEASE``, renewed every
  ``LEASE_RENEW_INTERVAL`` while the run works; one SMTP conversation waits at most
  ``SMTP_TIMEOUT`` for each of its five replies, so 15 + 100 s < 2 minutes.
"""

import logging
import smtplib
from datetime import timedelta

from django.conf import settings

logger = logging.getLogger(__name__)

# The delivery health page's window ("due in the last hour"), for every outbox.
HEALTH_WINDOW = timedelta(hours=1)
# How long rows being sent stay with a send run that stops renewing (a killed worker).
SEND_LEASE = timedelta(minutes=2)
# A send run renews SEND_LEASE before a message once this many seconds have passed.
LEASE_RENEW_INTERVAL = 15.0
# Seconds a send run's SMTP connection waits for any one reply (see the docstring).
SMTP_TIMEOUT = 20
RETRY_BASE_DELAY = timedelta(minutes=1)
# Transient failures are retried for at least this long (Stripe retries webhooks for 3 days).
RETRY_WINDOW = timedelta(hours=72)
# The longest error text kept on a row.
ERROR_MAX_LENGTH = 2000


def retry_delay(*, attempts: int) -> timedelta:
    """Exponential backoff after the ``attempts``-th try: 1, 2, 4, 8 minutes...

    Capped at a quarter of the broker's longest countdown. The retry is a row a beat job
    scans, not a task countdown, but keeping under it means nothing here ever waits longer than
    the rest of the system is built for (and a mail server that comes back is tried again
    within 15 minutes).
    """
    cap = timedelta(seconds=settings.CELERY_MAX_COUNTDOWN_SECONDS // 4)
    return min(RETRY_BASE_DELAY * 2 ** min(max(attempts - 1, 0), 30), cap)


def _attempts_to_cover(window: timedelta) -> int:
    """The smallest number of tries whose backoff between them adds up to ``window``."""
    attempts, waited = 1, timedelta()
    while waited < window:
        waited += retry_delay(attempts=attempts)
        attempts += 1
    return attempts


# Tries per row (staff's retry starts a new count): transient failures retry until this many,
# then fail. Computed at import from the settings, so that it always covers RETRY_WINDOW.
MAX_ATTEMPTS = _attempts_to_cover(RETRY_WINDOW)


def is_permanent_error(error: BaseException) -> bool:
    """A 5xx reply about this message or recipient: sending it again can't help.

    Connection-level trouble (refused, dropped, timed out, a 4xx, a failed greeting or login)
    is transient: it is about the mail server, not this message, and usually passes.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(code >= 500 for code, _ in error.recipients.values())
    if isinstance(
        error, smtplib.SMTPConnectError | smtplib.SMTPHeloError | smtplib.SMTPAuthenticationError
    ):
        return False
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    return False


def is_refused_recipient(error: BaseException) -> bool:
    """The server refused the address itself for good: it bounces."""
    return isinstance(error, smtplib.SMTPRecipientsRefused) and is_permanent_error(error)


def server_still_talking(error: OSError) -> bool:
    """The server refused this message but kept the session (smtplib has reset it)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code != 421


def describe(error: BaseException) -> str:
    """``SMTPDataError: 451 4.3.0 Try again later`` rather than a tuple of bytes."""
    name = type(error).__name__
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refusals = "; ".join(
            f"{address}: {code} {_text(reply)}"
            for address, (code, reply) in error.recipients.items()
        )
        return f"{name}: {refusals}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{name}: {error.smtp_code} {_text(error.smtp_error)}"
    return f"{name}: {error}"


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def close_quietly(mail_connection) -> None:
    try:
        mail_connection.close()
    except OSError:
        logger.info("Closing the SMTP connection failed; it is dropped", exc_info=True)
