"""The lesson e-mail: subject, position, links, headers, and every body block in both parts."""

import email
import email.policy
import json
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from django.core.files.base import ContentFile
from wagtail.documents.models import Document
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file

from courses.emails import LessonEmailParts, build_lesson_email, html_to_text
from courses.tokens import read_pause_token
from tests.courses.factories import course, enroll, lesson, morning_learner, text_body

pytestmark = [
    pytest.mark.django_db,
    # Wagtail 8 leaves the temporary file of a new image rendition unclosed (wagtail#14055);
    # nothing of ours to close. Drop this when Wagtail closes it.
    pytest.mark.filterwarnings(
        "ignore:Exception ignored.*SpooledTemporaryFile:pytest.PytestUnraisableExceptionWarning"
    ),
]

NOW = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def html_part(message) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


@pytest.fixture
def sourdough():
    """A three-lesson course whose day-1 lesson has one block of every kind."""
    page = course(title="Sourdough in 7 days", lessons=0)
    lesson(page, day=0, title="Feed your starter")
    image = Image.objects.create(title="Crumb", file=get_test_image_file(size=(1600, 1200)))
    document = Document.objects.create(
        title="Hydration cheat sheet", file=ContentFile(b"%PDF-1.4 test", name="cheatsheet.pdf")
    )
    body = [
        {
            "type": "text",
            "value": (
                "<h3>Shape &amp; proof</h3><p>Fold the dough <b>four</b> times. See "
                f'<a linktype="page" id="{page.pk}">the course page</a> and '
                '<a href="https://example.org/flour">this flour guide</a>.</p>'
                "<ul><li>Flour the bench</li><li>Pre-shape</li></ul>"
            ),
        },
        {"type": "image", "value": {"image": image.pk, "decorative": False, "alt_text": "Crumb"}},
        {
            "type": "video",
            "value": {"video": "https://www.youtube.com/watch?v=abc123", "caption": "Stretch"},
        },
        {"type": "code", "value": {"language": "python", "code": "if hydration < 0.7:\n    add()"}},
        {
            "type": "callout",
            "value": {"kind": "warning", "title": "Hot oven", "text": "<p>Use mitts.</p>"},
        },
        {"type": "download", "value": {"document": document.pk, "label": "Cheat sheet"}},
    ]
    shaping = lesson(page, day=1, title="Shaping the loaf", body=json.dumps(body))
    lesson(page, day=2, title="Baking day")
    return {"course": page, "lesson": shaping, "image": image, "document": document}


@pytest.fixture
def delivery(sourdough):
    enrollment = enroll(
        morning_learner(email="ada@example.com", first_name="Ada"), sourdough["course"], now=NOW
    )
    return enrollment.deliveries.select_related(
        "enrollment__learner", "enrollment__course", "lesson"
    ).get(lesson=sourdough["lesson"])


def test_subject_counts_days_from_one_and_names_lesson_and_course(delivery):
    message = build_lesson_email(delivery)

    assert message.subject == "Day 2: Shaping the loaf - Sourdough in 7 days"
    assert message.to == ["ada@example.com"]


def test_both_parts_say_lesson_2_of_3_and_link_the_web_version(delivery, sourdough):
    message = build_lesson_email(delivery)
    web_url = f"http://testserver{sourdough['lesson'].url}"

    for part in (message.body, html_part(message)):
        assert "lesson 2 of 3" in part
        assert web_url in part


def test_position_counts_only_live_lessons(delivery, sourdough):
    sourdough["course"].lessons().get(day=0).unpublish()

    message = build_lesson_email(delivery)

    assert "lesson 1 of 2" in message.body


def test_pause_link_and_list_unsubscribe_headers_carry_a_signed_token(delivery):
    message = build_lesson_email(delivery)

    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith("<http://testserver/courses/pause/") and header.endswith("/>")
    token = header.removeprefix("<http://testserver/courses/pause/").removesuffix("/>")
    assert read_pause_token(token) == delivery.enrollment_id
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    pause_url = header[1:-1]
    assert pause_url in message.body
    assert pause_url in html_part(message)
    mime = message.message()
    assert mime["List-Unsubscribe"] == header
    assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_one_rendering_serves_a_batch_and_each_copy_carries_its_own_learners_link(
    delivery, sourdough
):
    other = enroll(morning_learner(email="bo@example.com"), sourdough["course"], now=NOW)
    others_delivery = other.deliveries.get(lesson=sourdough["lesson"])
    parts = LessonEmailParts()

    messages = [build_lesson_email(d, parts=parts) for d in (delivery, others_delivery)]

    for message, enrollment_id in zip(messages, (delivery.enrollment_id, other.pk), strict=True):
        pause_url = message.extra_headers["List-Unsubscribe"][1:-1]
        token = pause_url.removeprefix("http://testserver/courses/pause/").removesuffix("/")
        assert read_pause_token(token) == enrollment_id
        for part in (message.body, html_part(message)):
            assert pause_url in part
            assert "pause-link-" not in part  # no placeholder left behind
    assert messages[0].body.replace(
        messages[0].extra_headers["List-Unsubscribe"][1:-1], ""
    ) == messages[1].body.replace(messages[1].extra_headers["List-Unsubscribe"][1:-1], "")


def test_message_id_is_the_deliverys_and_stable_across_two_builds(delivery):
    first = build_lesson_email(delivery).message()
    second = build_lesson_email(delivery).message()

    assert first["Message-ID"] == second["Message-ID"] == delivery.message_id
    assert delivery.message_id == f"<lesson-delivery-{delivery.pk}@microcourses.local>"


def test_html_part_renders_every_block_email_safe_with_absolute_urls(delivery, sourdough):
    html = html_part(build_lesson_email(delivery))
    course_url = f"http://testserver{sourdough['course'].url}"
    document = sourdough["document"]
    rendition = sourdough["image"].get_rendition("width-1088")

    # Rich text: inline styles, internal links made absolute, external ones kept.
    assert '<h3 style="' in html and "Shape &amp; proof" in html
    assert "Fold the dough <b>four</b> times." in html
    assert f'href="{course_url}"' in html
    assert 'href="https://example.org/flour"' in html
    assert 'href="/' not in html and 'src="/' not in html
    # Image: an absolute rendition URL, shown at most as wide as the layout.
    assert f'src="http://testserver{rendition.url}"' in html
    assert 'width="544"' in html and 'alt="Crumb"' in html
    # Video: a link with its caption, never an iframe.
    assert 'href="https://www.youtube.com/watch?v=abc123"' in html
    assert "Watch the video: Stretch" in html
    assert "<iframe" not in html
    # Code: escaped, in a <pre>.
    assert "<pre " in html and "if hydration &lt; 0.7:\n    add()</pre>" in html
    # Callout: a table cell with a coloured border.
    assert "border:2px solid #e8590c" in html and "Hot oven" in html and "Use mitts." in html
    # Download: an absolute link to the document.
    assert f'href="http://testserver/documents/{document.pk}/cheatsheet.pdf"' in html
    assert "Cheat sheet" in html
    # The layout: the site's e-mail base (tables, no stylesheet).
    assert html.count('role="presentation"') >= 2 and "<style" not in html


def test_text_part_has_the_whole_body_as_plain_text(delivery, sourdough):
    text = build_lesson_email(delivery).body
    course_url = f"http://testserver{sourdough['course'].url}"
    document = sourdough["document"]

    assert "## Shape & proof" in text  # unescaped: this is not HTML
    assert "Fold the dough four times." in text
    assert f"the course page ({course_url})" in text
    assert "this flour guide (https://example.org/flour)" in text
    assert "- Flour the bench\n- Pre-shape" in text
    assert "[Image: Crumb]" in text
    assert "Watch the video: Stretch\nhttps://www.youtube.com/watch?v=abc123" in text
    assert "[python]\nif hydration < 0.7:\n    add()" in text
    assert "WARNING: Hot oven\nUse mitts." in text
    assert (
        f"Download Cheat sheet (PDF): http://testserver/documents/{document.pk}/cheatsheet.pdf"
        in text
    )
    assert "<" not in text.replace("hydration < 0.7", "")


def test_a_block_whose_image_was_deleted_is_left_out(sourdough):
    page = sourdough["course"]
    image = Image.objects.create(title="Gone", file=get_test_image_file())
    body = json.dumps(
        [
            {"type": "image", "value": {"image": image.pk, "decorative": False, "alt_text": ""}},
            {"type": "text", "value": "<p>Still here.</p>"},
        ]
    )
    extra = lesson(page, day=3, title="Scoring", body=body)
    image.delete()
    enrollment = enroll(morning_learner(), page, now=NOW)

    message = build_lesson_email(enrollment.deliveries.get(lesson=extra))

    assert "Still here." in message.body and "Still here." in html_part(message)
    assert "<img" not in html_part(message)


def test_html_to_text_keeps_paragraphs_and_links_apart():
    text = html_to_text('<p>One <a href="https://x.test/">link</a>.</p><p>Two &lt;b&gt;</p>')

    assert text == "One link (https://x.test/).\n\nTwo <b>"


def test_plain_lesson_body_reaches_both_parts():
    page = course(lessons=0)
    only = lesson(page, day=0, title="Welcome", body=text_body("Hello & welcome"))
    enrollment = enroll(morning_learner(), page, now=NOW)

    message = build_lesson_email(enrollment.deliveries.get(lesson=only))

    assert message.subject == "Day 1: Welcome - Sourdough in 7 days"
    assert "Hello & welcome" in message.body
    assert "Hello &amp; welcome" in html_part(message)
    assert "lesson 1 of 1" in message.body


# The bytes a lesson's copies are sent as (SiteEmail.wire_bytes, written once per lesson)


def parsed(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def same_email(ours: EmailMessage, djangos: EmailMessage) -> None:
    """Headers and parts say the same (the Date and the MIME boundary may differ)."""
    for name in ("Subject", "From", "To", "Message-ID", "List-Unsubscribe-Post", "MIME-Version"):
        assert ours[name] == djangos[name], name
    # Folded at different places; unfolding leaves spaces in different places.
    assert ours["List-Unsubscribe"].strip() == djangos["List-Unsubscribe"].strip()
    assert ours["Date"] is not None
    assert ours.get_content_type() == djangos.get_content_type() == "multipart/alternative"
    assert [(part.get_content_type(), part.get_content()) for part in ours.iter_parts()] == [
        (part.get_content_type(), part.get_content()) for part in djangos.iter_parts()
    ]


def test_each_learners_copy_on_the_wire_is_the_email_django_would_write(delivery, sourdough):
    others = [
        enroll(morning_learner(email=address), sourdough["course"], now=NOW).deliveries.get(
            lesson=sourdough["lesson"]
        )
        for address in ("bo.o'neil+bread@example.com", "c@example.co.uk")
    ]
    parts = LessonEmailParts()

    for each in (delivery, *others):
        message = build_lesson_email(each, parts=parts)

        assert message.wire_bytes is not None
        # What Django's SMTP backend sends (its MIME classes take linesep; the stubs don't know).
        djangos = message.message().as_bytes(linesep="\r\n")  # type: ignore[call-arg]
        same_email(parsed(message.wire_bytes), parsed(djangos))


def test_a_lesson_with_a_line_too_long_for_smtp_has_each_copy_written_out_on_its_own():
    page = course(lessons=0)
    long_line = lesson(page, day=0, title="Long", body=text_body("flour " * 200))
    enrollment = enroll(morning_learner(), page, now=NOW)

    message = build_lesson_email(enrollment.deliveries.get(lesson=long_line))

    # Django writes that body as quoted-printable, whose lines a longer link would break.
    assert message.wire_bytes is None
    assert "quoted-printable" in message.message().as_string()
    assert "flour flour" in message.body


def test_an_address_headers_cannot_carry_as_it_is_gets_a_copy_of_its_own(delivery, sourdough):
    rendered = LessonEmailParts().lesson(sourdough["lesson"], sourdough["course"])

    message = rendered.for_learner(
        address="zoë@example.com",
        message_id=delivery.message_id,
        pause_url="http://testserver/courses/pause/1:abc/",
    )

    assert message.wire_bytes is None
    assert message.message()["To"] == "=?utf-8?q?zo=C3=AB?=@example.com"  # RFC 2047
