"""The learner's actions on the site: enrol, mark a lesson complete, pause and resume.

Each view checks who may act, hands the change to a service and redirects back with a message.
Refusals are a 4xx page that says why, and change nothing (docs/architecture.md, invariant 8).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from . import selectors, services
from .models import CoursePage, Enrollment, LessonPage


def _refuse(request: HttpRequest, *, status: int, title: str, message: str, back_url: str = ""):
    return TemplateResponse(
        request,
        "courses/refused.html",
        {"title": title, "message": message, "back_url": back_url},
        status=status,
    )


DOWNLOAD_REFUSALS = {
    selectors.Denial.NOT_ENROLLED: gettext_lazy("It comes with the course: enrol to download it."),
    selectors.Denial.REFUNDED: gettext_lazy("It came with a course whose enrolment was refunded."),
    selectors.Denial.PAUSED: gettext_lazy("Your course is paused: resume it to download it."),
    selectors.Denial.NOT_RELEASED: gettext_lazy("It unlocks with its lesson."),
}


def download_refused(request: HttpRequest, denial: selectors.Denial) -> HttpResponse:
    """The answer to a request for a lesson's download that ``denial`` refuses."""
    if denial == selectors.Denial.SIGN_IN:
        return redirect_to_login(request.get_full_path())
    return _refuse(
        request,
        status=403,
        title=_("This download is part of a lesson"),
        message=str(DOWNLOAD_REFUSALS[denial]),
        back_url=reverse("dashboard"),
    )


def _next_url(request: HttpRequest, default: str) -> str:
    """Where to go after a POST: the form's ``next`` when it is ours, else ``default``."""
    candidate = request.POST.get("next", "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


@require_POST
def enroll(request: HttpRequest, course_id: int) -> HttpResponse:
    """Enrol the signed-in learner in a free course (paid ones go through checkout)."""
    course = CoursePage.objects.live().filter(pk=course_id).first()
    if course is None:
        raise Http404(_("There is no such course."))
    course_url = course.get_url(request) or "/"
    if not request.user.is_authenticated:
        # Back to the course page after signing in: the enrol URL itself only takes POSTs.
        return redirect_to_login(course_url)
    if not course.is_free:
        return _refuse(
            request,
            status=400,
            title=_("This course isn’t free"),
            message=_(
                "“%(course)s” costs %(price)s. Buy it from the course page; "
                "enrolling for free is only for free courses."
            )
            % {"course": course.title, "price": course.price_display},
            back_url=course_url,
        )
    existing = selectors.enrollment_in(user=request.user, course=course)
    try:
        services.enroll(learner=request.user, course=course)
    except services.EnrollmentError as refusal:
        messages.warning(request, str(refusal))
        return redirect(course_url)
    if existing is None:
        messages.success(
            request,
            _("You are enrolled in “%(course)s”. Your first lesson is on its way.")
            % {"course": course.title},
        )
    else:
        messages.info(
            request, _("You are already enrolled in “%(course)s”.") % {"course": course.title}
        )
    return redirect(course_url)


@require_POST
@login_required
def complete_lesson(request: HttpRequest, lesson_id: int) -> HttpResponse:
    """Mark a lesson done: only for a learner who may read it now."""
    lesson = get_object_or_404(LessonPage.objects.live(), pk=lesson_id)
    lesson_url = lesson.get_url(request) or "/"
    access = selectors.lesson_access(user=request.user, lesson=lesson)
    if not access.allowed or access.enrollment is None:
        return _refuse(
            request,
            status=403,
            title=_("You can’t complete this lesson yet"),
            message=_(
                "Only a learner who can read a lesson can mark it complete. "
                "Open the lesson to see why it is locked."
            ),
            back_url=lesson_url,
        )
    services.complete_lesson(enrollment=access.enrollment, lesson=lesson)
    messages.success(request, _("Lesson complete. Nice work!"))
    return redirect(_next_url(request, lesson_url))


def _own_enrollment(request: HttpRequest, enrollment_id: int) -> Enrollment:
    # Someone else's enrolment is "not found", not "forbidden": its id tells nothing.
    return get_object_or_404(Enrollment, pk=enrollment_id, learner=request.user)


@require_POST
@login_required
def pause_enrollment(request: HttpRequest, enrollment_id: int) -> HttpResponse:
    enrollment = services.pause(enrollment=_own_enrollment(request, enrollment_id))
    if enrollment.status == Enrollment.Status.PAUSED:
        messages.success(
            request,
            _("“%(course)s” is paused: no lessons arrive until you resume.")
            % {"course": enrollment.course.title},
        )
    else:
        messages.warning(request, _("Only an active course can be paused."))
    return redirect(_next_url(request, reverse("dashboard")))


@require_POST
@login_required
def resume_enrollment(request: HttpRequest, enrollment_id: int) -> HttpResponse:
    enrollment = services.resume(enrollment=_own_enrollment(request, enrollment_id))
    if enrollment.status == Enrollment.Status.ACTIVE:
        messages.success(
            request,
            _("“%(course)s” is running again: your next lesson arrives on schedule.")
            % {"course": enrollment.course.title},
        )
    else:
        messages.warning(request, _("Only a paused course can be resumed."))
    return redirect(_next_url(request, reverse("dashboard")))
