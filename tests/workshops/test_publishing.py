"""What publishing a workshop's new revision does, and the creator cancelling a workshop."""

from datetime import timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar

from tests.workshops.factories import paid_workshop, republish, workshop_page
from workshops import services
from workshops.models import Registration, SeatInventory, WaitlistEntry
from workshops.signals import paid_registration_cancelled

pytestmark = pytest.mark.django_db


def inventory(workshop) -> SeatInventory:
    return SeatInventory.objects.get(workshop=workshop)


def invite_of(message):
    [(_, content, _)] = message.attachments
    return Calendar.from_ical(content)


def test_more_capacity_offers_the_new_seats_to_the_waitlist(committed, make_learners, mailoutbox):
    workshop = workshop_page(capacity=1)
    holder, *waiting = make_learners(3)
    services.register_free(learner=holder, workshop=workshop)
    for person in waiting:
        services.join_waitlist(learner=person, workshop=workshop)
    mailoutbox.clear()

    with committed():
        republish(workshop, capacity=2)

    assert inventory(workshop).capacity == 2
    statuses = dict(WaitlistEntry.objects.values_list("learner_id", "status"))
    assert statuses == {waiting[0].pk: "offered", waiting[1].pk: "waiting"}
    assert [message.to for message in mailoutbox] == [[waiting[0].email]]


def test_capacity_below_the_seats_taken_never_reaches_the_seat_row(make_learners):
    """The page refuses it when saved (test_admin.py); a revision that passed that check just
    before two buyers took seats still cannot shrink the row below the seats taken."""
    workshop = workshop_page(capacity=3)
    for person in make_learners(2):
        services.register_free(learner=person, workshop=workshop)
    workshop.capacity = 1  # as validated a moment before those registrations

    services.sync_published_workshop(workshop=workshop)

    assert (inventory(workshop).capacity, inventory(workshop).taken) == (3, 2)


def test_a_moved_start_emails_confirmed_registrants_the_new_invite_once(
    committed, make_learners, mailoutbox
):
    workshop = workshop_page()
    confirmed, cancelled = make_learners(2)
    registration = services.register_free(learner=confirmed, workshop=workshop)
    gone = services.register_free(learner=cancelled, workshop=workshop)
    services.cancel_registration(registration=gone)
    Registration.objects.filter(pk=registration.pk).update(reminded_24h_at=timezone.now())
    new_start = workshop.starts_at + timedelta(days=2)
    mailoutbox.clear()

    with committed():
        republish(workshop, starts_at=new_start)
        republish(workshop, title="Same time, new title")  # no second e-mail

    row = inventory(workshop)
    assert (row.calendar_sequence, row.announced_starts_at) == (1, new_start)
    assert Registration.objects.get(pk=registration.pk).reminded_24h_at is None
    assert [message.to for message in mailoutbox] == [[confirmed.email]]
    assert mailoutbox[0].subject.startswith("New time:")
    event = invite_of(mailoutbox[0]).walk("VEVENT")[0]
    assert event["SEQUENCE"] == 1
    assert event["DTSTART"].dt == new_start


def test_a_moved_start_shortens_open_offers_to_an_hour_before_it(committed, make_learners):
    workshop = workshop_page(capacity=1, starts_at=timezone.now() + timedelta(days=7))
    holder, waiting = make_learners(2)
    registration = services.register_free(learner=holder, workshop=workshop)
    services.join_waitlist(learner=waiting, workshop=workshop)
    with committed():
        services.cancel_registration(registration=registration)
    new_start = timezone.now() + timedelta(hours=5)

    with committed():
        republish(workshop, starts_at=new_start)

    offer = WaitlistEntry.objects.get(learner=waiting)
    assert offer.offer_expires_at == new_start - timedelta(hours=1)


def test_a_new_recording_is_announced_to_confirmed_registrants_once(
    committed, make_learners, mailoutbox
):
    workshop = paid_workshop()
    confirmed, held = make_learners(2)
    seat = services.hold_seat(learner=confirmed, workshop=workshop)
    services.confirm_paid_seat(registration_id=seat.pk)
    services.hold_seat(learner=held, workshop=workshop)
    mailoutbox.clear()

    with committed():
        republish(workshop, recording_url="https://video.example.com/take-1")
        republish(workshop, recording_url="https://video.example.com/take-1")
        republish(workshop, recording_url="https://video.example.com/take-2")

    assert inventory(workshop).recording_announced_url == "https://video.example.com/take-2"
    assert [message.subject for message in mailoutbox] == [f"Recording available: {workshop.title}"]
    assert mailoutbox[0].to == [confirmed.email]
    # The e-mail points to the page (which checks the seat), not to the video itself.
    assert "video.example.com" not in mailoutbox[0].body


def test_creator_cancelling_a_workshop_tells_everyone_once_and_refunds_paid_seats(
    committed, make_learners, mailoutbox
):
    workshop = paid_workshop(capacity=3)
    paid, held, third, offered, waiting = make_learners(5)
    now = timezone.now()
    seat = services.hold_seat(learner=paid, workshop=workshop, now=now)
    services.confirm_paid_seat(registration_id=seat.pk, now=now)
    services.hold_seat(learner=held, workshop=workshop, now=now)
    leaving = services.hold_seat(learner=third, workshop=workshop, now=now)
    services.join_waitlist(learner=offered, workshop=workshop, now=now)
    services.join_waitlist(learner=waiting, workshop=workshop, now=now + timedelta(seconds=1))
    with committed():
        services.release_hold(registration_id=leaving.pk, now=now)  # offers a seat to `offered`
    refunds: list[int] = []

    def listener(sender, registration_id, **kwargs):
        refunds.append(registration_id)

    paid_registration_cancelled.connect(listener)
    mailoutbox.clear()
    try:
        with committed():
            assert services.cancel_workshop(workshop=workshop, now=now) == 4
            assert services.cancel_workshop(workshop=workshop, now=now) == 0
    finally:
        paid_registration_cancelled.disconnect(listener)

    row = inventory(workshop)
    assert row.cancelled_at == now
    assert (row.held, row.confirmed, row.offered) == (0, 0, 0)
    assert refunds == [seat.pk]
    assert set(
        Registration.objects.filter(learner__in=[paid, held]).values_list("status", flat=True)
    ) == {"cancelled"}
    assert set(WaitlistEntry.objects.values_list("status", flat=True)) == {"closed"}
    assert sorted(message.to[0] for message in mailoutbox) == sorted(
        person.email for person in (paid, held, offered, waiting)
    )
    to_paid = next(message for message in mailoutbox if message.to == [paid.email])
    assert "refunded" in to_paid.body
    event = invite_of(to_paid).walk("VEVENT")[0]
    assert (str(event["STATUS"]), event["SEQUENCE"]) == ("CANCELLED", 1)
    # Nothing can be taken any more.
    with pytest.raises(services.WorkshopError, match="cancelled"):
        services.hold_seat(learner=make_learners(1)[0], workshop=workshop, now=now)
