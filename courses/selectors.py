"""Reads of the courses app: who may read what, progress for the dashboard, and the staff's
delivery health figures."""

import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import reduce

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Count, F, Q, QuerySet, Value
from django.db.models.functions import Length, Substr
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy, ngettext
from wagtail.models import Page, ReferenceIndex
from wagtail.permissions import policy_registry

from accounts import outbox
from accounts.models import OutboundEmail, User
from config import pagecache
from config.cards import Card
from config.mail_delivery import HEALTH_WINDOW
from config.ownership import collection_owner_ids, referenced_files

from .dispatch import unsent_due
from .models import CoursePage, Enrollment, LessonDelivery, LessonPage, LessonProgress


class Denial(StrEnum):
    """Why a lesson body is not shown; each has its own message on the locked page."""

    SIGN_IN = "sign_in"
    NOT_ENROLLED = "not_enrolled"
    REFUNDED = "refunded"
    PAUSED = "paused"
    NOT_RELEASED = "not_released"


@dataclass(frozen=True)
class LessonAccess:
    enrollment: Enrollment | None
    denial: Denial | None = None
    # For NOT_RELEASED: when the lesson unlocks (aware; show it in the reader's zone).
    unlocks_at: datetime | None = None

    @property
    def allowed(self) -> bool:
        return self.denial is None


def lesson_access(*, user, lesson: LessonPage, now: datetime | None = None) -> LessonAccess:
    """Decide on the server, for this request, whether ``user`` may read ``lesson`` now.

    Released means the lesson's delivery row is due (or was sent): the same moment the e-mail
    goes out, so the site never shows a lesson before the inbox does.
    """
    enrollment, refusal = _enrollment_for(user=user, lesson=lesson)
    if enrollment is None or refusal is not None:
        return refusal or LessonAccess(enrollment=None, denial=Denial.NOT_ENROLLED)
    release = (
        LessonDelivery.objects.filter(enrollment=enrollment, lesson=lesson)
        .values_list("status", "due_at")
        .first()
    )
    return _access_by_release(enrollment, Release(*release) if release else None, now)


def lesson_reading(
    *, user, lesson: LessonPage, outline: "CourseOutline", now: datetime | None = None
) -> tuple[LessonAccess, "CourseProgress | None"]:
    """The lesson page's reads: ``lesson_access`` and, when the lesson may be read, the
    reader's progress in its course (``outline``), in two queries together."""
    enrollment, refusal = _enrollment_for(user=user, lesson=lesson, course_pk=outline.pk)
    if enrollment is None or refusal is not None:
        return refusal or LessonAccess(enrollment=None, denial=Denial.NOT_ENROLLED), None
    progress = progress_for([enrollment], outlines={enrollment.course_id: outline}, now=now)[0]
    access = _access_by_release(enrollment, progress.releases.get(lesson.pk), now)
    return access, progress if access.allowed else None


def _enrollment_for(
    *, user, lesson: LessonPage, course_pk: int | None = None
) -> tuple[Enrollment | None, LessonAccess | None]:
    """The reader's enrolment in the lesson's course, and the refusal its state alone decides.
    ``course_pk``: the course's id when the caller knows it (else found by tree path)."""
    if not user.is_authenticated:
        return None, LessonAccess(enrollment=None, denial=Denial.SIGN_IN)
    if course_pk:
        enrollment = Enrollment.objects.filter(learner=user, course_id=course_pk).first()
    else:
        # The course is the lesson's parent: found by tree path in the same query, not loaded.
        enrollment = Enrollment.objects.filter(
            learner=user, course__path=lesson.path[: -lesson.steplen]
        ).first()
    if enrollment is None:
        return None, None
    if enrollment.status == Enrollment.Status.REFUNDED:
        return enrollment, LessonAccess(enrollment=enrollment, denial=Denial.REFUNDED)
    if enrollment.status == Enrollment.Status.PAUSED:
        return enrollment, LessonAccess(enrollment=enrollment, denial=Denial.PAUSED)
    return enrollment, None


def _access_by_release(
    enrollment: Enrollment, release: "Release | None", now: datetime | None
) -> LessonAccess:
    if release is None:
        return LessonAccess(enrollment=enrollment, denial=Denial.NOT_RELEASED)
    if not release.is_released(now or timezone.now()):
        return LessonAccess(
            enrollment=enrollment, denial=Denial.NOT_RELEASED, unlocks_at=release.due_at
        )
    return LessonAccess(enrollment=enrollment)


def _lesson_creator_id(lesson: LessonPage) -> int | None:
    """The account that owns the storefront above the lesson's course (none: staff's)."""
    storefront = Page.objects.filter(path=lesson.path[: -2 * Page.steplen]).specific().first()
    return getattr(storefront, "creator_id", None)


def download_access(*, user, document, now: datetime | None = None) -> LessonAccess | None:
    """Whether ``user`` may download ``document``; decided from the document's owner.

    - Whoever may edit the document (its creator, staff) always may.
    - A creator's document (one in a creator's own collections) goes to whoever may read, now,
      a *published* lesson of that creator whose published body uses it; to nobody else.
      Drafts and revisions never count: only the live page's own content does, and a lesson
      by another creator that points at it grants nothing.
    - A staff document (in no creator's collection) used by live lessons goes to their
      readers, unless a live page that is not a lesson also uses it (then it is public);
      one no live lesson uses is left to Wagtail's own rules (None).
    """
    document_policy = policy_registry.get_by_type(type(document))
    if user.is_authenticated and document_policy.user_has_permission_for_instance(
        user, "change", document
    ):
        return LessonAccess(enrollment=None)
    owner_ids = collection_owner_ids(document.collection, app_label="wagtaildocs")
    referring_ids = {
        int(object_id)
        for object_id in ReferenceIndex.get_references_to(document)
        .filter(base_content_type=ContentType.objects.get_for_model(Page))
        .values_list("object_id", flat=True)
    }
    lessons = [
        lesson
        for lesson in LessonPage.objects.live().filter(pk__in=referring_ids)
        # The reference index may record a draft's references; the live row is what counts.
        if document.pk in referenced_files(lesson)["wagtaildocs"]
        and (not owner_ids or _lesson_creator_id(lesson) in owner_ids)
    ]
    if not owner_ids:
        public_page_uses_it = (
            Page.objects.filter(pk__in=referring_ids).live().not_type(LessonPage).exists()
        )
        if not lessons or public_page_uses_it:
            return None
    refusal: LessonAccess | None = None
    for lesson in lessons:
        if user.is_authenticated and lesson.permissions_for_user(user).can_edit():
            return LessonAccess(enrollment=None)
        access = lesson_access(user=user, lesson=lesson, now=now)
        if access.allowed:
            return access
        refusal = refusal or access
    if refusal is None:  # a creator's document that no published lesson of theirs offers
        denial = Denial.NOT_ENROLLED if user.is_authenticated else Denial.SIGN_IN
        refusal = LessonAccess(enrollment=None, denial=denial)
    return refusal


@dataclass(frozen=True)
class OutlineLesson:
    pk: int
    title: str
    url: str
    display_day: int
    estimated_minutes: int


@dataclass(frozen=True)
class CourseOutline:
    """What the course page and every lesson page show alike: the course's title and URL, and
    its live lessons in day order. Kept until the course or one of its lessons changes."""

    pk: int
    title: str
    url: str
    lessons: tuple[OutlineLesson, ...]

    def position_of(self, lesson_pk: int) -> int | None:
        return next((i for i, lesson in enumerate(self.lessons) if lesson.pk == lesson_pk), None)


# Part of the cache key: a change to the outline's fields must not read older pickles.
OUTLINE_VERSION = 2


def course_outline(*, course_path: str, course_url_path: str) -> CourseOutline:
    """The outline of the course at tree path ``course_path``, whose URL path (on this site) is
    ``course_url_path``: read and rendered once, then kept until a publish, unpublish, move or
    delete of the course or of a lesson purges that URL path (config/pagecache)."""
    return course_outlines({course_path: course_url_path})[course_path]


def course_outlines(url_paths: Mapping[str, str]) -> dict[str, CourseOutline]:
    """The outlines of several courses (``url_paths``: tree path -> URL path), by tree path:
    the kept ones in one round trip to the cache, the others read in two queries together."""

    def read(course_paths: list[str]) -> dict[str, CourseOutline]:
        courses = CoursePage.objects.defer_streamfields().filter(path__in=course_paths)
        lessons = (
            LessonPage.objects.live()
            .filter(
                reduce(
                    operator.or_,
                    (
                        Q(path__startswith=path, depth=len(path) // Page.steplen + 1)
                        for path in course_paths
                    ),
                )
            )
            .defer_streamfields()
            .order_by("day", "path")
        )
        lessons_by_course = defaultdict(list)
        for lesson in lessons:
            lessons_by_course[lesson.path[: -Page.steplen]].append(
                OutlineLesson(
                    pk=lesson.pk,
                    title=lesson.title,
                    url=lesson.url or "",
                    display_day=lesson.display_day,
                    estimated_minutes=lesson.estimated_minutes,
                )
            )
        outlines = {
            course.path: CourseOutline(
                pk=course.pk,
                title=course.title,
                url=course.url or "",
                lessons=tuple(lessons_by_course[course.path]),
            )
            for course in courses
        }
        # An admin preview of a course not saved yet has no row.
        empty = CourseOutline(pk=0, title="", url="", lessons=())
        return {path: outlines.get(path, empty) for path in course_paths}

    return pagecache.kept_many_until_purged(
        f"course-outline-{OUTLINE_VERSION}", url_paths, render=read
    )


def outlines_of(courses: Iterable[CoursePage], request=None) -> dict[int, CourseOutline]:
    """The outlines of these courses (``course_outlines``), by course id."""
    courses = list(courses)
    url_paths = {}
    for course in courses:
        parts = course.get_url_parts(request)
        url_paths[course.path] = parts[2] if parts is not None else "/"
    kept = course_outlines(url_paths)
    return {course.pk: kept[course.path] for course in courses}


@dataclass(frozen=True)
class Release:
    """When one lesson reaches one learner: its delivery row's status and due time."""

    status: str
    due_at: datetime

    def is_released(self, now: datetime) -> bool:
        # Sent, or due: the site never shows a lesson before the inbox does.
        return self.status == LessonDelivery.Status.SENT or self.due_at <= now


@dataclass(frozen=True)
class CourseProgress:
    enrollment: Enrollment
    # The course's title, URL and live lessons (``course_outline``).
    outline: CourseOutline
    lessons_total: int
    lessons_completed: int
    # The first lesson not yet released to this learner, and when it will be.
    next_lesson: OutlineLesson | None
    next_lesson_at: datetime | None
    # The first released lesson the learner has not completed: where "continue" leads.
    continue_lesson: OutlineLesson | None = None
    completed_lesson_ids: frozenset[int] = frozenset()
    # The lessons the learner opened on the site or completed (those with a progress row).
    opened_lesson_ids: frozenset[int] = frozenset()
    # Every delivery row of the enrolment by lesson id, live lessons or not.
    releases: Mapping[int, Release] = field(default_factory=dict)

    @property
    def percent(self) -> int:
        if not self.lessons_total:
            return 0
        return round(100 * self.lessons_completed / self.lessons_total)


ENROLLMENT_FIELDS = [field.name for field in Enrollment._meta.concrete_fields]
# What ``outlines_of`` reads of a course: its tree path, and what Wagtail builds its URL from.
OUTLINE_LOOKUP_FIELDS = ("path", "depth", "url_path", "locale", "content_type")


def dashboard_enrollments(*, learner) -> QuerySet[Enrollment]:
    """Every enrolment of the learner for "My learning", refunded ones included (the page marks
    them refunded rather than letting a course vanish without a trace), newest first. Their
    courses come along with only what finds their outline (``progress_for``)."""
    return (
        Enrollment.objects.filter(learner=learner)
        .select_related("course")
        # Where the course is in the tree and on the site: its outline has the rest.
        .only(*ENROLLMENT_FIELDS, *(f"course__{name}" for name in OUTLINE_LOOKUP_FIELDS))
        .order_by("-enrolled_at", "-pk")
    )


RELEASE, PROGRESS = "release", "progress"


def _releases_and_progress(enrollments: list[Enrollment]) -> QuerySet:
    """Rows of (kind, enrollment id, lesson id, status, moment) in one round trip: each delivery
    row (RELEASE: its status and due time) and each progress row (PROGRESS: its completion time,
    or None for a lesson only opened)."""
    releases = (
        LessonDelivery.objects.filter(enrollment__in=enrollments)
        .annotate(kind=Value(RELEASE, output_field=CharField()), moment=F("due_at"))
        .values_list("kind", "enrollment_id", "lesson_id", "status", "moment")
    )
    progress = (
        LessonProgress.objects.filter(enrollment__in=enrollments)
        .annotate(
            kind=Value(PROGRESS, output_field=CharField()),
            status=Value("", output_field=CharField()),
            moment=F("completed_at"),
        )
        .values_list("kind", "enrollment_id", "lesson_id", "status", "moment")
    )
    return releases.union(progress, all=True)


def progress_for(
    enrollments: Iterable[Enrollment],
    *,
    outlines: Mapping[int, CourseOutline] | None = None,
    request=None,
    now: datetime | None = None,
) -> list[CourseProgress]:
    """Progress and the next lessons of each enrolment, in two queries however many there are.

    A course's lessons are those of its outline (its live lessons, kept by ``course_outline``)
    that have a delivery row for the enrolment (every live lesson has one: enrolling and
    publishing write them). ``outlines``: the ones the caller has, by course id; the others
    are read through ``enrollment.course`` (select it with the enrolments) and ``request``.
    """
    now = now or timezone.now()
    enrollments = list(enrollments)
    outlines = dict(outlines or {})
    outlines.update(
        outlines_of(
            (
                enrollment.course
                for enrollment in enrollments
                if enrollment.course_id not in outlines
            ),
            request,
        )
    )
    releases: dict[int, dict[int, Release]] = defaultdict(dict)
    completed: dict[int, set[int]] = defaultdict(set)
    opened: dict[int, set[int]] = defaultdict(set)
    for kind, enrollment_id, lesson_id, status, moment in _releases_and_progress(enrollments):
        if kind == RELEASE:
            releases[enrollment_id][lesson_id] = Release(status, moment)
        else:
            # Every progress row, not only the completed ones: the lesson page needs to know
            # whether this is the first opening without asking again.
            opened[enrollment_id].add(lesson_id)
            if moment is not None:
                completed[enrollment_id].add(lesson_id)

    result = []
    for enrollment in enrollments:
        outline = outlines[enrollment.course_id]
        own = releases[enrollment.pk]
        done = completed[enrollment.pk]
        lessons = [lesson for lesson in outline.lessons if lesson.pk in own]
        released = [lesson for lesson in lessons if own[lesson.pk].is_released(now)]
        upcoming = sorted(
            (lesson for lesson in lessons if not own[lesson.pk].is_released(now)),
            key=lambda lesson: own[lesson.pk].due_at,
        )
        result.append(
            CourseProgress(
                enrollment=enrollment,
                outline=outline,
                lessons_total=len(lessons),
                lessons_completed=sum(1 for lesson in lessons if lesson.pk in done),
                next_lesson=upcoming[0] if upcoming else None,
                next_lesson_at=own[upcoming[0].pk].due_at if upcoming else None,
                continue_lesson=next(
                    (lesson for lesson in released if lesson.pk not in done), None
                ),
                completed_lesson_ids=frozenset(done),
                opened_lesson_ids=frozenset(opened[enrollment.pk]),
                releases=own,
            )
        )
    return result


def enrollment_in(*, user, course: CoursePage) -> Enrollment | None:
    """The user's enrolment in ``course``, refunded ones included; None for visitors."""
    if not user.is_authenticated:
        return None
    return Enrollment.objects.filter(learner=user, course=course).first()


def course_cards(
    courses: Iterable[CoursePage], *, creators: Iterable[Page] | None = None
) -> list[Card]:
    """Cards for a list of courses, in three queries whatever its length.

    ``creators`` are storefront pages already loaded (the catalog has them); the missing ones
    are read in one query, and the live lessons of every course are counted in one more.
    """
    courses = list(courses)
    parent_paths = {course.path[: -Page.steplen] for course in courses}
    creator_by_path = {page.path: page for page in creators or ()}
    missing = parent_paths - creator_by_path.keys()
    if missing:
        creator_by_path.update({page.path: page for page in Page.objects.filter(path__in=missing)})
    lesson_counts = dict(
        LessonPage.objects.live()
        .annotate(course_path=Substr("path", 1, Length("path") - Page.steplen))
        .filter(course_path__in=[course.path for course in courses])
        .order_by()  # no ordering column in the GROUP BY
        .values_list("course_path")
        .annotate(count=Count("pk"))
        .values_list("course_path", "count")
    )
    cards = []
    for course in courses:
        lessons = lesson_counts.get(course.path, 0)
        cards.append(
            Card(
                page=course,
                kind="course",
                image=course.cover_image,
                creator=creator_by_path.get(course.path[: -Page.steplen]),
                summary=course.tagline,
                price_display=course.price_display,
                is_free=course.is_free,
                length=ngettext("%(count)d lesson", "%(count)d lessons", lessons)
                % {"count": lessons}
                if lessons
                else "",
                tags=[topic.name for topic in course.topics.all()],
            )
        )
    return cards


# Delivery health (the staff's page in the admin, admin_views.DeliveryHealthView)

# Rows that were never going to be sent at their due time: nobody should count them as late.
NOT_SENT_ON_PURPOSE = [
    LessonDelivery.Status.PAUSED,
    LessonDelivery.Status.SKIPPED,
    LessonDelivery.Status.CANCELLED,
    LessonDelivery.Status.CAUGHT_UP,
]


@dataclass(frozen=True)
class OutboxHealth:
    """One outbox's figures, each with a link to the rows behind it (``*_url``)."""

    name: str
    due_last_hour: int
    sent_of_due_last_hour: int
    due_last_hour_url: str
    unsent_due: int
    unsent_due_url: str
    # The longest-waiting due message that is not sent yet, and since when it is due.
    oldest_unsent_url: str | None
    oldest_unsent_due_at: datetime | None
    oldest_unsent_age: timedelta | None
    failing: int  # waiting for a retry after a transient failure
    failing_url: str
    failed: int  # given up on: staff retry them
    failed_url: str


@dataclass(frozen=True)
class DeliveryHealth:
    outboxes: list[OutboxHealth]
    bouncing_addresses: int
    bouncing_url: str


def _listing(url_name: str, **filters: str) -> str:
    return f"{reverse(url_name)}?{urlencode(filters)}" if filters else reverse(url_name)


def _outbox_health(
    *,
    name: str,
    rows: QuerySet,
    not_sent_on_purpose: Sequence[str],
    waiting: QuerySet,
    listing: str,
    row_url: str,
    failed_filter: dict[str, str],
    now: datetime,
) -> OutboxHealth:
    """One outbox's figures, in three queries whatever the table's size. Both outboxes share
    the statuses ``pending``/``sent``/``failed`` and the ``due_at``/``retry_at`` columns."""
    in_window = Q(due_at__gt=now - HEALTH_WINDOW, due_at__lte=now) & ~Q(
        status__in=not_sent_on_purpose
    )
    counts = rows.aggregate(
        due_last_hour=Count("pk", filter=in_window),
        sent_of_due_last_hour=Count("pk", filter=in_window & Q(status="sent")),
        failing=Count("pk", filter=Q(status="pending", retry_at__isnull=False)),
        failed=Count("pk", filter=Q(status="failed")),
    )
    oldest = waiting.order_by("due_at", "pk").only("pk", "due_at").first()
    return OutboxHealth(
        name=name,
        due_last_hour=counts["due_last_hour"],
        sent_of_due_last_hour=counts["sent_of_due_last_hour"],
        due_last_hour_url=_listing(listing, health="due_last_hour"),
        unsent_due=waiting.count(),
        unsent_due_url=_listing(listing, health="unsent_due"),
        oldest_unsent_url=reverse(row_url, args=[oldest.pk]) if oldest else None,
        oldest_unsent_due_at=oldest.due_at if oldest else None,
        oldest_unsent_age=now - oldest.due_at if oldest else None,
        failing=counts["failing"],
        failing_url=_listing(listing, health="retrying"),
        failed=counts["failed"],
        failed_url=_listing(listing, **failed_filter),
    )


def delivery_health(*, now: datetime | None = None) -> DeliveryHealth:
    """Is e-mail getting out? The figures of every outbox, and the addresses that bounce.

    Every query of the page is here, a fixed number however many rows there are. Another outbox
    adds its own ``OutboxHealth`` to the list.
    """
    now = now or timezone.now()
    return DeliveryHealth(
        outboxes=[
            _outbox_health(
                name=str(gettext_lazy("Lesson e-mails")),
                rows=LessonDelivery.objects.all(),
                not_sent_on_purpose=NOT_SENT_ON_PURPOSE,
                waiting=unsent_due(now=now),
                listing="lessondelivery:index",
                row_url="lessondelivery:inspect",
                failed_filter={"status": LessonDelivery.Status.FAILED},
                now=now,
            ),
            _outbox_health(
                name=str(gettext_lazy("Other e-mails (receipts, workshops, announcements...)")),
                rows=OutboundEmail.objects.all(),
                not_sent_on_purpose=[OutboundEmail.Status.SKIPPED],
                waiting=outbox.unsent_due(now=now),
                listing="admin:accounts_outboundemail_changelist",
                row_url="admin:accounts_outboundemail_change",
                failed_filter={"status__exact": OutboundEmail.Status.FAILED},
                now=now,
            ),
        ],
        bouncing_addresses=User.objects.filter(email_bouncing_since__isnull=False).count(),
        bouncing_url=_listing("admin:accounts_user_changelist", bouncing="yes"),
    )
