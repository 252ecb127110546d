"""Workshops in the Wagtail admin: the page form (zone, capacity), the registrations listing,
and cancelling a workshop."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from config.money import to_major_units
from tests.workshops.factories import a_learner, at, storefront, workshop_page
from workshops import services
from workshops.forms import WorkshopPageForm
from workshops.models import Registration, SeatInventory, WorkshopPage

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client):
    """A staff editor whose own zone (Tokyo) differs from every workshop's."""
    user = a_learner(is_staff=True, is_superuser=True, time_zone="Asia/Tokyo")
    client.force_login(user)
    return user


def page_form_data(workshop: WorkshopPage, **changes) -> dict:
    fields = {
        "title": workshop.title,
        "slug": workshop.slug,
        "tagline": workshop.tagline,
        "description": streamfield([]),
        "topics": "",
        "starts_at": workshop.starts_at.astimezone(workshop.zone).strftime("%Y-%m-%d %H:%M"),
        "time_zone": workshop.time_zone,
        "duration_minutes": workshop.duration_minutes,
        "cancellation_cutoff_hours": workshop.cancellation_cutoff_hours,
        "format": workshop.format,
        "address": workshop.address,
        "join_url": workshop.join_url,
        "capacity": workshop.capacity,
        # The editor takes the price in major units ("25.00"), as a creator types it.
        "price_amount": to_major_units(workshop.price_amount, workshop.currency),
        "currency": workshop.currency,
        "recording_url": workshop.recording_url,
        "materials": rich_text(""),
        "action-publish": "action-publish",
        **changes,
    }
    return nested_form_data(fields)


def edit(client, workshop, **changes):
    return client.post(
        reverse("wagtailadmin_pages:edit", args=[workshop.pk]), page_form_data(workshop, **changes)
    )


def test_capacity_below_the_seats_taken_is_refused_in_the_admin(client, editor):
    workshop = workshop_page(capacity=3)
    for _ in range(2):
        services.register_free(learner=a_learner(), workshop=workshop)

    response = edit(client, workshop, capacity=1)

    assert response.status_code == 200  # the form again, with the error
    assert response.context["form"].errors["capacity"] == [
        "2 seats are already taken or offered: the capacity cannot go below that."
    ]
    assert WorkshopPage.objects.get(pk=workshop.pk).capacity == 3
    assert SeatInventory.objects.get(workshop=workshop).capacity == 3


def test_capacity_at_or_above_the_seats_taken_is_published(client, editor):
    workshop = workshop_page(capacity=3)
    for _ in range(2):
        services.register_free(learner=a_learner(), workshop=workshop)

    response = edit(client, workshop, capacity=2)

    assert response.status_code == 302
    assert SeatInventory.objects.get(workshop=workshop).capacity == 2


def test_start_time_is_read_in_the_workshop_zone_and_stored_in_utc(client, editor):
    workshop = workshop_page(time_zone="UTC")

    response = edit(client, workshop, starts_at="2026-12-10 18:00", time_zone="America/New_York")

    assert response.status_code == 302
    saved = WorkshopPage.objects.get(pk=workshop.pk)
    assert saved.starts_at == at("2026-12-10T23:00")
    assert SeatInventory.objects.get(workshop=workshop).announced_starts_at == at(
        "2026-12-10T23:00"
    )
    # ...and shown back in the workshop's zone, not the editor's (Tokyo).
    form_html = client.get(reverse("wagtailadmin_pages:edit", args=[workshop.pk])).content.decode()
    assert 'value="2026-12-10 18:00"' in form_html


def page_form(workshop, **changes) -> WorkshopPageForm:
    form_class = WorkshopPage.get_edit_handler().get_form_class()
    return form_class(page_form_data(workshop, **changes), instance=workshop, for_user=None)


def test_a_time_in_the_workshops_dst_gap_is_refused(editor):
    workshop = workshop_page(time_zone="America/New_York")

    # New York skips from 02:00 to 03:00 on 14 March 2027.
    form = page_form(workshop, starts_at="2027-03-14 02:30")

    assert not form.is_valid()
    assert form.errors["starts_at"] == [
        "2027-03-14 02:30 does not exist in America/New_York: the clocks go forward then. "
        "Pick another time."
    ]


def test_a_time_in_the_editors_dst_gap_is_fine_in_the_workshops_zone():
    workshop = workshop_page(time_zone="America/New_York")

    # Berlin skips 02:00-03:00 on 28 March 2027; New York is on EDT (-4) by then.
    with timezone.override("Europe/Berlin"):
        form = page_form(workshop, starts_at="2027-03-28 02:30")
        assert form.is_valid(), form.errors

    assert form.cleaned_data["starts_at"] == at("2027-03-28T06:30")


def test_an_unknown_zone_is_a_form_error_not_a_crash(editor):
    workshop = workshop_page()

    form = page_form(workshop, time_zone="Mars/Olympus_Mons")

    assert not form.is_valid()
    assert "time_zone" in form.errors


# Registrations listing


def test_registrations_listing_filters_by_workshop_and_is_read_only(client, editor):
    first, second = workshop_page(title="First"), workshop_page(title="Second")
    mine = services.register_free(learner=a_learner(email="one@example.com"), workshop=first)
    services.register_free(learner=a_learner(email="two@example.com"), workshop=second)

    response = client.get(reverse("registrations:index"), {"workshop": first.pk})

    html = response.content.decode()
    assert response.status_code == 200
    assert "one@example.com" in html
    assert "two@example.com" not in html
    edit_view = client.get(reverse("registrations:edit", args=[mine.pk]))
    assert edit_view.status_code in (302, 403)
    assert client.post(reverse("registrations:delete", args=[mine.pk])).status_code in (302, 403)
    assert Registration.objects.filter(pk=mine.pk).exists()


# Cancelling a workshop


def test_cancel_workshop_asks_for_confirmation_then_cancels(committed, client, editor, mailoutbox):
    workshop = workshop_page()
    services.register_free(learner=a_learner(), workshop=workshop)
    cancel_url = reverse("workshops_cancel_workshop", args=[workshop.pk])

    edit_page = client.get(reverse("wagtailadmin_pages:edit", args=[workshop.pk])).content.decode()
    assert cancel_url in edit_page
    confirm = client.get(cancel_url)
    assert confirm.status_code == 200
    assert "1 registered learner loses their seat" in confirm.content.decode()
    assert SeatInventory.objects.get(workshop=workshop).cancelled_at is None

    mailoutbox.clear()
    with committed():
        response = client.post(cancel_url)

    assert response.status_code == 302
    assert SeatInventory.objects.get(workshop=workshop).cancelled_at is not None
    assert [message.subject for message in mailoutbox] == [f"Cancelled: {workshop.title}"]
    assert "was cancelled on" in client.get(cancel_url).content.decode()


def test_cancel_workshop_is_refused_to_someone_who_may_not_publish_it(client):
    workshop = workshop_page()
    user = a_learner(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)

    response = client.post(reverse("workshops_cancel_workshop", args=[workshop.pk]))

    assert response.status_code in (302, 403)
    assert SeatInventory.objects.get(workshop=workshop).cancelled_at is None


def test_workshop_pages_can_be_created_under_a_storefront(client, editor):
    parent = storefront()
    data = page_form_data(
        WorkshopPage(
            title="Knife skills",
            slug="knife-skills",
            starts_at=at("2026-12-20T17:00"),
            time_zone="Europe/Paris",
            capacity=8,
        )
    )

    response = client.post(
        reverse("wagtailadmin_pages:add", args=["workshops", "workshoppage", parent.pk]), data
    )

    assert response.status_code == 302, response.context["form"].errors
    created = WorkshopPage.objects.get(slug="knife-skills")
    assert created.starts_at == at("2026-12-20T17:00")
    assert SeatInventory.objects.get(workshop=created).capacity == 8
