"""The e-mails of the workshops app. Times are shown in the recipient's zone and the creator's."""

import zoneinfo

from django.urls import reverse
from django.utils import timezone

from config.mail import absolute_url, build_email

from .calendar import build_invite
from .models import Registration, SeatInventory, WaitlistEntry, WorkshopPage
from .tokens import claim_token

ICS_MIMETYPE = "text/calendar; charset=utf-8; method=PUBLISH"


def _when(workshop: WorkshopPage, learner) -> dict:
    """Context describing the start time in the learner's zone and the creator's."""
    return {
        "starts_local": timezone.localtime(workshop.starts_at, learner.zone),
        "learner_zone": learner.time_zone,
        "starts_creator": timezone.localtime(
            workshop.starts_at, zoneinfo.ZoneInfo(workshop.time_zone)
        ),
        "creator_zone": workshop.time_zone,
    }


def _send(*, registration: Registration, subject: str, template: str, invite: bool, **extra):
    workshop = registration.workshop
    learner = registration.learner
    message = build_email(
        to=learner.email,
        subject=subject,
        template=template,
        context={
            "workshop": workshop,
            "learner": learner,
            "workshop_url": absolute_url(workshop.url or "/"),
            **_when(workshop, learner),
            **extra,
        },
    )
    if invite:
        sequence = SeatInventory.objects.get(workshop=workshop).calendar_sequence
        message.attach(
            "workshop.ics", build_invite(workshop=workshop, sequence=sequence), ICS_MIMETYPE
        )
    message.send()


def _registration(registration_id: int) -> Registration:
    return Registration.objects.select_related("workshop", "learner").get(pk=registration_id)


def send_registration_confirmed(*, registration_id: int) -> None:
    registration = _registration(registration_id)
    _send(
        registration=registration,
        subject=f"You're registered: {registration.workshop.title}",
        template="workshop_confirmed",
        invite=True,
    )


def send_reminder(*, registration_id: int, hours_before: int) -> None:
    registration = _registration(registration_id)
    _send(
        registration=registration,
        subject=f"Starting in {hours_before} hour{'s' if hours_before != 1 else ''}: "
        f"{registration.workshop.title}",
        template="workshop_reminder",
        invite=False,
        hours_before=hours_before,
    )


def send_time_changed(*, registration_id: int) -> None:
    registration = _registration(registration_id)
    _send(
        registration=registration,
        subject=f"New time: {registration.workshop.title}",
        template="workshop_time_changed",
        invite=True,
    )


def send_recording_available(*, registration_id: int) -> None:
    registration = _registration(registration_id)
    _send(
        registration=registration,
        subject=f"Recording available: {registration.workshop.title}",
        template="workshop_recording",
        invite=False,
    )


def send_workshop_cancelled(*, registration_id: int) -> None:
    registration = _registration(registration_id)
    _send(
        registration=registration,
        subject=f"Cancelled: {registration.workshop.title}",
        template="workshop_cancelled",
        invite=False,
    )


def send_late_payment_refunded(*, registration_id: int) -> None:
    registration = _registration(registration_id)
    _send(
        registration=registration,
        subject=f"Sold out, payment refunded: {registration.workshop.title}",
        template="workshop_late_payment_refunded",
        invite=False,
    )


def send_waitlist_offer(*, entry_id: int) -> None:
    entry = WaitlistEntry.objects.select_related("workshop", "learner").get(pk=entry_id)
    workshop = entry.workshop
    build_email(
        to=entry.learner.email,
        subject=f"A seat is free for you: {workshop.title}",
        template="workshop_waitlist_offer",
        context={
            "workshop": workshop,
            "learner": entry.learner,
            "workshop_url": absolute_url(workshop.url or "/"),
            "claim_url": absolute_url(
                reverse("workshops:claim_offer", args=[claim_token(entry.pk)])
            ),
            "offer_expires_local": timezone.localtime(entry.offer_expires_at, entry.learner.zone),
            **_when(workshop, entry.learner),
        },
    ).send()
