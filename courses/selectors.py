"""Reads of the courses app: who may read what, and progress for the dashboard."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.db.models import Count, Q
from django.utils import timezone

from .models import CoursePage, Enrollment, LessonDelivery, LessonPage


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
    now = now or timezone.now()
    if not user.is_authenticated:
        return LessonAccess(enrollment=None, denial=Denial.SIGN_IN)
    enrollment = Enrollment.objects.filter(learner=user, course_id=lesson.get_parent().pk).first()
    if enrollment is None:
        return LessonAccess(enrollment=None, denial=Denial.NOT_ENROLLED)
    if enrollment.status == Enrollment.Status.REFUNDED:
        return LessonAccess(enrollment=enrollment, denial=Denial.REFUNDED)
    if enrollment.status == Enrollment.Status.PAUSED:
        return LessonAccess(enrollment=enrollment, denial=Denial.PAUSED)
    delivery = enrollment.deliveries.filter(lesson=lesson).only("status", "due_at").first()
    if delivery is None:
        return LessonAccess(enrollment=enrollment, denial=Denial.NOT_RELEASED)
    if delivery.status != LessonDelivery.Status.SENT and delivery.due_at > now:
        return LessonAccess(
            enrollment=enrollment, denial=Denial.NOT_RELEASED, unlocks_at=delivery.due_at
        )
    return LessonAccess(enrollment=enrollment)


@dataclass(frozen=True)
class CourseProgress:
    enrollment: Enrollment
    lessons_total: int
    lessons_completed: int
    next_lesson: LessonPage | None
    next_lesson_at: datetime | None

    @property
    def percent(self) -> int:
        if not self.lessons_total:
            return 0
        return round(100 * self.lessons_completed / self.lessons_total)


def learner_courses(*, learner, now: datetime | None = None) -> list[CourseProgress]:
    """The learner's courses with progress and the next lesson, in a fixed number of queries."""
    now = now or timezone.now()
    enrollments = list(
        Enrollment.objects.filter(learner=learner)
        .exclude(status=Enrollment.Status.REFUNDED)
        .select_related("course")
        .annotate(
            lessons_completed=Count(
                "progress",
                filter=Q(progress__completed_at__isnull=False, progress__lesson__live=True),
            )
        )
        .order_by("-enrolled_at")
    )
    lesson_counts = dict(
        LessonPage.objects.live()
        .filter(deliveries__enrollment__in=enrollments)
        .values_list("deliveries__enrollment_id")
        .annotate(total=Count("pk", distinct=True))
    )
    upcoming: dict[int, LessonDelivery] = {}
    for delivery in (
        LessonDelivery.objects.filter(
            enrollment__in=enrollments,
            status__in=[*LessonDelivery.RESCHEDULABLE, LessonDelivery.Status.SENDING],
            lesson__live=True,
        )
        .select_related("lesson")
        .order_by("enrollment_id", "due_at")
    ):
        upcoming.setdefault(delivery.enrollment_id, delivery)
    return [
        CourseProgress(
            enrollment=enrollment,
            lessons_total=lesson_counts.get(enrollment.pk, 0),
            lessons_completed=enrollment.lessons_completed,
            next_lesson=upcoming[enrollment.pk].lesson if enrollment.pk in upcoming else None,
            next_lesson_at=upcoming[enrollment.pk].due_at if enrollment.pk in upcoming else None,
        )
        for enrollment in enrollments
    ]


def course_progress(*, learner, course: CoursePage) -> CourseProgress | None:
    """Progress in one course, for the course page's progress bar."""
    for progress in learner_courses(learner=learner):
        if progress.enrollment.course_id == course.pk:
            return progress
    return None
