"""Who may read a lesson on the site, decided on the server for every request (invariant 7).

Every refused reader still gets the lesson's page, with its title and the reason, and never the
body: each test looks for a sentence that only the body contains.
"""

import zoneinfo

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from wagtail.documents.models import Document
from wagtail.rich_text import RichText

from courses import services
from courses.models import LessonDelivery, LessonPage, LessonProgress
from tests.courses.factories import body_sentence, course_page, enroll, learner, lesson_page
from tests.home.factories import standard_page

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def course():
    return course_page(title="Weekday sourdough", lessons=2)


@pytest.fixture
def day_0(course) -> LessonPage:
    return course.lessons().get(day=0)


@pytest.fixture
def day_1(course) -> LessonPage:
    return course.lessons().get(day=1)


def assert_private(response):
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives


def read(client, lesson: LessonPage) -> str:
    response = client.get(lesson.url)
    assert response.status_code == 200
    assert_private(response)
    html = response.content.decode()
    assert lesson.title in html
    return html


def test_visitor_is_asked_to_sign_in(client, day_0):
    html = read(client, day_0)

    assert body_sentence(day_0.title) not in html
    assert "Sign in to read this lesson" in html
    assert f"{reverse('account_login')}?next={day_0.url}" in html


def test_learner_not_enrolled_is_asked_to_enroll_first(client, course, day_0):
    client.force_login(learner())

    html = read(client, day_0)

    assert body_sentence(day_0.title) not in html
    assert "Enrol first" in html
    assert f'href="{course.url}"' in html


def test_learner_enrolled_in_another_course_is_asked_to_enroll_first(client, day_0):
    user = learner()
    enroll(user, course_page(title="SQL on Monday", lessons=1))
    client.force_login(user)

    html = read(client, day_0)

    assert body_sentence(day_0.title) not in html
    assert "Enrol first" in html


def test_lesson_not_released_yet_says_when_it_unlocks_in_the_readers_zone(client, course, day_1):
    user = learner(time_zone="Europe/Berlin", lesson_send_hour=0)
    enrollment = enroll(user, course)
    client.force_login(user)
    due_at = enrollment.deliveries.get(lesson=day_1).due_at

    html = read(client, day_1)

    assert body_sentence(day_1.title) not in html
    local = timezone.localtime(due_at, BERLIN)
    # e.g. "Unlocks on Fri 27 Nov, 00:00 (Europe/Berlin)"
    assert f"Unlocks on {local:%a} {local.day} {local:%b, %H:%M} (Europe/Berlin)" in html


def test_paused_learner_is_offered_resume(client, course, day_0):
    user = learner()
    enrollment = services.pause(enrollment=enroll(user, course))
    client.force_login(user)

    html = read(client, day_0)

    assert body_sentence(day_0.title) not in html
    assert "Your course is paused" in html
    assert reverse("courses:resume", args=[enrollment.pk]) in html


def test_refunded_learner_is_told_the_enrollment_was_refunded(client, course, day_0):
    user = learner()
    services.revoke(enrollment=enroll(user, course))
    client.force_login(user)

    html = read(client, day_0)

    assert body_sentence(day_0.title) not in html
    assert "This enrolment was refunded" in html


def test_enrolled_learner_reads_a_released_lesson_and_its_first_opening_is_noted(
    client, course, day_0, day_1
):
    user = learner()
    enrollment = enroll(user, course)
    client.force_login(user)

    html = read(client, day_0)
    first_opened_at = LessonProgress.objects.get(enrollment=enrollment).first_opened_at
    read(client, day_0)

    assert body_sentence(day_0.title) in html
    assert "SELECT 1;" in html  # the code block
    assert "Go slowly." in html  # the callout
    assert "Mark complete" in html
    assert f'href="{day_1.url}"' in html  # next lesson
    progress = LessonProgress.objects.get(enrollment=enrollment)
    assert progress.first_opened_at == first_opened_at
    assert progress.completed_at is None


def test_a_sent_lesson_stays_readable(client, course, day_1):
    user = learner()
    enrollment = enroll(user, course)
    enrollment.deliveries.filter(lesson=day_1).update(status=LessonDelivery.Status.SENT)
    client.force_login(user)

    assert body_sentence(day_1.title) in read(client, day_1)


def test_unpublished_lesson_is_not_found(client, course, day_0):
    user = learner()
    enroll(user, course)
    client.force_login(user)
    url = day_0.url
    day_0.unpublish()

    assert client.get(url).status_code == 404


@pytest.mark.parametrize("who", ["visitor", "not-enrolled", "not-released", "paused", "refunded"])
def test_only_a_reader_may_mark_a_lesson_complete(client, course, day_1, who):
    user = learner()
    if who != "not-enrolled":
        enrollment = enroll(user, course)
        if who == "paused":
            services.pause(enrollment=enrollment)
        elif who == "refunded":
            services.revoke(enrollment=enrollment)
    if who != "visitor":
        client.force_login(user)

    response = client.post(reverse("courses:complete_lesson", args=[day_1.pk]))

    if who == "visitor":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    else:
        assert response.status_code == 403
        assert "You can’t complete this lesson yet" in response.content.decode()
    assert not LessonProgress.objects.filter(completed_at__isnull=False).exists()


def test_a_released_lesson_renders_its_download_block(client, course):
    document = Document.objects.create(
        title="Baking schedule", file=ContentFile(b"%PDF-1.4 schedule", name="schedule.pdf")
    )
    lesson = lesson_page(
        course,
        day=0,
        title="Plan your week",
        body=[("download", {"document": document, "label": ""})],
    )
    user = learner()
    enroll(user, course)
    client.force_login(user)

    html = read(client, lesson)

    assert f'href="{document.url}"' in html
    assert "Baking schedule" in html and "PDF" in html


# A lesson's download (a document its body uses) goes to the lesson's readers only


def offered_by_lesson(course, *, day: int) -> Document:
    """A PDF that a new lesson on ``day`` offers for download (day 0 is released at once)."""
    document = Document.objects.create(
        title="Baking schedule", file=ContentFile(b"%PDF-1.4 schedule", name="schedule.pdf")
    )
    lesson_page(
        course,
        day=day,
        title=f"Plan your week (day {day})",
        body=[("download", {"document": document, "label": ""})],
    )
    return document


def fetch(client, document: Document) -> tuple[int, bytes]:
    """The status and content of ``document``'s URL.

    A served file is read to its end, which is when the test client closes it.
    """
    response = client.get(document.url)
    if not response.streaming:
        return response.status_code, response.content
    return response.status_code, b"".join(response.streaming_content)


def test_a_lessons_download_asks_a_visitor_to_sign_in(client, course):
    document = offered_by_lesson(course, day=0)

    response = client.get(document.url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={document.url}"


@pytest.mark.parametrize(
    ("day", "enrolled", "reason"),
    [
        (0, False, "It comes with the course: enrol to download it."),
        (1, True, "It unlocks with its lesson."),
    ],
)
def test_a_lessons_download_is_refused_with_the_reason(client, course, day, enrolled, reason):
    document = offered_by_lesson(course, day=day)
    user = learner()
    if enrolled:
        enroll(user, course)
    client.force_login(user)

    status, content = fetch(client, document)

    assert status == 403
    assert reason in content.decode()
    assert b"%PDF" not in content


def test_a_lessons_download_goes_to_its_reader_once_the_lesson_is_released(client, course):
    document = offered_by_lesson(course, day=0)
    user = learner()
    enroll(user, course)
    client.force_login(user)

    assert fetch(client, document) == (200, b"%PDF-1.4 schedule")


def test_a_lessons_download_goes_to_whoever_may_edit_the_lesson(client, course):
    document = offered_by_lesson(course, day=1)
    client.force_login(learner(is_staff=True, is_superuser=True))

    assert fetch(client, document) == (200, b"%PDF-1.4 schedule")


def test_a_document_no_lesson_uses_or_a_public_page_also_uses_is_served_to_anyone(client, course):
    unused = Document.objects.create(
        title="Flyer", file=ContentFile(b"%PDF-1.4 flyer", name="flyer.pdf")
    )
    shared = offered_by_lesson(course, day=1)
    standard_page(
        title="Baking schedules",
        body=[
            ("paragraph", RichText(f'<p><a linktype="document" id="{shared.pk}">Get it</a></p>'))
        ],
    )

    assert fetch(client, unused) == (200, b"%PDF-1.4 flyer")
    assert fetch(client, shared) == (200, b"%PDF-1.4 schedule")
