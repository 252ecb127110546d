"""The calendar invite: built with icalendar, parsed back with icalendar."""

from datetime import timedelta

import pytest
from django.urls import reverse
from icalendar import Calendar

from tests.workshops.factories import at, republish, workshop_page
from workshops import services
from workshops.calendar import build_invite, invite_uid

pytestmark = pytest.mark.django_db


def event_of(ics: bytes):
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    return event


def test_invite_parses_and_its_start_is_the_stored_utc_start():
    workshop = workshop_page(
        title="Bread & butter", starts_at=at("2026-12-10T18:30+01:00"), duration_minutes=90
    )

    event = event_of(build_invite(workshop=workshop, sequence=0))

    assert event["DTSTART"].dt == workshop.starts_at == at("2026-12-10T17:30")
    assert event["DTEND"].dt == at("2026-12-10T19:00")
    assert event["DTSTART"].to_ical() == b"20261210T173000Z"
    assert str(event["SUMMARY"]) == "Bread & butter"
    assert str(event["UID"]) == invite_uid(workshop)
    assert str(event["STATUS"]) == "CONFIRMED"
    # The join link stays private: the invite points to the page.
    assert (
        workshop.join_url
        not in event_of(build_invite(workshop=workshop, sequence=0)).to_ical().decode()
    )


def test_uid_is_stable_and_sequence_goes_up_when_the_time_moves(committed, client, learner):
    workshop = workshop_page()
    services.register_free(learner=learner, workshop=workshop)
    client.force_login(learner)
    url = reverse("workshops:invite", args=[workshop.pk])
    before = event_of(client.get(url).content)

    with committed():
        republish(workshop, starts_at=workshop.starts_at + timedelta(hours=3))
    after = event_of(client.get(url).content)

    assert str(after["UID"]) == str(before["UID"])
    assert (before["SEQUENCE"], after["SEQUENCE"]) == (0, 1)
    assert after["DTSTART"].dt == workshop.starts_at + timedelta(hours=3)


def test_invite_download_is_a_private_calendar_file_for_confirmed_registrants(client, learner):
    workshop = workshop_page()
    services.register_free(learner=learner, workshop=workshop)
    client.force_login(learner)

    response = client.get(reverse("workshops:invite", args=[workshop.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="workshop-{workshop.pk}.ics"'
    assert "no-store" in response["Cache-Control"]
    assert event_of(response.content)["DTSTART"].dt == workshop.starts_at


@pytest.mark.parametrize("who", ["anonymous", "not-registered", "cancelled"])
def test_invite_download_is_refused_to_everyone_else(client, learner, who):
    workshop = workshop_page()
    if who == "cancelled":
        registration = services.register_free(learner=learner, workshop=workshop)
        services.cancel_registration(registration=registration)
    if who != "anonymous":
        client.force_login(learner)

    response = client.get(reverse("workshops:invite", args=[workshop.pk]))

    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    else:
        assert response.status_code == 403
        assert "confirmed seat" in response.content.decode()
