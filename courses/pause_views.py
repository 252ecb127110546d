"""Pausing a course from the link in a lesson e-mail: no sign-in, the signed token decides.

``GET`` shows a confirmation page (mail scanners and link previews fetch links, so a ``GET``
must never pause anything). ``POST`` pauses, and comes from two places: the confirmation page's
own form, which carries a CSRF token like every form on the site, and a mail client's RFC 8058
one-click request (body ``List-Unsubscribe=One-Click``, no cookies), which cannot carry one. The
view is therefore CSRF-exempt and checks CSRF itself for everything but the one-click request;
what authorises either is the signed token in the URL.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from . import services
from .models import Enrollment
from .tokens import BadPauseToken, read_pause_token

ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def pause_lessons(request: HttpRequest, token: str) -> HttpResponse:
    try:
        enrollment_id = read_pause_token(token)
    except BadPauseToken:
        return _refuse(
            request,
            400,
            _(
                "This pause link is not valid: it may have been cut short or changed. "
                "Open it again from the e-mail, or pause the course from your dashboard."
            ),
        )
    enrollment = (
        Enrollment.objects.select_related("course", "learner").filter(pk=enrollment_id).first()
    )
    if enrollment is None:
        return _refuse(
            request, 404, _("This enrolment no longer exists, so there is nothing to pause.")
        )
    if request.method == "POST":
        if request.POST.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE:
            return _pause(request, enrollment)
        return _pause_from_form(request, enrollment)
    return render(
        request,
        "courses/pause_confirm.html",
        {"enrollment": enrollment, "course": enrollment.course, "token": token},
    )


@csrf_protect
def _pause_from_form(request: HttpRequest, enrollment: Enrollment) -> HttpResponse:
    return _pause(request, enrollment)


def _pause(request: HttpRequest, enrollment: Enrollment) -> HttpResponse:
    # pause() returns quietly for a course that is already paused (a second click) or refunded.
    was_active = enrollment.status == Enrollment.Status.ACTIVE
    enrollment = services.pause(enrollment=enrollment)
    return render(
        request,
        "courses/pause_done.html",
        {
            "enrollment": enrollment,
            "course": enrollment.course,
            "already_paused": not was_active and enrollment.status == Enrollment.Status.PAUSED,
            "refunded": enrollment.status == Enrollment.Status.REFUNDED,
        },
    )


def _refuse(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(request, "courses/pause_invalid.html", {"message": message}, status=status)
