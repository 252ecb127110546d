"""Enrolling in a free course from its page, and pausing and resuming from the site."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from courses import services
from courses.models import CoursePage, Enrollment, LessonDelivery, ScheduleMode
from tests.courses.factories import course_page, enroll, learner

pytestmark = pytest.mark.django_db


def enroll_url(course) -> str:
    return reverse("courses:enroll", args=[course.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_learner_enrolls_in_a_free_course_and_returns_to_its_page(client):
    course = course_page(title="Weekday sourdough", lessons=3)
    user = learner()
    client.force_login(user)

    response = client.post(enroll_url(course), follow=True)

    assert response.redirect_chain == [(course.url, 302)]
    assert "You are enrolled in “Weekday sourdough”" in messages_of(response)[0]
    enrollment = Enrollment.objects.get(learner=user, course=course)
    assert enrollment.status == Enrollment.Status.ACTIVE
    assert enrollment.deliveries.count() == 3


def test_enrolling_twice_keeps_one_enrollment_and_one_set_of_deliveries(client):
    course = course_page(lessons=3)
    client.force_login(learner())

    client.post(enroll_url(course))
    response = client.post(enroll_url(course), follow=True)

    assert "You are already enrolled" in messages_of(response)[-1]
    assert Enrollment.objects.count() == 1
    assert LessonDelivery.objects.count() == 3


def test_paid_course_cannot_be_enrolled_for_free(client):
    course = course_page(title="SQL on Monday", price_amount=4900, lessons=2)
    client.force_login(learner())

    response = client.post(enroll_url(course))

    assert response.status_code == 400
    html = response.content.decode()
    assert "This course isn’t free" in html and "€49.00" in html
    assert not Enrollment.objects.exists()
    assert not LessonDelivery.objects.exists()


def test_visitor_is_sent_to_sign_in_and_back_to_the_course(client):
    course = course_page()

    response = client.post(enroll_url(course))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={course.url}"
    assert not Enrollment.objects.exists()


def test_unknown_or_unpublished_course_is_not_found(client):
    client.force_login(learner())
    draft = course_page(title="Draft course")
    draft.unpublish()

    assert client.post(enroll_url(draft)).status_code == 404
    assert client.post(reverse("courses:enroll", args=[999_999])).status_code == 404
    assert not Enrollment.objects.exists()


def test_enroll_needs_a_post_with_a_csrf_token():
    course = course_page()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(learner())

    assert browser.get(enroll_url(course)).status_code == 405
    assert browser.post(enroll_url(course)).status_code == 403
    assert not Enrollment.objects.exists()


def test_refunded_learner_cannot_reopen_the_enrollment_here(client):
    course = course_page()
    user = learner()
    services.revoke(enrollment=enroll(user, course))
    client.force_login(user)

    response = client.post(enroll_url(course), follow=True)

    assert "This enrolment was refunded" in messages_of(response)[0]
    assert Enrollment.objects.get().status == Enrollment.Status.REFUNDED


def test_cohort_course_without_a_start_date_is_invalid():
    course = CoursePage(title="Cohort", slug="cohort", schedule_mode=ScheduleMode.COHORT)

    with pytest.raises(ValidationError) as error:
        course.full_clean()

    assert "cohort_start_date" in error.value.message_dict


# Pause and resume


def test_learner_pauses_and_resumes_their_course(client):
    user = learner()
    enrollment = enroll(user, course_page(title="Weekday sourdough", lessons=3))
    client.force_login(user)

    paused = client.post(reverse("courses:pause", args=[enrollment.pk]), follow=True)

    assert paused.redirect_chain == [(reverse("dashboard"), 302)]
    assert "is paused" in messages_of(paused)[0]
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.PAUSED
    assert not enrollment.deliveries.filter(status=LessonDelivery.Status.PENDING).exists()

    resumed = client.post(
        reverse("courses:resume", args=[enrollment.pk]),
        {"next": "/weekday/"},
        follow=False,
    )

    assert resumed["Location"] == "/weekday/"
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.ACTIVE
    assert not enrollment.deliveries.filter(status=LessonDelivery.Status.PAUSED).exists()


def test_next_may_not_leave_the_site(client):
    user = learner()
    enrollment = enroll(user, course_page())
    client.force_login(user)

    response = client.post(
        reverse("courses:pause", args=[enrollment.pk]), {"next": "https://evil.example/"}
    )

    assert response["Location"] == reverse("dashboard")


@pytest.mark.parametrize("action", ["pause", "resume"])
def test_only_the_owner_may_pause_or_resume(client, action):
    owner = learner()
    enrollment = enroll(owner, course_page())
    if action == "resume":
        services.pause(enrollment=enrollment)
    status_before = Enrollment.objects.get().status
    url = reverse(f"courses:{action}", args=[enrollment.pk])

    anonymous = client.post(url)
    client.force_login(learner())
    someone_else = client.post(url)

    assert anonymous["Location"].startswith(reverse("account_login"))
    assert someone_else.status_code == 404
    assert Enrollment.objects.get().status == status_before
