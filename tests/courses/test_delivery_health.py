"""The staff's "Delivery health" page in the Wagtail admin: is e-mail getting out?"""

from datetime import timedelta
from typing import cast

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import OutboundEmail, User
from courses.models import Enrollment, LessonDelivery
from tests.accounts.factories import UserFactory
from tests.courses.factories import course, enroll, morning_learner
from tests.studio.factories import with_admin_access

pytestmark = pytest.mark.django_db

HEALTH = reverse("delivery_health")
Status = LessonDelivery.Status


def set_rows(enrollment: Enrollment, now, *states: dict) -> list[LessonDelivery]:
    """Give the enrolment's rows, in day order, the given fields (one dict per lesson)."""
    rows = list(enrollment.deliveries.order_by("lesson__day"))
    for row, fields in zip(rows, states, strict=True):
        LessonDelivery.objects.filter(pk=row.pk).update(**fields)
    return rows


def known_rows(now) -> dict[str, LessonDelivery]:
    enrollment = enroll(morning_learner(), course(lessons=6), now=now - timedelta(days=3))
    rows = set_rows(
        enrollment,
        now,
        {"status": Status.SENT, "due_at": now - timedelta(minutes=30), "sent_at": now},
        {"status": Status.PENDING, "due_at": now - timedelta(minutes=20)},
        {
            "status": Status.PENDING,
            "due_at": now - timedelta(hours=3),
            "retry_at": now + timedelta(minutes=5),
            "attempts": 2,
        },
        {"status": Status.FAILED, "due_at": now - timedelta(days=2), "attempts": 30},
        {"status": Status.CANCELLED, "due_at": now - timedelta(minutes=10)},
        {"status": Status.PENDING, "due_at": now + timedelta(days=1)},
    )
    return dict(
        zip(["sent", "late", "retrying", "failed", "cancelled", "future"], rows, strict=True)
    )


@pytest.fixture
def staff(client) -> User:
    user = cast(User, UserFactory(is_staff=True, is_superuser=True))
    client.force_login(user)
    return user


def test_staff_see_each_figure_with_its_rows(client, staff):
    rows = known_rows(timezone.now())
    UserFactory(email_bouncing_since=timezone.now())

    response = client.get(HEALTH)

    assert response.status_code == 200
    lessons, _other_emails = response.context["health"].outboxes
    assert (lessons.sent_of_due_last_hour, lessons.due_last_hour) == (1, 2)
    assert lessons.unsent_due == 2
    assert lessons.failing == 1
    assert lessons.failed == 1
    assert response.context["health"].bouncing_addresses == 1
    assert lessons.oldest_unsent_url == reverse(
        "lessondelivery:inspect", args=[rows["retrying"].pk]
    )
    assert timedelta(hours=3) <= lessons.oldest_unsent_age < timedelta(hours=3, minutes=5)
    page = response.content.decode()
    assert "1 / 2" in page
    assert "due 3\xa0hours ago" in page

    def listed(url: str) -> set[int]:
        listing = client.get(url)
        assert listing.status_code == 200
        return {row.pk for row in listing.context["object_list"]}

    assert listed(lessons.due_last_hour_url) == {rows["sent"].pk, rows["late"].pk}
    assert listed(lessons.unsent_due_url) == {rows["late"].pk, rows["retrying"].pk}
    assert listed(lessons.failing_url) == {rows["retrying"].pk}
    assert listed(lessons.failed_url) == {rows["failed"].pk}
    bouncing = client.get(response.context["health"].bouncing_url)
    assert bouncing.status_code == 200
    assert [
        user.email_bouncing_since is not None for user in bouncing.context["cl"].result_list
    ] == [True]


def test_a_bouncing_or_unverified_learner_is_not_late_mail(client, staff):
    now = timezone.now()
    for learner in (
        morning_learner(email_bouncing_since=now),
        morning_learner(verified_email=False),
    ):
        enrollment = enroll(learner, course(lessons=1), now=now - timedelta(days=1))
        set_rows(enrollment, now, {"due_at": now - timedelta(minutes=5)})

    lessons, _other_emails = client.get(HEALTH).context["health"].outboxes

    # Due in the last hour (the learner would have had them), but nothing is stuck: these wait
    # for the learner, not for the mail server.
    assert lessons.due_last_hour == 2
    assert lessons.unsent_due == 0
    assert lessons.oldest_unsent_url is None


def test_the_page_makes_the_same_queries_however_many_rows(client, staff):
    known_rows(timezone.now())
    client.get(HEALTH)  # warm Wagtail's own per-process caches
    with CaptureQueriesContext(connection) as small:
        assert client.get(HEALTH).status_code == 200
    for _ in range(3):
        known_rows(timezone.now())
        other_email_rows(timezone.now())
    # Publishing the new lessons purged the kept site (config/pagecache/sites.py): read it again.
    client.get(HEALTH)
    with CaptureQueriesContext(connection) as large:
        assert client.get(HEALTH).status_code == 200

    assert len(large) == len(small)
    assert client.get(HEALTH).context["health"].outboxes[0].failing == 4


def other_email_rows(now) -> dict[str, OutboundEmail]:
    Status = OutboundEmail.Status
    states = {
        "sent": {"status": Status.SENT, "due_at": now - timedelta(minutes=30), "sent_at": now},
        "late": {"status": Status.PENDING, "due_at": now - timedelta(minutes=20)},
        "retrying": {
            "status": Status.PENDING,
            "due_at": now - timedelta(hours=3),
            "retry_at": now + timedelta(minutes=5),
            "attempts": 2,
        },
        "failed": {"status": Status.FAILED, "due_at": now - timedelta(days=2), "attempts": 30},
        "skipped": {"status": Status.SKIPPED, "due_at": now - timedelta(minutes=10)},
        "future": {"status": Status.PENDING, "due_at": now + timedelta(days=1)},
    }
    return {
        name: OutboundEmail.objects.create(
            to=f"{name}@example.com",
            from_email="site@example.com",
            kind="payments.receipt",
            subject=name,
            text=name,
            created_at=now - timedelta(days=3),
            **fields,
        )
        for name, fields in states.items()
    }


def test_staff_see_the_other_emails_outbox_with_its_rows(client, staff):
    rows = other_email_rows(timezone.now())

    response = client.get(HEALTH)

    _lessons, others = response.context["health"].outboxes
    assert (others.sent_of_due_last_hour, others.due_last_hour) == (1, 2)
    assert others.unsent_due == 2
    assert (others.failing, others.failed) == (1, 1)
    assert others.oldest_unsent_url == reverse(
        "admin:accounts_outboundemail_change", args=[rows["retrying"].pk]
    )

    def listed(url: str) -> set[int]:
        listing = client.get(url)
        assert listing.status_code == 200
        return {row.pk for row in listing.context["cl"].result_list}

    assert listed(others.due_last_hour_url) == {rows["sent"].pk, rows["late"].pk}
    assert listed(others.unsent_due_url) == {rows["late"].pk, rows["retrying"].pk}
    assert listed(others.failing_url) == {rows["retrying"].pk}
    assert listed(others.failed_url) == {rows["failed"].pk}


def test_creators_are_refused_and_learners_sent_to_sign_in(client):
    creator = cast(User, UserFactory(email="creator@example.com", is_staff=False))
    client.force_login(with_admin_access(creator))
    refused = client.get(HEALTH)
    # Wagtail turns the view's PermissionDenied into "Sorry, you do not have permission" on
    # the admin's dashboard.
    assert refused.status_code == 302
    assert refused["Location"] == reverse("wagtailadmin_home")

    client.force_login(UserFactory(email="learner@example.com"))
    response = client.get(HEALTH)
    assert response.status_code == 302
    assert "login" in response["Location"]
