"""The workshop pages as visitors see them: times, seats, buttons, and who sees which link."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from wagtail.test.utils import WagtailPageTestCase

from home.models import CreatorPage, HomePage
from tests.workshops.factories import (
    a_learner,
    at,
    in_minutes,
    index_page,
    paid_workshop,
    storefront,
    workshop_page,
)
from workshops import services
from workshops.models import Registration, WorkshopIndexPage, WorkshopPage

pytestmark = pytest.mark.django_db

JOIN_URL = "https://meet.example.com/secret-room"
RECORDING_URL = "https://video.example.com/secret-recording"


def html_of(client, page) -> str:
    response = client.get(page.url)
    assert response.status_code == 200
    return response.content.decode()


def seated(learner, workshop, status: str):
    """``learner``'s registration at ``workshop``, brought to ``status`` through the services."""
    if workshop.is_free:
        registration = services.register_free(
            learner=learner, workshop=workshop, now=workshop.starts_at - timedelta(days=2)
        )
    else:
        registration = services.hold_seat(
            learner=learner, workshop=workshop, now=workshop.starts_at - timedelta(days=2)
        )
        if status != "held":
            services.confirm_paid_seat(registration_id=registration.pk)
    if status == "cancelled":
        services.cancel_registration(registration=registration, by_creator=True)
    elif status == "refunded":
        services.mark_refunded(registration_id=registration.pk)
    return Registration.objects.get(pk=registration.pk)


# Private links


VISITORS = ["anonymous", "not-registered", "held", "cancelled", "refunded", "confirmed"]


@pytest.mark.parametrize("visitor", VISITORS)
def test_join_link_and_recording_only_for_confirmed_registrants(client, learner, visitor):
    # Starts in 30 minutes: the join link is open for whoever may see it.
    workshop = paid_workshop(
        starts_at=in_minutes(30), join_url=JOIN_URL, recording_url=RECORDING_URL
    )
    if visitor not in ("anonymous", "not-registered"):
        seated(learner, workshop, visitor)
    if visitor != "anonymous":
        client.force_login(learner)

    html = html_of(client, workshop)

    shown = visitor == "confirmed"
    assert (JOIN_URL in html) is shown
    assert (RECORDING_URL in html) is shown


@pytest.mark.parametrize(
    ("minutes_from_now", "shown"),
    # in_minutes() rounds down to the minute: 62 is always more than an hour ahead (61 was
    # exactly an hour when a test began in a minute's last moment).
    [(62, False), (59, True), (-30, True), (-125, False)],
    ids=["62-min-before", "59-min-before", "during", "after-the-end"],
)
def test_confirmed_registrant_sees_the_join_link_from_an_hour_before_until_the_end(
    client, learner, minutes_from_now, shown
):
    workshop = workshop_page(
        starts_at=in_minutes(minutes_from_now), duration_minutes=120, join_url=JOIN_URL
    )
    seated(learner, workshop, "confirmed")
    client.force_login(learner)

    html = html_of(client, workshop)

    assert (JOIN_URL in html) is shown
    if minutes_from_now > 60:
        assert "The join link appears here from" in html


def test_workshop_pages_are_never_cached_for_a_signed_in_visitor(client):
    workshop = workshop_page()
    # The anonymous page has no private link: a shared cache may keep it (seat changes purge).
    assert "public" in client.get(workshop.url)["Cache-Control"]
    client.force_login(a_learner())

    response = client.get(workshop.url)

    assert set(response["Cache-Control"].split(", ")) >= {"private", "no-store"}


# Times, seats and buttons


def test_times_show_in_the_visitor_zone_with_the_creator_zone_beside(client):
    workshop = workshop_page(starts_at=at("2026-12-10T18:00-05:00"), time_zone="America/New_York")
    client.force_login(a_learner(time_zone="Asia/Tokyo"))

    html = html_of(client, workshop)

    assert 'Friday 11 December 2026, 08:00</time> <span class="muted">(Asia/Tokyo)' in html
    assert "Thursday 10 December, 18:00 in America/New_York, the creator’s time" in html


def test_anonymous_visitor_sees_times_in_the_browser_zone(client):
    workshop = workshop_page(starts_at=at("2026-12-10T18:00-05:00"), time_zone="America/New_York")
    client.cookies["tz"] = "Europe/Lisbon"

    html = html_of(client, workshop)

    assert "Thursday 10 December 2026, 23:00" in html
    assert "(Europe/Lisbon)" in html


def test_free_workshop_offers_registration_and_says_seats_left(client, learner):
    workshop = workshop_page(capacity=5)
    seated(a_learner(), workshop, "confirmed")
    client.force_login(learner)

    html = html_of(client, workshop)

    assert "4 seats left" in html
    assert "Register for free" in html
    assert f'action="/workshops/{workshop.pk}/register/"' in html


def test_paid_workshop_offers_a_buy_form_that_posts_to_payments_checkout(client):
    workshop = paid_workshop(price_amount=2500, currency="EUR")

    html = html_of(client, workshop)

    assert f'action="/payments/workshops/{workshop.pk}/buy/"' in html
    assert "Buy a seat · €25.00" in html
    assert "disabled" not in html


def test_sold_out_workshop_offers_the_waitlist_and_then_leaving_it(client, learner):
    workshop = workshop_page(capacity=1)
    seated(a_learner(), workshop, "confirmed")
    client.force_login(learner)

    html = html_of(client, workshop)
    assert "Sold out" in html
    assert "Join the waitlist" in html

    services.join_waitlist(learner=learner, workshop=workshop)
    html = html_of(client, workshop)
    assert "number 1 in line" in html
    assert "Leave the waitlist" in html


def test_registered_learner_sees_the_invite_and_cancel_until_the_cutoff(client, learner):
    workshop = workshop_page(starts_at=in_minutes(3 * 24 * 60), cancellation_cutoff_hours=24)
    seated(learner, workshop, "confirmed")
    client.force_login(learner)

    html = html_of(client, workshop)

    assert "You’re registered." in html
    assert f'href="/workshops/{workshop.pk}/invite.ics"' in html
    assert "Cancel my seat" in html


def test_cancelled_workshop_says_so_and_offers_nothing(client, learner):
    workshop = workshop_page()
    services.cancel_workshop(workshop=workshop)
    client.force_login(learner)

    html = html_of(client, workshop)

    assert "This workshop was cancelled by the creator." in html
    assert "Register for free" not in html


def test_agenda_block_renders_its_items(client):
    workshop = workshop_page(
        description=[
            (
                "agenda",
                [
                    {"minutes": 15, "item": "Feeding the starter"},
                    {"minutes": 45, "item": "Shaping"},
                ],
            )
        ]
    )

    html = html_of(client, workshop)

    assert "<h2>Agenda</h2>" in html
    assert "Feeding the starter" in html
    assert "· 45 min" in html


# The listing


def titles(response) -> list[str]:
    return [card.workshop.title for card in response.context["cards"]]


def test_listing_shows_upcoming_soonest_first_and_past_ones_in_the_archive(client):
    index = index_page()
    workshop_page(title="Later", starts_at=in_minutes(3000))
    workshop_page(title="Sooner", starts_at=in_minutes(300))
    workshop_page(title="In progress", starts_at=in_minutes(-30), duration_minutes=120)
    workshop_page(title="Done", starts_at=in_minutes(-3000))
    services.cancel_workshop(workshop=workshop_page(title="Called off", starts_at=in_minutes(600)))

    upcoming = client.get(index.url)
    archive = client.get(index.url, {"archive": "1"})

    assert titles(upcoming) == ["In progress", "Sooner", "Later"]
    assert titles(archive) == ["Done"]


def test_listing_filters_by_topic_and_creator(client):
    index = index_page()
    maya = storefront(title="Maya", slug="maya")
    theo = storefront(title="Theo", slug="theo")
    workshop_page(title="Loaves", parent=maya, topics=["baking"])
    workshop_page(title="Queries", parent=theo, topics=["sql"])
    workshop_page(title="Crumb", parent=theo, topics=["baking"])

    assert titles(client.get(index.url, {"topic": "baking"})) == ["Loaves", "Crumb"]
    assert sorted(titles(client.get(index.url, {"creator": "theo"}))) == ["Crumb", "Queries"]
    assert titles(client.get(index.url, {"creator": "theo", "topic": "baking"})) == ["Crumb"]
    assert titles(client.get(index.url, {"creator": "nobody"})) == []
    response = client.get(index.url, {"topic": "no-such-topic"})
    assert response.status_code == 200
    assert "No workshops match these filters." in response.content.decode()
    html = client.get(index.url).content.decode()
    assert '<option value="maya">Maya</option>' in html
    assert '<option value="sql">sql</option>' in html


def test_listing_paginates_and_keeps_the_filters_in_page_links(client):
    index = index_page()
    parent = storefront()
    for number in range(14):
        workshop_page(
            title=f"W{number:02}",
            parent=parent,
            starts_at=in_minutes(600 + number),
            topics=["baking"],
        )

    first = client.get(index.url, {"topic": "baking"})
    second = client.get(index.url, {"topic": "baking", "page": "2"})
    nonsense = client.get(index.url, {"page": "abc"})

    assert len(titles(first)) == 12
    assert titles(second) == ["W12", "W13"]
    assert "?topic=baking&amp;page=2" in first.content.decode()
    assert nonsense.status_code == 200


def test_listing_query_count_does_not_grow_with_workshops(client, page_cache_off):
    index = index_page()
    a_learner()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(index.url).status_code == 200
        return len(captured)

    workshop_page(topics=["baking"])
    queries()  # warm up the site lookup cache
    with_one = queries()
    for number in range(6):
        workshop_page(topics=["baking", f"topic-{number}"], price_amount=100 * number)

    assert queries() == with_one


class WorkshopPageTreeTests(WagtailPageTestCase):
    def test_where_workshop_pages_live(self):
        self.assertAllowedParentPageTypes(WorkshopPage, {CreatorPage})
        self.assertAllowedParentPageTypes(WorkshopIndexPage, {HomePage})

    def test_pages_render(self):
        workshop = workshop_page(starts_at=timezone.now() + timedelta(days=1))
        self.assertPageIsRenderable(workshop)
        self.assertPageIsRenderable(index_page())
