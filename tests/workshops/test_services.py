"""Seat, payment and waitlist rules (workshops/services.py), one scenario per test."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests.workshops.factories import paid_workshop, workshop_page
from workshops import services
from workshops.models import Registration, SeatInventory, WaitlistEntry
from workshops.signals import paid_registration_cancelled

pytestmark = pytest.mark.django_db


def seats(workshop) -> tuple[int, int, int, int]:
    """(held, confirmed, offered, capacity), read fresh."""
    row = SeatInventory.objects.get(workshop=workshop)
    return row.held, row.confirmed, row.offered, row.capacity


@pytest.fixture
def refunds_requested():
    """Registration ids that payments would be asked to refund (the signal payments hears)."""
    received: list[int] = []

    def listener(sender, registration_id, **kwargs):
        received.append(registration_id)

    paid_registration_cancelled.connect(listener)
    yield received
    paid_registration_cancelled.disconnect(listener)


# Taking a seat


def test_publishing_a_workshop_makes_its_seat_row_from_the_page():
    workshop = workshop_page(capacity=12, publish=True)

    row = SeatInventory.objects.get(workshop=workshop)
    assert (row.capacity, row.taken, row.announced_starts_at) == (12, 0, workshop.starts_at)


def test_free_registration_confirms_at_once_and_emails_the_invite(committed, learner, mailoutbox):
    workshop = workshop_page()

    with committed():
        registration = services.register_free(learner=learner, workshop=workshop)

    assert registration.status == Registration.Status.CONFIRMED
    assert not registration.paid
    assert seats(workshop) == (0, 1, 0, 10)
    assert [message.subject for message in mailoutbox] == [f"You're registered: {workshop.title}"]
    [(filename, _, mimetype)] = mailoutbox[0].attachments
    assert (filename, mimetype) == ("workshop.ics", "text/calendar; method=PUBLISH")


def test_registering_twice_returns_the_same_seat(committed, learner, mailoutbox):
    workshop = workshop_page()

    with committed():
        first = services.register_free(learner=learner, workshop=workshop)
        second = services.register_free(learner=learner, workshop=workshop)

    assert first.pk == second.pk
    assert seats(workshop) == (0, 1, 0, 10)
    assert len(mailoutbox) == 1


def test_free_and_paid_paths_refuse_the_other_kind_of_workshop(learner):
    with pytest.raises(services.WorkshopError, match="paid"):
        services.register_free(learner=learner, workshop=paid_workshop())
    with pytest.raises(services.WorkshopError, match="free"):
        services.hold_seat(learner=learner, workshop=workshop_page())

    assert not Registration.objects.exists()


def test_sold_out_is_a_clean_answer_that_changes_nothing(make_learners):
    workshop = workshop_page(capacity=2)
    first, second, third = make_learners(3)
    services.register_free(learner=first, workshop=workshop)
    services.register_free(learner=second, workshop=workshop)

    with pytest.raises(services.SoldOut):
        services.register_free(learner=third, workshop=workshop)

    assert seats(workshop) == (0, 2, 0, 2)
    assert not Registration.objects.filter(learner=third).exists()


def test_a_started_workshop_takes_no_registrations(learner):
    workshop = workshop_page()

    with pytest.raises(services.WorkshopError, match="already started"):
        services.register_free(
            learner=learner, workshop=workshop, now=workshop.starts_at + timedelta(minutes=1)
        )

    assert seats(workshop) == (0, 0, 0, 10)


def test_the_database_refuses_an_oversell_even_from_a_buggy_update():
    workshop = workshop_page(capacity=1)
    row = SeatInventory.objects.get(workshop=workshop)

    with pytest.raises(IntegrityError), transaction.atomic():
        SeatInventory.objects.filter(pk=row.pk).update(confirmed=2)

    assert seats(workshop) == (0, 0, 0, 1)


# Paying for a seat


def test_a_held_seat_becomes_confirmed_when_payment_arrives_once(committed, learner, mailoutbox):
    workshop = paid_workshop()
    hold = services.hold_seat(learner=learner, workshop=workshop)
    assert (hold.status, hold.paid) == (Registration.Status.HELD, True)
    assert seats(workshop) == (1, 0, 0, 10)

    with committed():
        assert services.confirm_paid_seat(registration_id=hold.pk)
        assert services.confirm_paid_seat(registration_id=hold.pk)  # the webhook, again

    hold.refresh_from_db()
    assert (hold.status, hold.hold_expires_at) == (Registration.Status.CONFIRMED, None)
    assert seats(workshop) == (0, 1, 0, 10)
    assert len(mailoutbox) == 1


def test_releasing_a_hold_twice_frees_its_seat_once(learner):
    workshop = paid_workshop()
    hold = services.hold_seat(learner=learner, workshop=workshop)

    assert services.release_hold(registration_id=hold.pk)
    assert not services.release_hold(registration_id=hold.pk)

    assert seats(workshop) == (0, 0, 0, 10)


def test_the_sweeper_releases_only_holds_whose_time_ran_out(make_learners):
    workshop = paid_workshop()
    early, late = make_learners(2)
    now = timezone.now()
    old = services.hold_seat(learner=early, workshop=workshop, now=now - timedelta(minutes=31))
    fresh = services.hold_seat(learner=late, workshop=workshop, now=now)

    assert services.release_expired_holds(now=now) == 1

    assert Registration.objects.get(pk=old.pk).status == Registration.Status.RELEASED
    assert Registration.objects.get(pk=fresh.pk).status == Registration.Status.HELD
    assert seats(workshop) == (1, 0, 0, 10)


def test_late_payment_after_the_seat_was_resold_is_refused_without_overselling(
    committed, make_learners, mailoutbox
):
    workshop = paid_workshop(capacity=1)
    slow, quick = make_learners(2)
    now = timezone.now()
    slow_hold = services.hold_seat(learner=slow, workshop=workshop, now=now)
    services.release_expired_holds(now=now + timedelta(minutes=31))
    quick_hold = services.hold_seat(
        learner=quick, workshop=workshop, now=now + timedelta(minutes=32)
    )
    assert services.confirm_paid_seat(registration_id=quick_hold.pk)

    # The slow buyer's payment lands now: no seat for them, payments must refund.
    assert services.confirm_paid_seat(registration_id=slow_hold.pk) is False

    assert seats(workshop) == (0, 1, 0, 1)
    assert Registration.objects.get(pk=slow_hold.pk).status == Registration.Status.RELEASED
    mailoutbox.clear()
    with committed():
        services.mark_refunded(registration_id=slow_hold.pk)
        services.mark_refunded(registration_id=slow_hold.pk)
    assert Registration.objects.get(pk=slow_hold.pk).status == Registration.Status.REFUNDED
    assert [message.subject for message in mailoutbox] == [
        f"Sold out, payment refunded: {workshop.title}"
    ]
    assert seats(workshop) == (0, 1, 0, 1)


def test_late_payment_gets_a_seat_if_one_is_still_free(learner):
    workshop = paid_workshop(capacity=2)
    now = timezone.now()
    hold = services.hold_seat(learner=learner, workshop=workshop, now=now)
    services.release_expired_holds(now=now + timedelta(minutes=31))

    assert services.confirm_paid_seat(registration_id=hold.pk)

    assert seats(workshop) == (0, 1, 0, 2)


def test_a_refund_of_a_confirmed_seat_frees_it(learner):
    workshop = paid_workshop()
    hold = services.hold_seat(learner=learner, workshop=workshop)
    services.confirm_paid_seat(registration_id=hold.pk)

    services.mark_refunded(registration_id=hold.pk)

    assert Registration.objects.get(pk=hold.pk).status == Registration.Status.REFUNDED
    assert seats(workshop) == (0, 0, 0, 10)


# Cancelling a seat


def test_cancelling_before_the_cutoff_frees_the_seat(learner):
    workshop = workshop_page(cancellation_cutoff_hours=24)
    registration = services.register_free(learner=learner, workshop=workshop)

    services.cancel_registration(
        registration=registration, now=workshop.starts_at - timedelta(hours=25)
    )
    services.cancel_registration(registration=registration)  # twice: nothing more happens

    assert Registration.objects.get(pk=registration.pk).status == Registration.Status.CANCELLED
    assert seats(workshop) == (0, 0, 0, 10)


def test_cancelling_after_the_cutoff_is_refused_and_keeps_the_seat(learner):
    workshop = workshop_page(cancellation_cutoff_hours=24)
    registration = services.register_free(learner=learner, workshop=workshop)

    with pytest.raises(services.WorkshopError, match="deadline"):
        services.cancel_registration(
            registration=registration, now=workshop.starts_at - timedelta(hours=23)
        )

    assert Registration.objects.get(pk=registration.pk).status == Registration.Status.CONFIRMED
    assert seats(workshop) == (0, 1, 0, 10)


def test_cancelling_a_paid_seat_asks_payments_for_a_refund_once(
    committed, learner, refunds_requested
):
    workshop = paid_workshop()
    hold = services.hold_seat(learner=learner, workshop=workshop)
    services.confirm_paid_seat(registration_id=hold.pk)

    with committed():
        services.cancel_registration(registration=hold)
        services.cancel_registration(registration=hold)

    assert refunds_requested == [hold.pk]


def test_a_seat_from_a_free_workshop_made_paid_later_is_not_refunded(
    committed, learner, refunds_requested
):
    workshop = workshop_page()
    registration = services.register_free(learner=learner, workshop=workshop)
    workshop.price_amount = 1500
    workshop.save()

    with committed():
        services.cancel_registration(registration=registration)

    assert refunds_requested == []


# The waitlist


def test_waitlist_chain_offers_in_order_expires_and_moves_on(committed, make_learners, mailoutbox):
    """Three people wait, two seats free up: offers go out in order with claim links; an
    unclaimed offer expires and moves on to the third; nobody else can take an offered seat."""
    workshop = workshop_page(capacity=2)
    first, second = make_learners(2)
    waiting = make_learners(3)
    outsider = make_learners(1)[0]
    now = timezone.now()
    seated = [
        services.register_free(learner=person, workshop=workshop) for person in (first, second)
    ]
    for minutes, person in enumerate(waiting):
        services.join_waitlist(
            learner=person, workshop=workshop, now=now + timedelta(minutes=minutes)
        )
    mailoutbox.clear()

    with committed():
        for registration in seated:
            services.cancel_registration(registration=registration, now=now)

    entries = list(WaitlistEntry.objects.filter(workshop=workshop).order_by("joined_at"))
    assert [entry.status for entry in entries] == ["offered", "offered", "waiting"]
    assert seats(workshop) == (0, 0, 2, 2)
    assert [message.to for message in mailoutbox] == [[waiting[0].email], [waiting[1].email]]
    assert all("/workshops/claim/" in message.body for message in mailoutbox)

    # An offered seat is not for sale to anyone outside the offer.
    with pytest.raises(services.SoldOut):
        services.register_free(learner=outsider, workshop=workshop, now=now)

    # The first offer is not claimed in time: it moves on to the third person.
    mailoutbox.clear()
    assert entries[0].offer_expires_at is not None
    later = entries[0].offer_expires_at + timedelta(minutes=1)
    with committed():
        assert services.expire_offers(now=later) == 2  # both offers ran out by then
    statuses = list(
        WaitlistEntry.objects.filter(workshop=workshop)
        .order_by("joined_at")
        .values_list("status", flat=True)
    )
    assert statuses == ["expired", "expired", "offered"]
    assert [message.to for message in mailoutbox] == [[waiting[2].email]]
    assert seats(workshop) == (0, 0, 1, 2)

    # The third person claims; the other freed seat is now open to anyone.
    third_entry = WaitlistEntry.objects.get(learner=waiting[2], workshop=workshop)
    registration = services.claim_offer(entry=third_entry, learner=waiting[2], now=later)
    assert registration.status == Registration.Status.CONFIRMED
    assert seats(workshop) == (0, 1, 0, 2)
    services.register_free(learner=outsider, workshop=workshop, now=later)
    assert seats(workshop) == (0, 2, 0, 2)


def test_an_expired_offer_moves_to_the_next_in_line(committed, make_learners, mailoutbox):
    workshop = workshop_page(capacity=1)
    holder, *waiting = make_learners(3)
    now = timezone.now()
    registration = services.register_free(learner=holder, workshop=workshop, now=now)
    for minutes, person in enumerate(waiting):
        services.join_waitlist(
            learner=person, workshop=workshop, now=now + timedelta(minutes=minutes)
        )
    with committed():
        services.cancel_registration(registration=registration, now=now)
    offer = WaitlistEntry.objects.get(learner=waiting[0])
    mailoutbox.clear()

    with committed():
        assert services.expire_offers(now=offer.offer_expires_at) == 1
        assert services.expire_offers(now=offer.offer_expires_at) == 0

    assert WaitlistEntry.objects.get(pk=offer.pk).status == WaitlistEntry.Status.EXPIRED
    assert WaitlistEntry.objects.get(learner=waiting[1]).status == WaitlistEntry.Status.OFFERED
    assert [message.to for message in mailoutbox] == [[waiting[1].email]]
    assert seats(workshop) == (0, 0, 1, 1)
    with pytest.raises(services.WorkshopError, match="no longer open"):
        services.claim_offer(entry=offer, learner=waiting[0], now=offer.offer_expires_at)


def test_an_offer_is_claimed_only_by_its_learner(committed, make_learners):
    workshop = workshop_page(capacity=1)
    holder, waiting, other = make_learners(3)
    registration = services.register_free(learner=holder, workshop=workshop)
    services.join_waitlist(learner=waiting, workshop=workshop)
    with committed():
        services.cancel_registration(registration=registration)
    entry = WaitlistEntry.objects.get(learner=waiting)

    with pytest.raises(services.WorkshopError, match="someone else"):
        services.claim_offer(entry=entry, learner=other)

    assert seats(workshop) == (0, 0, 1, 1)


def test_registering_while_holding_an_offer_takes_the_offered_seat(committed, make_learners):
    workshop = workshop_page(capacity=1)
    holder, waiting = make_learners(2)
    registration = services.register_free(learner=holder, workshop=workshop)
    services.join_waitlist(learner=waiting, workshop=workshop)
    with committed():
        services.cancel_registration(registration=registration)

    seat = services.register_free(learner=waiting, workshop=workshop)

    assert seat.status == Registration.Status.CONFIRMED
    assert WaitlistEntry.objects.get(learner=waiting).status == WaitlistEntry.Status.CLAIMED
    assert seats(workshop) == (0, 1, 0, 1)


def test_claiming_a_paid_offer_holds_the_seat_for_payment(committed, make_learners):
    workshop = paid_workshop(capacity=1)
    holder, waiting = make_learners(2)
    hold = services.hold_seat(learner=holder, workshop=workshop)
    services.join_waitlist(learner=waiting, workshop=workshop)
    with committed():
        services.release_hold(registration_id=hold.pk)
    entry = WaitlistEntry.objects.get(learner=waiting)

    seat = services.claim_offer(entry=entry, learner=waiting)

    assert (seat.status, seat.paid) == (Registration.Status.HELD, True)
    assert seats(workshop) == (1, 0, 0, 1)


def test_joining_the_waitlist_needs_a_sold_out_workshop_and_is_idempotent(make_learners):
    workshop = workshop_page(capacity=1)
    holder, waiting = make_learners(2)

    with pytest.raises(services.WorkshopError, match="register instead"):
        services.join_waitlist(learner=waiting, workshop=workshop)
    services.register_free(learner=holder, workshop=workshop)
    with pytest.raises(services.WorkshopError, match="already have a seat"):
        services.join_waitlist(learner=holder, workshop=workshop)

    first = services.join_waitlist(learner=waiting, workshop=workshop)
    assert services.join_waitlist(learner=waiting, workshop=workshop).pk == first.pk


def test_leaving_the_waitlist_with_an_offer_passes_the_seat_on(committed, make_learners):
    workshop = workshop_page(capacity=1)
    holder, first, second = make_learners(3)
    registration = services.register_free(learner=holder, workshop=workshop)
    now = timezone.now()
    services.join_waitlist(learner=first, workshop=workshop, now=now)
    services.join_waitlist(learner=second, workshop=workshop, now=now + timedelta(seconds=1))
    with committed():
        services.cancel_registration(registration=registration)
    offer = WaitlistEntry.objects.get(learner=first)

    with committed():
        services.leave_waitlist(entry=offer)
        services.leave_waitlist(entry=offer)

    assert WaitlistEntry.objects.get(pk=offer.pk).status == WaitlistEntry.Status.DECLINED
    assert WaitlistEntry.objects.get(learner=second).status == WaitlistEntry.Status.OFFERED
    assert seats(workshop) == (0, 0, 1, 1)


def test_offers_stop_an_hour_before_the_start(committed, make_learners):
    workshop = workshop_page(capacity=1)
    holder, waiting = make_learners(2)
    registration = services.register_free(learner=holder, workshop=workshop)
    services.join_waitlist(learner=waiting, workshop=workshop)
    too_late = workshop.starts_at - timedelta(minutes=30)

    with committed():
        services.cancel_registration(registration=registration, now=too_late, by_creator=True)
        assert services.offer_free_seats(workshop_id=workshop.pk, now=too_late) == 0

    assert WaitlistEntry.objects.get(learner=waiting).status == WaitlistEntry.Status.WAITING
    assert seats(workshop) == (0, 0, 0, 1)
