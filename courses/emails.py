"""The e-mails of the courses app: the daily lesson, and the course-completed note."""

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from config.mail import absolute_url, build_email

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


def send_course_completed(*, enrollment_id: int) -> None:
    """Congratulate a learner who completed every lesson (sent once: see complete_lesson)."""
    enrollment = Enrollment.objects.select_related("learner", "course").get(pk=enrollment_id)
    course = enrollment.course
    creator = course.creator_page
    build_email(
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
    ).send()


# The daily lesson


def pause_url(*, enrollment_id: int) -> str:
    """The absolute one-click pause link of an enrolment's lesson e-mails."""
    token = make_pause_token(enrollment_id=enrollment_id)
    return absolute_url(reverse("courses:pause_link", args=[token]))


def lesson_subject(*, lesson: LessonPage, course: CoursePage) -> str:
    """``Day 1: Feed your starter - Sourdough in 7 days``.

    Lesson ``day`` counts from 0 (the day of enrolment); people count from 1, so the lesson
    that arrives on the day of enrolment is "Day 1".
    """
    return f"Day {lesson.day + 1}: {lesson.title} - {course.title}"


@dataclass(frozen=True)
class RenderedBlock:
    html: SafeString
    text: str


class LessonEmailParts:
    """What every learner's copy of a lesson e-mail shares, worked out once per lesson.

    The send task builds up to 50 e-mails, mostly of the same lesson: the rendered body, the
    page URLs and the course's lesson list are the same in each, and the per-learner parts
    (address, pause link, Message-ID) are cheap.
    """

    def __init__(self) -> None:
        self._lesson_ids: dict[int, list[int]] = {}
        self._blocks: dict[int, list[RenderedBlock]] = {}
        self._urls: dict[int, str] = {}

    def course_lesson_ids(self, course: CoursePage) -> list[int]:
        """The course's live lessons, in day order."""
        if course.pk not in self._lesson_ids:
            self._lesson_ids[course.pk] = list(course.lessons().values_list("pk", flat=True))
        return self._lesson_ids[course.pk]

    def blocks(self, lesson: LessonPage) -> list[RenderedBlock]:
        if lesson.pk not in self._blocks:
            self._blocks[lesson.pk] = [
                part for block in lesson.body if (part := _render_block(block)) is not None
            ]
        return self._blocks[lesson.pk]

    def url(self, page: CoursePage | LessonPage) -> str:
        if page.pk not in self._urls:
            self._urls[page.pk] = absolute_url(page.url or "/")
        return self._urls[page.pk]


def build_lesson_email(
    delivery: LessonDelivery, connection=None, *, parts: LessonEmailParts | None = None
) -> EmailMultiAlternatives:
    """The whole lesson as an e-mail: HTML (tables, inline styles) and plain text.

    A caller that builds many e-mails passes one ``parts`` for all of them.
    """
    parts = parts or LessonEmailParts()
    enrollment = delivery.enrollment
    learner = enrollment.learner
    course = enrollment.course
    lesson = delivery.lesson
    lesson_ids = parts.course_lesson_ids(course)
    position = lesson_ids.index(lesson.pk) + 1 if lesson.pk in lesson_ids else None
    unsubscribe_url = pause_url(enrollment_id=enrollment.pk)
    return build_email(
        to=learner.email,
        subject=lesson_subject(lesson=lesson, course=course),
        template="lesson",
        context={
            "learner_name": learner.first_name,
            "lesson": lesson,
            "course": course,
            "day": lesson.day + 1,
            "position": position,
            "lesson_count": len(lesson_ids),
            "blocks": parts.blocks(lesson),
            "lesson_url": parts.url(lesson),
            "course_url": parts.url(course),
            "pause_url": unsubscribe_url,
        },
        headers={
            # Stable per delivery: a rare second send (a worker lost after sending) is the same
            # message to the recipient's mail client, not a new one.
            "Message-ID": delivery.message_id,
            # RFC 2369 and RFC 8058: the mail client's own "unsubscribe" button pauses the
            # course with one POST to the same link, no sign-in needed.
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
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
