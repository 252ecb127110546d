"""workshops.demo.seed_demo_workshops, which seed_demo calls."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.workshops.factories import storefront
from workshops.demo import DEMO_SEATS, seed_demo_workshops
from workshops.models import SeatInventory, WorkshopIndexPage, WorkshopPage

pytestmark = pytest.mark.django_db


def test_seeds_a_free_and_a_paid_workshop_next_week_once():
    creators = [storefront(title="Maya"), storefront(title="Theo")]
    now = timezone.now()

    first = seed_demo_workshops(creator_pages=creators, now=now)
    again = seed_demo_workshops(creator_pages=creators, now=now + timedelta(days=1))

    assert [page.pk for page in again] == [page.pk for page in first]
    assert WorkshopPage.objects.count() == 2
    assert WorkshopIndexPage.objects.live().count() == 1
    free, paid = (WorkshopPage.objects.get(pk=page.pk) for page in first)
    assert (free.is_free, paid.is_free) == (True, False)
    assert free.get_parent().pk == creators[0].pk
    assert paid.get_parent().pk == creators[1].pk
    for workshop in (free, paid):
        assert workshop.live
        assert timedelta(days=6) < workshop.starts_at - now < timedelta(days=9)
        assert SeatInventory.objects.get(workshop=workshop).capacity == DEMO_SEATS
    assert sorted(tag.name for tag in free.topics.all()) == ["baking", "sourdough"]


def test_no_storefronts_means_nothing_to_seed():
    assert seed_demo_workshops(creator_pages=[]) == []
