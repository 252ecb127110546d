"""The learner's actions on a workshop. Thin: each view checks its input, calls one service and
says what happened. Bad input gets a clear message and changes nothing (architecture.md #8)."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import services
from .calendar import build_invite
from .models import Registration, WaitlistEntry, WorkshopPage
from .selectors import workshop_page_state
from .tokens import entry_id_from_claim_token


def _workshop(workshop_id: int) -> WorkshopPage:
    return get_object_or_404(WorkshopPage.objects.live(), pk=workshop_id)


def _back_to(workshop: WorkshopPage) -> HttpResponseRedirect:
    return redirect(workshop.url or "/")


def learner_action(view):
    """POST only, signed in; an anonymous visitor is sent to sign in and back to the page
    (not to this URL: after signing in the browser would GET it)."""

    @require_POST
    @wraps(view)
    def wrapper(request: HttpRequest, workshop_id: int) -> HttpResponse:
        workshop = _workshop(workshop_id)
        if not request.user.is_authenticated:
            messages.info(request, _("Sign in first, then try again."))
            return redirect_to_login(workshop.url or "/")
        try:
            return view(request, workshop)
        except services.WorkshopError as error:
            messages.error(request, str(error))
            return _back_to(workshop)

    return wrapper


@learner_action
def register(request, workshop: WorkshopPage) -> HttpResponse:
    registration = services.register_free(learner=request.user, workshop=workshop)
    if registration.status == Registration.Status.CONFIRMED:
        messages.success(
            request, _("You're registered. The confirmation with a calendar invite is on its way.")
        )
    return _back_to(workshop)


@learner_action
def cancel(request, workshop: WorkshopPage) -> HttpResponse:
    registration = Registration.objects.filter(
        workshop=workshop, learner=request.user, status__in=Registration.HOLDS_SEAT
    ).first()
    if registration is None:
        messages.error(request, _("You have no seat at this workshop to cancel."))
        return _back_to(workshop)
    services.cancel_registration(registration=registration)
    if registration.paid and registration.status == Registration.Status.CONFIRMED:
        messages.success(request, _("Your seat is cancelled. Your payment will be refunded."))
    else:
        messages.success(request, _("Your seat is cancelled."))
    return _back_to(workshop)


@learner_action
def join_waitlist(request, workshop: WorkshopPage) -> HttpResponse:
    services.join_waitlist(learner=request.user, workshop=workshop)
    messages.success(
        request, _("You're on the waitlist. We'll e-mail you as soon as a seat is yours to take.")
    )
    return _back_to(workshop)


@learner_action
def leave_waitlist(request, workshop: WorkshopPage) -> HttpResponse:
    entry = WaitlistEntry.objects.filter(
        workshop=workshop, learner=request.user, status__in=WaitlistEntry.OPEN
    ).first()
    if entry is None:
        messages.error(request, _("You're not on the waitlist of this workshop."))
        return _back_to(workshop)
    services.leave_waitlist(entry=entry)
    messages.success(request, _("You left the waitlist."))
    return _back_to(workshop)


def _message(request: HttpRequest, title: str, text: str, *, status: int) -> TemplateResponse:
    response = TemplateResponse(
        request, "workshops/message.html", {"title": title, "text": text}, status=status
    )
    add_never_cache_headers(response)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def claim_offer(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the waitlist offer e-mail: GET shows what is on offer, POST takes it."""
    entry_id = entry_id_from_claim_token(token)
    entry = (
        WaitlistEntry.objects.select_related("workshop").filter(pk=entry_id).first()
        if entry_id is not None
        else None
    )
    if entry is None:
        return _message(
            request,
            _("This link does not work"),
            _(
                "The link is incomplete or was changed. Open it again from the e-mail, "
                "or copy the whole address."
            ),
            status=400,
        )
    if entry.learner_id != request.user.pk:
        return _message(
            request,
            _("This offer is for someone else"),
            _("Sign in with the account the offer e-mail was sent to."),
            status=403,
        )
    workshop = entry.workshop
    state = workshop_page_state(workshop=workshop, user=request.user)
    if request.method == "POST":
        # The page's paid-seat button posts to payments' checkout instead; a POST here for a
        # paid seat holds it, and the workshop page then offers "Complete payment".
        try:
            registration = services.claim_offer(entry=entry, learner=request.user)
        except services.WorkshopError as error:
            messages.error(request, str(error))
            return _back_to(workshop)
        if registration.status == Registration.Status.HELD:
            messages.success(request, _("The seat is held for you: pay to confirm it."))
        else:
            messages.success(request, _("The seat is yours. See you there!"))
        return _back_to(workshop)
    context = {"entry": entry, "workshop": workshop, "state": state}
    response = TemplateResponse(request, "workshops/claim_offer.html", context)
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_GET
def invite(request: HttpRequest, workshop_id: int) -> HttpResponse:
    """The calendar invite (.ics), for confirmed registrants."""
    workshop = _workshop(workshop_id)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not Registration.objects.filter(
        workshop=workshop, learner=request.user, status=Registration.Status.CONFIRMED
    ).exists():
        return _message(
            request,
            _("No invite for you yet"),
            _("The calendar invite is for learners with a confirmed seat at this workshop."),
            status=403,
        )
    inventory = services.inventory_for(workshop)
    body = build_invite(
        workshop=workshop,
        sequence=inventory.calendar_sequence,
        cancelled=inventory.cancelled_at is not None,
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="workshop-{workshop.pk}.ics"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_GET
def join(request: HttpRequest, workshop_id: int) -> HttpResponse:
    """The join link of the reminder e-mails: checked at every click, then off to the call."""
    workshop = _workshop(workshop_id)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    state = workshop_page_state(workshop=workshop, user=request.user)
    if state.join_url:
        response: HttpResponse = HttpResponseRedirect(state.join_url)
        patch_cache_control(response, private=True, no_store=True)
        return response
    if not state.confirmed:
        messages.error(request, _("The join link is for learners with a confirmed seat."))
    elif state.cancelled:
        messages.error(request, _("This workshop was cancelled."))
    elif state.has_ended:
        messages.info(request, _("This workshop has ended."))
    elif not workshop.join_url:
        messages.info(request, _("The creator has not added a join link yet."))
    else:
        messages.info(request, _("The join link opens an hour before the start. See you then!"))
    return _back_to(workshop)
