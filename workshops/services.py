"""Business rules of workshop seats: hold, confirm, release, cancel, and the waitlist.

Seats are counted in one ``SeatInventory`` row per workshop. Taking a seat is a conditional
``UPDATE ... SET held = held + 1 WHERE capacity > held + confirmed + offered``: PostgreSQL
locks the row and re-checks the condition, so two buyers of the last seat cannot both get it,
and the table's CHECK constraint refuses any write that would oversell (DESIGN.md invariant 3).

A registration changes state only under its row lock, after re-checking that state, so a hold
released by expiry, by a webhook and by the sweeper at once frees its seat exactly once.
"""

from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User

from . import emails
from .models import Registration, SeatInventory, WaitlistEntry, WorkshopPage
from .signals import paid_registration_cancelled

# A paid seat is held for as long as its Checkout Session lives (Stripe's minimum).
HOLD_MINUTES = 30
WAITLIST_OFFER_HOURS = 24
# Offers must leave the learner time to claim and pay before the start.
OFFER_CLOSES_BEFORE_START = timedelta(hours=1)


class WorkshopError(Exception):
    """A rule forbids this; the message is fit to show the learner."""


class SoldOut(WorkshopError):
    pass


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def inventory_for(workshop: WorkshopPage) -> SeatInventory:
    """The workshop's seat row, made on first use from the page's capacity and start."""
    inventory, _ = SeatInventory.objects.get_or_create(
        workshop=workshop,
        defaults={"capacity": workshop.capacity, "announced_starts_at": workshop.starts_at},
    )
    return inventory


def _seat_update(inventory_id: int, *, only_if_free: bool, **changes) -> bool:
    """Apply ``changes`` (F-expressions) to the seat row in one UPDATE; whether it happened."""
    rows = SeatInventory.objects.filter(pk=inventory_id)
    if only_if_free:
        rows = rows.filter(
            cancelled_at__isnull=True, capacity__gt=F("held") + F("confirmed") + F("offered")
        )
    return rows.update(**changes) == 1


def _check_open(workshop: WorkshopPage, now: datetime) -> None:
    if workshop.starts_at <= now:
        raise WorkshopError("This workshop has already started.")


def _live_registration(*, learner: User, workshop: WorkshopPage) -> Registration | None:
    return Registration.objects.filter(
        learner=learner, workshop=workshop, status__in=Registration.HOLDS_SEAT
    ).first()


@transaction.atomic
def register_free(
    *, learner: User, workshop: WorkshopPage, now: datetime | None = None
) -> Registration:
    """Take a seat at a free workshop at once. Registering twice returns the same seat."""
    now = _now(now)
    if not workshop.is_free:
        raise WorkshopError("This workshop is paid: buy a seat instead.")
    _check_open(workshop, now)
    existing = _live_registration(learner=learner, workshop=workshop)
    if existing is not None:
        return existing
    inventory = inventory_for(workshop)
    if not _seat_update(inventory.pk, only_if_free=True, confirmed=F("confirmed") + 1):
        raise SoldOut("This workshop is sold out. Join the waitlist to hear when a seat frees.")
    registration = Registration.objects.create(
        workshop=workshop,
        learner=learner,
        status=Registration.Status.CONFIRMED,
        created_at=now,
        confirmed_at=now,
    )
    transaction.on_commit(
        lambda: emails.send_registration_confirmed(registration_id=registration.pk)
    )
    return registration


@transaction.atomic
def hold_seat(
    *, learner: User, workshop: WorkshopPage, now: datetime | None = None
) -> Registration:
    """Hold a paid seat while the learner pays (``HOLD_MINUTES``). Idempotent per learner."""
    now = _now(now)
    _check_open(workshop, now)
    existing = _live_registration(learner=learner, workshop=workshop)
    if existing is not None:
        return existing
    inventory = inventory_for(workshop)
    if not _seat_update(inventory.pk, only_if_free=True, held=F("held") + 1):
        raise SoldOut("This workshop is sold out. Join the waitlist to hear when a seat frees.")
    return Registration.objects.create(
        workshop=workshop,
        learner=learner,
        status=Registration.Status.HELD,
        created_at=now,
        hold_expires_at=now + timedelta(minutes=HOLD_MINUTES),
    )


def _locked_registration(registration_id: int) -> Registration:
    return (
        Registration.objects.select_for_update()
        .select_related("workshop", "learner")
        .get(pk=registration_id)
    )


def confirm_paid_seat(*, registration_id: int, now: datetime | None = None) -> bool:
    """Payment arrived: the held seat becomes confirmed. Returns whether the learner has a seat.

    A payment that completes after its hold expired gets a seat if one is free; if none is,
    this returns False and the caller refunds the payment.
    """
    now = _now(now)
    with transaction.atomic():
        registration = _locked_registration(registration_id)
        inventory = inventory_for(registration.workshop)
        if registration.status == Registration.Status.CONFIRMED:
            return True
        if registration.status == Registration.Status.HELD:
            taken = _seat_update(
                inventory.pk, only_if_free=False, held=F("held") - 1, confirmed=F("confirmed") + 1
            )
        elif registration.status == Registration.Status.RELEASED:
            # The hold expired and its seat may have gone to someone else meanwhile.
            if _live_registration(learner=registration.learner, workshop=registration.workshop):
                return False  # they hold another seat already; refund this payment
            taken = _seat_update(inventory.pk, only_if_free=True, confirmed=F("confirmed") + 1)
        else:
            return False
        if not taken:
            return False
        registration.status = Registration.Status.CONFIRMED
        registration.confirmed_at = now
        registration.hold_expires_at = None
        registration.save(update_fields=["status", "confirmed_at", "hold_expires_at"])
        transaction.on_commit(
            lambda: emails.send_registration_confirmed(registration_id=registration.pk)
        )
    return True


def release_hold(*, registration_id: int, now: datetime | None = None) -> bool:
    """Give a held seat back (expiry, cancelled checkout, failed payment), exactly once."""
    with transaction.atomic():
        registration = _locked_registration(registration_id)
        if registration.status != Registration.Status.HELD:
            return False
        registration.status = Registration.Status.RELEASED
        registration.ended_at = _now(now)
        registration.save(update_fields=["status", "ended_at"])
        _seat_update(
            inventory_for(registration.workshop).pk, only_if_free=False, held=F("held") - 1
        )
        workshop_id = registration.workshop_id
        transaction.on_commit(lambda: offer_free_seats(workshop_id=workshop_id))
    return True


def release_expired_holds(*, now: datetime | None = None) -> int:
    """The sweeper (a beat job): release every hold whose time ran out."""
    now = _now(now)
    expired = Registration.objects.filter(
        status=Registration.Status.HELD, hold_expires_at__lte=now
    ).values_list("pk", flat=True)
    return sum(release_hold(registration_id=pk, now=now) for pk in list(expired))


def cancellation_deadline(workshop: WorkshopPage) -> datetime:
    return workshop.starts_at - timedelta(hours=workshop.cancellation_cutoff_hours)


def cancel_registration(
    *, registration: Registration, now: datetime | None = None, by_creator: bool = False
) -> Registration:
    """The learner gives up their seat (before the cutoff); a paid seat is refunded."""
    now = _now(now)
    with transaction.atomic():
        registration = _locked_registration(registration.pk)
        if registration.status not in Registration.HOLDS_SEAT:
            return registration
        if not by_creator and now > cancellation_deadline(registration.workshop):
            raise WorkshopError("The cancellation deadline for this workshop has passed.")
        was_paid = not registration.workshop.is_free
        counter = "confirmed" if registration.status == Registration.Status.CONFIRMED else "held"
        registration.status = Registration.Status.CANCELLED
        registration.ended_at = now
        registration.save(update_fields=["status", "ended_at"])
        _seat_update(
            inventory_for(registration.workshop).pk,
            only_if_free=False,
            **{counter: F(counter) - 1},
        )
        workshop_id = registration.workshop_id
        if was_paid and counter == "confirmed":
            # payments listens and refunds; workshops never imports payments (DESIGN.md).
            transaction.on_commit(
                lambda: paid_registration_cancelled.send(
                    sender=Registration, registration_id=registration.pk
                )
            )
        if not by_creator:
            transaction.on_commit(lambda: offer_free_seats(workshop_id=workshop_id))
    return registration


def mark_refunded(*, registration_id: int, now: datetime | None = None) -> None:
    """payments refunded this registration's order: it no longer holds a seat."""
    with transaction.atomic():
        registration = _locked_registration(registration_id)
        if registration.status == Registration.Status.REFUNDED:
            return
        if registration.status in Registration.HOLDS_SEAT:
            counter = (
                "confirmed" if registration.status == Registration.Status.CONFIRMED else "held"
            )
            _seat_update(
                inventory_for(registration.workshop).pk,
                only_if_free=False,
                **{counter: F(counter) - 1},
            )
            workshop_id = registration.workshop_id
            transaction.on_commit(lambda: offer_free_seats(workshop_id=workshop_id))
        registration.status = Registration.Status.REFUNDED
        registration.ended_at = registration.ended_at or _now(now)
        registration.save(update_fields=["status", "ended_at"])


# The waitlist


@transaction.atomic
def join_waitlist(
    *, learner: User, workshop: WorkshopPage, now: datetime | None = None
) -> WaitlistEntry:
    now = _now(now)
    _check_open(workshop, now)
    if _live_registration(learner=learner, workshop=workshop):
        raise WorkshopError("You already have a seat at this workshop.")
    entry = WaitlistEntry.objects.filter(
        learner=learner,
        workshop=workshop,
        status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED],
    ).first()
    return entry or WaitlistEntry.objects.create(learner=learner, workshop=workshop, joined_at=now)


def leave_waitlist(*, entry: WaitlistEntry, now: datetime | None = None) -> None:
    """Leave the line; an open offer is declined, and its seat goes to the next in line."""
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.status == WaitlistEntry.Status.OFFERED:
            _end_offer(entry, WaitlistEntry.Status.DECLINED)
        elif entry.status == WaitlistEntry.Status.WAITING:
            entry.status = WaitlistEntry.Status.LEFT
            entry.save(update_fields=["status"])
        workshop_id = entry.workshop_id
        transaction.on_commit(lambda: offer_free_seats(workshop_id=workshop_id, now=now))


def _end_offer(entry: WaitlistEntry, status: WaitlistEntry.Status) -> None:
    """Close an open offer (locked by the caller) and free the seat it reserved."""
    entry.status = status
    entry.save(update_fields=["status"])
    inventory = SeatInventory.objects.get(workshop_id=entry.workshop_id)
    _seat_update(inventory.pk, only_if_free=False, offered=F("offered") - 1)


def offer_deadline(*, workshop: WorkshopPage, now: datetime) -> datetime | None:
    """When an offer made now expires: 24 hours, less when the workshop is sooner."""
    deadline = min(
        now + timedelta(hours=WAITLIST_OFFER_HOURS), workshop.starts_at - OFFER_CLOSES_BEFORE_START
    )
    return deadline if deadline > now else None


def offer_free_seats(*, workshop_id: int, now: datetime | None = None) -> int:
    """Offer each free seat to the next learner in line; returns how many offers went out."""
    now = _now(now)
    offers = 0
    while True:
        with transaction.atomic():
            workshop = WorkshopPage.objects.get(pk=workshop_id)
            deadline = offer_deadline(workshop=workshop, now=now)
            if deadline is None:
                return offers
            entry = (
                WaitlistEntry.objects.select_for_update(skip_locked=True)
                .filter(workshop_id=workshop_id, status=WaitlistEntry.Status.WAITING)
                .order_by("joined_at", "pk")
                .first()
            )
            if entry is None:
                return offers
            inventory = inventory_for(workshop)
            if not _seat_update(inventory.pk, only_if_free=True, offered=F("offered") + 1):
                return offers
            entry.status = WaitlistEntry.Status.OFFERED
            entry.offered_at = now
            entry.offer_expires_at = deadline
            entry.save(update_fields=["status", "offered_at", "offer_expires_at"])
            transaction.on_commit(partial(emails.send_waitlist_offer, entry_id=entry.pk))
            offers += 1


def claim_offer(
    *, entry: WaitlistEntry, learner: User, now: datetime | None = None
) -> Registration:
    """The offered learner takes the reserved seat: confirmed if free, held if paid."""
    now = _now(now)
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update().select_related("workshop").get(pk=entry.pk)
        )
        if entry.learner_id != learner.pk:
            raise WorkshopError("This offer was made to someone else.")
        if entry.status != WaitlistEntry.Status.OFFERED or (
            entry.offer_expires_at and entry.offer_expires_at <= now
        ):
            raise WorkshopError("This offer is no longer open.")
        workshop = entry.workshop
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
            transaction.on_commit(
                lambda: emails.send_registration_confirmed(registration_id=registration.pk)
            )
        else:
            _seat_update(
                inventory.pk, only_if_free=False, offered=F("offered") - 1, held=F("held") + 1
            )
            registration = Registration.objects.create(
                workshop=workshop,
                learner=learner,
                status=Registration.Status.HELD,
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
    workshops = set()
    for entry_id in expired_ids:
        with transaction.atomic():
            entry = WaitlistEntry.objects.select_for_update().get(pk=entry_id)
            if entry.status != WaitlistEntry.Status.OFFERED:
                continue
            _end_offer(entry, WaitlistEntry.Status.EXPIRED)
            workshops.add(entry.workshop_id)
    for workshop_id in workshops:
        offer_free_seats(workshop_id=workshop_id, now=now)
    return len(expired_ids)
