"""The e-mails of the courses app: the daily lesson, the course-completed note, a late
joiner's catch-up, and a cohort's new dates."""

import re
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.outbox import queue_message
from config.mail import (
    PLAIN_ADDRESS,
    SiteEmail,
    absolute_url,
    build_email,
    compose_email,
    render_email,
)

from .models import CoursePage, Enrollment, LessonDelivery, LessonPage
from .tokens import make_pause_token

# The HTML layout (emails/base.html) is 600px wide with 28px of padding on each side.
EMAIL_CONTENT_WIDTH = 544
# Twice the shown width, for sharp images on high-density screens; Wagtail never upscales.
LESSON_IMAGE_FILTER = f"width-{2 * EMAIL_CONTENT_WIDTH}"

CALLOUT_COLOURS = {"tip": "#2f9e44", "note": "#3b5bdb", "warning": "#e8590c"}

# Inline styles for the tags Wagtail's rich text may produce: many mail clients drop <style>.
RICH_TEXT_STYLES = {
    "p": "margin:0 0 14px;",
    "h3": "font-family:Arial,Helvetica,sans-serif;font-size:20px;margin:22px 0 10px;",
    "h4": "font-family:Arial,Helvetica,sans-serif;font-size:17px;margin:18px 0 8px;",
    "a": "color:#3b5bdb;",
    "code": "font-family:Menlo,Consolas,monospace;font-size:14px;background:#f1f3f5;",
    "blockquote": "margin:0 0 14px;padding:0 0 0 14px;border-left:3px solid #ced4da;",
    "ul": "margin:0 0 14px;padding-left:22px;",
    "ol": "margin:0 0 14px;padding-left:22px;",
    "li": "margin:0 0 6px;",
}
_STYLED_TAG = re.compile(r"<(" + "|".join(RICH_TEXT_STYLES) + r")(?=[\s>/])")
# href="/..." and src="/..." but not protocol-relative "//host/..." links.
_RELATIVE_URL = re.compile(r'\b(href|src)="(/(?!/)[^"]*)"')


def queue_course_completed(*, enrollment_id: int) -> None:
    """Congratulate a learner who completed every lesson (queued once: see complete_lesson)."""
    enrollment = Enrollment.objects.select_related("learner", "course").get(pk=enrollment_id)
    course = enrollment.course
    creator = course.creator_page
    message = build_email(
        to=enrollment.learner.email,
        subject=f"You finished {course.title}",
        template="course_completed",
        context={
            "learner_name": enrollment.learner.first_name or enrollment.learner.email,
            "course": course,
            "course_url": absolute_url(course.url),
            "lesson_count": course.lessons().count(),
            "creator_name": creator.title,
            "creator_url": absolute_url(creator.url),
        },
    )
    queue_message(
        message,
        kind="courses.course_completed",
        user=enrollment.learner,
        dedupe_key=f"courses.course_completed:{enrollment.pk}",
    )


def _learner_name(learner) -> str:
    return learner.first_name or learner.email


def _may_mail(enrollment: Enrollment) -> bool:
    # A refunded enrolment hears nothing more; a bouncing address waits for the learner to fix
    # it (the dashboard says so), like their lesson e-mails.
    return (
        enrollment.status != Enrollment.Status.REFUNDED
        and enrollment.learner.email_bouncing_since is None
    )


def queue_catch_up_email(*, enrollment_id: int, lesson_ids: list[int]) -> None:
    """One e-mail with the lessons that were already due when the learner joined the cohort,
    written to the outbox in the enrolment's transaction.

    Links, not the lessons themselves: several whole lessons in one message would be long, and
    each is readable on the site at once. Later lessons arrive on their own days as usual.
    """
    enrollment = Enrollment.objects.select_related("learner", "course").get(pk=enrollment_id)
    if not _may_mail(enrollment):
        return
    course = enrollment.course
    order = {lesson_id: position for position, lesson_id in enumerate(lesson_ids)}
    lessons = sorted(
        course.lessons().filter(pk__in=lesson_ids).defer_streamfields(),
        key=lambda lesson: order[lesson.pk],
    )
    if not lessons:
        return  # unpublished meanwhile
    message = build_email(
        to=enrollment.learner.email,
        subject=f"Catch up: {len(lessons)} lessons of {course.title} are ready",
        template="course_catch_up",
        context={
            "learner_name": _learner_name(enrollment.learner),
            "course": course,
            "course_url": absolute_url(course.url or "/"),
            "lessons": [
                {"day": lesson.display_day, "title": lesson.title, "url": absolute_url(lesson.url)}
                for lesson in lessons
            ],
        },
    )
    queue_message(
        message,
        kind="courses.catch_up",
        user=enrollment.learner,
        dedupe_key=f"courses.catch_up:{enrollment.pk}",
    )


def queue_new_cohort_dates_email(*, enrollment_id: int) -> None:
    """Tell a cohort's learner the course's new dates, each in the learner's own zone.

    Written to the outbox in the transaction that moves the dates, after the move: a date
    moved twice gives two e-mails, each with the dates as they were then.
    """
    enrollment = Enrollment.objects.select_related("learner", "course").get(pk=enrollment_id)
    if not _may_mail(enrollment):
        return
    learner = enrollment.learner
    course = enrollment.course
    rows = (
        enrollment.deliveries.filter(lesson__live=True)
        .select_related("lesson")
        .defer("lesson__body")
        .order_by("lesson__day", "lesson__path")
    )
    now = timezone.now()
    lessons = [
        {
            "day": row.lesson.display_day,
            "title": row.lesson.title,
            "due_at": row.due_at,
            "already_sent": row.status == LessonDelivery.Status.SENT,
            "readable_now": row.status != LessonDelivery.Status.SENT and row.due_at <= now,
        }
        for row in rows
        if row.status != LessonDelivery.Status.CANCELLED
    ]
    # Every date in the message reads in the learner's own zone.
    with timezone.override(learner.zone):
        message = build_email(
            to=learner.email,
            subject=f"New dates for {course.title}",
            template="course_new_dates",
            context={
                "learner_name": _learner_name(learner),
                "course": course,
                "course_url": absolute_url(course.url or "/"),
                "start_date": enrollment.start_date,
                "learner_zone": learner.zone.key,
                "lessons": lessons,
            },
        )
    queue_message(message, kind="courses.new_cohort_dates", user=learner)


# The daily lesson


# Stand-ins for each learner's own parts while one rendering serves all the learners of a
# lesson: random, so that no lesson text contains them by chance, and plain ASCII that neither
# HTML escaping nor MIME header folding changes.
_PLACEHOLDER = uuid.uuid4().hex
_PAUSE_LINK_PLACEHOLDER = f"pause-link-{_PLACEHOLDER}"
_ADDRESS_PLACEHOLDER = f"learner-{_PLACEHOLDER}@example.invalid"
_MESSAGE_ID_PLACEHOLDER = f"<delivery-{_PLACEHOLDER}@example.invalid>"
_TOKEN_PLACEHOLDER = f"token-{_PLACEHOLDER}"
# The longest line SMTP allows, without its CRLF (RFC 5321, 4.5.3.1.6).
SMTP_LINE_LIMIT = 998


def _pause_url_pattern() -> str:
    return absolute_url(reverse("courses:pause_link", args=[_TOKEN_PLACEHOLDER]))


def _fill_pause_url(pattern: str, *, enrollment_id: int) -> str:
    return pattern.replace(_TOKEN_PLACEHOLDER, make_pause_token(enrollment_id=enrollment_id))


def pause_url(*, enrollment_id: int) -> str:
    """The absolute one-click pause link of an enrolment's lesson e-mails."""
    return _fill_pause_url(_pause_url_pattern(), enrollment_id=enrollment_id)


def lesson_subject(*, lesson: LessonPage, course: CoursePage) -> str:
    """``Day 1: Feed your starter - Sourdough in 7 days``.

    Lesson ``day`` counts from 0 (the day of enrolment); people count from 1, so the lesson
    that arrives on the day of enrolment is "Day 1".
    """
    return f"Day {lesson.day + 1}: {lesson.title} - {course.title}"


def _lesson_headers(*, message_id: str, pause_url: str) -> dict[str, str]:
    return {
        # Stable per delivery: a rare second send (a worker lost after sending) is the same
        # message to the recipient's mail client, not a new one.
        "Message-ID": message_id,
        # RFC 2369 and RFC 8058: the mail client's own "unsubscribe" button pauses the course
        # with one POST to the same link, no sign-in needed.
        "List-Unsubscribe": f"<{pause_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


@dataclass(frozen=True)
class RenderedBlock:
    html: SafeString
    text: str


@dataclass(frozen=True)
class RenderedLesson:
    """A lesson's e-mail with placeholders where each learner's own parts go.

    ``wire_bytes`` is the whole e-mail as sent (its Date is when it was rendered), or None
    (see ``_wire_template``); a copy whose parts would not fit in as they are (an address that
    needs quoting, say) is serialised on its own.
    """

    subject: str
    text: str
    html: str
    wire_bytes: bytes | None
    pause_link_room: int

    def for_learner(
        self, *, address: str, message_id: str, pause_url: str, connection=None
    ) -> SiteEmail:
        message = compose_email(
            to=address,
            subject=self.subject,
            text=self.text.replace(_PAUSE_LINK_PLACEHOLDER, pause_url),
            html=self.html.replace(_PAUSE_LINK_PLACEHOLDER, escape(pause_url)),
            headers=_lesson_headers(message_id=message_id, pause_url=pause_url),
            connection=connection,
        )
        fits_as_it_is = (
            PLAIN_ADDRESS.fullmatch(address)
            and pause_url.isascii()
            and escape(pause_url) == pause_url
            and len(pause_url) <= self.pause_link_room
        )
        if self.wire_bytes is not None and fits_as_it_is:
            message.wire_bytes = (
                self.wire_bytes.replace(_ADDRESS_PLACEHOLDER.encode(), address.encode())
                .replace(_MESSAGE_ID_PLACEHOLDER.encode(), message_id.encode())
                .replace(_PAUSE_LINK_PLACEHOLDER.encode(), pause_url.encode())
            )
        return message


class LessonEmailParts:
    """What every learner's copy of a lesson e-mail shares, worked out once per lesson.

    A send task builds up to 50 e-mails, mostly of one lesson. They are the same but for the
    learner's address, pause link and Message-ID, so the lesson's e-mail is rendered and
    serialised once (its wire bytes), with placeholders for those, and each copy puts in its
    learner's own: that saves most of the cost of an e-mail. The pause link's URL pattern is
    reversed once too.
    """

    def __init__(self) -> None:
        self._lessons: dict[int, RenderedLesson] = {}
        self._pause_url_pattern: str | None = None

    def lesson(self, lesson: LessonPage, course: CoursePage) -> RenderedLesson:
        if lesson.pk not in self._lessons:
            self._lessons[lesson.pk] = _render_lesson(lesson, course)
        return self._lessons[lesson.pk]

    def pause_url(self, *, enrollment_id: int) -> str:
        """Same as ``pause_url()``."""
        if self._pause_url_pattern is None:
            self._pause_url_pattern = _pause_url_pattern()
        return _fill_pause_url(self._pause_url_pattern, enrollment_id=enrollment_id)


def _render_lesson(lesson: LessonPage, course: CoursePage) -> RenderedLesson:
    lesson_ids = list(course.lessons().values_list("pk", flat=True))
    subject = lesson_subject(lesson=lesson, course=course)
    text, html = render_email(
        template="lesson",
        subject=subject,
        context={
            "lesson": lesson,
            "course": course,
            "day": lesson.day + 1,
            # Counting live lessons only: an unpublished one is not part of the course.
            "position": lesson_ids.index(lesson.pk) + 1 if lesson.pk in lesson_ids else None,
            "lesson_count": len(lesson_ids),
            "blocks": [part for block in lesson.body if (part := _render_block(block)) is not None],
            "lesson_url": absolute_url(lesson.url or "/"),
            "course_url": absolute_url(course.url or "/"),
            "pause_url": _PAUSE_LINK_PLACEHOLDER,
        },
    )
    wire_bytes, pause_link_room = _wire_template(subject=subject, text=text, html=html)
    return RenderedLesson(
        subject=subject,
        text=text,
        html=html,
        wire_bytes=wire_bytes,
        pause_link_room=pause_link_room,
    )


def _wire_template(*, subject: str, text: str, html: str) -> tuple[bytes | None, int]:
    """The lesson's e-mail as Django's SMTP backend sends it, with the placeholders in it.

    Also returns how long a pause link may be before it would make a line too long for SMTP.
    None (each copy is then serialised on its own) when Django wrote a body as
    quoted-printable or base64, whose lines a longer link would break, or when a placeholder did
    not come through whole.
    """
    message = compose_email(
        to=_ADDRESS_PLACEHOLDER,
        subject=subject,
        text=text,
        html=html,
        headers=_lesson_headers(
            message_id=_MESSAGE_ID_PLACEHOLDER, pause_url=_PAUSE_LINK_PLACEHOLDER
        ),
    ).message()
    bodies_as_written = all(
        part["Content-Transfer-Encoding"] in ("7bit", "8bit")
        for part in message.walk()
        if not part.is_multipart()
    )
    # Django's MIME classes take linesep; the stubs don't know.
    wire_bytes = message.as_bytes(linesep="\r\n")  # type: ignore[call-arg]
    placeholder = _PAUSE_LINK_PLACEHOLDER.encode()
    placeholders_whole = (
        wire_bytes.count(_ADDRESS_PLACEHOLDER.encode()) == 1
        and wire_bytes.count(_MESSAGE_ID_PLACEHOLDER.encode()) == 1
        and wire_bytes.count(placeholder)
        == 1 + text.count(_PAUSE_LINK_PLACEHOLDER) + html.count(_PAUSE_LINK_PLACEHOLDER)
    )
    if not (bodies_as_written and placeholders_whole):
        return None, 0
    pause_link_room = min(
        (SMTP_LINE_LIMIT - len(line)) // line.count(placeholder) + len(placeholder)
        for line in wire_bytes.split(b"\r\n")
        if placeholder in line
    )
    return wire_bytes, pause_link_room


def build_lesson_email(
    delivery: LessonDelivery, connection=None, *, parts: LessonEmailParts | None = None
) -> SiteEmail:
    """The whole lesson as an e-mail: HTML (tables, inline styles) and plain text.

    A caller that builds many e-mails passes one ``parts`` for all of them.
    """
    parts = parts or LessonEmailParts()
    enrollment = delivery.enrollment
    return parts.lesson(delivery.lesson, enrollment.course).for_learner(
        address=enrollment.learner.email,
        message_id=delivery.message_id,
        pause_url=parts.pause_url(enrollment_id=enrollment.pk),
        connection=connection,
    )


def _render_block(block) -> RenderedBlock | None:
    """One lesson body block as e-mail-safe HTML and plain text; None to leave it out."""
    context = _block_context(block.block_type, block.value)
    if context is None:
        return None
    template = f"emails/blocks/{block.block_type}"
    return RenderedBlock(
        html=mark_safe(render_to_string(f"{template}.html", context)),  # noqa: S308 - our template
        text=render_to_string(f"{template}.txt", context).strip(),
    )


def _block_context(kind: str, value) -> dict | None:
    if kind == "text":
        return _rich_text_context(value)
    if kind == "image":
        if value is None:  # the image was deleted from the library
            return None
        rendition = value.get_rendition(LESSON_IMAGE_FILTER)
        return {
            "url": absolute_url(rendition.url),
            "width": min(rendition.width, EMAIL_CONTENT_WIDTH),
            "alt": value.contextual_alt_text or "",
            "decorative": value.decorative,
        }
    if kind == "video":
        # A link, never an iframe: mail clients don't play embeds, and fetching the embed's
        # thumbnail would call the video site for every e-mail.
        if value["video"] is None:
            return None
        return {"url": value["video"].url, "caption": value["caption"]}
    if kind == "code":
        return {"language": value["language"], "code": value["code"]}
    if kind == "callout":
        return {
            "kind": value["kind"],
            "colour": CALLOUT_COLOURS.get(value["kind"], CALLOUT_COLOURS["note"]),
            "title": value["title"],
            **_rich_text_context(value["text"]),
        }
    if kind == "download":
        document = value["document"]
        if document is None:
            return None
        return {
            "url": absolute_url(document.url),
            "label": value["label"] or document.title,
            "extension": document.file_extension.upper(),
        }
    # A block type added to LessonBodyBlock without an e-mail template yet: the lesson's web
    # version (linked from every e-mail) still shows it.
    return None


def _rich_text_context(value) -> dict:
    source = absolutize_urls(str(value))
    return {"html": mark_safe(style_rich_text(source)), "text": html_to_text(source)}  # noqa: S308


def absolutize_urls(markup: str) -> str:
    """Site-relative ``href``/``src`` (internal page and document links) made absolute."""
    return _RELATIVE_URL.sub(lambda m: f'{m[1]}="{absolute_url(m[2])}"', markup)


def style_rich_text(markup: str) -> str:
    """Give Wagtail's rich-text tags inline styles (it emits none of its own)."""
    return _STYLED_TAG.sub(lambda m: f'<{m[1]} style="{RICH_TEXT_STYLES[m[1]]}"', markup)


class _TextConverter(HTMLParser):
    """Rich text as readable plain text: paragraphs, list bullets, "text (url)" links."""

    BLOCK_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hrefs: list[str | None] = []
        self.link_text_start: list[int] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCK_TAGS:
            self.parts.append("\n\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "a":
            self.hrefs.append(dict(attrs).get("href"))
            self.link_text_start.append(len(self.parts))
        if tag in {"h3", "h4"}:
            self.parts.append("## ")

    def handle_endtag(self, tag):
        if tag in self.BLOCK_TAGS:
            self.parts.append("\n\n")
        elif tag == "a" and self.hrefs:
            href = self.hrefs.pop()
            start = self.link_text_start.pop()
            text = "".join(self.parts[start:]).strip()
            if href and href != text:
                self.parts.append(f" ({href})")

    def handle_data(self, data):
        self.parts.append(data)

    def text(self) -> str:
        raw = "".join(self.parts)
        lines = [" ".join(line.split()) for line in raw.splitlines()]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(markup: str) -> str:
    converter = _TextConverter()
    converter.feed(markup)
    converter.close()
    return converter.text()
