"""Demo workshops for ``manage.py seed_demo``: a free and a paid one next week, 10 seats each.

Idempotent: a workshop (or the workshop list) that exists already is left as it is, so
running the seed again neither duplicates nor moves anything.
"""

import zoneinfo
from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone
from wagtail.models import Page

from .models import WorkshopIndexPage, WorkshopPage

DEMO_SEATS = 10
DEMO_WORKSHOPS: list[dict[str, Any]] = [
    {
        "title": "Shaping a sourdough loaf, live",
        "slug": "shaping-a-sourdough-loaf-live",
        "tagline": "Pre-shape, bench rest and final shape, with your own dough, on camera.",
        "topics": ["baking", "sourdough"],
        "price_amount": 0,
        "currency": "EUR",
        "days_ahead": 7,
        "local_start": time(18, 0),
    },
    {
        "title": "Window functions clinic",
        "slug": "window-functions-clinic",
        "tagline": "Bring a query that hurts; leave with one that reads like English.",
        "topics": ["sql", "analytics"],
        "price_amount": 2500,
        "currency": "USD",
        "days_ahead": 8,
        "local_start": time(12, 0),
    },
]


def _creator_zone(creator_page: Page) -> str:
    creator = getattr(creator_page.specific, "creator", None)
    return getattr(creator, "time_zone", "") or "UTC"


def _start(*, zone_name: str, days_ahead: int, local_start: time, now: datetime) -> datetime:
    zone = zoneinfo.ZoneInfo(zone_name)
    day = (now.astimezone(zone) + timedelta(days=days_ahead)).date()
    return datetime.combine(day, local_start, tzinfo=zone)


def _publish_child(parent: Page, page: Page) -> Page:
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def seed_demo_workshops(
    *, creator_pages: list[Page], now: datetime | None = None
) -> list[WorkshopPage]:
    """The free workshop goes under the first storefront, the paid one under the second
    (or the first again when there is only one); the workshop list under their parent."""
    if not creator_pages:
        return []
    now = now or timezone.now()
    home = creator_pages[0].get_parent()
    if not WorkshopIndexPage.objects.exists():
        _publish_child(
            home,
            WorkshopIndexPage(
                title="Live workshops",
                slug="workshops",
                introduction="Small live sessions with the people who know: ask anything.",
                show_in_menus=True,
            ),
        )
    workshops = []
    for index, spec in enumerate(DEMO_WORKSHOPS):
        parent = creator_pages[index % len(creator_pages)]
        existing = WorkshopPage.objects.child_of(parent).filter(slug=spec["slug"]).first()
        if existing is not None:
            workshops.append(existing)
            continue
        zone_name = _creator_zone(parent)
        workshop = WorkshopPage(
            title=spec["title"],
            slug=spec["slug"],
            tagline=spec["tagline"],
            starts_at=_start(
                zone_name=zone_name,
                days_ahead=spec["days_ahead"],
                local_start=spec["local_start"],
                now=now,
            ),
            time_zone=zone_name,
            duration_minutes=90,
            capacity=DEMO_SEATS,
            price_amount=spec["price_amount"],
            currency=spec["currency"],
            join_url="https://meet.example.com/" + spec["slug"],
        )
        workshop.topics.add(*spec["topics"])
        workshops.append(_publish_child(parent, workshop))
    return workshops
