"""The e-mails of the workshops app. Times are shown in the recipient's zone and the creator's.

The services call these inside the transaction that makes the change an e-mail reports: each
renders its e-mail there and writes it to the outbox (``accounts/outbox.py``), which sends it
after commit. Each re-reads its rows and re-checks the state it describes, so a sender called
for a state that is already gone (say, a reminder for a seat cancelled meanwhile) queues
nothing.
"""

import logging
from collections.abc import Callable
from datetime import datetime

from django.urls import reverse
from django.utils import timezone

from accounts.outbox import queue_message
from config.mail import absolute_url, build_email

from .calendar import build_invite
from .models import Registration, SeatInventory, WaitlistEntry, WorkshopPage
from .tokens import claim_token

logger = logging.getLogger(__name__)

INVITE_FILENAME = "workshop.ics"


def _context(workshop: WorkshopPage, learner, **extra) -> dict:
    """Dates render in the learner's zone (``_email`` activates it); templates show the
    creator's zone beside it with ``|timezone:creator_zone``."""
    return {
        "workshop": workshop,
        "learner": learner,
        "learner_name": learner.first_name or learner.email,
        "workshop_url": absolute_url(workshop.url or "/"),
        "dashboard_url": absolute_url(reverse("dashboard")),
        "learner_zone": learner.zone.key,
        "creator_zone": workshop.zone.key,
        "same_zone": learner.zone.key == workshop.zone.key,
        **extra,
    }


def _email(*, learner, subject: str, template: str, context: dict):
    # Every date in the message reads in the recipient's own zone.
    with timezone.override(learner.zone):
        return build_email(to=learner.email, subject=subject, template=template, context=context)


def _attach_invite(message, workshop: WorkshopPage, *, cancelled: bool = False) -> None:
    sequence = SeatInventory.objects.get(workshop=workshop).calendar_sequence
    method = "CANCEL" if cancelled else "PUBLISH"
    message.attach(
        INVITE_FILENAME,
        build_invite(workshop=workshop, sequence=sequence, cancelled=cancelled),
        f"text/calendar; method={method}",
    )


def _queue(
    *,
    registration: Registration,
    subject: str,
    template: str,
    invite: bool,
    cancelled_invite: bool = False,
    **extra,
):
    workshop = registration.workshop
    message = _email(
        learner=registration.learner,
        subject=subject,
        template=template,
        context=_context(workshop, registration.learner, registration=registration, **extra),
    )
    if invite:
        _attach_invite(message, workshop, cancelled=cancelled_invite)
    queue_message(message, kind=f"workshops.{template}", user=registration.learner)


def _registration(registration_id: int, *statuses: str) -> Registration | None:
    """The registration if it is (still) in one of ``statuses``; None means: queue nothing."""
    registration = Registration.objects.select_related("workshop", "learner").get(
        pk=registration_id
    )
    if registration.status not in statuses:
        logger.info(
            "Registration %s is %s now; e-mail not queued.", registration_id, registration.status
        )
        return None
    return registration


def invite_url(workshop: WorkshopPage) -> str:
    return absolute_url(reverse("workshops:invite", args=[workshop.pk]))


def join_redirect_url(workshop: WorkshopPage) -> str:
    """Our own link to the join URL: it checks the seat and the time at every click."""
    return absolute_url(reverse("workshops:join", args=[workshop.pk]))


def queue_registration_confirmed(*, registration_id: int) -> None:
    registration = _registration(registration_id, Registration.Status.CONFIRMED)
    if registration is None:
        return
    _queue(
        registration=registration,
        subject=f"You're registered: {registration.workshop.title}",
        template="workshop_confirmed",
        invite=True,
        invite_url=invite_url(registration.workshop),
    )


def queue_reminder(*, registration_id: int, hours_before: int) -> None:
    """The reminder carries the join link: our checked redirect, and an hour before the start
    (when the page shows it too) the workshop's own join URL."""
    registration = _registration(registration_id, Registration.Status.CONFIRMED)
    if registration is None:
        return
    workshop = registration.workshop
    _queue(
        registration=registration,
        subject=f"Starting in {hours_before} hour{'s' if hours_before != 1 else ''}: "
        f"{workshop.title}",
        template="workshop_reminder",
        invite=False,
        hours_before=hours_before,
        join_url=join_redirect_url(workshop) if workshop.join_url else "",
        direct_join_url=workshop.join_url if hours_before <= 1 else "",
    )


def queue_time_changed(*, registration_id: int, previous_starts_at: str = "") -> None:
    registration = _registration(registration_id, Registration.Status.CONFIRMED)
    if registration is None:
        return
    _queue(
        registration=registration,
        subject=f"New time: {registration.workshop.title}",
        template="workshop_time_changed",
        invite=True,
        previous_starts_at=(
            datetime.fromisoformat(previous_starts_at) if previous_starts_at else None
        ),
    )


def queue_recording_available(*, registration_id: int) -> None:
    registration = _registration(registration_id, Registration.Status.CONFIRMED)
    if registration is None:
        return
    _queue(
        registration=registration,
        subject=f"Recording available: {registration.workshop.title}",
        template="workshop_recording",
        invite=False,
    )


def queue_workshop_cancelled(*, registration_id: int) -> None:
    """To a registrant of a workshop the creator cancelled, with an invite that removes it."""
    registration = _registration(registration_id, Registration.Status.CANCELLED)
    if registration is None:
        return
    _queue(
        registration=registration,
        subject=f"Cancelled: {registration.workshop.title}",
        template="workshop_cancelled",
        invite=True,
        cancelled_invite=True,
        refunded=registration.paid and registration.confirmed_at is not None,
    )


def queue_waitlist_workshop_cancelled(*, entry_id: int) -> None:
    """To someone on the waitlist of a workshop the creator cancelled."""
    entry = WaitlistEntry.objects.select_related("workshop", "learner").get(pk=entry_id)
    if entry.status != WaitlistEntry.Status.CLOSED:
        return
    queue_message(
        _email(
            learner=entry.learner,
            subject=f"Cancelled: {entry.workshop.title}",
            template="workshop_cancelled",
            context=_context(entry.workshop, entry.learner, on_waitlist=True),
        ),
        kind="workshops.workshop_cancelled",
        user=entry.learner,
    )


def queue_late_payment_refunded(*, registration_id: int) -> None:
    registration = _registration(registration_id, Registration.Status.REFUNDED)
    if registration is None:
        return
    _queue(
        registration=registration,
        subject=f"Sold out, payment refunded: {registration.workshop.title}",
        template="workshop_late_payment_refunded",
        invite=False,
    )


def queue_waitlist_offer(*, entry_id: int) -> None:
    entry = WaitlistEntry.objects.select_related("workshop", "learner").get(pk=entry_id)
    if entry.status != WaitlistEntry.Status.OFFERED:
        return
    queue_message(
        _email(
            learner=entry.learner,
            subject=f"A seat is free for you: {entry.workshop.title}",
            template="workshop_waitlist_offer",
            context=_context(
                entry.workshop,
                entry.learner,
                claim_url=absolute_url(
                    reverse("workshops:claim_offer", args=[claim_token(entry.pk)])
                ),
                offer_expires_at=entry.offer_expires_at,
            ),
        ),
        kind="workshops.workshop_waitlist_offer",
        user=entry.learner,
    )


# The e-mails services may queue, by name (services/common.py::_queue_email).
SENDERS: dict[str, Callable[..., None]] = {
    "registration_confirmed": queue_registration_confirmed,
    "reminder": queue_reminder,
    "time_changed": queue_time_changed,
    "recording_available": queue_recording_available,
    "workshop_cancelled": queue_workshop_cancelled,
    "waitlist_workshop_cancelled": queue_waitlist_workshop_cancelled,
    "late_payment_refunded": queue_late_payment_refunded,
    "waitlist_offer": queue_waitlist_offer,
}
