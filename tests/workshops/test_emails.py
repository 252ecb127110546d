"""Every workshop e-mail: a text and an HTML part, times in the learner's zone with the
creator's beside it, the invite attached where it belongs, nothing queued for a stale state.

Each is written to the outbox and sent after commit by its task (eager here, locmem)."""

import pytest

from accounts.models import OutboundEmail
from tests.workshops.factories import a_learner, at, paid_workshop, workshop_page
from workshops import emails, services, tasks
from workshops.models import Registration, WaitlistEntry

pytestmark = pytest.mark.django_db

# 18:00 in New York is 00:00 the next day in Berlin.
START = at("2026-12-10T18:00-05:00")
LEARNER_TIME = "Friday 11 December 2026, 00:00"
CREATOR_TIME = "Thursday 10 December 2026, 18:00 in America/New_York"


@pytest.fixture
def berliner():
    return a_learner(time_zone="Europe/Berlin", first_name="Ana")


def registration_in(status: str, learner) -> Registration:
    workshop = paid_workshop(starts_at=START, time_zone="America/New_York")
    registration = services.hold_seat(
        learner=learner, workshop=workshop, now=at("2026-12-01T12:00")
    )
    if status != "held":
        services.confirm_paid_seat(registration_id=registration.pk)
    Registration.objects.filter(pk=registration.pk).update(status=status)
    return registration


@pytest.mark.parametrize(
    ("sender", "status", "subject", "invite"),
    [
        ("registration_confirmed", "confirmed", "You're registered", "PUBLISH"),
        ("time_changed", "confirmed", "New time", "PUBLISH"),
        ("recording_available", "confirmed", "Recording available", None),
        ("workshop_cancelled", "cancelled", "Cancelled", "CANCEL"),
        ("late_payment_refunded", "refunded", "Sold out, payment refunded", None),
    ],
)
def test_registration_emails_show_both_zones_in_both_parts(
    berliner, mailoutbox, django_capture_on_commit_callbacks, sender, status, subject, invite
):
    registration = registration_in(status, berliner)

    with django_capture_on_commit_callbacks(execute=True):
        emails.SENDERS[sender](registration_id=registration.pk)

    [message] = mailoutbox
    html = message.alternatives[0][0]
    assert message.subject.startswith(subject)
    for part in (message.body, html):
        assert "Ana" in part
        assert LEARNER_TIME in part
        assert CREATOR_TIME in part.replace("creator’s", "creator's")
    if invite:
        [(_, _, mimetype)] = message.attachments
        assert mimetype == f"text/calendar; method={invite}"
    else:
        assert message.attachments == []


def test_reminder_email_shows_both_zones_and_the_join_link(
    berliner, mailoutbox, django_capture_on_commit_callbacks
):
    registration = registration_in("confirmed", berliner)

    with django_capture_on_commit_callbacks(execute=True):
        emails.queue_reminder(registration_id=registration.pk, hours_before=1)

    [message] = mailoutbox
    assert LEARNER_TIME in message.body
    assert CREATOR_TIME in message.body
    assert registration.workshop.join_url in message.body


def test_waitlist_emails_show_the_claim_link_and_both_zones(
    berliner, mailoutbox, django_capture_on_commit_callbacks
):
    workshop = workshop_page(starts_at=START, time_zone="America/New_York", capacity=1)
    services.register_free(learner=a_learner(), workshop=workshop, now=at("2026-12-01T12:00"))
    entry = services.join_waitlist(learner=berliner, workshop=workshop, now=at("2026-12-01T12:00"))
    WaitlistEntry.objects.filter(pk=entry.pk).update(
        status="offered", offer_expires_at=at("2026-12-02T12:00")
    )

    with django_capture_on_commit_callbacks(execute=True):
        emails.queue_waitlist_offer(entry_id=entry.pk)
    WaitlistEntry.objects.filter(pk=entry.pk).update(status="closed")
    with django_capture_on_commit_callbacks(execute=True):
        emails.queue_waitlist_workshop_cancelled(entry_id=entry.pk)

    offer, cancelled = mailoutbox
    assert "/workshops/claim/" in offer.body
    assert "Wednesday 2 December 2026, 13:00 (Europe/Berlin)" in offer.body
    assert LEARNER_TIME in offer.body
    assert CREATOR_TIME in offer.body
    assert "the waitlist is closed" in cancelled.body


def test_an_email_about_a_state_that_changed_meanwhile_is_not_queued(
    berliner, mailoutbox, django_capture_on_commit_callbacks
):
    registration = registration_in("cancelled", berliner)
    queued_before = OutboundEmail.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        emails.queue_reminder(registration_id=registration.pk, hours_before=24)
        emails.queue_registration_confirmed(registration_id=registration.pk)

    assert OutboundEmail.objects.count() == queued_before
    assert mailoutbox == []


def test_titles_are_not_html_escaped_in_the_text_part(
    berliner, mailoutbox, django_capture_on_commit_callbacks
):
    registration = registration_in("confirmed", berliner)
    registration.workshop.title = "Bread & <butter>"
    registration.workshop.save()

    with django_capture_on_commit_callbacks(execute=True):
        emails.queue_registration_confirmed(registration_id=registration.pk)

    [message] = mailoutbox
    assert '"Bread & <butter>"' in message.body
    assert "Bread &amp; &lt;butter&gt;" in message.alternatives[0][0]


def test_a_deliver_email_task_queued_by_the_previous_release_still_sends(
    berliner, mailoutbox, django_capture_on_commit_callbacks
):
    registration = registration_in("confirmed", berliner)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.deliver_email("registration_confirmed", {"registration_id": registration.pk})

    [message] = mailoutbox
    assert message.subject.startswith("You're registered")
