"""The e-mails of the courses app: the daily lesson, and the course-completed note."""

import re
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from config.mail import absolute_url, build_email, compose_email, render_email

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


# Stand-ins used while one rendering serves many learners; random, so that no lesson text or
# URL can contain them by chance.
_PAUSE_LINK_STAND_IN = f"pause-link-{uuid.uuid4().hex}"
_TOKEN_STAND_IN = f"token-{uuid.uuid4().hex}"


def _pause_url_pattern() -> str:
    return absolute_url(reverse("courses:pause_link", args=[_TOKEN_STAND_IN]))


def pause_url(*, enrollment_id: int) -> str:
    """The absolute one-click pause link of an enrolment's lesson e-mails."""
    token = make_pause_token(enrollment_id=enrollment_id)
    return _pause_url_pattern().replace(_TOKEN_STAND_IN, token)


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


@dataclass(frozen=True)
class RenderedLesson:
    """A lesson's e-mail with ``_PAUSE_LINK_STAND_IN`` where each learner's pause link goes."""

    subject: str
    text: str
    html: str


class LessonEmailParts:
    """What every learner's copy of a lesson e-mail shares, worked out once per lesson.

    A send task builds up to 50 e-mails, mostly of one lesson. Their subject and bodies are the
    same but for the learner's pause link, so they are rendered once, with a stand-in for the
    link that each copy replaces with its learner's own (rendering is most of the cost of an
    e-mail). The pause link's URL pattern is reversed once as well.
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
        token = make_pause_token(enrollment_id=enrollment_id)
        return self._pause_url_pattern.replace(_TOKEN_STAND_IN, token)


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
            "pause_url": _PAUSE_LINK_STAND_IN,
        },
    )
    return RenderedLesson(subject=subject, text=text, html=html)


def build_lesson_email(
    delivery: LessonDelivery, connection=None, *, parts: LessonEmailParts | None = None
) -> EmailMultiAlternatives:
    """The whole lesson as an e-mail: HTML (tables, inline styles) and plain text.

    A caller that builds many e-mails passes one ``parts`` for all of them.
    """
    parts = parts or LessonEmailParts()
    enrollment = delivery.enrollment
    rendered = parts.lesson(delivery.lesson, enrollment.course)
    unsubscribe_url = parts.pause_url(enrollment_id=enrollment.pk)
    return compose_email(
        to=enrollment.learner.email,
        subject=rendered.subject,
        text=rendered.text.replace(_PAUSE_LINK_STAND_IN, unsubscribe_url),
        html=rendered.html.replace(_PAUSE_LINK_STAND_IN, escape(unsubscribe_url)),
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
