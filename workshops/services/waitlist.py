"""The waitlist of a sold-out workshop: join, leave, offers in joining order, claims, expiry."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from accounts.models import User

from ..models import Registration, SeatInventory, WaitlistEntry, WorkshopPage
from ..rules import HOLD_MINUTES, offer_deadline
from .common import (
    WorkshopError,
    _check_open,
    _live_registration,
    _now,
    _offer_free_seats_after_commit,
    _queue_email,
    _seat_update,
    inventory_for,
)


def join_waitlist(
    *, learner: User, workshop: WorkshopPage, now: datetime | None = None
) -> WaitlistEntry:
    """Wait for a seat of a sold-out workshop; joining twice returns the same place."""
    now = _now(now)
    inventory = inventory_for(workshop)
    _check_open(workshop, inventory, now)
    if _live_registration(learner=learner, workshop=workshop):
        raise WorkshopError(_("You already have a seat at this workshop."))
    entry = WaitlistEntry.objects.filter(
        learner=learner, workshop=workshop, status__in=WaitlistEntry.OPEN
    ).first()
    if entry is not None:
        return entry
    if inventory.free > 0:
        raise WorkshopError(_("Seats are still available: register instead."))
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(learner=learner, workshop=workshop, joined_at=now)
    except IntegrityError:
        # A double click: the other request made the place.
        return WaitlistEntry.objects.get(
            learner=learner, workshop=workshop, status__in=WaitlistEntry.OPEN
        )


def leave_waitlist(*, entry: WaitlistEntry, now: datetime | None = None) -> None:
    """Leave the line; an open offer is declined, and its seat goes to the next in line."""
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.status == WaitlistEntry.Status.OFFERED:
            _end_offer(entry, WaitlistEntry.Status.DECLINED)
            _offer_free_seats_after_commit(entry.workshop_id)
        elif entry.status == WaitlistEntry.Status.WAITING:
            entry.status = WaitlistEntry.Status.LEFT
            entry.save(update_fields=["status"])


def _end_offer(entry: WaitlistEntry, status: WaitlistEntry.Status) -> None:
    """Close an open offer (locked by the caller) and free the seat it reserved."""
    entry.status = status
    entry.save(update_fields=["status"])
    inventory = SeatInventory.objects.get(workshop_id=entry.workshop_id)
    _seat_update(inventory.pk, only_if_free=False, offered=F("offered") - 1)


def offer_free_seats(*, workshop_id: int, now: datetime | None = None) -> int:
    """Offer each free seat to the next learner in line; returns how many offers went out.

    The seat row is locked first, so two runs for the same workshop take turns and offers go
    out strictly in the order people joined.
    """
    now = _now(now)
    offers = 0
    while True:
        with transaction.atomic():
            workshop = WorkshopPage.objects.get(pk=workshop_id)
            deadline = offer_deadline(workshop=workshop, now=now)
            if deadline is None:
                return offers
            inventory_for(workshop)
            inventory = SeatInventory.objects.select_for_update().get(workshop_id=workshop_id)
            if inventory.cancelled_at is not None or inventory.free == 0:
                return offers
            entry = (
                WaitlistEntry.objects.select_for_update()
                .filter(workshop_id=workshop_id, status=WaitlistEntry.Status.WAITING)
                .order_by("joined_at", "pk")
                .first()
            )
            if entry is None:
                return offers
            if not _seat_update(inventory.pk, only_if_free=True, offered=F("offered") + 1):
                return offers
            entry.status = WaitlistEntry.Status.OFFERED
            entry.offered_at = now
            entry.offer_expires_at = deadline
            entry.save(update_fields=["status", "offered_at", "offer_expires_at"])
            _queue_email("waitlist_offer", entry_id=entry.pk)
            offers += 1


def claim_offer(
    *, entry: WaitlistEntry, learner: User, now: datetime | None = None
) -> Registration:
    """The offered learner takes the reserved seat: confirmed if free, held if paid."""
    now = _now(now)
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update(of=("self",))
            .select_related("workshop")
            .get(pk=entry.pk)
        )
        if entry.learner_id != learner.pk:
            raise WorkshopError(_("This offer was made to someone else."))
        if entry.status != WaitlistEntry.Status.OFFERED or (
            entry.offer_expires_at and entry.offer_expires_at <= now
        ):
            raise WorkshopError(_("This offer is no longer open."))
        workshop = entry.workshop
        existing = _live_registration(learner=learner, workshop=workshop)
        if existing is not None:
            # They got a seat another way: give the reserved one back to the line.
            _end_offer(entry, WaitlistEntry.Status.DECLINED)
            _offer_free_seats_after_commit(workshop.pk)
            return existing
        inventory = inventory_for(workshop)
        entry.status = WaitlistEntry.Status.CLAIMED
        entry.save(update_fields=["status"])
        if workshop.is_free:
            _seat_update(
                inventory.pk,
                only_if_free=False,
                offered=F("offered") - 1,
                confirmed=F("confirmed") + 1,
            )
            registration = Registration.objects.create(
                workshop=workshop,
                learner=learner,
                status=Registration.Status.CONFIRMED,
                created_at=now,
                confirmed_at=now,
            )
            _queue_email("registration_confirmed", registration_id=registration.pk)
        else:
            _seat_update(
                inventory.pk, only_if_free=False, offered=F("offered") - 1, held=F("held") + 1
            )
            registration = Registration.objects.create(
                workshop=workshop,
                learner=learner,
                status=Registration.Status.HELD,
                paid=True,
                created_at=now,
                hold_expires_at=now + timedelta(minutes=HOLD_MINUTES),
            )
    return registration


def expire_offers(*, now: datetime | None = None) -> int:
    """The sweeper: offers not claimed in time move on to the next in line."""
    now = _now(now)
    expired_ids = list(
        WaitlistEntry.objects.filter(
            status=WaitlistEntry.Status.OFFERED, offer_expires_at__lte=now
        ).values_list("pk", flat=True)
    )
    expired = 0
    workshops = set()
    for entry_id in expired_ids:
        with transaction.atomic():
            entry = WaitlistEntry.objects.select_for_update().get(pk=entry_id)
            if entry.status != WaitlistEntry.Status.OFFERED:
                continue
            _end_offer(entry, WaitlistEntry.Status.EXPIRED)
            workshops.add(entry.workshop_id)
            expired += 1
    for workshop_id in workshops:
        offer_free_seats(workshop_id=workshop_id, now=now)
    return expired
