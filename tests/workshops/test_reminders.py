"""The reminder job (services.send_due_reminders) and the beat entries and tasks that run it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from tests.workshops.factories import at, paid_workshop, republish, workshop_page
from workshops import services, tasks
from workshops.models import Registration

pytestmark = pytest.mark.django_db

START = at("2026-12-10T17:00")


def reminders(mailoutbox) -> list[tuple[str, str]]:
    return [(message.to[0], message.subject.split(":")[0]) for message in mailoutbox]


@pytest.fixture
def workshop():
    return workshop_page(starts_at=START, time_zone="Europe/Paris")


def test_reminder_job_run_twice_sends_each_reminder_once(committed, workshop, learner, mailoutbox):
    services.register_free(learner=learner, workshop=workshop, now=START - timedelta(days=3))
    mailoutbox.clear()

    with committed():
        assert services.send_due_reminders(now=START - timedelta(hours=24)) == 1
        assert services.send_due_reminders(now=START - timedelta(hours=24)) == 0
        assert services.send_due_reminders(now=START - timedelta(hours=2)) == 0
        assert services.send_due_reminders(now=START - timedelta(minutes=59)) == 1
        assert services.send_due_reminders(now=START - timedelta(minutes=55)) == 0

    assert reminders(mailoutbox) == [
        (learner.email, "Starting in 24 hours"),
        (learner.email, "Starting in 1 hour"),
    ]


def test_nothing_is_due_before_the_reminder_point(committed, workshop, learner, mailoutbox):
    services.register_free(learner=learner, workshop=workshop, now=START - timedelta(days=3))
    mailoutbox.clear()

    with committed():
        assert services.send_due_reminders(now=START - timedelta(hours=24, minutes=1)) == 0

    assert mailoutbox == []


def test_reminders_carry_the_join_link(committed, workshop, learner, mailoutbox):
    services.register_free(learner=learner, workshop=workshop, now=START - timedelta(days=3))
    mailoutbox.clear()

    with committed():
        services.send_due_reminders(now=START - timedelta(hours=24))
        services.send_due_reminders(now=START - timedelta(hours=1))

    day_before, hour_before = mailoutbox
    checked_link = f"http://testserver/workshops/{workshop.pk}/join/"
    assert checked_link in day_before.body
    assert workshop.join_url not in day_before.body  # the call's own URL: only from 1 hour
    assert checked_link in hour_before.body
    assert workshop.join_url in hour_before.body
    assert workshop.join_url in hour_before.alternatives[0][0]


def test_someone_who_registers_30_minutes_before_gets_no_reminder(
    committed, workshop, make_learners, mailoutbox
):
    """Reminders go to registrations made at or before each reminder's point: 30 minutes
    before the start is after both points (they just got the confirmation instead)."""
    early, last_minute = make_learners(2)
    services.register_free(learner=early, workshop=workshop, now=START - timedelta(days=2))
    services.register_free(
        learner=last_minute, workshop=workshop, now=START - timedelta(minutes=30)
    )
    mailoutbox.clear()

    with committed():
        for minutes_before in (24 * 60, 60, 25, 5):
            services.send_due_reminders(now=START - timedelta(minutes=minutes_before))

    assert reminders(mailoutbox) == [
        (early.email, "Starting in 24 hours"),
        (early.email, "Starting in 1 hour"),
    ]


def test_someone_who_registers_5_hours_before_gets_only_the_1_hour_reminder(
    committed, workshop, learner, mailoutbox
):
    services.register_free(learner=learner, workshop=workshop, now=START - timedelta(hours=5))
    mailoutbox.clear()

    with committed():
        services.send_due_reminders(now=START - timedelta(hours=4))
        services.send_due_reminders(now=START - timedelta(hours=1))

    assert reminders(mailoutbox) == [(learner.email, "Starting in 1 hour")]


def test_a_job_that_catches_up_late_skips_the_stale_24_hour_reminder(
    committed, workshop, learner, mailoutbox
):
    services.register_free(learner=learner, workshop=workshop, now=START - timedelta(days=3))
    mailoutbox.clear()

    with committed():
        # Beat was down for a day; it comes back 50 minutes before the start.
        assert services.send_due_reminders(now=START - timedelta(minutes=50)) == 1

    assert reminders(mailoutbox) == [(learner.email, "Starting in 1 hour")]


def test_a_workshop_across_a_dst_change_is_reminded_24_hours_before_in_absolute_time(
    committed, learner, mailoutbox
):
    """18:00 in New York on 2026-11-01, the day clocks go back (EDT -4 -> EST -5), is 23:00
    UTC. 24 hours before is 23:00 UTC on 31 October, 19:00 New York time: a "same wall-clock
    time yesterday" reminder would go out an hour early, at 22:00 UTC."""
    workshop = workshop_page(starts_at=at("2026-11-01T18:00-05:00"), time_zone="America/New_York")
    assert workshop.starts_at == at("2026-11-01T23:00")
    services.register_free(learner=learner, workshop=workshop, now=at("2026-10-20T12:00"))
    mailoutbox.clear()

    with committed():
        assert services.send_due_reminders(now=at("2026-10-31T22:00")) == 0
        assert services.send_due_reminders(now=at("2026-10-31T22:55")) == 0
        assert services.send_due_reminders(now=at("2026-10-31T23:00")) == 1

    assert reminders(mailoutbox) == [(learner.email, "Starting in 24 hours")]
    # The e-mail shows both zones: the learner's (Berlin, CET by then) and the creator's.
    assert "Monday 2 November 2026, 00:00 (your time, Europe/Berlin)" in mailoutbox[0].body
    assert "Sunday 1 November 2026, 18:00 in America/New_York" in mailoutbox[0].body


def test_cancelled_seats_and_cancelled_workshops_get_no_reminder(
    committed, workshop, make_learners, mailoutbox
):
    stays, leaves = make_learners(2)
    services.register_free(learner=stays, workshop=workshop, now=START - timedelta(days=3))
    gone = services.register_free(learner=leaves, workshop=workshop, now=START - timedelta(days=3))
    services.cancel_registration(registration=gone, now=START - timedelta(days=2))
    services.cancel_workshop(workshop=workshop, now=START - timedelta(days=2))
    mailoutbox.clear()

    with committed():
        assert services.send_due_reminders(now=START - timedelta(hours=24)) == 0

    assert mailoutbox == []


def test_a_moved_workshop_is_reminded_again_for_its_new_time(
    committed, workshop, learner, mailoutbox
):
    services.register_free(learner=learner, workshop=workshop, now=START - timedelta(days=5))
    with committed():
        services.send_due_reminders(now=START - timedelta(hours=24))
    new_start = START + timedelta(days=3)
    with committed():
        republish(workshop, starts_at=new_start)
    mailoutbox.clear()

    with committed():
        assert services.send_due_reminders(now=new_start - timedelta(hours=24)) == 1

    assert reminders(mailoutbox) == [(learner.email, "Starting in 24 hours")]


def test_the_beat_task_runs_the_job(committed, workshop, learner, mailoutbox):
    services.register_free(learner=learner, workshop=workshop, now=START - timedelta(days=3))
    mailoutbox.clear()

    with committed():
        sent = tasks.send_due_reminders.delay(now=(START - timedelta(hours=24)).isoformat()).get()

    assert sent == 1
    assert Registration.objects.get(learner=learner).reminded_24h_at == START - timedelta(hours=24)


def test_beat_runs_the_sweepers_every_minute_and_the_reminders_every_five(settings):
    schedule = {
        entry["task"]: entry["schedule"]
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if name.startswith("workshops-")
    }

    assert schedule == {
        "workshops.tasks.release_expired_holds": 60.0,
        "workshops.tasks.expire_offers": 60.0,
        "workshops.tasks.send_due_reminders": 300.0,
    }
    assert all(task in celery_app.tasks for task in schedule)


def test_the_sweeper_tasks_release_expired_holds_and_offers(committed, learner):
    workshop = paid_workshop()
    hold = services.hold_seat(
        learner=learner, workshop=workshop, now=timezone.now() - timedelta(hours=1)
    )

    with committed():
        assert tasks.release_expired_holds.delay().get() == 1
        assert tasks.expire_offers.delay().get() == 0

    assert Registration.objects.get(pk=hold.pk).status == "released"
