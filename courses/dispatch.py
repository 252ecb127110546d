"""Getting each lesson e-mail out once: claim due outbox rows, then send them (invariant 5).

The rules this shares with the outbox of every other e-mail (``accounts/outbox.py``): the
backoff and attempt budget, which SMTP errors are permanent, the send lease and its renewal,
live once in ``config/mail_delivery.py``; this module adds what is particular to lessons (one
rendering per batch, marks ten at a time, the enrolment's state).

Two halves, each a service with ``now=`` so tests are exact:

``claim_due_deliveries`` is the beat job (``tasks.dispatch_due_lessons``, at second 0 of every
minute: lessons fall due on the hour). In short transactions, batch after batch while rows are
due (up to ``CLAIM_RUN_SECONDS``), it locks due rows with ``SELECT ... FOR UPDATE SKIP LOCKED``
(so two dispatchers never take the same row and never wait for each other), marks them
``sending`` with a claim lease and a fresh claim token, and after commit enqueues
``tasks.send_lesson_batch`` with their ids and that token, a chunk per task. A row whose lease
ran out (its worker died) is claimed again, under a new token.

``send_deliveries`` is the send task's body. In one short transaction it checks out the rows
of its chunk that are still ``sending`` *under its token*, swapping that token for one of its
own (the run token) with a short send lease. So a second copy of the same task (a broker
redelivery after a lost connection, a duplicate publish), or a task whose claim expired and
was claimed again, finds nothing to send. Then over one SMTP connection it sends each e-mail
outside any transaction, renews the send lease every ``LEASE_RENEW_INTERVAL`` while it works
(and stops at once if a row is no longer its own), and marks the rows ``sent`` ten at a time,
each UPDATE restricted to its run token.

Failures. A transient failure (4xx, a dropped connection) puts the row back to ``pending``
with ``retry_at`` set by capped exponential backoff (1, 2, 4, 8, then every 15 minutes) for
at least ``RETRY_WINDOW`` (72 hours, as long as Stripe retries a webhook); ``due_at`` is left
alone, so rows held up together go out in due order. Only messages actually tried spend an
attempt: when the mail server can't be reached, the rest of the batch goes back unspent and
waits with the message that found the server down. A 5xx for the message or its recipient
fails the row at once. Staff "retry" gives a failed row a fresh budget.

Duplicates: the exact bound. A lesson goes out twice only when the process sending it dies
without running its ``finally`` block (SIGKILL, OOM kill, power loss, Celery's hard time
limit) after the mail server accepted messages whose rows were not yet marked: at most
``SENT_MARK_GROUP`` (10) per send task that process was running, so at most
``10 x --concurrency`` per killed worker (20 for a two-process worker). Those rows come back
when the send lease expires (``SEND_LEASE``, 2 minutes after the last renewal), with the same
``Message-ID`` so mail clients recognise the repeat. Nothing else sends twice:

- a broker connection loss: Celery cancels the running copy
  (``worker_cancel_long_running_tasks_on_connection_loss``); the cancellation waits for the
  SMTP conversation in hand (``config.celery.cancellation_deferred``), then the task marks
  what went out and hands the untried rows straight back to ``pending`` (no attempt spent);
  the redelivered copy carries the old claim token and finds nothing;
- a repeated or stale task: its token no longer owns any row;
- the soft time limit, any exception: ``finally`` writes the marks. (Celery's soft limit is
  not deferred: should it strike inside the SMTP conversation, that one message, whose fate
  is unknown, is retried: at most 1.)

The send lease must outlast the gap between two renewals: a renewal runs before each message
once ``LEASE_RENEW_INTERVAL`` (15 s) has passed, and one SMTP conversation waits at most
``SMTP_TIMEOUT`` (20 s) for each of its five replies, so 15 + 100 s < 2 minutes.

On SQLite (``make run``) ``select_for_update`` is a no-op; SQLite's single writer (IMMEDIATE
transactions) serialises the claims instead.
"""

import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.core.mail import BadHeaderError, get_connection
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts import services as account_services
from config.celery import cancellation_deferred
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
from config.queueing import enqueue_on_commit

from .emails import LessonEmailParts, build_lesson_email
from .models import Enrollment, LessonDelivery

logger = logging.getLogger(__name__)

# Rows claimed per transaction: big enough to be quick, small enough to keep locks short.
CLAIM_BATCH_SIZE = 500
# A run keeps claiming while rows are due: at 08:00 every learner of a time zone is due at once,
# and a cap on batches left the rest of them waiting for the next minute's run. It starts no new
# batch after this many seconds, so that it ends before beat's next run (every minute) and gives
# its worker process back; whatever is still due then is the next run's.
CLAIM_RUN_SECONDS = 50.0
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
# How long a claimed row waits for its send task to start: longer than a task may wait in the
# queue. The send step replaces it with the short SEND_LEASE when it checks the rows out.
LEASE = timedelta(minutes=15)

Status = LessonDelivery.Status


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def attempts_used(delivery: LessonDelivery) -> int:
    """Tries since the row was written or staff last retried it."""
    return delivery.attempts - delivery.attempts_before_staff_retry


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
    return LessonDelivery.objects.filter(
        enrollment__status=Enrollment.Status.ACTIVE,
        # A bouncing address gets nothing until the learner fixes or confirms it; the rows
        # wait, like those to an unverified address.
        enrollment__learner__email_bouncing_since__isnull=True,
    ).filter(Exists(verified_address))


def pending_due(*, now: datetime) -> QuerySet[LessonDelivery]:
    """Due ``pending`` rows not waiting for a retry, oldest first.

    Uses the partial index ``delivery_pending_due_idx``; rows waiting for a retry are filtered
    out after it.
    """
    return (
        _sendable()
        .filter(status=Status.PENDING, due_at__lte=now)
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .order_by("due_at")
    )


def expired_leases(*, now: datetime) -> QuerySet[LessonDelivery]:
    """``sending`` rows whose send task died (uses the partial index ``delivery_lease_idx``)."""
    return (
        _sendable()
        .filter(status=Status.SENDING, lease_expires_at__lte=now)
        .order_by("lease_expires_at")
    )


def unsent_due(*, now: datetime) -> QuerySet[LessonDelivery]:
    """Due rows not yet sent that the dispatcher would send: waiting for a claim, waiting for
    a retry, or claimed and not yet marked (staff's delivery health page)."""
    return _sendable().filter(status__in=[Status.PENDING, Status.SENDING], due_at__lte=now)


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
            lock_for_claim(expired_leases(now=now))
            .annotate(used=F("attempts") - F("attempts_before_staff_retry"))
            .values_list("pk", "used")[: batch_size - len(pending)]
        )
    exhausted = [pk for pk, used in expired if used >= MAX_ATTEMPTS]
    if exhausted:
        # A row whose send task died this many times would kill the next worker too.
        LessonDelivery.objects.filter(pk__in=exhausted).update(
            status=Status.FAILED,
            lease_expires_at=None,
            last_error=f"Gave up after {MAX_ATTEMPTS} attempts: the send task never finished "
            "(worker crash or time limit).",
        )
        logger.error("Lesson deliveries %s failed: their send tasks never finished", exhausted)
    claimed = pending + [pk for pk, used in expired if used < MAX_ATTEMPTS]
    if claimed:
        # One token per claim: the chunks' ids are disjoint, so each send task still owns
        # only its own rows.
        claim_token = uuid.uuid4()
        LessonDelivery.objects.filter(pk__in=claimed).update(
            status=Status.SENDING,
            lease_expires_at=now + lease,
            claim_token=claim_token,
            retry_at=None,
            attempts=F("attempts") + 1,
        )
        for start in range(0, len(claimed), SEND_CHUNK_SIZE):
            enqueue_on_commit(SEND_TASK, claimed[start : start + SEND_CHUNK_SIZE], str(claim_token))
    return claimed, len(pending) + len(expired)


def claim_due_deliveries(
    *,
    now: datetime | None = None,
    batch_size: int = CLAIM_BATCH_SIZE,
    lease: timedelta = LEASE,
    run_seconds: float = CLAIM_RUN_SECONDS,
) -> list[int]:
    """Claim every due lesson e-mail, batch after batch for up to ``run_seconds``, and queue
    its sending.

    Each batch is its own transaction, so its send tasks start while later batches are claimed
    and no lock is held for long. Returns the ids claimed.
    """
    now = _now(now)
    stop_at = time.monotonic() + run_seconds
    claimed: list[int] = []
    while True:
        with transaction.atomic():
            ids, looked_at = claim_batch(now=now, batch_size=batch_size, lease=lease)
        claimed.extend(ids)
        if looked_at < batch_size or time.monotonic() >= stop_at:
            break
    return claimed


# Sending


@dataclass
class SendReport:
    """What ``send_deliveries`` did with each id."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    # Already sent by someone else, deleted, claimed by another token, or the enrolment or
    # lesson changed meanwhile.
    not_sent: list[int] = field(default_factory=list)
    # Handed back untried (mail server unreachable, task cancelled): no attempt spent.
    handed_back: list[int] = field(default_factory=list)


def send_deliveries(
    *,
    delivery_ids: Iterable[int],
    claim_token: uuid.UUID | str,
    now: datetime | None = None,
) -> SendReport:
    """Send the lesson e-mails ``delivery_ids`` claimed under ``claim_token``, on one connection.

    Idempotent: a row that is no longer ``sending`` under ``claim_token`` (sent, paused,
    cancelled, taken over by another copy of this task, claimed again) is left alone, so
    running the same task twice sends nothing the second time.
    """
    return _send(delivery_ids=list(delivery_ids), claim_token=uuid.UUID(str(claim_token)), now=now)


@contextmanager
def _commit_without_flush_wait() -> Iterator[None]:
    """A transaction whose commit doesn't wait for the WAL flush (a group of sent marks).

    Should PostgreSQL itself crash a moment later, the last marks are lost and their rows go
    out again when the lease expires, with the same Message-ID: the case a lost worker already
    makes us accept. ``SET LOCAL`` ends with the transaction, so the setting never reaches
    another commit, nor, under PgBouncer's transaction pooling, another client of the server
    connection. Inside a caller's transaction it is left unset: our writes don't commit there.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


class SendRun:
    """The rows one send task took over, owned by its run token, and their lease."""

    def __init__(self, *, token: uuid.UUID, deliveries: list[LessonDelivery]) -> None:
        self.token = token
        self.deliveries = deliveries
        self.renewed_at = time.monotonic()
        # Rows this run may still change: taken over, and not yet retried, failed or handed
        # back. Sent rows stay in it until their mark is written.
        self.owned = {delivery.pk for delivery in deliveries}

    def take_over(self, *, delivery_ids: list[int], claim_token: uuid.UUID, now: datetime) -> None:
        self.deliveries = _take_over(
            delivery_ids=delivery_ids, claim_token=claim_token, run_token=self.token, now=now
        )
        self.owned = {delivery.pk for delivery in self.deliveries}
        self.renewed_at = time.monotonic()

    def rows(self) -> QuerySet[LessonDelivery]:
        return LessonDelivery.objects.filter(status=Status.SENDING, claim_token=self.token)

    def still_owns(self, delivery: LessonDelivery, *, now: datetime) -> bool:
        """Renew the lease when due; False if the row was taken from this run meanwhile."""
        if time.monotonic() - self.renewed_at >= LEASE_RENEW_INTERVAL:
            self.renew(now=now)
        return delivery.pk in self.owned

    def renew(self, *, now: datetime) -> None:
        renewed = self.rows().filter(pk__in=self.owned).update(lease_expires_at=now + SEND_LEASE)
        self.renewed_at = time.monotonic()
        if renewed < len(self.owned):
            # Our lease ran out (a stall longer than SEND_LEASE) and another claim took rows:
            # they are theirs to send now.
            still_ours = set(self.rows().filter(pk__in=self.owned).values_list("pk", flat=True))
            logger.warning(
                "Send run %s lost lesson deliveries %s to another claim",
                self.token,
                sorted(self.owned - still_ours),
            )
            self.owned = still_ours

    def hand_back(self, pks: list[int], *, error: str = "", retry_at: datetime | None) -> int:
        """Put untried rows back to ``pending`` without spending an attempt."""
        if not pks:
            return 0
        self.owned.difference_update(pks)
        fields: dict = {
            "status": Status.PENDING,
            "lease_expires_at": None,
            "claim_token": None,
            "retry_at": retry_at,
            "attempts": F("attempts") - 1,
        }
        if error:
            fields["last_error"] = error[:ERROR_MAX_LENGTH]
        return self.rows().filter(pk__in=pks).update(**fields)


def _send(*, delivery_ids: list[int], claim_token: uuid.UUID, now: datetime | None) -> SendReport:
    report = SendReport()
    run = SendRun(token=uuid.uuid4(), deliveries=[])
    # SMTP_TIMEOUT bounds one conversation, which the send lease must outlast.
    mail = _MailConnection(get_connection(timeout=SMTP_TIMEOUT))
    sent_marks = SentMarks(report=report, run=run)
    # Rows taken over and not handled yet: handed back unspent if the run stops early.
    untried: list[int] = []
    try:
        # A cancellation during the take-over takes effect after it: the rows are handed back.
        with cancellation_deferred():
            run.take_over(delivery_ids=delivery_ids, claim_token=claim_token, now=_now(now))
            checked_out = {delivery.pk for delivery in run.deliveries}
            report.not_sent.extend(pk for pk in delivery_ids if pk not in checked_out)
            untried = [delivery.pk for delivery in run.deliveries]
        for position, delivery in enumerate(run.deliveries):
            # Should the run stop inside this step (the soft time limit), this message's fate
            # is unknown: its row keeps its send lease rather than being handed back.
            untried = [row.pk for row in run.deliveries[position + 1 :]]
            # A cancellation (broker connection lost) waits for this message to be handled,
            # so that what went out is marked and nothing is left in doubt.
            with cancellation_deferred():
                server_down = _send_one(
                    delivery,
                    mail=mail,
                    run=run,
                    sent_marks=sent_marks,
                    report=report,
                    now=_now(now),
                )
            if server_down is not None:
                # The server is down: this message spent an attempt, and the rest of the batch
                # waits with it, unspent, rather than each message waiting for its own
                # connection timeout. (Should the probe's budget be spent, retry_at is None
                # and the next row becomes the probe at the next claim.)
                error, retry_at = server_down
                run.hand_back(untried, error=error, retry_at=retry_at)
                report.handed_back.extend(untried)
                untried = []
                break
        untried = []
    finally:
        sent_marks.write(now=_now(now))
        if untried:
            # Stopped early (cancelled, time limit): what wasn't tried goes back at once.
            report.handed_back.extend(untried)
            handed = run.hand_back(untried, retry_at=None)
            logger.warning(
                "Send run %s stopped early; %s untried lesson deliveries handed back",
                run.token,
                handed,
            )
        if mail.is_open:
            close_quietly(mail.backend)
        logger.info(
            "Send run %s (claim %s): %s sent, %s retrying, %s failed, %s handed back",
            run.token,
            claim_token,
            len(report.sent),
            len(report.retrying),
            len(report.failed),
            len(report.handed_back),
        )
    return report


class _MailConnection:
    """The run's one SMTP connection, opened at the first message and after a drop."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.is_open = False
        self.parts = LessonEmailParts()


def _send_one(
    delivery: LessonDelivery,
    *,
    mail: _MailConnection,
    run: SendRun,
    sent_marks: "SentMarks",
    report: SendReport,
    now: datetime,
) -> tuple[str, datetime | None] | None:
    """Send one lesson e-mail and record the outcome.

    Returns ``(error, retry_at)`` when the mail server can't be reached at all.
    """
    if not run.still_owns(delivery, now=now):
        report.not_sent.append(delivery.pk)
        return None
    try:
        message = build_lesson_email(delivery, connection=mail.backend, parts=mail.parts)
    except BadHeaderError as error:
        # A header it can't carry (a line break in a title that predates validation): this
        # e-mail can never be built, so it fails at once, with the reason, never retried.
        logger.warning("Lesson e-mail %s cannot be built: %s", delivery.pk, error)
        _fail(delivery, error=describe(error), report=report, run=run)
        return None
    except Exception as error:
        # A broken lesson (say, an image file gone missing) must not stop the batch;
        # it retries in case an editor fixes it, and then fails where staff see it.
        logger.exception("Could not build the lesson e-mail of delivery %s", delivery.pk)
        _retry_or_fail(delivery, error=describe(error), now=now, report=report, run=run)
        return None
    if not mail.is_open:
        try:
            mail.backend.open()
            mail.is_open = True
        except OSError as error:  # smtplib's errors are OSErrors too
            unreachable = f"Could not connect to the mail server: {describe(error)}"
            logger.warning("Lesson e-mails wait for a retry: %s", unreachable)
            retry_at = _retry_or_fail(delivery, error=unreachable, now=now, report=report, run=run)
            return unreachable, retry_at
    try:
        sent = mail.backend.send_messages([message])
    except OSError as error:
        if not server_still_talking(error):
            # Dropped, timed out, or a 421: the next message opens a new connection.
            close_quietly(mail.backend)
            mail.is_open = False
        if is_permanent_error(error):
            _fail(delivery, error=describe(error), report=report, run=run)
            if is_refused_recipient(error):
                # The address itself is refused: stop mailing it (accounts keeps the state).
                learner = delivery.enrollment.learner
                if account_services.mark_email_bouncing(
                    user_id=learner.pk, address=learner.email, now=now
                ):
                    logger.warning("Lesson e-mails to learner %s stop: address bounces", learner.pk)
        else:
            _retry_or_fail(delivery, error=describe(error), now=now, report=report, run=run)
        return None
    if sent != 1:
        _retry_or_fail(
            delivery, error="The mail backend sent nothing.", now=now, report=report, run=run
        )
        return None
    sent_marks.add(delivery, now=now)
    return None


def _take_over(
    *, delivery_ids: list[int], claim_token: uuid.UUID, run_token: uuid.UUID, now: datetime
) -> list[LessonDelivery]:
    """Take the rows still ``sending`` under ``claim_token`` for this run, and re-check each.

    Rows no longer ``sending`` under the claim's token were deleted with their enrolment or
    lesson, handled by another copy of this task, or claimed again after their lease expired:
    they are left alone. Rows of a paused or refunded enrolment, or of an unpublished lesson,
    get their final state here. The rest get this run's own token and the short send lease, in
    the same transaction: from its commit on, nobody else holds a token that owns them. The
    transaction ends before the SMTP conversation starts: no row stays locked while a mail
    server takes its time.
    """
    with transaction.atomic():
        rows = list(
            LessonDelivery.objects.select_for_update(of=("self",))
            .select_related("enrollment__learner")
            # A batch is mostly one lesson of one course: load each page once, not per row.
            .prefetch_related("enrollment__course", "lesson")
            .filter(pk__in=delivery_ids, status=Status.SENDING, claim_token=claim_token)
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
                status=new_status, lease_expires_at=None, claim_token=None
            )
        if sendable:
            LessonDelivery.objects.filter(pk__in=[row.pk for row in sendable]).update(
                lease_expires_at=now + SEND_LEASE, claim_token=run_token
            )
    order = {pk: position for position, pk in enumerate(delivery_ids)}
    sendable.sort(key=lambda row: order[row.pk])  # oldest due first, as claimed
    return sendable


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

    def __init__(self, *, report: SendReport, run: SendRun) -> None:
        self.report = report
        self.run = run
        self.waiting: list[int] = []

    def add(self, delivery: LessonDelivery, *, now: datetime) -> None:
        self.waiting.append(delivery.pk)
        self.report.sent.append(delivery.pk)
        if len(self.waiting) >= SENT_MARK_GROUP:
            self.write(now=now)

    def write(self, *, now: datetime) -> None:
        if not self.waiting:
            return
        with _commit_without_flush_wait():
            updated = (
                self.run.rows()
                .filter(pk__in=self.waiting)
                .update(status=Status.SENT, sent_at=now, lease_expires_at=None, last_error="")
            )
        self.run.owned.difference_update(self.waiting)
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
    delivery: LessonDelivery, *, error: str, now: datetime, report: SendReport, run: SendRun
) -> datetime | None:
    """Schedule the row's next try; fail it once its budget is spent. Returns the retry time."""
    used = attempts_used(delivery)
    if used >= MAX_ATTEMPTS:
        _fail(delivery, error=f"Gave up after {used} attempts. {error}", report=report, run=run)
        return None
    retry_at = now + retry_delay(attempts=used)
    run.owned.discard(delivery.pk)
    run.rows().filter(pk=delivery.pk).update(
        status=Status.PENDING,
        retry_at=retry_at,
        lease_expires_at=None,
        claim_token=None,
        last_error=error[:ERROR_MAX_LENGTH],
    )
    logger.warning(
        "Lesson delivery %s (attempt %s) will be retried at %s: %s",
        delivery.pk,
        used,
        retry_at,
        error,
    )
    report.retrying.append(delivery.pk)
    return retry_at


def _fail(delivery: LessonDelivery, *, error: str, report: SendReport, run: SendRun) -> None:
    run.owned.discard(delivery.pk)
    run.rows().filter(pk=delivery.pk).update(
        status=Status.FAILED,
        lease_expires_at=None,
        claim_token=None,
        last_error=error[:ERROR_MAX_LENGTH],
    )
    # ERROR: staff are alerted by the log, and the admin shows the row with its last_error.
    logger.error(
        "Lesson delivery %s to %s failed: %s", delivery.pk, delivery.enrollment.learner, error
    )
    report.failed.append(delivery.pk)
