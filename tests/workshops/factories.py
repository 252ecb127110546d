"""Workshop pages for tests, made live quickly or published the way an editor does."""

import itertools
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from accounts.models import User
from home.models import CreatorPage
from tests.accounts.factories import UserFactory
from tests.home.factories import creator_page, home_page, publish_child
from workshops import services
from workshops.models import WorkshopIndexPage, WorkshopPage

_numbers = itertools.count(1)


def a_learner(**fields) -> User:
    """UserFactory, typed as the User it makes."""
    user: User = UserFactory.create(**fields)
    return user


def storefront(**fields):
    number = next(_numbers)
    fields.setdefault("title", f"Creator {number}")
    fields.setdefault("slug", f"creator-{number}")
    return creator_page(**fields)


def in_minutes(minutes: int) -> datetime:
    """A start time ``minutes`` from now, on a whole minute as the admin form enters it."""
    return (timezone.now() + timedelta(minutes=minutes)).replace(second=0, microsecond=0)


def _shared_storefront() -> CreatorPage:
    """One storefront for the workshops of a test that doesn't care whose they are."""
    existing = CreatorPage.objects.filter(slug="shared-storefront").first()
    return existing or creator_page(title="Shared Storefront", slug="shared-storefront")


def workshop_page(*, parent=None, topics=(), publish=False, **fields) -> WorkshopPage:
    """A live workshop: by default free, 10 seats, a week from now, on a shared storefront.

    ``publish=True`` publishes a revision as the admin does (the publish hook runs); by default
    the page is only saved live, which is several times quicker.
    """
    number = next(_numbers)
    fields.setdefault("title", f"Workshop {number}")
    fields.setdefault("slug", f"workshop-{number}")
    fields.setdefault("starts_at", in_minutes(7 * 24 * 60))
    fields.setdefault("time_zone", "America/New_York")
    fields.setdefault("capacity", 10)
    fields.setdefault("join_url", "https://meet.example.com/room-42")
    page = WorkshopPage(**fields)
    if topics:
        page.topics.add(*topics)
    parent = parent or _shared_storefront()
    if publish:
        return publish_child(parent, page)
    # Quicker: live without a revision, and the seat row the first publish would make.
    parent.add_child(instance=page)
    services.inventory_for(page)
    return page


def paid_workshop(**fields) -> WorkshopPage:
    fields.setdefault("price_amount", 2500)
    fields.setdefault("currency", "EUR")
    return workshop_page(**fields)


def index_page(**fields) -> WorkshopIndexPage:
    fields.setdefault("title", "Live workshops")
    fields.setdefault("slug", "workshops")
    return publish_child(home_page(), WorkshopIndexPage(**fields))


def republish(workshop: WorkshopPage, **changes) -> WorkshopPage:
    """Edit fields and publish a new revision, as the admin's "Publish" does."""
    workshop = WorkshopPage.objects.get(pk=workshop.pk)
    for name, value in changes.items():
        setattr(workshop, name, value)
    workshop.save_revision().publish()
    return WorkshopPage.objects.get(pk=workshop.pk)


def at(text: str) -> datetime:
    """An aware datetime from ISO text; UTC unless the text names an offset."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
