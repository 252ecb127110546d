"""A workshop page published again (capacity, time, recording) or cancelled by its creator."""

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Least

from ..models import Registration, SeatInventory, WaitlistEntry, WorkshopPage
from ..rules import OFFER_CLOSES_BEFORE_START
from .common import (
    _now,
    _offer_free_seats_after_commit,
    _queue_email,
    _seats_changed,
    inventory_for,
)
from .seats import _cancel
from .waitlist import _end_offer

logger = logging.getLogger(__name__)


def sync_published_workshop(*, workshop: WorkshopPage) -> None:
    """A new revision went live: bring the seat row in line and tell registrants what changed.

    - capacity: copied under a condition that it stays at or above the seats taken (the page
      form refuses less; this catches a race with a buyer). More seats go to the waitlist.
    - start time: a move bumps the invite's SEQUENCE, resets the reminders and e-mails every
      confirmed registrant the new time with the updated invite.
    - recording: the first recording link is announced to confirmed registrants once.

    Under the seat row's lock, against what was last announced, so publishing twice sends
    nothing twice.
    """
    with transaction.atomic():
        inventory_for(workshop)
        inventory = SeatInventory.objects.select_for_update().get(workshop=workshop)
        if inventory.cancelled_at is not None:
            return
        _sync_capacity(workshop, inventory)
        if workshop.starts_at != inventory.announced_starts_at:
            _announce_new_time(workshop, inventory)
        if workshop.recording_url != inventory.recording_announced_url:
            first_announcement = not inventory.recording_announced_url
            inventory.recording_announced_url = workshop.recording_url
            inventory.save(update_fields=["recording_announced_url"])
            if first_announcement and workshop.recording_url:
                for registration_id in _confirmed_ids(workshop):
                    _queue_email("recording_available", registration_id=registration_id)


def _confirmed_ids(workshop: WorkshopPage) -> list[int]:
    return list(
        Registration.objects.filter(
            workshop=workshop, status=Registration.Status.CONFIRMED
        ).values_list("pk", flat=True)
    )


def _sync_capacity(workshop: WorkshopPage, inventory: SeatInventory) -> None:
    if workshop.capacity == inventory.capacity:
        return
    changed = (
        SeatInventory.objects.filter(pk=inventory.pk)
        .filter(held__lte=workshop.capacity - F("confirmed") - F("offered"))
        .update(capacity=workshop.capacity)
    )
    if not changed:
        logger.warning(
            "Workshop %s: capacity %s is below the %s seats taken; kept %s.",
            workshop.pk,
            workshop.capacity,
            inventory.taken,
            inventory.capacity,
        )
        return
    _seats_changed(inventory.pk)
    if workshop.capacity > inventory.capacity:
        _offer_free_seats_after_commit(workshop.pk)


def _announce_new_time(workshop: WorkshopPage, inventory: SeatInventory) -> None:
    previous = inventory.announced_starts_at.isoformat()
    inventory.announced_starts_at = workshop.starts_at
    inventory.calendar_sequence = F("calendar_sequence") + 1
    inventory.save(update_fields=["announced_starts_at", "calendar_sequence"])
    # Reminders count from the new time; an open offer must still close before the start.
    Registration.objects.filter(workshop=workshop).update(reminded_24h_at=None, reminded_1h_at=None)
    WaitlistEntry.objects.filter(workshop=workshop, status=WaitlistEntry.Status.OFFERED).update(
        offer_expires_at=Least(
            F("offer_expires_at"), workshop.starts_at - OFFER_CLOSES_BEFORE_START
        )
    )
    for registration_id in _confirmed_ids(workshop):
        _queue_email("time_changed", registration_id=registration_id, previous_starts_at=previous)


def cancel_workshop(*, workshop: WorkshopPage, now: datetime | None = None) -> int:
    """The creator cancels: every seat is cancelled (paid ones refunded), the waitlist closes,
    and everyone on either hears about it. Returns how many people were told.

    First the seat row is marked cancelled (no seat can be taken after that), then each
    registration and waitlist place is closed under its own lock. Running it again, say after
    a crash halfway, finishes the job and tells nobody twice.
    """
    now = _now(now)
    inventory = inventory_for(workshop)
    if SeatInventory.objects.filter(pk=inventory.pk, cancelled_at__isnull=True).update(
        cancelled_at=now, calendar_sequence=F("calendar_sequence") + 1
    ):
        _seats_changed(inventory.pk)
    told = 0
    for registration_id in list(
        Registration.objects.filter(
            workshop=workshop, status__in=Registration.HOLDS_SEAT
        ).values_list("pk", flat=True)
    ):
        with transaction.atomic():
            _, cancelled = _cancel(registration_id, now=now, by_creator=True)
            if cancelled:
                _queue_email("workshop_cancelled", registration_id=registration_id)
                told += 1
    for entry_id in list(
        WaitlistEntry.objects.filter(workshop=workshop, status__in=WaitlistEntry.OPEN).values_list(
            "pk", flat=True
        )
    ):
        with transaction.atomic():
            entry = WaitlistEntry.objects.select_for_update().get(pk=entry_id)
            if entry.status == WaitlistEntry.Status.OFFERED:
                _end_offer(entry, WaitlistEntry.Status.CLOSED)
            elif entry.status == WaitlistEntry.Status.WAITING:
                entry.status = WaitlistEntry.Status.CLOSED
                entry.save(update_fields=["status"])
            else:
                continue
            _queue_email("waitlist_workshop_cancelled", entry_id=entry_id)
            told += 1
    return told
