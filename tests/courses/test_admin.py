"""Staff views in the Wagtail admin: enrolments, lesson deliveries, and retrying a failed e-mail."""

import datetime
from typing import cast

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import User
from courses import services
from courses.models import Enrollment, LessonDelivery
from tests.accounts.factories import UserFactory
from tests.courses.factories import course_page, enroll, learner
from tests.home.factories import creator_page

pytestmark = pytest.mark.django_db

ENROLMENTS = reverse("enrollment:index")
DELIVERIES = reverse("lessondelivery:index")


@pytest.fixture
def staff(client):
    user = UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def courses():
    creator = creator_page()
    return (
        course_page(creator=creator, title="Weekday sourdough", lessons=3),
        course_page(creator=creator, title="SQL on Monday", lessons=2),
    )


def failed_delivery(enrollment: Enrollment) -> LessonDelivery:
    delivery = enrollment.deliveries.order_by("lesson__day").last()
    assert delivery is not None
    delivery.status = LessonDelivery.Status.FAILED
    delivery.attempts = 5
    delivery.last_error = "SMTP 554: mailbox unavailable"
    delivery.save()
    return delivery


def staff_with(*codenames: str) -> User:
    """A staff member whose group may enter the admin and has only ``codenames``."""
    group = Group.objects.create(name=f"Support {Group.objects.count()}")
    group.permissions.add(
        Permission.objects.get(codename="access_admin"),
        *Permission.objects.filter(content_type__app_label="courses", codename__in=codenames),
    )
    user = cast(User, UserFactory(is_staff=True))
    user.groups.add(group)
    return user


def test_staff_lists_enrollments_with_progress(client, staff, courses):
    sourdough, sql = courses
    ann = learner(email="ann@example.com")
    enrollment = enroll(ann, sourdough)
    services.complete_lesson(enrollment=enrollment, lesson=sourdough.lessons().first())
    enroll(learner(email="bob@example.com"), sql)

    html = client.get(ENROLMENTS).content.decode()

    assert "ann@example.com" in html and "bob@example.com" in html
    assert "Weekday sourdough" in html and "SQL on Monday" in html
    assert "1 of 3 lessons" in html
    assert "Active" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"course": "sourdough"}, {"ann@example.com", "cem@example.com"}),
        ({"status": "paused"}, {"cem@example.com"}),
        ({"q": "bob@"}, {"bob@example.com"}),
    ],
    ids=["by-course", "by-status", "search-email"],
)
def test_staff_filters_and_searches_enrollments(client, staff, courses, query, expected):
    sourdough, sql = courses
    enroll(learner(email="ann@example.com"), sourdough)
    enroll(learner(email="bob@example.com"), sql)
    services.pause(enrollment=enroll(learner(email="cem@example.com"), sourdough))
    if query.get("course") == "sourdough":
        query = {"course": sourdough.pk}

    response = client.get(ENROLMENTS, query)

    listed = {enrollment.learner.email for enrollment in response.context["object_list"]}
    assert listed == expected


def test_staff_lists_and_filters_deliveries_and_sees_errors(client, staff, courses):
    sourdough, sql = courses
    failed = failed_delivery(enroll(learner(email="ann@example.com"), sourdough))
    enroll(learner(email="bob@example.com"), sql)

    everything = client.get(DELIVERIES)
    by_course = client.get(DELIVERIES, {"course": sql.pk})
    only_failed = client.get(DELIVERIES, {"status": "failed"})

    assert len(everything.context["object_list"]) == 5
    assert {d.enrollment.course_id for d in by_course.context["object_list"]} == {sql.pk}
    assert list(only_failed.context["object_list"]) == [failed]
    html = only_failed.content.decode()
    assert "SMTP 554: mailbox unavailable" in html
    assert reverse("lessondelivery:retry", args=[failed.pk]) in html


def test_staff_retries_a_failed_delivery(client, staff, courses):
    failed = failed_delivery(enroll(learner(), courses[0]))
    url = reverse("lessondelivery:retry", args=[failed.pk])
    before = timezone.now()

    confirm = client.get(url)
    response = client.post(url, follow=True)

    assert "Yes, retry" in confirm.content.decode()
    assert response.redirect_chain == [(DELIVERIES, 302)]
    assert "will be sent again shortly" in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == LessonDelivery.Status.PENDING
    assert failed.last_error == ""
    assert failed.due_at >= before
    assert failed.attempts == 5  # kept as the row's history


def test_retrying_a_delivery_that_has_not_failed_changes_nothing(client, staff, courses):
    delivery = enroll(learner(), courses[0]).deliveries.first()
    assert delivery is not None
    due_at = delivery.due_at

    response = client.post(reverse("lessondelivery:retry", args=[delivery.pk]), follow=True)

    assert "Only a failed delivery" in response.content.decode()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.due_at) == (LessonDelivery.Status.PENDING, due_at)


def test_retry_service_respects_paused_and_refunded_enrollments(courses):
    now = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC)
    paused = enroll(learner(), courses[0])
    paused_failed = failed_delivery(paused)
    services.pause(enrollment=paused)
    refunded = enroll(learner(), courses[0])
    refunded_failed = failed_delivery(refunded)
    services.revoke(enrollment=refunded)

    services.retry_delivery(delivery=paused_failed, now=now)
    services.retry_delivery(delivery=refunded_failed, now=now)

    paused_failed.refresh_from_db()
    refunded_failed.refresh_from_db()
    assert (paused_failed.status, paused_failed.due_at) == (LessonDelivery.Status.PAUSED, now)
    assert refunded_failed.status == LessonDelivery.Status.FAILED


def test_learner_cannot_reach_the_staff_views(client, courses):
    user = learner()
    failed = failed_delivery(enroll(user, courses[0]))
    client.force_login(user)

    for url in (ENROLMENTS, DELIVERIES, reverse("lessondelivery:retry", args=[failed.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("wagtailadmin_login"))
    client.post(reverse("lessondelivery:retry", args=[failed.pk]))

    failed.refresh_from_db()
    assert failed.status == LessonDelivery.Status.FAILED


def test_staff_need_the_model_permissions(client, courses):
    failed = failed_delivery(enroll(learner(), courses[0]))
    retry_url = reverse("lessondelivery:retry", args=[failed.pk])

    client.force_login(staff_with())
    assert client.get(ENROLMENTS).status_code == 302  # the admin sends them home
    assert client.get(DELIVERIES).status_code == 302

    client.force_login(staff_with("view_enrollment", "view_lessondelivery"))
    assert client.get(ENROLMENTS).status_code == 200
    listing = client.get(DELIVERIES)
    assert listing.status_code == 200
    assert retry_url not in listing.content.decode()
    client.post(retry_url)
    failed.refresh_from_db()
    assert failed.status == LessonDelivery.Status.FAILED


def test_staff_views_are_read_only(client, staff, courses):
    enrollment = enroll(learner(), courses[0])

    for name in ("enrollment:add", "lessondelivery:add"):
        with pytest.raises(NoReverseMatch):
            reverse(name)
    assert client.get(reverse("enrollment:inspect", args=[enrollment.pk])).status_code == 200


@pytest.mark.parametrize("url", [ENROLMENTS, DELIVERIES], ids=["enrolments", "deliveries"])
def test_staff_listing_query_count_does_not_grow_with_rows(client, staff, url):
    course = course_page(lessons=2, publish=False)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    for _ in range(2):
        enroll(learner(), course)
    queries()  # warm up
    with_two = queries()
    for _ in range(8):
        enroll(learner(), course)

    assert queries() == with_two
