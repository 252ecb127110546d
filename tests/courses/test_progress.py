"""Marking lessons complete: the progress bar moves, and finishing is celebrated once."""

import datetime

import pytest
from django.urls import reverse

from courses.models import Enrollment, LessonProgress
from tests.courses.factories import cohort_course, enroll, learner

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    # A cohort that started long ago: every lesson is released, whatever the clock says.
    return cohort_course(start=datetime.date(2025, 1, 6), title="Weekday sourdough", lessons=3)


@pytest.fixture
def reader(client, course):
    user = learner()
    enrollment = enroll(user, course)
    client.force_login(user)
    return enrollment


def complete(client, lesson):
    return client.post(reverse("courses:complete_lesson", args=[lesson.pk]), follow=True)


def test_completing_lessons_moves_the_progress_bar(client, course, reader):
    first, second, _third = course.lessons()

    assert "0% · 0 of 3 lessons" in client.get(first.url).content.decode()

    response = complete(client, first)

    assert response.redirect_chain == [(first.url, 302)]
    html = response.content.decode()
    assert "Lesson complete. Nice work!" in html
    assert "33% · 1 of 3 lessons" in html
    assert 'style="width: 33%"' in html
    assert "You completed this lesson." in html
    assert "Mark complete" not in html

    html = complete(client, second).content.decode()

    assert "67% · 2 of 3 lessons" in html
    assert "67% · 2 of 3 lessons" in client.get(course.url).content.decode()


def test_finishing_the_last_lesson_sends_one_congratulation_even_if_completed_twice(
    client, course, reader, mailoutbox, django_capture_on_commit_callbacks
):
    lessons = list(course.lessons())

    with django_capture_on_commit_callbacks(execute=True):
        for lesson in lessons:
            complete(client, lesson)
        html = complete(client, lessons[-1]).content.decode()

    assert "100% · 3 of 3 lessons" in html
    assert [message.subject for message in mailoutbox] == ["You finished Weekday sourdough"]
    assert mailoutbox[0].to == [reader.learner.email]
    reader.refresh_from_db()
    assert reader.completed_at is not None
    assert LessonProgress.objects.filter(enrollment=reader).count() == 3


def test_progress_counts_only_this_learners_lessons(client, course, reader):
    other = learner()
    other_enrollment = enroll(other, course)
    first = course.lessons().first()
    complete(client, first)

    client.force_login(other)
    html = client.get(first.url).content.decode()

    assert "0% · 0 of 3 lessons" in html
    assert (
        not Enrollment.objects.get(pk=other_enrollment.pk)
        .progress.filter(completed_at__isnull=False)
        .exists()
    )
