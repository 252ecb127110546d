"""One outbox for every e-mail the site sends (lessons have their own, on the same rules).

Writing. A service that changes something an e-mail reports renders the e-mail
(``config.mail.build_email``) and calls ``queue_message`` (or ``queue_email`` with an
``outbound_email`` row) *inside its transaction*: the row and the change commit together or
not at all. After commit ``accounts.tasks.send_outbound_emails`` is published once, without
retries; a broker that is down costs the request nothing (a WARNING, not a 500), because the
sweeper finds the row.

Sending, outside any transaction:

1. **Claim**: in one short transaction, lock the due ``pending`` rows
   (``FOR UPDATE SKIP LOCKED``, oldest due first), mark them ``sending`` with a fresh claim
   token and the send lease (``config.mail_delivery.SEND_LEASE``), and count the attempt. Two
   copies of the same task, or the task and the sweeper, never claim the same row: the
   second finds it ``sending`` or ``sent``.
2. **Send** each row still ``sending`` under that token over one SMTP connection, renewing
   the lease every ``LEASE_RENEW_INTERVAL`` and dropping rows another claim took, and mark it
   ``sent`` at once (one UPDATE per message, restricted to the token). A run holding an old
   token (its lease expired and the row was claimed again) finds nothing to send.

``sweep`` (beat, every minute) claims rows whose task never reached the broker (pending for
longer than ``SWEEP_GRACE``), rows whose ``retry_at`` has come, and rows whose lease expired
(their worker died), and sends them itself, in due order.

Failures follow ``config/mail_delivery.py``: a transient one puts the row back to ``pending``
with ``retry_at`` (capped backoff, at least 72 hours of tries), ``due_at`` untouched; a mail
server that can't be reached costs an attempt only to the message that found it down, the rest
of the run goes back unspent; a 5xx fails the row at once, and a refused recipient marks the
user's address bouncing (``accounts.services.mark_email_bouncing``).

Bouncing addresses. ``BULK_KINDS`` (announcements: mail the learner did not ask for just now)
are skipped for an address that bounces, like lessons. Everything else (receipts, seat
confirmations and their invites, workshop changes, application decisions) is still tried:
each is about money or a seat, the user needs it once the address works again, and a second
refusal costs one SMTP conversation and fails the row at once.

Duplicates. A message goes out twice only when the process sending it dies (SIGKILL, OOM,
the hard time limit) after the server accepted it and before its row was marked: at most 1 per
send run, sent again once the lease expires, with the same ``Message-ID``. A broker connection
loss cancels the task only between messages (``config.celery.cancellation_deferred``); the
untried rows go straight back unspent.
"""

import base64
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from config.celery import cancellation_deferred
from config.mail import compose_email
from config.mail_delivery import (
    ERROR_MAX_LENGTH,
    LEASE_RENEW_INTERVAL,
    MAX_ATTEMPTS,
    SEND_LEASE,
    SMTP_TIMEOUT,
    close_quietly,
    describe,
    is_permanent_error,
    is_refused_recipient,
    retry_delay,
    server_still_talking,
)
from config.queueing import enqueue_on_commit_best_effort

from .models import OutboundEmail
from .services import mark_email_bouncing

logger = logging.getLogger(__name__)

Status = OutboundEmail.Status

# Not sent to an address that bounces (see the module docstring).
BULK_KINDS = frozenset({"home.announcement"})
# The send task, queued by name: tasks.py imports this module, not the other way round.
SEND_TASK = "accounts.tasks.send_outbound_emails"
# Row ids per send task (one SMTP connection each).
SEND_CHUNK_SIZE = 50
# A pending row younger than this most likely has its send task on the way: the sweeper
# leaves it to the task (either would send it once; this keeps them from racing for it).
SWEEP_GRACE = timedelta(minutes=1)
# Rows per sweeper claim, and how long one sweep may go on (under the 240 s soft time limit).
SWEEP_BATCH_SIZE = 50
SWEEP_MAX_SECONDS = 150.0


def _clock(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


# Writing


def queue_email(row: OutboundEmail) -> OutboundEmail:
    """Write one rendered e-mail (from ``outbound_email``) to the outbox; it is sent after the
    transaction commits. With a ``dedupe_key``, queuing the same logical e-mail again returns
    the first row."""
    if row.dedupe_key is not None:
        try:
            with transaction.atomic():  # a savepoint: the caller's transaction goes on
                row.save()
        except IntegrityError:
            return OutboundEmail.objects.get(dedupe_key=row.dedupe_key)
    else:
        row.save()
    enqueue_on_commit_best_effort(SEND_TASK, [row.pk])
    return row


def outbound_email(
    *,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    kind: str,
    user=None,
    headers: dict[str, str] | None = None,
    attachments: list[dict[str, str]] | None = None,
    from_email: str | None = None,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> OutboundEmail:
    """An unsaved outbox row, for ``queue_email`` (or ``queue_emails``, many at once)."""
    now = _clock(now)
    return OutboundEmail(
        to=to,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        user=user,
        kind=kind,
        subject=subject,
        text=text,
        html=html,
        headers=headers or {},
        attachments=attachments or [],
        dedupe_key=dedupe_key,
        created_at=now,
        due_at=now,
    )


def queue_emails(rows: list[OutboundEmail]) -> list[OutboundEmail]:
    """Write many rows (from ``outbound_email``, without dedupe keys) in one INSERT; after
    commit they go out ``SEND_CHUNK_SIZE`` per send task, one SMTP connection each."""
    created = OutboundEmail.objects.bulk_create(rows)
    for start in range(0, len(created), SEND_CHUNK_SIZE):
        chunk = [row.pk for row in created[start : start + SEND_CHUNK_SIZE]]
        enqueue_on_commit_best_effort(SEND_TASK, chunk)
    return created


def queue_message(
    message: EmailMultiAlternatives,
    *,
    kind: str,
    user=None,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> OutboundEmail:
    """Queue an e-mail built with ``config.mail.build_email`` (one recipient) instead of
    sending it: its subject, bodies, headers and attachments are stored as they are."""
    if len(message.to) != 1:
        raise ValueError("An outbox row is for one recipient; queue one message per address.")
    html = next(
        (content for content, mimetype in message.alternatives if mimetype == "text/html"), ""
    )
    return queue_email(
        outbound_email(
            to=message.to[0],
            subject=str(message.subject),
            text=str(message.body),
            html=str(html),
            kind=kind,
            user=user,
            headers=dict(message.extra_headers),
            attachments=[_stored_attachment(attachment) for attachment in message.attachments],
            from_email=message.from_email,
            dedupe_key=dedupe_key,
            now=now,
        )
    )


def _stored_attachment(attachment) -> dict[str, str]:
    filename, content, mimetype = attachment
    if isinstance(content, bytes):
        return {
            "filename": filename,
            "content": base64.b64encode(content).decode(),
            "mimetype": mimetype,
            "encoding": "base64",
        }
    return {"filename": filename, "content": str(content), "mimetype": mimetype}


def retry_email(*, email_id: int, now: datetime | None = None) -> bool:
    """Staff's "retry": a failed or skipped e-mail goes out again, with a fresh attempt budget.

    Returns whether it was put back; any other state is left alone.
    """
    now = _clock(now)
    with transaction.atomic():
        retried = OutboundEmail.objects.filter(
            pk=email_id, status__in=[Status.FAILED, Status.SKIPPED]
        ).update(
            status=Status.PENDING,
            due_at=now,
            retry_at=None,
            last_error="",
            attempts_before_staff_retry=F("attempts"),
        )
        if retried:
            enqueue_on_commit_best_effort(SEND_TASK, [email_id])
    return bool(retried)


# Claiming


def unsent_due(*, now: datetime) -> QuerySet[OutboundEmail]:
    """Due rows not sent yet: waiting for their task or the sweeper, for a retry, or being
    sent (staff's delivery health page)."""
    return OutboundEmail.objects.filter(
        status__in=[Status.PENDING, Status.SENDING], due_at__lte=now
    )


def _due(now: datetime) -> Q:
    return Q(status=Status.PENDING, due_at__lte=now) & (
        Q(retry_at__isnull=True) | Q(retry_at__lte=now)
    )


def _claim(
    rows: QuerySet[OutboundEmail], *, token: uuid.UUID, now: datetime, limit: int
) -> list[int]:
    """Lock up to ``limit`` of ``rows``, oldest due first, and make them this token's."""
    with transaction.atomic():
        ids = list(
            rows.select_for_update(skip_locked=True)
            .order_by("due_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            OutboundEmail.objects.filter(pk__in=ids).update(
                status=Status.SENDING,
                claim_token=token,
                lease_expires_at=now + SEND_LEASE,
                attempts=F("attempts") + 1,
            )
    return ids


def _fail_exhausted_leases(now: datetime) -> int:
    """Rows whose sender died on every one of their attempts fail rather than loop."""
    exhausted = OutboundEmail.objects.filter(
        status=Status.SENDING,
        lease_expires_at__lt=now,
        attempts__gte=F("attempts_before_staff_retry") + MAX_ATTEMPTS,
    )
    count = exhausted.update(
        status=Status.FAILED,
        claim_token=None,
        lease_expires_at=None,
        last_error=f"Gave up after {MAX_ATTEMPTS} attempts: the send task never finished.",
    )
    if count:
        logger.error("%s outbound e-mails failed: their send task never finished", count)
    return count


# Sending


@dataclass
class SendReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    handed_back: list[int] = field(default_factory=list)
    # The mail server could not be reached: the caller should stop for now.
    server_down: bool = False


def send_now(*, email_ids: Iterable[int], now: datetime | None = None) -> SendReport:
    """The send task's body: claim those of ``email_ids`` that are due, and send them.

    Rows already claimed (another copy of this task, the sweeper), sent, or not due yet are
    left alone; running it twice sends nothing twice.
    """
    email_ids = list(email_ids)
    token = uuid.uuid4()
    claimed = _claim(
        OutboundEmail.objects.filter(_due(_clock(now)), pk__in=email_ids),
        token=token,
        now=_clock(now),
        limit=len(email_ids),
    )
    return send_claimed(email_ids=claimed, claim_token=token, now=now)


def sweep(*, now: datetime | None = None, max_seconds: float = SWEEP_MAX_SECONDS) -> SendReport:
    """The beat job: send what no task is sending, in due order, for up to ``max_seconds``."""
    started = time.monotonic()
    total = SendReport()
    _fail_exhausted_leases(_clock(now))
    while time.monotonic() - started < max_seconds:
        moment = _clock(now)
        orphaned = OutboundEmail.objects.filter(
            (_due(moment) & (Q(retry_at__isnull=False) | Q(created_at__lte=moment - SWEEP_GRACE)))
            | Q(status=Status.SENDING, lease_expires_at__lt=moment)
        )
        token = uuid.uuid4()
        claimed = _claim(orphaned, token=token, now=moment, limit=SWEEP_BATCH_SIZE)
        if not claimed:
            break
        report = send_claimed(email_ids=claimed, claim_token=token, now=now)
        for name in ("sent", "retrying", "failed", "skipped", "handed_back"):
            getattr(total, name).extend(getattr(report, name))
        if report.server_down:
            total.server_down = True
            break
    return total


class _SendRun:
    """The rows one claim token owns while they are sent, and the lease renewals."""

    def __init__(self, *, token: uuid.UUID, email_ids: list[int], now: datetime | None):
        self.token = token
        self.now = now
        self.owned = set(email_ids)
        self.renewed_at = time.monotonic()

    def rows(self) -> QuerySet[OutboundEmail]:
        return OutboundEmail.objects.filter(status=Status.SENDING, claim_token=self.token)

    def still_owns(self, pk: int) -> bool:
        if time.monotonic() - self.renewed_at >= LEASE_RENEW_INTERVAL:
            self.rows().filter(pk__in=self.owned).update(
                lease_expires_at=_clock(self.now) + SEND_LEASE
            )
            self.owned = set(self.rows().filter(pk__in=self.owned).values_list("pk", flat=True))
            self.renewed_at = time.monotonic()
        return pk in self.owned

    def finish(self, pk: int, **fields) -> None:
        """Record a row's outcome, if the row is still this run's."""
        self.owned.discard(pk)
        self.rows().filter(pk=pk).update(claim_token=None, lease_expires_at=None, **fields)

    def hand_back(self, pks: list[int], *, retry_at: datetime | None, error: str = "") -> None:
        """Untried rows go back to ``pending`` without spending an attempt."""
        if not pks:
            return
        self.owned.difference_update(pks)
        fields: dict = {"retry_at": retry_at}
        if error:
            fields["last_error"] = error[:ERROR_MAX_LENGTH]
        self.rows().filter(pk__in=pks).update(
            status=Status.PENDING,
            claim_token=None,
            lease_expires_at=None,
            attempts=F("attempts") - 1,
            **fields,
        )


def send_claimed(
    *, email_ids: list[int], claim_token: uuid.UUID, now: datetime | None = None
) -> SendReport:
    """Send the rows of ``email_ids`` still ``sending`` under ``claim_token``, one connection.

    Outside any transaction: each outcome is its own short UPDATE.
    """
    report = SendReport()
    if not email_ids:
        return report
    rows = list(
        OutboundEmail.objects.filter(
            pk__in=email_ids, status=Status.SENDING, claim_token=claim_token
        )
        .select_related("user")
        .order_by("due_at", "pk")
    )
    run = _SendRun(token=claim_token, email_ids=[row.pk for row in rows], now=now)
    mail = get_connection(timeout=SMTP_TIMEOUT)
    is_open = False
    untried = [row.pk for row in rows]
    try:
        for position, row in enumerate(rows):
            untried = [later.pk for later in rows[position + 1 :]]
            # A cancellation (broker connection lost) waits until this message is recorded.
            with cancellation_deferred():
                if not run.still_owns(row.pk):
                    continue
                if row.kind in BULK_KINDS and row.user and row.user.email_bouncing_since:
                    run.finish(
                        row.pk, status=Status.SKIPPED, last_error="Not sent: the address bounces."
                    )
                    report.skipped.append(row.pk)
                    continue
                try:
                    message = _message(row, connection=mail)
                    message.message()  # a header it can't carry raises here, not mid-send
                except (BadHeaderError, ValueError) as error:
                    _fail(run, row, error=describe(error), report=report)
                    continue
                if not is_open:
                    try:
                        mail.open()
                        is_open = True
                    except OSError as error:  # smtplib's errors are OSErrors too
                        unreachable = f"Could not connect to the mail server: {describe(error)}"
                        retry_at = _retry_or_fail(run, row, error=unreachable, report=report)
                        # The rest waits with this message, unspent, in due order.
                        run.hand_back(untried, retry_at=retry_at, error=unreachable)
                        report.handed_back.extend(untried)
                        report.server_down = True
                        untried = []
                        break
                try:
                    sent = mail.send_messages([message])
                except OSError as error:
                    if not server_still_talking(error):
                        close_quietly(mail)
                        is_open = False
                    if is_permanent_error(error):
                        _fail(run, row, error=describe(error), report=report)
                        if is_refused_recipient(error) and row.user_id is not None:
                            mark_email_bouncing(
                                user_id=row.user_id, address=row.to, now=_clock(now)
                            )
                    else:
                        _retry_or_fail(run, row, error=describe(error), report=report)
                    continue
                if sent != 1:
                    _retry_or_fail(run, row, error="The mail backend sent nothing.", report=report)
                    continue
                run.finish(row.pk, status=Status.SENT, sent_at=_clock(now), last_error="")
                report.sent.append(row.pk)
        untried = []
    finally:
        if untried:
            # Stopped early (cancelled, time limit): what wasn't tried goes back at once.
            run.hand_back(untried, retry_at=None)
            report.handed_back.extend(untried)
        if is_open:
            close_quietly(mail)
    return report


def _message(row: OutboundEmail, *, connection) -> EmailMultiAlternatives:
    headers = {
        **row.headers,
        # Stable per row, so a rare second send is recognisable as the same message.
        "Message-ID": f"<outbound-{row.pk}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>",
    }
    message = compose_email(
        to=row.to,
        subject=row.subject,
        text=row.text,
        html=row.html,
        headers=headers,
        connection=connection,
    )
    message.from_email = row.from_email
    if not row.html:
        message.alternatives = []
    for attachment in row.attachments:
        content = attachment["content"]
        if attachment.get("encoding") == "base64":
            content = base64.b64decode(content)
        message.attach(attachment["filename"], content, attachment["mimetype"])
    return message


def _retry_or_fail(
    run: _SendRun, row: OutboundEmail, *, error: str, report: SendReport
) -> datetime | None:
    """Schedule the row's next try; fail it once its budget is spent. Returns the retry time."""
    used = row.attempts - row.attempts_before_staff_retry  # the claim counted this attempt
    if used >= MAX_ATTEMPTS:
        _fail(run, row, error=f"Gave up after {used} attempts. {error}", report=report)
        return None
    retry_at = _clock(run.now) + retry_delay(attempts=used)
    run.finish(
        row.pk, status=Status.PENDING, retry_at=retry_at, last_error=error[:ERROR_MAX_LENGTH]
    )
    logger.warning(
        "Outbound e-mail %s (attempt %s) retries at %s: %s", row.pk, used, retry_at, error
    )
    report.retrying.append(row.pk)
    return retry_at


def _fail(run: _SendRun, row: OutboundEmail, *, error: str, report: SendReport) -> None:
    run.finish(row.pk, status=Status.FAILED, last_error=error[:ERROR_MAX_LENGTH])
    # ERROR: staff hear of it through the logs; the admin shows the row and its last_error.
    logger.error("Outbound e-mail %s (%s) to %s failed: %s", row.pk, row.kind, row.to, error)
    report.failed.append(row.pk)
