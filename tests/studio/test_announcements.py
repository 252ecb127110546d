"""Announcements: a creator writes to their learners; each gets it once, paused ones none."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from accounts import outbox
from accounts.models import OutboundEmail, User
from courses import services as course_services
from courses.models import Enrollment
from home.models import Announcement, AnnouncementRecipient
from home.studio import announcements, selectors
from tests.payments.factories import paid_course, user
from tests.support.worker import broker_not_eager, purge_queue
from tests.workshops.factories import paid_workshop
from workshops import services as workshop_services

from .factories import approved_creator

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def maya():
    return approved_creator(email="maya@example.com", display_name="Maya Okafor")


@pytest.fixture
def course(maya):
    course = paid_course(storefront_page=maya[1], title="Sourdough", lessons=1)
    for n, status in enumerate(["active", "active", "paused", "refunded"]):
        enrolment = course_services.enroll(learner=user(email=f"l{n}@example.com"), course=course)
        if status == "paused":
            course_services.pause(enrollment=enrolment)
        elif status == "refunded":
            Enrollment.objects.filter(pk=enrolment.pk).update(status=Enrollment.Status.REFUNDED)
    return course


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_active_learners_get_it_once_paused_are_skipped_and_counts_logged(
    maya, course, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        announcement = announcements.announce(
            author=maya[0], course=course, subject="Oven news", body="Preheat to 250°C.", now=NOW
        )
    outbox.sweep(now=NOW + timedelta(hours=1))  # the sweeper finds nothing left to send

    assert recipients() == ["l0@example.com", "l1@example.com"]
    assert mail.outbox[0].subject == "Oven news"
    assert "Preheat to 250°C." in mail.outbox[0].body
    announcement.refresh_from_db()
    assert (announcement.recipients, announcement.skipped) == (3, 1)
    assert AnnouncementRecipient.objects.filter(status="skipped").get().recipient.email == (
        "l2@example.com"
    )
    # Each person it went to has one outbox row, linked from their recipient row, now sent.
    queued = OutboundEmail.objects.filter(
        pk__in=AnnouncementRecipient.objects.filter(status="queued").values("email")
    )
    assert sorted(email.to for email in queued) == ["l0@example.com", "l1@example.com"]
    assert {email.status for email in queued} == {"sent"}
    [log] = selectors.announcement_log(maya[1])
    assert (log.sent, log.waiting, log.not_delivered) == (2, 0, 0)


def test_workshop_announcements_go_to_confirmed_registrants_only(
    maya, django_capture_on_commit_callbacks
):
    workshop = paid_workshop(parent=maya[1], title="Shaping")
    seat = workshop_services.hold_seat(learner=user(email="paid@example.com"), workshop=workshop)
    workshop_services.confirm_paid_seat(registration_id=seat.pk)
    workshop_services.hold_seat(learner=user(email="holding@example.com"), workshop=workshop)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        announcements.announce(author=maya[0], workshop=workshop, subject="Bring flour", body="x")

    assert recipients() == ["paid@example.com"]


def test_a_creator_cannot_write_to_another_creators_learners(course):
    theo, _storefront = approved_creator(email="theo@example.com", display_name="Theo")

    with pytest.raises(announcements.AnnouncementRefused):
        announcements.announce(author=theo, course=course, subject="Hi", body="Spam")
    assert not Announcement.objects.exists()


def test_the_studio_form_sends_and_refuses_other_creators_items(
    maya, course, django_capture_on_commit_callbacks
):
    _theo, theo_storefront = approved_creator(email="theo@example.com", display_name="Theo")
    other = paid_course(storefront_page=theo_storefront, title="SQL", slug="sql", lessons=1)
    client = Client()
    client.force_login(maya[0])
    mail.outbox.clear()

    page = client.get("/admin/studio/announce/").content.decode()
    assert "Sourdough" in page and "SQL" not in page
    refused = client.post(
        "/admin/studio/announce/", {"item": f"course-{other.pk}", "subject": "s", "body": "b"}
    )
    assert refused.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            "/admin/studio/announce/",
            {"item": f"course-{course.pk}", "subject": "Hello", "body": "Welcome"},
        )

    assert sent.status_code == 302
    assert recipients() == ["l0@example.com", "l1@example.com"]


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_at_once_send_each_message_once():
    maya_user, storefront = approved_creator(email="maya@example.com", display_name="Maya")
    course = paid_course(storefront_page=storefront, title="Sourdough", lessons=0)
    for n in range(30):
        course_services.enroll(learner=user(email=f"w{n}@example.com"), course=course)
    with broker_not_eager():
        # The send tasks are published to Redis and never run: the sweepers do the work.
        purge_queue()
        announcements.announce(author=maya_user, course=course, subject="s", body="b", now=NOW)
        purge_queue()
    mail.outbox.clear()
    barrier = threading.Barrier(2)

    def sweeper():
        try:
            barrier.wait()
            outbox.sweep(now=NOW + outbox.SWEEP_GRACE)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert recipients() == sorted(f"w{n}@example.com" for n in range(30))
    [log] = selectors.announcement_log(storefront)
    assert log.sent == 30


def test_a_bouncing_address_gets_no_announcement(maya, course, django_capture_on_commit_callbacks):
    User.objects.filter(email="l0@example.com").update(email_bouncing_since=NOW)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        announcement = announcements.announce(
            author=maya[0], course=course, subject="Oven news", body="Preheat.", now=NOW
        )

    assert recipients() == ["l1@example.com"]
    bounced = OutboundEmail.objects.get(to="l0@example.com", kind="home.announcement")
    assert (bounced.status, bounced.last_error) == ("skipped", "Not sent: the address bounces.")
    [log] = selectors.announcement_log(maya[1])
    assert (log.sent, log.not_delivered) == (1, 1)
    assert announcement.recipients == 3
