"""Courses: the Wagtail pages a creator writes, and the plain models that hold what learners do.

Pages (``CourseIndexPage``, ``CoursePage``, ``LessonPage``) hold content only. Enrolments,
deliveries and progress live in plain models that point at the pages, because publishing a
revision rewrites every page field (docs/architecture.md, invariant 2).
"""

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.template.response import TemplateResponse
from django.utils.cache import patch_cache_control
from django.utils.functional import cached_property
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalManyToManyField
from wagtail import blocks
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page
from wagtail.search import index
from wagtail.snippets.models import register_snippet

from config import pagecache
from config.money import CURRENCY_CHOICES, DEFAULT_CURRENCY, PricedMixin
from config.ownership import CreatorContentForm, CreatorContentMixin
from config.pagecache.restrictions import ViewRestrictionsKeptMixin
from config.publish_gate import PaidPublishGateMixin

from .blocks import CourseDescriptionBlock, FaqBlock, LessonBodyBlock
from .forms import CoursePageForm

CATALOG_PAGE_SIZE = 12


@register_snippet
class Topic(models.Model):
    """A subject a course is about ("Baking", "SQL"); the catalog filters by it."""

    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)

    panels = [FieldPanel("name"), FieldPanel("slug")]

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CourseIndexPage(ViewRestrictionsKeptMixin, Page):
    """The catalog: every live course across creators, filtered by topic and creator."""

    introduction = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction")]
    parent_page_types = ["home.HomePage"]
    subpage_types: list[str] = []
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        from .selectors import course_cards

        context = super().get_context(request, *args, **kwargs)
        courses = (
            CoursePage.objects.live()
            .public()
            .defer_streamfields()
            .select_related("cover_image")
            .prefetch_related("topics", "cover_image__renditions")
            .order_by(models.F("first_published_at").desc(nulls_last=True), "title", "pk")
        )
        creators = list(self._creators())
        topic = request.GET.get("topic", "")
        creator = request.GET.get("creator", "")
        if topic:
            courses = courses.filter(topics__slug=topic)
        if creator:
            chosen = next((page for page in creators if page.slug == creator), None)
            # An unknown creator matches nothing rather than everything.
            courses = courses.filter(path__startswith=chosen.path) if chosen else courses.none()
        page_obj = Paginator(courses, CATALOG_PAGE_SIZE).get_page(request.GET.get("page"))
        # Each course's storefront from the list above, by tree path: no query per course.
        creator_by_path = {page.path: page for page in creators}
        for course in page_obj:
            course.listed_creator = creator_by_path.get(course.path[: -Page.steplen])
        filters = {key: value for key, value in (("topic", topic), ("creator", creator)) if value}
        context.update(
            courses=page_obj,
            cards=course_cards(page_obj, creators=creators),
            page_obj=page_obj,
            topics=Topic.objects.all(),
            creators=creators,
            selected_topic=topic,
            selected_creator=creator,
            is_filtered=bool(filters),
            filter_query=urlencode(filters),
        )
        return context

    @staticmethod
    def _creators():
        """The storefronts that have a live course: the courses' parent pages.

        Found through the page tree rather than ``home.CreatorPage``: no app imports ``home``.
        """
        course_paths = CoursePage.objects.live().public().values_list("path", flat=True)
        parent_paths = {path[: -Page.steplen] for path in course_paths}
        return Page.objects.live().filter(path__in=parent_paths).order_by("title")


class ScheduleMode(models.TextChoices):
    RELATIVE = "relative", _("Relative: lesson N arrives N days after each learner enrols")
    COHORT = "cohort", _("Cohort: lesson N arrives N days after a fixed start date")


class CoursePage(
    PaidPublishGateMixin, CreatorContentMixin, PricedMixin, ViewRestrictionsKeptMixin, Page
):
    """A multi-day course on a creator's storefront; its lessons are its child pages."""

    tagline = models.CharField(max_length=160, blank=True)
    cover_image = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    description = StreamField(CourseDescriptionBlock(), blank=True)
    topics = ParentalManyToManyField(Topic, blank=True, related_name="courses")
    # In the currency's minor unit (cents; whole yen for JPY). 0 makes the course free.
    price_amount = models.PositiveIntegerField(
        _("price"), default=0, help_text=_("In cents (whole units for JPY). 0 = free.")
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default=DEFAULT_CURRENCY)
    schedule_mode = models.CharField(
        max_length=10, choices=ScheduleMode.choices, default=ScheduleMode.RELATIVE
    )
    cohort_start_date = models.DateField(
        null=True, blank=True, help_text=_("Cohort courses only: the date of day 0.")
    )
    outcomes = StreamField(
        [("outcome", blocks.CharBlock(max_length=200))],
        blank=True,
        verbose_name=_("what you will learn"),
    )
    faq = StreamField([("question", FaqBlock())], blank=True, verbose_name=_("FAQ"))

    content_panels = [
        *Page.content_panels,
        FieldPanel("tagline"),
        FieldPanel("cover_image"),
        FieldPanel("description"),
        FieldPanel("topics", widget=forms.CheckboxSelectMultiple),
        MultiFieldPanel(
            [FieldRowPanel([FieldPanel("price_amount"), FieldPanel("currency")])],
            heading=_("Price"),
        ),
        MultiFieldPanel(
            [FieldPanel("schedule_mode"), FieldPanel("cohort_start_date")],
            heading=_("Schedule"),
        ),
        FieldPanel("outcomes"),
        FieldPanel("faq"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("tagline"),
        index.SearchField("description"),
    ]

    parent_page_types = ["home.CreatorPage"]
    subpage_types = ["courses.LessonPage"]
    base_form_class = CoursePageForm
    # Besides its ancestors, the catalog lists it (config/pagecache purges both).
    page_cache_listed_on = ("courses.CourseIndexPage",)

    class Meta:
        verbose_name = _("course")

    @property
    def share_image(self):
        return self.cover_image

    def clean(self):
        super().clean()
        self.clean_price()
        if self.schedule_mode == ScheduleMode.COHORT and not self.cohort_start_date:
            raise ValidationError({"cohort_start_date": _("A cohort course needs a start date.")})

    def get_context(self, request, *args, **kwargs):
        from .selectors import enrollment_in, progress_for

        context = super().get_context(request, *args, **kwargs)
        # Titles, days and URLs only (cached): a lesson body never appears on the course page.
        outline = self.outline(request)
        enrollment = enrollment_in(user=request.user, course=self)
        progress = None
        if enrollment is not None and enrollment.status != Enrollment.Status.REFUNDED:
            progress = progress_for([enrollment], outlines={self.pk: outline})[0]
        context.update(
            # The storefront page: its title and URL are all the page shows.
            creator=self.storefront,
            syllabus=outline.lessons,
            enrollment=enrollment,
            progress=progress,
        )
        return context

    def serve(self, request, *args, **kwargs):
        response = super().serve(request, *args, **kwargs)
        if request.user.is_authenticated:
            # A learner's own enrolment and progress (docs/architecture.md, invariant 7): no
            # shared cache, no stored copy. Every anonymous visitor sees the same page, which
            # may be cached.
            patch_cache_control(response, private=True, no_store=True)
        return response

    def outline(self, request=None):
        """Its title, URL and live lessons as every reader sees them (``selectors.course_outline``,
        cached until the course or a lesson changes)."""
        from .selectors import outlines_of

        return outlines_of([self], request)[self.pk]

    @cached_property
    def storefront(self) -> Page:
        """The storefront page above (a plain Page: its title and URL), read once."""
        return self.get_parent()

    @property
    def creator_page(self):
        return self.get_parent().specific

    def lessons(self):
        """Live lessons in day order."""
        return LessonPage.objects.live().child_of(self).order_by("day", "path")


class LessonPage(CreatorContentMixin, ViewRestrictionsKeptMixin, Page):
    """One lesson of a course, released on day ``day`` of the learner's schedule."""

    base_form_class = CreatorContentForm

    # Stored as an offset (0 = the day of enrolment); learners see it as "Day 1" (display_day).
    day = models.PositiveSmallIntegerField(
        _("days after enrolment"),
        help_text=_(
            "0 = the day of enrolment (or the cohort's start date), shown to learners as Day 1."
        ),
    )
    summary = models.TextField(blank=True)
    estimated_minutes = models.PositiveSmallIntegerField(default=10)
    body = StreamField(LessonBodyBlock())

    content_panels = [
        *Page.content_panels,
        FieldRowPanel([FieldPanel("day"), FieldPanel("estimated_minutes")]),
        FieldPanel("summary"),
        FieldPanel("body"),
    ]
    # The body is searchable only by editors; the public search shows titles and summaries.
    search_fields = [*Page.search_fields, index.SearchField("summary")]

    parent_page_types = ["courses.CoursePage"]
    subpage_types: list[str] = []
    # The home page's routing keeps the page itself, without its body (home.models).
    kept_whole_by_route = True

    class Meta:
        verbose_name = _("lesson")

    @property
    def display_day(self) -> int:
        """The day learners see: "Day 1" is the day of enrolment, on the site and in e-mails."""
        return self.day + 1

    @property
    def course(self) -> CoursePage:
        return self.get_parent().specific

    def serve(self, request, *args, **kwargs):
        """Decide access on the server for this request, then render the page (body or reason).

        Every lesson response is private and not stored: the body is paid content, and the
        page differs per reader (docs/architecture.md, invariant 7).
        """
        from . import selectors, services

        request.is_preview = False
        outline = self.course_outline(request)
        access, progress = selectors.lesson_reading(user=request.user, lesson=self, outline=outline)
        if progress is not None and self.pk not in progress.opened_lesson_ids:
            # The first opening: one more query.
            services.record_lesson_opened(enrollment=progress.enrollment, lesson=self)
        response = TemplateResponse(
            request,
            self.get_template(request, *args, **kwargs),
            self.get_context(
                request, *args, outline=outline, access=access, progress=progress, **kwargs
            ),
        )
        patch_cache_control(response, private=True, no_store=True)
        return response

    def get_context(self, request, *args, outline=None, access=None, progress=None, **kwargs):
        from . import selectors

        context = super().get_context(request, *args, **kwargs)
        # The course's title and URL and its lessons, as every reader sees them (cached).
        outline = outline or self.course_outline(request)
        lessons = outline.lessons
        position = outline.position_of(self.pk)
        if getattr(request, "is_preview", False):
            # An editor previewing a draft in the Wagtail admin reads the body.
            access = selectors.LessonAccess(enrollment=None)
        elif access is None:
            access, progress = selectors.lesson_reading(
                user=request.user, lesson=self, outline=outline
            )
        context.update(
            lesson_body=self._body_html(preview=getattr(request, "is_preview", False))
            if access.allowed
            else "",
            course=outline,
            access=access,
            progress=progress,
            is_completed=progress is not None and self.pk in progress.completed_lesson_ids,
            previous_lesson=lessons[position - 1] if position else None,
            next_lesson=(
                lessons[position + 1]
                if position is not None and position + 1 < len(lessons)
                else None
            ),
            lesson_number=position + 1 if position is not None else None,
            lesson_count=len(lessons),
        )
        return context

    def course_outline(self, request):
        """The outline of this lesson's course (``selectors.course_outline``), found by tree
        path and URL path alone: the course page itself is not loaded."""
        from .selectors import course_outline

        parts = self.get_url_parts(request)
        lesson_url_path = parts[2] if parts is not None else "/"
        return course_outline(
            course_path=self.path[: -self.steplen],
            # The course's URL is the lesson's without its last segment (the lesson's slug).
            course_url_path=lesson_url_path.rstrip("/").rpartition("/")[0] + "/",
        )

    def _body_html(self, *, preview: bool) -> str:
        """The body, the same for every reader: rendered once per published revision (a
        draft in the admin's preview is rendered as it is)."""

        def render() -> str:
            return format_html_join("", "{}", ((block.render(),) for block in self.body))

        if preview or self.live_revision_id is None or self.last_published_at is None:
            return render()
        return pagecache.cached_fragment(
            "lesson-body",
            self.pk,
            self.live_revision_id,
            self.last_published_at.isoformat(),
            render=render,
        )


class Enrollment(models.Model):
    """One learner in one course. Its lesson deliveries are written in the same transaction."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        REFUNDED = "refunded", _("Refunded")

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    course = models.ForeignKey(CoursePage, on_delete=models.CASCADE, related_name="enrollments")
    # The payments app's Order, when the course was bought. A plain id rather than a foreign
    # key: courses never depends on payments (docs/architecture.md).
    order_id = models.UUIDField(null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    enrolled_at = models.DateTimeField()
    # Day 0 of this learner's schedule, as a date in the learner's zone (or the cohort start).
    start_date = models.DateField()
    # Whole sending days skipped while paused; every lesson moves this many days later.
    days_shifted = models.PositiveIntegerField(default=0)
    paused_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["learner", "course"], name="one_enrollment_per_course"),
            models.CheckConstraint(
                condition=~models.Q(status="paused") | models.Q(paused_at__isnull=False),
                name="paused_enrollment_has_paused_at",
            ),
        ]
        indexes = [models.Index(fields=["course", "status"])]

    def __str__(self) -> str:
        return f"{self.learner} in {self.course}"

    @property
    def has_access(self) -> bool:
        return self.status != self.Status.REFUNDED


class LessonDelivery(models.Model):
    """The outbox row for one lesson e-mail to one enrolled learner (architecture.md #5).

    ``pending`` rows become due at ``due_at``; the dispatcher claims them (``sending``, with a
    lease and a claim token) and the send task that carries that token marks them ``sent``. A
    lease that expires puts the row up for a new claim. ``due_at`` is when the lesson is meant
    to arrive and is never moved by a retry: a retry waits for ``retry_at`` instead, so that
    rows held up by an outage still go out in due order.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        PAUSED = "paused", _("Paused")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")
        CANCELLED = "cancelled", _("Cancelled")
        # Already due when the learner joined a cohort late (or the cohort moved earlier):
        # listed in one catch-up e-mail instead of arriving in a burst (services.enroll).
        CAUGHT_UP = "caught_up", _("In a catch-up e-mail")

    # States a schedule change may move: not yet handed to the mail server.
    RESCHEDULABLE = (Status.PENDING, Status.PAUSED)

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="deliveries")
    lesson = models.ForeignKey(LessonPage, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField()
    # Not claimed again before this (a transient failure's backoff); null when not retrying.
    retry_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Who owns a ``sending`` row: the claim's token, swapped for the send run's own token when
    # a send task checks the row out. A task carrying any other token sends nothing.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    # Every claim, staff retries included (the row's history).
    attempts = models.PositiveSmallIntegerField(default=0)
    # ``attempts`` when staff last retried the row: the automatic retry budget counts from here.
    attempts_before_staff_retry = models.PositiveSmallIntegerField(default=0, db_default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "lesson deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "lesson"], name="one_delivery_per_lesson_and_enrollment"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="sending") | models.Q(lease_expires_at__isnull=False),
                name="sending_delivery_has_lease",
            ),
        ]
        indexes = [
            # The dispatcher's two claim queries: due pending rows, and expired leases.
            models.Index(
                fields=["due_at"],
                condition=models.Q(status="pending"),
                name="delivery_pending_due_idx",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=models.Q(status="sending"),
                name="delivery_lease_idx",
            ),
            # Rows waiting out a mail-server outage, released at once when it is back.
            models.Index(
                fields=["retry_at"],
                condition=models.Q(status="pending", retry_at__isnull=False),
                name="delivery_retry_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lesson} to {self.enrollment.learner}"

    @property
    def message_id(self) -> str:
        """Stable per delivery, so a rare second send is recognisable as the same message."""
        return f"<lesson-delivery-{self.pk}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"


class LessonProgress(models.Model):
    """A learner marked a lesson complete (or opened it on the site)."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="progress")
    lesson = models.ForeignKey(LessonPage, on_delete=models.CASCADE, related_name="progress")
    first_opened_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "lesson progress"
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "lesson"], name="one_progress_per_lesson_and_enrollment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enrollment} - {self.lesson}"
