"""Sending through a real SMTP conversation (aiosmtpd on loopback): one connection per batch,
transient failures retried with backoff and a bounded count, permanent ones failed at once.

The send step is called with ``now=`` so every retry time is exact; the dispatcher's claims
stand in for the every-minute beat job.
"""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings

from accounts import services as account_services
from config.mail_delivery import MAX_ATTEMPTS, RETRY_WINDOW, retry_delay
from courses import services
from courses.dispatch import claim_due_deliveries, send_deliveries
from courses.models import LessonDelivery
from tests.courses.claims import claim_token_of
from tests.courses.factories import course, enroll, morning_learner
from tests.support.network import free_port
from tests.support.smtp import SmtpSink, smtp_server, smtp_settings

pytestmark = pytest.mark.django_db

Status = LessonDelivery.Status
ENROLLED = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)
DAY_0 = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
DAY_1_DUE = DAY_0 + timedelta(days=1)


@pytest.fixture
def sourdough():
    """One lesson, so that "nothing more to claim" means this row."""
    return course(lessons=1)


def claim(now: datetime, capture) -> list[int]:
    """One dispatcher run whose send tasks we run ourselves (with an exact ``now``)."""
    with capture():
        return claim_due_deliveries(now=now)


def row(pk: int) -> LessonDelivery:
    return LessonDelivery.objects.get(pk=pk)


def test_a_batch_goes_over_one_smtp_connection_with_its_headers(
    settings, sourdough, django_capture_on_commit_callbacks
):
    for n in range(3):
        enroll(morning_learner(email=f"learner{n}@example.com"), sourdough, now=ENROLLED)
    ids = claim(DAY_0, django_capture_on_commit_callbacks)

    with smtp_server() as sink:
        smtp_settings(settings, sink)
        report = send_deliveries(delivery_ids=ids, claim_token=claim_token_of(ids), now=DAY_0)

    assert report.sent == ids
    assert sink.count == 3 and sink.connections == 1
    deliveries = LessonDelivery.objects.filter(pk__in=ids)
    assert {message["Message-ID"] for message in sink.messages()} == {
        delivery.message_id for delivery in deliveries
    }
    for message in sink.messages():
        assert message["Subject"] == "Day 1: Lesson for day 0 - Sourdough in 7 days"
        # Folded onto its own line (it is long and has no spaces); unfolding leaves a space.
        assert message["List-Unsubscribe"].strip().startswith("<http://testserver/courses/pause/")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert set(deliveries.values_list("status", "sent_at")) == {(Status.SENT, DAY_0)}


def test_transient_4xx_is_retried_with_backoff_then_succeeds(
    settings, sourdough, django_capture_on_commit_callbacks
):
    enroll(morning_learner(), sourdough, now=ENROLLED)
    sink = SmtpSink(data_replies=["451 4.3.0 Try again later"] * 2)

    with smtp_server(sink):
        smtp_settings(settings, sink)
        [pk] = claim(DAY_0, django_capture_on_commit_callbacks)
        first = send_deliveries(delivery_ids=[pk], claim_token=claim_token_of([pk]), now=DAY_0)
        after_first = row(pk)
        too_early = claim(DAY_0 + timedelta(seconds=59), django_capture_on_commit_callbacks)
        assert claim(DAY_0 + timedelta(minutes=1), django_capture_on_commit_callbacks) == [pk]
        second = send_deliveries(
            delivery_ids=[pk], claim_token=claim_token_of([pk]), now=DAY_0 + timedelta(minutes=1)
        )
        after_second = row(pk)
        assert claim(DAY_0 + timedelta(minutes=3), django_capture_on_commit_callbacks) == [pk]
        third = send_deliveries(
            delivery_ids=[pk], claim_token=claim_token_of([pk]), now=DAY_0 + timedelta(minutes=3)
        )

    assert (first.retrying, second.retrying, third.sent) == ([pk], [pk], [pk])
    assert (after_first.status, after_first.attempts) == (Status.PENDING, 1)
    # The retry waits in retry_at; due_at stays when the lesson was meant to arrive.
    assert after_first.retry_at == DAY_0 + timedelta(minutes=1)
    assert after_first.due_at == DAY_0
    assert "SMTPDataError: 451 4.3.0 Try again later" in after_first.last_error
    assert too_early == []
    assert after_second.retry_at == DAY_0 + timedelta(minutes=1 + 2)
    done = row(pk)
    assert (done.status, done.attempts, done.last_error) == (Status.SENT, 3, "")
    assert sink.count == 1 and sink.refused == 2


def test_transient_errors_stop_after_the_last_attempt(
    settings, sourdough, django_capture_on_commit_callbacks
):
    enroll(morning_learner(), sourdough, now=ENROLLED)
    sink = SmtpSink(always_reply="452 4.3.1 Insufficient system storage")
    moment = DAY_0
    delays = []

    with smtp_server(sink):
        smtp_settings(settings, sink)
        for _ in range(MAX_ATTEMPTS):
            [pk] = claim(moment, django_capture_on_commit_callbacks)
            send_deliveries(delivery_ids=[pk], claim_token=claim_token_of([pk]), now=moment)
            failed_or_waiting = row(pk)
            if failed_or_waiting.status == Status.PENDING:
                assert failed_or_waiting.retry_at is not None
                delays.append(failed_or_waiting.retry_at - moment)
                moment = failed_or_waiting.retry_at
        much_later = claim(moment + timedelta(days=30), django_capture_on_commit_callbacks)

    # Capped exponential backoff, for at least three days in all (an outage of a day or two
    # loses nothing).
    assert delays[:5] == [timedelta(minutes=m) for m in (1, 2, 4, 8, 15)]
    assert set(delays[4:]) == {timedelta(minutes=15)}
    assert RETRY_WINDOW <= sum(delays, timedelta()) < RETRY_WINDOW + timedelta(minutes=15)
    assert timedelta(hours=72) == RETRY_WINDOW
    final = row(pk)
    assert (final.status, final.attempts, final.lease_expires_at) == (
        Status.FAILED,
        MAX_ATTEMPTS,
        None,
    )
    assert final.last_error.startswith(
        f"Gave up after {MAX_ATTEMPTS} attempts. SMTPDataError: 452 4.3.1"
    )
    assert much_later == [] and sink.refused == MAX_ATTEMPTS and sink.count == 0


def test_connection_refused_defers_the_whole_batch_spending_one_attempt(
    settings, sourdough, django_capture_on_commit_callbacks
):
    for _ in range(2):
        enroll(morning_learner(), sourdough, now=ENROLLED)
    ids = claim(DAY_0, django_capture_on_commit_callbacks)
    settings.EMAIL_BACKEND = "config.mail.SMTPBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens

    report = send_deliveries(delivery_ids=ids, claim_token=claim_token_of(ids), now=DAY_0)

    # Only the message that found the server down spends an attempt; the rest of the batch
    # waits with it, untried and unspent.
    assert report.retrying == ids[:1] and report.handed_back == ids[1:]
    for delivery in LessonDelivery.objects.filter(pk__in=ids):
        assert (delivery.status, delivery.attempts) == (
            Status.PENDING,
            1 if delivery.pk == ids[0] else 0,
        )
        assert delivery.retry_at == DAY_0 + timedelta(minutes=1)
        assert (delivery.due_at, delivery.claim_token) == (DAY_0, None)
        assert "Could not connect to the mail server" in delivery.last_error
        assert "ConnectionRefusedError" in delivery.last_error


def test_a_dropped_connection_retries_that_message_and_reconnects_for_the_rest(
    settings, sourdough, django_capture_on_commit_callbacks
):
    for _ in range(3):
        enroll(morning_learner(), sourdough, now=ENROLLED)
    ids = claim(DAY_0, django_capture_on_commit_callbacks)
    # 421: the server is closing the connection (smtplib hangs up on it at once).
    sink = SmtpSink(data_replies=["421 4.4.2 Closing connection"])

    with smtp_server(sink):
        smtp_settings(settings, sink)
        report = send_deliveries(delivery_ids=ids, claim_token=claim_token_of(ids), now=DAY_0)

    assert report.retrying == ids[:1] and report.sent == ids[1:]
    assert sink.count == 2 and sink.connections == 2  # the rest went over a new connection
    assert row(ids[0]).status == Status.PENDING and "421" in row(ids[0]).last_error


def test_permanent_recipient_refusal_fails_at_once_is_logged_and_the_batch_goes_on(
    settings, sourdough, django_capture_on_commit_callbacks, caplog
):
    enroll(morning_learner(email="gone@example.com"), sourdough, now=ENROLLED)
    enroll(morning_learner(email="ada@example.com"), sourdough, now=ENROLLED)
    ids = claim(DAY_0, django_capture_on_commit_callbacks)
    sink = SmtpSink(refuse_recipients={"gone@example.com": "550 5.1.1 No such user"})

    with smtp_server(sink), caplog.at_level(logging.ERROR, logger="courses.dispatch"):
        smtp_settings(settings, sink)
        report = send_deliveries(delivery_ids=ids, claim_token=claim_token_of(ids), now=DAY_0)

    bounced = LessonDelivery.objects.get(enrollment__learner__email="gone@example.com")
    assert report.failed == [bounced.pk] and len(report.sent) == 1
    assert (bounced.status, bounced.attempts) == (Status.FAILED, 1)
    assert bounced.last_error == ("SMTPRecipientsRefused: gone@example.com: 550 5.1.1 No such user")
    assert [message["To"] for message in sink.messages()] == ["ada@example.com"]
    assert sink.connections == 1  # the server kept the session after refusing a recipient
    assert any("gone@example.com" in record.getMessage() for record in caplog.records)


def test_permanent_5xx_after_data_fails_at_once(
    settings, sourdough, django_capture_on_commit_callbacks
):
    enroll(morning_learner(), sourdough, now=ENROLLED)
    [pk] = claim(DAY_0, django_capture_on_commit_callbacks)
    sink = SmtpSink(data_replies=["554 5.6.0 Message content rejected"])

    with smtp_server(sink):
        smtp_settings(settings, sink)
        report = send_deliveries(delivery_ids=[pk], claim_token=claim_token_of([pk]), now=DAY_0)
        later = claim(DAY_0 + timedelta(days=1), django_capture_on_commit_callbacks)

    assert report.failed == [pk] and later == []
    failed = row(pk)
    assert (failed.status, failed.attempts) == (Status.FAILED, 1)
    assert failed.last_error == "SMTPDataError: 554 5.6.0 Message content rejected"


def test_retry_delay_doubles_and_is_capped_well_under_the_visibility_timeout():
    delays = [retry_delay(attempts=n) for n in range(1, 10)]
    cap = timedelta(seconds=django_settings.CELERY_MAX_COUNTDOWN_SECONDS // 4)

    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(delays) == cap == timedelta(minutes=15)
    visibility = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert cap.total_seconds() < django_settings.CELERY_MAX_COUNTDOWN_SECONDS < visibility


def test_staff_retry_gives_a_failed_row_a_fresh_attempt_budget(
    settings, sourdough, django_capture_on_commit_callbacks
):
    enroll(morning_learner(), sourdough, now=ENROLLED)
    [pk] = claim(DAY_0, django_capture_on_commit_callbacks)
    # The row used its whole budget and failed.
    LessonDelivery.objects.filter(pk=pk).update(
        status=Status.FAILED,
        attempts=MAX_ATTEMPTS,
        lease_expires_at=None,
        claim_token=None,
        last_error="Gave up",
    )
    retried_at = DAY_0 + timedelta(days=4)
    services.retry_delivery(delivery=row(pk), now=retried_at)
    sink = SmtpSink(data_replies=["451 4.3.0 Try again later"])

    with smtp_server(sink):
        smtp_settings(settings, sink)
        assert claim(retried_at, django_capture_on_commit_callbacks) == [pk]
        first = send_deliveries(delivery_ids=[pk], claim_token=claim_token_of([pk]), now=retried_at)
        retry_at = row(pk).retry_at
        assert retry_at is not None
        assert claim(retry_at, django_capture_on_commit_callbacks) == [pk]
        second = send_deliveries(delivery_ids=[pk], claim_token=claim_token_of([pk]), now=retry_at)

    # Before the fresh budget the first 451 would have failed it for good.
    assert (first.retrying, first.failed, second.sent) == ([pk], [], [pk])
    done = row(pk)
    assert (done.status, done.attempts, done.attempts_before_staff_retry) == (
        Status.SENT,
        MAX_ATTEMPTS + 2,
        MAX_ATTEMPTS,
    )
    assert retry_at == retried_at + timedelta(minutes=1)
    assert sink.count == 1


def test_a_mail_server_down_longer_than_the_old_budget_loses_nothing_and_keeps_due_order(
    settings, django_capture_on_commit_callbacks
):
    # Five learners whose lesson falls due a minute apart; the server is down for ten hours
    # (the old budget gave up after about 15 minutes).
    page = course(lessons=1)
    for n in range(5):
        enroll(morning_learner(email=f"reader{n}@example.com"), page, now=ENROLLED)
    rows = list(LessonDelivery.objects.order_by("pk"))
    due_order = [delivery.message_id for delivery in reversed(rows)]
    # The last enrolled falls due first: due order is not the order of the ids.
    for n, delivery in enumerate(reversed(rows)):
        LessonDelivery.objects.filter(pk=delivery.pk).update(due_at=DAY_0 + timedelta(minutes=n))
    outage_ends = DAY_0 + timedelta(hours=10)
    sink = SmtpSink()
    down_port = free_port()
    settings.EMAIL_BACKEND = "config.mail.SMTPBackend"
    settings.EMAIL_HOST, settings.EMAIL_USE_TLS = "127.0.0.1", False

    def tick(moment: datetime) -> None:
        """One dispatcher run at ``moment`` whose send tasks run at once."""
        with django_capture_on_commit_callbacks():
            ids = claim_due_deliveries(now=moment)
        if ids:  # one claim, one send task here (fewer than 50 rows)
            send_deliveries(delivery_ids=ids, claim_token=claim_token_of(ids), now=moment)

    with smtp_server(sink):
        moment = DAY_0
        settings.EMAIL_PORT = down_port  # nobody listens
        while moment < outage_ends:
            tick(moment)
            moment += timedelta(minutes=5)  # beat runs every minute; fewer ticks, same story
        waiting = list(LessonDelivery.objects.values_list("status", flat=True))
        settings.EMAIL_PORT = sink.port  # the server is back
        while sink.count < len(rows) and moment < outage_ends + timedelta(hours=1):
            tick(moment)
            moment += timedelta(minutes=1)

    assert set(waiting) == {Status.PENDING}  # nothing failed for good during the outage
    assert [message["Message-ID"] for message in sink.messages()] == due_order
    assert set(LessonDelivery.objects.values_list("status", flat=True)) == {Status.SENT}
    # Back within the 15-minute cap of the server's return.
    assert moment <= outage_ends + timedelta(minutes=16)


def test_a_permanent_refusal_for_one_recipient_among_50_marks_that_address_bouncing(
    settings, django_capture_on_commit_callbacks
):
    sourdough = course(lessons=2)
    for n in range(49):
        enroll(morning_learner(email=f"reader{n}@example.com"), sourdough, now=ENROLLED)
    gone = morning_learner(email="gone@example.com")
    enroll(gone, sourdough, now=ENROLLED)
    ids = claim(DAY_0, django_capture_on_commit_callbacks)
    sink = SmtpSink(refuse_recipients={"gone@example.com": "550 5.1.1 No such user"})

    with smtp_server(sink):
        smtp_settings(settings, sink)
        report = send_deliveries(delivery_ids=ids, claim_token=claim_token_of(ids), now=DAY_0)
        # A day later (day 1 due for everyone) and after every retry time: nothing for gone@.
        next_day = claim(DAY_1_DUE, django_capture_on_commit_callbacks)

    gone.refresh_from_db()
    bounced = LessonDelivery.objects.get(enrollment__learner=gone, lesson__day=0)
    assert len(ids) == 50 and len(report.sent) == 49 and report.failed == [bounced.pk]
    assert sink.count == 49 and sink.refused == 1  # tried once, no retries
    assert bounced.status == Status.FAILED and gone.email_bouncing_since == DAY_0
    assert len(next_day) == 49
    assert not LessonDelivery.objects.filter(pk__in=next_day, enrollment__learner=gone).exists()

    # The learner confirms the address: their lessons are claimed again.
    account_services.confirm_email_works(user=gone)
    assert [
        row(pk).enrollment.learner_id
        for pk in claim(DAY_1_DUE + timedelta(minutes=1), django_capture_on_commit_callbacks)
    ] == [gone.pk]
