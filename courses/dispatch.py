"""Getting each lesson e-mail out once: claim due outbox rows, then send them (invariant 5).

Two halves, each a service with ``now=`` so tests are exact:

``claim_due_deliveries`` is the beat job (every minute, ``tasks.dispatch_due_lessons``). In short
transactions it locks due rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` (so two dispatchers
never take the same row and never wait for each other), marks them ``sending`` with a lease, and
after commit enqueues ``tasks.send_lesson_batch`` with their ids, a chunk per task. A row whose
lease ran out (its worker died) is claimed again.

``send_deliveries`` is the send task's body: it locks and re-checks the batch's rows and their
enrolments in one short transaction, then over one SMTP connection sends each e-mail outside any
transaction and marks the rows ``sent`` (if still ``sending``) ten at a time. A transient SMTP
failure puts the row back to ``pending`` a little later (the dispatcher picks it up again: the
retry schedule lives in the row, not in the broker); a permanent one, or the last attempt, marks
it ``failed`` with the error for staff.

A lesson goes out at most once except in one case, by design: a worker killed after the mail
server accepted a message but before its row was marked ``sent`` (at most ``SENT_MARK_GROUP``
messages). The lease then expires and the message is sent again, with the same ``Message-ID``,
so mail clients recognise the repeat.

On SQLite (``make run``) ``select_for_update`` is a no-op; SQLite's single writer (IMMEDIATE
transactions) serialises the claims instead.
"""

import logging
import smtplib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import BadHeaderError, get_connection
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from config.queueing import enqueue_on_commit

from .emails import LessonEmailParts, build_lesson_email
from .models import Enrollment, LessonDelivery

logger = logging.getLogger(__name__)

# Rows claimed per transaction: big enough to be quick, small enough to keep locks short.
CLAIM_BATCH_SIZE = 500
# A run stops after this many batches; whatever is still due waits for the next minute's run.
MAX_BATCHES_PER_RUN = 100
# The send task, queued by name: tasks.py imports this module, not the other way round.
SEND_TASK = "courses.tasks.send_lesson_batch"
# Ids per send task: one SMTP connection each, and well inside the task's time limit.
SEND_CHUNK_SIZE = 50
# Rows marked ``sent`` per UPDATE (an UPDATE and commit per message was a large share of the
# send step's time).
# A worker killed outright (SIGKILL, power loss) loses at most this many marks: those lessons
# go out again when their lease expires, with the same Message-ID. Any exception, the soft time
# limit included, still writes the marks of what went out.
SENT_MARK_GROUP = 10
# How long a claimed row belongs to its send task. Longer than a task may wait in the queue and
# run (CELERY_TASK_TIME_LIMIT is 5 minutes); the send step renews it when it starts.
LEASE = timedelta(minutes=15)
# Claims per row, counting the first: transient failures retry until this many, then fail.
MAX_ATTEMPTS = 5
RETRY_BASE_DELAY = timedelta(minutes=1)
# The longest error text kept on a row.
ERROR_MAX_LENGTH = 2000

Status = LessonDelivery.Status


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def retry_delay(*, attempts: int) -> timedelta:
    """Exponential backoff after the ``attempts``-th try: 1, 2, 4, 8 minutes...

    Capped at a quarter of the broker's longest countdown. The retry is a row the dispatcher
    scans, not a task countdown, but keeping under it means nothing here ever waits longer than
    the rest of the system is built for.
    """
    cap = timedelta(seconds=settings.CELERY_MAX_COUNTDOWN_SECONDS // 4)
    return min(RETRY_BASE_DELAY * 2 ** max(attempts - 1, 0), cap)


# Claiming


def _sendable() -> QuerySet[LessonDelivery]:
    """Rows of active enrolments whose learner's address is verified.

    A row to an unverified address stays ``pending`` and is claimed once the learner confirms
    the address. Paused and refunded enrolments have no ``pending`` rows (their rows are
    ``paused``/``cancelled``), so the enrolment test only catches a change made a moment ago.
    """
    verified_address = EmailAddress.objects.filter(
        user_id=OuterRef("enrollment__learner_id"),
        email__iexact=OuterRef("enrollment__learner__email"),
        verified=True,
    )
    return LessonDelivery.objects.filter(enrollment__status=Enrollment.Status.ACTIVE).filter(
        Exists(verified_address)
    )


def pending_due(*, now: datetime) -> QuerySet[LessonDelivery]:
    """Due ``pending`` rows, oldest first (uses the partial index ``delivery_pending_due_idx``)."""
    return _sendable().filter(status=Status.PENDING, due_at__lte=now).order_by("due_at")


def expired_leases(*, now: datetime) -> QuerySet[LessonDelivery]:
    """``sending`` rows whose send task died (uses the partial index ``delivery_lease_idx``)."""
    return (
        _sendable()
        .filter(status=Status.SENDING, lease_expires_at__lte=now)
        .order_by("lease_expires_at")
    )


def lock_for_claim(queryset: QuerySet[LessonDelivery]) -> QuerySet[LessonDelivery]:
    # Lock only the delivery rows: locking the joined enrolment would make a second dispatcher
    # skip every other lesson of that enrolment, and would block pause() meanwhile.
    return queryset.select_for_update(skip_locked=True, of=("self",))


def claim_batch(*, now: datetime, batch_size: int, lease: timedelta) -> tuple[list[int], int]:
    """Claim up to ``batch_size`` rows; the caller's transaction holds the locks.

    Returns the claimed ids and how many rows were looked at (claimed or given up on), so the
    caller knows whether more may be due. Their send tasks are enqueued when the caller's
    transaction commits; a rolled-back claim enqueues nothing.
    """
    pending = list(lock_for_claim(pending_due(now=now)).values_list("pk", flat=True)[:batch_size])
    expired: list[tuple[int, int]] = []
    if len(pending) < batch_size:
        expired = list(
            lock_for_claim(expired_leases(now=now)).values_list("pk", "attempts")[
                : batch_size - len(pending)
            ]
        )
    exhausted = [pk for pk, attempts in expired if attempts >= MAX_ATTEMPTS]
    if exhausted:
        # A row whose send task died this many times would kill the next worker too.
        LessonDelivery.objects.filter(pk__in=exhausted).update(
            status=Status.FAILED,
            lease_expires_at=None,
            last_error=f"Gave up after {MAX_ATTEMPTS} attempts: the send task never finished "
            "(worker crash or time limit).",
        )
        logger.error("Lesson deliveries %s failed: their send tasks never finished", exhausted)
    claimed = pending + [pk for pk, attempts in expired if attempts < MAX_ATTEMPTS]
    if claimed:
        LessonDelivery.objects.filter(pk__in=claimed).update(
            status=Status.SENDING, lease_expires_at=now + lease, attempts=F("attempts") + 1
        )
        for start in range(0, len(claimed), SEND_CHUNK_SIZE):
            enqueue_on_commit(SEND_TASK, claimed[start : start + SEND_CHUNK_SIZE])
    return claimed, len(pending) + len(expired)


def claim_due_deliveries(
    *,
    now: datetime | None = None,
    batch_size: int = CLAIM_BATCH_SIZE,
    lease: timedelta = LEASE,
    max_batches: int = MAX_BATCHES_PER_RUN,
) -> list[int]:
    """Claim every due lesson e-mail (up to ``max_batches`` batches) and queue its sending.

    Each batch is its own transaction, so its send tasks start while later batches are claimed
    and no lock is held for long. Returns the ids claimed.
    """
    now = _now(now)
    claimed: list[int] = []
    for _ in range(max_batches):
        with transaction.atomic():
            ids, looked_at = claim_batch(now=now, batch_size=batch_size, lease=lease)
        claimed.extend(ids)
        if looked_at < batch_size:
            break
    return claimed


# Sending


@dataclass
class SendReport:
    """What ``send_deliveries`` did with each id."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    # Already sent by someone else, deleted, or the enrolment or lesson changed meanwhile.
    not_sent: list[int] = field(default_factory=list)


def send_deliveries(*, delivery_ids: Iterable[int], now: datetime | None = None) -> SendReport:
    """Send the claimed lesson e-mails ``delivery_ids`` over one SMTP connection.

    Idempotent: a row that is no longer ``sending`` (sent, paused, cancelled) is left alone, so
    running the same task twice sends nothing the second time.
    """
    with _commits_without_flush_wait():
        return _send(delivery_ids=list(delivery_ids), now=now)


@contextmanager
def _commits_without_flush_wait() -> Iterator[None]:
    """Don't wait for the WAL flush of the send step's commits (one per group of sent marks).

    Should PostgreSQL itself crash a moment later, the last marks are lost and their rows go
    out again when the lease expires, with the same Message-ID: the case a lost worker already
    makes us accept. The session setting is put back afterwards (connections are reused).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:
            # A broken connection: Django discards it, and the setting with it.
            logger.warning("Could not reset synchronous_commit", exc_info=True)


def _send(*, delivery_ids: list[int], now: datetime | None) -> SendReport:
    report = SendReport()
    deliveries = _check_out(delivery_ids=delivery_ids, now=_now(now))
    checked_out = {delivery.pk for delivery in deliveries}
    report.not_sent.extend(pk for pk in delivery_ids if pk not in checked_out)
    mail_connection = get_connection()
    is_open = False
    # Once the mail server can't be reached, the rest of the batch waits for a later retry
    # rather than each message waiting for its own connection timeout.
    unreachable: str | None = None
    parts = LessonEmailParts()
    sent_marks = SentMarks(report=report)
    try:
        for delivery in deliveries:
            if unreachable is not None:
                _retry_or_fail(delivery, error=unreachable, now=_now(now), report=report)
                continue
            try:
                message = build_lesson_email(delivery, connection=mail_connection, parts=parts)
            except BadHeaderError as error:
                # A header it can't carry (a line break in a title that predates validation):
                # this e-mail can never be built, so it fails at once, with the reason.
                logger.warning("Lesson e-mail %s cannot be built: %s", delivery.pk, error)
                _fail(delivery, error=_describe(error), report=report)
                continue
            except Exception as error:
                # A broken lesson (say, an image file gone missing) must not stop the batch;
                # it retries in case an editor fixes it, and then fails where staff see it.
                logger.exception("Could not build the lesson e-mail of delivery %s", delivery.pk)
                _retry_or_fail(delivery, error=_describe(error), now=_now(now), report=report)
                continue
            if not is_open:
                try:
                    mail_connection.open()
                    is_open = True
                except OSError as error:  # smtplib's errors are OSErrors too
                    unreachable = f"Could not connect to the mail server: {_describe(error)}"
                    logger.warning("Lesson e-mails wait for a retry: %s", unreachable)
                    _retry_or_fail(delivery, error=unreachable, now=_now(now), report=report)
                    continue
            try:
                sent = mail_connection.send_messages([message])
            except OSError as error:
                if not _server_still_talking(error):
                    # Dropped, timed out, or a 421: the next message opens a new connection.
                    _close_quietly(mail_connection)
                    is_open = False
                if is_permanent_error(error):
                    _fail(delivery, error=_describe(error), report=report)
                else:
                    _retry_or_fail(delivery, error=_describe(error), now=_now(now), report=report)
                continue
            if sent != 1:
                _retry_or_fail(
                    delivery, error="The mail backend sent nothing.", now=_now(now), report=report
                )
                continue
            sent_marks.add(delivery, now=_now(now))
    finally:
        sent_marks.write(now=_now(now))
        if is_open:
            _close_quietly(mail_connection)
    return report


def is_permanent_error(error: BaseException) -> bool:
    """A 5xx reply about this message or recipient: sending it again can't help.

    Connection-level trouble (refused, dropped, timed out, a 4xx, a failed greeting or login)
    is transient: it is about the mail server, not this lesson, and usually passes.
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


def _server_still_talking(error: OSError) -> bool:
    """The server refused this message but kept the session (smtplib has reset it)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code != 421


def _check_out(*, delivery_ids: list[int], now: datetime) -> list[LessonDelivery]:
    """Lock the batch's rows, re-check each, and renew the lease of those still to send.

    Rows no longer ``sending`` were deleted with their enrolment or lesson, or handled by
    another task (a repeated task finds them ``sent``): they are left alone. Rows of a paused or
    refunded enrolment, or of an unpublished lesson, get their final state here. The
    transaction ends before the SMTP conversation starts: no row stays locked while a mail
    server takes its time. The renewed lease outlasts the task's time limit, so no dispatcher
    hands these rows to another task while this one may still be sending them.
    """
    with transaction.atomic():
        rows = list(
            LessonDelivery.objects.select_for_update(of=("self",))
            .select_related("enrollment__learner")
            # A batch is mostly one lesson of one course: load each page once, not per row.
            .prefetch_related("enrollment__course", "lesson")
            .filter(pk__in=delivery_ids, status=Status.SENDING)
            .order_by("pk")  # every task locks in the same order: no deadlock between two
        )
        unsendable: dict[Status, list[int]] = {}
        sendable: list[LessonDelivery] = []
        for row in rows:
            new_status = _status_if_unsendable(row)
            if new_status is None:
                sendable.append(row)
            else:
                unsendable.setdefault(new_status, []).append(row.pk)
        for new_status, pks in unsendable.items():
            LessonDelivery.objects.filter(pk__in=pks).update(
                status=new_status, lease_expires_at=None
            )
        if sendable:
            LessonDelivery.objects.filter(pk__in=[row.pk for row in sendable]).update(
                lease_expires_at=now + LEASE
            )
    order = {pk: position for position, pk in enumerate(delivery_ids)}
    return sorted(sendable, key=lambda row: order[row.pk])  # oldest due first, as claimed


def _status_if_unsendable(delivery: LessonDelivery) -> Status | None:
    enrollment_status = delivery.enrollment.status
    if enrollment_status == Enrollment.Status.PAUSED:
        return Status.PAUSED  # resume() makes it pending again, at its new time
    if enrollment_status == Enrollment.Status.REFUNDED:
        return Status.CANCELLED
    if not delivery.lesson.live:
        # Only the lesson counts: a creator who unpublishes the course page to stop sales
        # must not stop the lessons of learners who already enrolled.
        return Status.SKIPPED
    return None


class SentMarks:
    """Marks accepted messages ``sent``, ``SENT_MARK_GROUP`` rows per UPDATE.

    ``write`` also runs when the send loop ends, however it ends, so only a killed worker leaves
    accepted messages unmarked.
    """

    def __init__(self, *, report: SendReport) -> None:
        self.report = report
        self.waiting: list[int] = []

    def add(self, delivery: LessonDelivery, *, now: datetime) -> None:
        self.waiting.append(delivery.pk)
        self.report.sent.append(delivery.pk)
        if len(self.waiting) >= SENT_MARK_GROUP:
            self.write(now=now)

    def write(self, *, now: datetime) -> None:
        if not self.waiting:
            return
        updated = LessonDelivery.objects.filter(pk__in=self.waiting, status=Status.SENDING).update(
            status=Status.SENT, sent_at=now, lease_expires_at=None, last_error=""
        )
        if updated < len(self.waiting):
            # Refunded or paused while the message was on its way: it went out, the row keeps
            # the newer state.
            logger.info(
                "%s of lesson deliveries %s were sent but changed meanwhile",
                len(self.waiting) - updated,
                self.waiting,
            )
        self.waiting = []


def _retry_or_fail(
    delivery: LessonDelivery, *, error: str, now: datetime, report: SendReport
) -> None:
    if delivery.attempts >= MAX_ATTEMPTS:
        _fail(delivery, error=f"Gave up after {delivery.attempts} attempts. {error}", report=report)
        return
    delay = retry_delay(attempts=delivery.attempts)
    LessonDelivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
        status=Status.PENDING,
        due_at=now + delay,
        lease_expires_at=None,
        last_error=error[:ERROR_MAX_LENGTH],
    )
    logger.warning(
        "Lesson delivery %s (attempt %s) will be retried in %s: %s",
        delivery.pk,
        delivery.attempts,
        delay,
        error,
    )
    report.retrying.append(delivery.pk)


def _fail(delivery: LessonDelivery, *, error: str, report: SendReport) -> None:
    LessonDelivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
        status=Status.FAILED, lease_expires_at=None, last_error=error[:ERROR_MAX_LENGTH]
    )
    # ERROR: staff are alerted by the log, and the admin shows the row with its last_error.
    logger.error(
        "Lesson delivery %s to %s failed: %s", delivery.pk, delivery.enrollment.learner, error
    )
    report.failed.append(delivery.pk)


def _describe(error: BaseException) -> str:
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


def _close_quietly(mail_connection) -> None:
    try:
        mail_connection.close()
    except OSError:
        logger.info("Closing the SMTP connection failed; it is dropped", exc_info=True)
