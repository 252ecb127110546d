"""The e-mail outbox (accounts/outbox.py) on real PostgreSQL and a loopback SMTP server:
written with the change it reports, sent once, retried through outages in due order, a
refused address marked bouncing, staff's retry a fresh budget."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse

from accounts import outbox, tasks
from accounts.models import OutboundEmail, User
from config.mail_delivery import MAX_ATTEMPTS, SEND_LEASE, retry_delay
from tests.accounts.factories import UserFactory
from tests.support.network import free_port
from tests.support.smtp import SmtpSink, smtp_server, smtp_settings
from tests.support.worker import broker_not_eager, purge_queue

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
Status = OutboundEmail.Status


def queue(number: int = 0, *, kind: str = "payments.payment_confirmation", user=None, **fields):
    """A receipt-like e-mail queued at NOW, its task not run (no on-commit callbacks here)."""
    return outbox.queue_email(
        outbox.outbound_email(
            to=user.email if user else f"reader{number}@example.com",
            subject=f"Receipt {number}",
            text=f"Thank you, reader {number}.",
            html=f"<p>Thank you, reader {number}.</p>",
            kind=kind,
            user=user,
            now=fields.pop("now", NOW),
            **fields,
        )
    )


def received(sink: SmtpSink) -> list[str]:
    return [message["Subject"] for message in sink.messages()]


def test_the_row_is_written_with_the_change_and_rolled_back_with_it(
    mailoutbox, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            queue(1)
            raise RuntimeError("the change failed")
        row = queue(2)

    assert list(OutboundEmail.objects.values_list("pk", flat=True)) == [row.pk]
    [message] = mailoutbox
    assert (message.to, message.subject) == (["reader2@example.com"], "Receipt 2")
    assert message.alternatives[0][1] == "text/html"
    # Stable per row: a rare second send is recognisable as the same message.
    assert message.extra_headers["Message-ID"] == (
        f"<outbound-{row.pk}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"
    )
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)


def test_two_sends_of_the_same_row_send_one_email(mailoutbox):
    row = queue(1)

    first = outbox.send_now(email_ids=[row.pk])
    second = outbox.send_now(email_ids=[row.pk])  # a redelivered or duplicated task

    assert (first.sent, second.sent) == ([row.pk], [])
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_the_task_at_once_send_one_email(settings):
    with broker_not_eager():
        # Each row's own task goes to Redis and is dropped: two copies race for them instead.
        purge_queue()
        rows = [queue(number) for number in range(20)]
        purge_queue()
    barrier = threading.Barrier(2)
    reports = []

    with smtp_server() as sink:
        smtp_settings(settings, sink)

        def task_copy():
            try:
                barrier.wait()
                reports.append(outbox.send_now(email_ids=[row.pk for row in rows]))
            finally:
                connection.close()

        threads = [threading.Thread(target=task_copy) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(received(sink)) == sorted(f"Receipt {number}" for number in range(20))
    assert sorted(pk for report in reports for pk in report.sent) == sorted(r.pk for r in rows)


def test_a_run_with_an_old_token_sends_nothing(mailoutbox):
    # A send run claimed the row, then stalled past its lease (its worker froze); the sweeper
    # claimed the row again and sent it. The stalled run, resuming, owns nothing.
    row = queue(1)
    stalled_token = uuid.uuid4()
    OutboundEmail.objects.filter(pk=row.pk).update(
        status=Status.SENDING, claim_token=stalled_token, lease_expires_at=NOW, attempts=1
    )

    swept = outbox.sweep(now=NOW + SEND_LEASE)
    stalled = outbox.send_claimed(email_ids=[row.pk], claim_token=stalled_token, now=NOW)

    assert (swept.sent, stalled.sent) == ([row.pk], [])
    assert len(mailoutbox) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 2)


def test_the_sweeper_sends_what_never_reached_the_broker_in_due_order_not_what_is_young(
    mailoutbox,
):
    later = queue(2, now=NOW + timedelta(seconds=30))
    earlier = queue(1)

    assert outbox.sweep(now=NOW + timedelta(seconds=40)).sent == []  # their tasks may be on the way
    report = outbox.sweep(now=NOW + outbox.SWEEP_GRACE + timedelta(seconds=30))

    assert report.sent == [earlier.pk, later.pk]
    assert [message.subject for message in mailoutbox] == ["Receipt 1", "Receipt 2"]


def test_a_mail_server_down_longer_than_the_old_budget_loses_nothing_and_sends_once_in_order(
    settings,
):
    rows = [queue(number) for number in range(5)]
    settings.EMAIL_BACKEND = "config.mail.SMTPBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens

    # Five hours down, a sweep every 15 minutes (the old per-task budget was 5 tries).
    moment = NOW + outbox.SWEEP_GRACE
    for _ in range(20):
        report = outbox.sweep(now=moment)
        assert report.sent == []
        moment += timedelta(minutes=15)
    waiting = list(OutboundEmail.objects.order_by("pk").values_list("status", "attempts"))
    # Only the message that found the server down each time spent an attempt.
    assert {status for status, _ in waiting} == {Status.PENDING}
    assert waiting[0][1] <= 20 and all(attempts == 0 for _, attempts in waiting[1:])

    with smtp_server() as sink:
        smtp_settings(settings, sink)
        outbox.sweep(now=moment + timedelta(hours=1))
        outbox.sweep(now=moment + timedelta(hours=2))  # nothing left: nothing twice

    assert received(sink) == [f"Receipt {number}" for number in range(5)]
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {Status.SENT}
    assert rows


def test_a_transient_refusal_retries_after_the_backoff_and_then_sends(settings):
    row = queue(1)
    with smtp_server(SmtpSink(data_replies=["451 4.3.0 Try again later"])) as sink:
        smtp_settings(settings, sink)
        first = outbox.send_now(email_ids=[row.pk], now=NOW)
        row.refresh_from_db()
        assert first.retrying == [row.pk]
        assert (row.status, row.retry_at) == (Status.PENDING, NOW + retry_delay(attempts=1))
        assert "451" in row.last_error
        assert outbox.sweep(now=NOW + timedelta(seconds=59)).sent == []  # not yet
        assert outbox.sweep(now=NOW + timedelta(minutes=1)).sent == [row.pk]

    assert received(sink) == ["Receipt 1"]


def test_a_refused_recipient_fails_at_once_marks_the_address_bouncing_and_is_not_retried(
    settings,
):
    people = [UserFactory(email=f"learner{number}@example.com") for number in range(50)]
    rows = [
        queue(number, user=person, kind="home.announcement") for number, person in enumerate(people)
    ]
    sink = SmtpSink(refuse_recipients={"learner17@example.com": "550 5.1.1 No such user"})
    with smtp_server(sink):
        smtp_settings(settings, sink)
        report = outbox.send_now(email_ids=[row.pk for row in rows], now=NOW)
        later = outbox.sweep(now=NOW + timedelta(days=4))

    assert sink.count == 49 and sink.refused == 1
    assert report.failed == [rows[17].pk] and len(report.sent) == 49 and later.sent == []
    failed = OutboundEmail.objects.get(pk=rows[17].pk)
    assert (failed.status, failed.attempts) == (Status.FAILED, 1)
    assert "550" in failed.last_error
    bouncing = User.objects.filter(email_bouncing_since__isnull=False)
    assert list(bouncing.values_list("email", "email_bouncing_since")) == [
        ("learner17@example.com", NOW)
    ]


def test_a_bouncing_address_gets_no_bulk_mail_but_still_its_receipts(mailoutbox):
    bouncing = UserFactory(email="gone@example.com", email_bouncing_since=NOW)
    announcement = queue(1, user=bouncing, kind="home.announcement")
    receipt = queue(2, user=bouncing)

    report = outbox.send_now(email_ids=[announcement.pk, receipt.pk])

    assert (report.skipped, report.sent) == ([announcement.pk], [receipt.pk])
    assert [message.subject for message in mailoutbox] == ["Receipt 2"]
    announcement.refresh_from_db()
    assert announcement.status == Status.SKIPPED


def test_a_message_that_cannot_be_built_fails_at_once_and_never_retries(mailoutbox):
    row = queue(1)
    OutboundEmail.objects.filter(pk=row.pk).update(subject="Bad\r\nBcc: x@example.com")

    report = outbox.send_now(email_ids=[row.pk])
    outbox.sweep(now=NOW + timedelta(days=4))

    assert report.failed == [row.pk]
    row.refresh_from_db()
    assert row.status == Status.FAILED and "newline" in row.last_error.lower()
    assert mailoutbox == []


def test_a_spent_budget_fails_and_staff_retry_gives_a_fresh_one(settings, mailoutbox):
    row = queue(1)
    OutboundEmail.objects.filter(pk=row.pk).update(attempts=MAX_ATTEMPTS - 1)
    settings.EMAIL_BACKEND = "config.mail.SMTPBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()

    outbox.send_now(email_ids=[row.pk], now=NOW)
    row.refresh_from_db()
    assert row.status == Status.FAILED and row.last_error.startswith("Gave up after")

    assert outbox.retry_email(email_id=row.pk, now=NOW) is True
    assert outbox.retry_email(email_id=row.pk, now=NOW) is False  # pending now: left alone
    outbox.send_now(email_ids=[row.pk], now=NOW)  # still down: one attempt of a new budget
    row.refresh_from_db()
    assert (row.status, row.attempts, row.attempts_before_staff_retry) == (
        Status.PENDING,
        MAX_ATTEMPTS + 1,
        MAX_ATTEMPTS,
    )

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    outbox.sweep(now=row.retry_at)
    assert [message.subject for message in mailoutbox] == ["Receipt 1"]


def test_a_killed_worker_s_row_is_sent_again_after_the_lease(mailoutbox):
    row = queue(1)
    # Claimed by a send run whose worker was killed before it marked anything.
    OutboundEmail.objects.filter(pk=row.pk).update(
        status=Status.SENDING, claim_token=uuid.uuid4(), lease_expires_at=NOW + SEND_LEASE
    )

    assert outbox.sweep(now=NOW + SEND_LEASE - timedelta(seconds=1)).sent == []
    assert outbox.sweep(now=NOW + SEND_LEASE + timedelta(seconds=1)).sent == [row.pk]
    assert len(mailoutbox) == 1


def test_staff_see_the_outbox_read_only_and_retry_failed_rows_from_the_admin(
    admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    failed = queue(1)
    sent = queue(2)
    OutboundEmail.objects.filter(pk=failed.pk).update(status=Status.FAILED, last_error="550")
    OutboundEmail.objects.filter(pk=sent.pk).update(status=Status.SENT)
    listing = reverse("admin:accounts_outboundemail_changelist")

    page = admin_client.get(listing)
    assert page.status_code == 200 and "Receipt 1" in page.content.decode()
    assert admin_client.get(reverse("admin:accounts_outboundemail_add")).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            listing,
            {"action": "retry", ACTION_CHECKBOX_NAME: [failed.pk, sent.pk]},
            follow=True,
        )

    text = response.content.decode()
    assert "1 e-mail will be sent again shortly." in text
    assert "1 e-mail was left alone" in text
    assert [message.subject for message in mailoutbox] == ["Receipt 1"]
    failed.refresh_from_db()
    assert failed.status == Status.SENT
    assert mail.outbox is mailoutbox


def test_beat_runs_the_sweeper_every_minute_and_the_task_sends(mailoutbox):
    entry = django_settings.CELERY_BEAT_SCHEDULE["sweep-outbox"]
    assert (entry["task"], entry["schedule"]) == ("accounts.tasks.sweep_outbox", 60.0)
    row = queue(1)  # its own task never ran (no on-commit callbacks here)

    sent = tasks.sweep_outbox.delay(now=(NOW + outbox.SWEEP_GRACE).isoformat()).get()

    assert sent == 1
    assert [message.subject for message in mailoutbox] == ["Receipt 1"]
    row.refresh_from_db()
    assert row.status == Status.SENT
