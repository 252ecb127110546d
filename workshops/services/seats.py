"""Seats: take (free or held while paying), confirm, extend, release, cancel, refund.

Taking a seat is a conditional ``UPDATE ... WHERE capacity > held + confirmed + offered`` on
the workshop's one ``SeatInventory`` row (``common._seat_update``), backed by a CHECK
constraint: the database, not Python, refuses an oversell.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from accounts.models import User

from ..models import Registration, WorkshopPage
from ..rules import HOLD_MINUTES, cancellation_deadline
from ..signals import paid_hold_given_back, paid_registration_cancelled
from .common import (
    SOLD_OUT,
    SoldOut,
    WorkshopError,
    _check_open,
    _leave_line_after_taking_a_seat,
    _live_registration,
    _locked_registration,
    _now,
    _offer_free_seats_after_commit,
    _open_offer,
    _queue_email,
    _seat_update,
    inventory_for,
)
from .waitlist import claim_offer


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
                _queue_email("registration_confirmed", registration_id=registration.pk)
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
        raise WorkshopError(_("This workshop is paid: buy a seat instead."))
    return _take_seat(learner=learner, workshop=workshop, now=_now(now), paid=False)


def hold_seat(
    *, learner: User, workshop: WorkshopPage, now: datetime | None = None
) -> Registration:
    """Hold a paid seat while the learner pays (``HOLD_MINUTES``). Idempotent per learner.

    Returns the learner's live registration if they have one: check its ``status``, it may
    already be ``confirmed``. A learner holding a waitlist offer gets the offered seat.
    """
    if workshop.is_free:
        raise WorkshopError(_("This workshop is free: register instead."))
    return _take_seat(learner=learner, workshop=workshop, now=_now(now), paid=True)


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
        _queue_email("registration_confirmed", registration_id=registration.pk)
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


def discard_new_hold(*, registration_id: int) -> bool:
    """Undo a hold that ``hold_seat`` just made when its checkout could not start (the payment
    provider is down): the row goes and its seat is free again, as if never held. Returns
    whether a held seat was discarded; any other state is left alone."""
    with transaction.atomic():
        registration = _locked_registration(registration_id)
        if registration.status != Registration.Status.HELD:
            return False
        registration.delete()
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


def _cancel(registration_id: int, *, now: datetime, by_creator: bool) -> tuple[Registration, bool]:
    """Cancel under the registration's lock; returns it and whether this call cancelled it."""
    with transaction.atomic():
        registration = _locked_registration(registration_id)
        if registration.status not in Registration.HOLDS_SEAT:
            return registration, False
        confirmed = registration.status == Registration.Status.CONFIRMED
        # A held seat (checkout not finished) may be given back at any time.
        if not by_creator and confirmed and now > cancellation_deadline(registration.workshop):
            raise WorkshopError(_("The cancellation deadline for this workshop has passed."))
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
            # payments listens and refunds; workshops never imports payments (docs/architecture.md).
            transaction.on_commit(
                lambda: paid_registration_cancelled.send(
                    sender=Registration, registration_id=registration_id
                ),
                # The cancellation is committed: a listener's trouble is logged, not a 500.
                robust=True,
            )
        elif registration.paid:
            # payments listens and expires the checkout still open for this seat.
            transaction.on_commit(
                lambda: paid_hold_given_back.send(
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
        was_released = registration.status == Registration.Status.RELEASED
        registration.status = Registration.Status.REFUNDED
        registration.ended_at = registration.ended_at or _now(now)
        registration.save(update_fields=["status", "ended_at"])
        if was_released:
            _queue_email("late_payment_refunded", registration_id=registration.pk)
