"""Business rules of workshop seats: hold, confirm, release, cancel, and the waitlist.

Seats are counted in one ``SeatInventory`` row per workshop. Taking a seat is a conditional
``UPDATE ... SET held = held + 1 WHERE capacity > held + confirmed + offered``: PostgreSQL
locks the row and re-checks the condition, so two buyers of the last seat cannot both get it,
and the table's CHECK constraint refuses any write that would oversell (DESIGN.md invariant 3).

A registration changes state only under its row lock, after re-checking that state, so a hold
released by expiry, by a webhook and by the sweeper at once frees its seat exactly once.

Lock order, to stay clear of deadlocks: a registration or waitlist row first, then the seat row.
``offer_free_seats`` is the one exception (seat row, then a *waiting* entry), and nothing that
locks a waiting entry goes on to the seat row.

E-mails and follow-up work are handed to Celery after the transaction commits (tasks.py).
"""

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone

from accounts.models import User

from .models import Registration, SeatInventory, WaitlistEntry, WorkshopPage
from .signals import paid_registration_cancelled

logger = logging.getLogger(__name__)

# A paid seat is held for as long as its Checkout Session lives (Stripe's minimum).
HOLD_MINUTES = 30
WAITLIST_OFFER_HOURS = 24
# Offers must leave the learner time to claim and pay before the start.
OFFER_CLOSES_BEFORE_START = timedelta(hours=1)
# Confirmed registrants see the join link from this long before the start until the end.
JOIN_LINK_OPENS_BEFORE = timedelta(hours=1)
# Reminder e-mails, longest first: (hours before the start, the registration's flag field).
REMINDERS = ((24, "reminded_24h_at"), (1, "reminded_1h_at"))


class WorkshopError(Exception):
    """A rule forbids this; the message is fit to show the learner."""


class SoldOut(WorkshopError):
    pass


# Messages shown to learners, kept together.
SOLD_OUT = "This workshop is sold out. Join the waitlist to hear when a seat frees."
CANCELLED = "This workshop was cancelled."
STARTED = "This workshop has already started."


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def _email_after_commit(sender: str, **params) -> None:
    """Hand an e-mail of emails.py to a worker once the state it describes is committed.

    ``robust``: the change is committed by then, so a broker that can't be reached is logged
    (ERROR) rather than turned into a 500 for a registration that happened.
    """
    from .tasks import deliver_email  # tasks.py imports this module

    transaction.on_commit(lambda: deliver_email.delay(sender, params), robust=True)


def _offer_free_seats_after_commit(workshop_id: int) -> None:
    from .tasks import offer_free_seats_task

    # robust: the change is committed; a broker that is down is logged, never a 500.
    transaction.on_commit(lambda: offer_free_seats_task.delay(workshop_id), robust=True)


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


def _check_open(workshop: WorkshopPage, inventory: SeatInventory, now: datetime) -> None:
    if inventory.cancelled_at is not None:
        raise WorkshopError(CANCELLED)
    if workshop.starts_at <= now:
        raise WorkshopError(STARTED)


def _live_registration(*, learner: User, workshop: WorkshopPage) -> Registration | None:
    return Registration.objects.filter(
        learner=learner, workshop=workshop, status__in=Registration.HOLDS_SEAT
    ).first()


def _open_offer(*, learner: User, workshop: WorkshopPage) -> WaitlistEntry | None:
    return WaitlistEntry.objects.filter(
        learner=learner, workshop=workshop, status=WaitlistEntry.Status.OFFERED
    ).first()


def _leave_line_after_taking_a_seat(*, learner: User, workshop: WorkshopPage) -> None:
    """A learner who got a seat another way no longer waits for one."""
    WaitlistEntry.objects.filter(
        learner=learner, workshop=workshop, status=WaitlistEntry.Status.WAITING
    ).update(status=WaitlistEntry.Status.CLAIMED)


def _take_seat(*, learner: User, workshop: WorkshopPage, now: datetime, paid: bool) -> Registration:
    """register_free and hold_seat: one seat per learner, even when they double-click."""
    try:
        with transaction.atomic():
            inventory = inventory_for(workshop)
            _check_open(workshop, inventory, now)
            existing = _live_registration(learner=learner, workshop=workshop)
            if existing is not None:
                return existing
            offer = _open_offer(learner=learner, workshop=workshop)
            if offer is not None:
                # Their reserved seat: taking a new one would leave it stranded (or fail).
                return claim_offer(entry=offer, learner=learner, now=now)
            counter = "held" if paid else "confirmed"
            if not _seat_update(inventory.pk, only_if_free=True, **{counter: F(counter) + 1}):
                raise SoldOut(SOLD_OUT)
            registration = Registration.objects.create(
                workshop=workshop,
                learner=learner,
                status=Registration.Status.HELD if paid else Registration.Status.CONFIRMED,
                paid=paid,
                created_at=now,
                confirmed_at=None if paid else now,
                hold_expires_at=now + timedelta(minutes=HOLD_MINUTES) if paid else None,
            )
            _leave_line_after_taking_a_seat(learner=learner, workshop=workshop)
            if not paid:
                _email_after_commit("registration_confirmed", registration_id=registration.pk)
            return registration
    except IntegrityError:
        # The same learner's other request won the unique "one seat per learner" race; this
        # transaction (and its seat increment) rolled back. Theirs is the seat.
        existing = _live_registration(learner=learner, workshop=workshop)
        if existing is None:
            raise
        return existing


def register_free(
    *, learner: User, workshop: WorkshopPage, now: datetime | None = None
) -> Registration:
    """Take a seat at a free workshop at once. Registering twice returns the same seat."""
    if not workshop.is_free:
        raise WorkshopError("This workshop is paid: buy a seat instead.")
    return _take_seat(learner=learner, workshop=workshop, now=_now(now), paid=False)


def hold_seat(
    *, learner: User, workshop: WorkshopPage, now: datetime | None = None
) -> Registration:
    """Hold a paid seat while the learner pays (``HOLD_MINUTES``). Idempotent per learner.

    Returns the learner's live registration if they have one: check its ``status``, it may
    already be ``confirmed``. A learner holding a waitlist offer gets the offered seat.
    """
    if workshop.is_free:
        raise WorkshopError("This workshop is free: register instead.")
    return _take_seat(learner=learner, workshop=workshop, now=_now(now), paid=True)


def _locked_registration(registration_id: int) -> Registration:
    # of=("self",): lock the registration only, not the joined page and user rows.
    return (
        Registration.objects.select_for_update(of=("self",))
        .select_related("workshop", "learner")
        .get(pk=registration_id)
    )


def confirm_paid_seat(*, registration_id: int, now: datetime | None = None) -> bool:
    """Payment arrived: the held seat becomes confirmed. Returns whether the learner has a seat.

    A payment that completes after its hold expired gets a seat if one is free; if none is
    (or the workshop was cancelled meanwhile), this returns False and the caller refunds the
    payment, then calls ``mark_refunded``.
    """
    now = _now(now)
    with transaction.atomic():
        registration = _locked_registration(registration_id)
        if registration.status == Registration.Status.CONFIRMED:
            return True
        inventory = inventory_for(registration.workshop)
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
        _email_after_commit("registration_confirmed", registration_id=registration.pk)
    return True


def extend_hold(*, registration_id: int, until: datetime) -> bool:
    """Keep a held seat until ``until`` (a Checkout Session made later than the hold, as when
    a claimed waitlist seat is paid for a few minutes after the claim). Never shortens a hold;
    returns whether the seat is still held."""
    with transaction.atomic():
        registration = _locked_registration(registration_id)
        if registration.status != Registration.Status.HELD:
            return False
        if registration.hold_expires_at is None or registration.hold_expires_at < until:
            registration.hold_expires_at = until
            registration.save(update_fields=["hold_expires_at"])
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
        _offer_free_seats_after_commit(registration.workshop_id)
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


def _cancel(registration_id: int, *, now: datetime, by_creator: bool) -> tuple[Registration, bool]:
    """Cancel under the registration's lock; returns it and whether this call cancelled it."""
    with transaction.atomic():
        registration = _locked_registration(registration_id)
        if registration.status not in Registration.HOLDS_SEAT:
            return registration, False
        confirmed = registration.status == Registration.Status.CONFIRMED
        # A held seat (checkout not finished) may be given back at any time.
        if not by_creator and confirmed and now > cancellation_deadline(registration.workshop):
            raise WorkshopError("The cancellation deadline for this workshop has passed.")
        counter = "confirmed" if confirmed else "held"
        registration.status = Registration.Status.CANCELLED
        registration.ended_at = now
        registration.save(update_fields=["status", "ended_at"])
        _seat_update(
            inventory_for(registration.workshop).pk,
            only_if_free=False,
            **{counter: F(counter) - 1},
        )
        if registration.paid and counter == "confirmed":
            # payments listens and refunds; workshops never imports payments (DESIGN.md).
            transaction.on_commit(
                lambda: paid_registration_cancelled.send(
                    sender=Registration, registration_id=registration_id
                ),
                robust=True,
            )
        if not by_creator:
            _offer_free_seats_after_commit(registration.workshop_id)
    return registration, True


def cancel_registration(
    *, registration: Registration, now: datetime | None = None, by_creator: bool = False
) -> Registration:
    """The learner gives up their seat (before the cutoff); a paid seat is refunded.

    Cancelling twice is a no-op. ``by_creator`` skips the cutoff and does not offer the seat
    to the waitlist (the workshop is being cancelled).
    """
    registration, _ = _cancel(registration.pk, now=_now(now), by_creator=by_creator)
    return registration


def mark_refunded(*, registration_id: int, now: datetime | None = None) -> None:
    """payments refunded this registration's order: it no longer holds a seat.

    A payment refunded because it came after the seat was gone (the registration was
    ``released``) also tells the learner so, once.
    """
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
            _offer_free_seats_after_commit(registration.workshop_id)
        elif registration.status == Registration.Status.RELEASED:
            _email_after_commit("late_payment_refunded", registration_id=registration.pk)
        registration.status = Registration.Status.REFUNDED
        registration.ended_at = registration.ended_at or _now(now)
        registration.save(update_fields=["status", "ended_at"])


# The waitlist


def join_waitlist(
    *, learner: User, workshop: WorkshopPage, now: datetime | None = None
) -> WaitlistEntry:
    """Wait for a seat of a sold-out workshop; joining twice returns the same place."""
    now = _now(now)
    inventory = inventory_for(workshop)
    _check_open(workshop, inventory, now)
    if _live_registration(learner=learner, workshop=workshop):
        raise WorkshopError("You already have a seat at this workshop.")
    entry = WaitlistEntry.objects.filter(
        learner=learner, workshop=workshop, status__in=WaitlistEntry.OPEN
    ).first()
    if entry is not None:
        return entry
    if inventory.free > 0:
        raise WorkshopError("Seats are still available: register instead.")
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


def offer_deadline(*, workshop: WorkshopPage, now: datetime) -> datetime | None:
    """When an offer made now expires: 24 hours, less when the workshop is sooner."""
    deadline = min(
        now + timedelta(hours=WAITLIST_OFFER_HOURS), workshop.starts_at - OFFER_CLOSES_BEFORE_START
    )
    return deadline if deadline > now else None


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
            _email_after_commit("waitlist_offer", entry_id=entry.pk)
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
            raise WorkshopError("This offer was made to someone else.")
        if entry.status != WaitlistEntry.Status.OFFERED or (
            entry.offer_expires_at and entry.offer_expires_at <= now
        ):
            raise WorkshopError("This offer is no longer open.")
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
            _email_after_commit("registration_confirmed", registration_id=registration.pk)
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


# Reminders


def send_due_reminders(*, now: datetime | None = None) -> int:
    """Send the reminders that are due (a beat job every few minutes); returns how many.

    Each reminder has a point in time: 24 hours and 1 hour before the start, in absolute time
    (the start is stored in UTC, so a DST change in between moves nothing). A reminder goes to
    a registration that is confirmed now and was *created at or before its point*: someone who
    registers 30 minutes before the start got a confirmation e-mail moments ago and gets
    neither reminder; someone who registers 5 hours before gets the 1-hour one only. A reminder
    whose point passed while the next one is already due is skipped (after a long outage nobody
    gets "in 24 hours" one hour before the start).

    Who sends is decided by a conditional UPDATE that sets the reminder's timestamp where it is
    still NULL: two runs at once, or a run repeated, send each reminder once.
    """
    now = _now(now)
    sent = 0
    longest_first = sorted(REMINDERS, key=lambda reminder: -reminder[0])
    for index, (hours, field) in enumerate(longest_first):
        before = timedelta(hours=hours)
        # Due until the next (shorter) reminder's point; the last one until the start.
        shorter = longest_first[index + 1 : index + 2]
        until = timedelta(hours=shorter[0][0]) if shorter else timedelta(0)
        for registration_id in list(
            _due_for_reminder(field=field, before=before, until=until, now=now)
        ):
            with transaction.atomic():
                claimed = Registration.objects.filter(
                    pk=registration_id,
                    status=Registration.Status.CONFIRMED,
                    **{f"{field}__isnull": True},
                ).update(**{field: now})
                if claimed:
                    _email_after_commit(
                        "reminder", registration_id=registration_id, hours_before=hours
                    )
                    sent += 1
    return sent


def _due_for_reminder(*, field: str, before: timedelta, until: timedelta, now: datetime):
    """Confirmed registrations whose reminder point (start - before) has come, not yet sent."""
    point = F("workshop__starts_at") - before
    return (
        Registration.objects.filter(
            status=Registration.Status.CONFIRMED,
            workshop__starts_at__lte=now + before,
            workshop__starts_at__gt=now + until,
            workshop__seats__cancelled_at__isnull=True,
            created_at__lte=point,
            **{f"{field}__isnull": True},
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def join_link_open(workshop: WorkshopPage, now: datetime | None = None) -> bool:
    """Whether a confirmed registrant may see the join link now: 1 hour before, until the end."""
    now = _now(now)
    return workshop.starts_at - JOIN_LINK_OPENS_BEFORE <= now < workshop.ends_at


# Publishing and cancelling a workshop


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
                    _email_after_commit("recording_available", registration_id=registration_id)


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
    elif workshop.capacity > inventory.capacity:
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
        _email_after_commit(
            "time_changed", registration_id=registration_id, previous_starts_at=previous
        )


def cancel_workshop(*, workshop: WorkshopPage, now: datetime | None = None) -> int:
    """The creator cancels: every seat is cancelled (paid ones refunded), the waitlist closes,
    and everyone on either hears about it. Returns how many people were told.

    First the seat row is marked cancelled (no seat can be taken after that), then each
    registration and waitlist place is closed under its own lock. Running it again, say after
    a crash halfway, finishes the job and tells nobody twice.
    """
    now = _now(now)
    inventory = inventory_for(workshop)
    SeatInventory.objects.filter(pk=inventory.pk, cancelled_at__isnull=True).update(
        cancelled_at=now, calendar_sequence=F("calendar_sequence") + 1
    )
    told = 0
    for registration_id in list(
        Registration.objects.filter(
            workshop=workshop, status__in=Registration.HOLDS_SEAT
        ).values_list("pk", flat=True)
    ):
        with transaction.atomic():
            _, cancelled = _cancel(registration_id, now=now, by_creator=True)
            if cancelled:
                _email_after_commit("workshop_cancelled", registration_id=registration_id)
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
            _email_after_commit("waitlist_workshop_cancelled", entry_id=entry_id)
            told += 1
    return told
