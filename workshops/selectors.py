"""Reads of the workshops app: the listing, what one visitor may see on a workshop page, and
a learner's workshops for the dashboard. Access is decided here, on the server, per request
(docs/architecture.md, invariant 7)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import (
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    Min,
    Q,
    QuerySet,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from taggit.models import Tag
from wagtail.models import Page

from config.cards import Card

from .models import Registration, SeatInventory, WaitlistEntry, WorkshopPage
from .rules import JOIN_LINK_OPENS_BEFORE, cancellation_deadline, join_link_open
from .tokens import claim_token

# How many past workshops the dashboard lists.
PAST_LIMIT = 20


class Minutes(Func):
    """A whole number of minutes as a duration, in PostgreSQL (an interval) and in SQLite
    (microseconds, which is how Django stores durations there), for ``make run``."""

    output_field = DurationField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="make_interval(mins => %(expressions)s)", **extra_context
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="(%(expressions)s * 60000000)", **extra_context
        )


def ends_at_expression(prefix: str = "") -> ExpressionWrapper:
    """``starts_at + duration`` in SQL, for filtering on whether a workshop has ended."""
    return ExpressionWrapper(
        F(f"{prefix}starts_at") + Minutes(F(f"{prefix}duration_minutes")),
        output_field=DateTimeField(),
    )


def buy_url(workshop: WorkshopPage) -> str:
    """The payments app's checkout for this workshop (POST: holds a seat, then Stripe's page).

    workshops never imports payments (docs/architecture.md); the URL name is the whole contract.
    """
    return reverse("payments:buy_workshop", args=[workshop.pk])


# The listing


@dataclass
class WorkshopListing:
    workshops: QuerySet[WorkshopPage]
    topics: QuerySet[Tag]
    creators: QuerySet[Page]


def workshop_listing(
    *, past: bool, topic: str = "", creator: str = "", now: datetime | None = None
) -> WorkshopListing:
    """Upcoming workshops (not ended, not cancelled) soonest first, or past ones latest first,
    filtered by a topic slug and a creator storefront's slug."""
    now = now or timezone.now()
    live = WorkshopPage.objects.live().public()
    workshops = (
        live.annotate(ends=ends_at_expression())
        .select_related("seats", "cover_image")
        .prefetch_related("cover_image__renditions", "topics")
    )
    if past:
        workshops = workshops.filter(ends__lte=now).order_by("-starts_at", "pk")
    else:
        workshops = workshops.filter(
            Q(seats__isnull=True) | Q(seats__cancelled_at__isnull=True), ends__gt=now
        ).order_by("starts_at", "pk")
    creators = _creators(live)
    if topic:
        workshops = workshops.filter(tagged_topics__tag__slug=topic).distinct()
    if creator:
        storefront = creators.filter(slug=creator).first()
        # An unknown creator matches nothing rather than everything.
        workshops = workshops.child_of(storefront) if storefront else workshops.none()
    topics = (
        Tag.objects.filter(workshops_workshoptopic_items__content_object__in=live)
        .distinct()
        .order_by("name")
    )
    return WorkshopListing(workshops=workshops, topics=topics, creators=creators)


def next_change_of_state(workshop: WorkshopPage, now: datetime | None = None) -> datetime | None:
    """When the workshop's public page changes by itself: it starts (registration closes),
    then it ends. None once it has ended. (For the page cache: config/pagecache.)"""
    now = now or timezone.now()
    return next((moment for moment in (workshop.starts_at, workshop.ends_at) if moment > now), None)


def next_listing_change(now: datetime | None = None) -> datetime | None:
    """When the workshop list changes by itself: the next start or end of a live workshop."""
    now = now or timezone.now()
    moments = (
        WorkshopPage.objects.live()
        .annotate(ends=ends_at_expression())
        .filter(ends__gt=now)
        .aggregate(next_start=Min("starts_at", filter=Q(starts_at__gt=now)), next_end=Min("ends"))
    )
    return min((moment for moment in moments.values() if moment is not None), default=None)


def _creators(workshops: QuerySet[WorkshopPage]) -> QuerySet[Page]:
    """The storefronts with a live workshop: the workshops' parent pages.

    Found through the page tree rather than ``home.CreatorPage``: no app imports ``home``.
    """
    parent_paths = {path[: -Page.steplen] for path in workshops.values_list("path", flat=True)}
    return Page.objects.live().filter(path__in=parent_paths).order_by("title")


@dataclass(frozen=True)
class WorkshopCard:
    """A workshop in the listing, with its creator's storefront page."""

    workshop: WorkshopPage
    creator: Page | None
    seats_left: int
    cancelled: bool

    @property
    def card(self) -> Card:
        """The shared card (``templates/components/card.html``) of this workshop."""
        workshop = self.workshop
        if self.cancelled:
            status = gettext("Cancelled")
        elif workshop.ends_at <= timezone.now():
            status = gettext("Ended")
        elif self.seats_left == 0:
            status = gettext("Sold out")
        else:
            status = ngettext("%(count)d seat left", "%(count)d seats left", self.seats_left) % {
                "count": self.seats_left
            }
        return Card(
            page=workshop,
            kind="workshop",
            image=workshop.cover_image,
            creator=self.creator,
            summary=workshop.tagline,
            price_display=workshop.price_display,
            is_free=workshop.is_free,
            starts_at=workshop.starts_at,
            status=status,
            tags=[tag.name for tag in workshop.topics.all()],
        )


def workshop_cards(workshops) -> list[WorkshopCard]:
    """Cards for one page of the listing; the storefronts come in one query for all."""
    workshops = list(workshops)
    parents = {
        page.path: page
        for page in Page.objects.filter(
            path__in={workshop.path[: -Page.steplen] for workshop in workshops}
        )
    }
    return [
        WorkshopCard(
            workshop=workshop,
            creator=parents.get(workshop.path[: -Page.steplen]),
            seats_left=seats_left(workshop),
            cancelled=_is_cancelled(workshop),
        )
        for workshop in workshops
    ]


def seats_left(workshop: WorkshopPage) -> int:
    """Free seats, from the seat row (the page's capacity until the first publish made one)."""
    try:
        return workshop.seats.free
    except SeatInventory.DoesNotExist:
        return workshop.capacity


def _is_cancelled(workshop: WorkshopPage) -> bool:
    try:
        return workshop.seats.cancelled_at is not None
    except SeatInventory.DoesNotExist:
        return False


# One visitor on one workshop page


@dataclass(frozen=True)
class WorkshopPageState:
    """What the page shows this visitor now. Private links are empty unless entitled."""

    workshop: WorkshopPage
    now: datetime
    seats_left: int
    cancelled: bool
    registration: Registration | None = None
    waitlist_entry: WaitlistEntry | None = None
    waitlist_position: int | None = None
    buy_url: str | None = None

    @property
    def has_started(self) -> bool:
        return self.workshop.starts_at <= self.now

    @property
    def has_ended(self) -> bool:
        return self.workshop.ends_at <= self.now

    @property
    def sold_out(self) -> bool:
        return self.seats_left == 0

    @property
    def confirmed(self) -> bool:
        return (
            self.registration is not None
            and self.registration.status == Registration.Status.CONFIRMED
        )

    @property
    def held(self) -> bool:
        return (
            self.registration is not None and self.registration.status == Registration.Status.HELD
        )

    @property
    def offered(self) -> bool:
        return (
            self.waitlist_entry is not None
            and self.waitlist_entry.status == WaitlistEntry.Status.OFFERED
        )

    @property
    def waiting(self) -> bool:
        return (
            self.waitlist_entry is not None
            and self.waitlist_entry.status == WaitlistEntry.Status.WAITING
        )

    @property
    def join_opens_at(self) -> datetime:
        return self.workshop.starts_at - JOIN_LINK_OPENS_BEFORE

    @property
    def join_url(self) -> str:
        """Only to a confirmed registrant, from an hour before the start until the end."""
        if self.confirmed and not self.cancelled and join_link_open(self.workshop, self.now):
            return self.workshop.join_url
        return ""

    @property
    def recording_url(self) -> str:
        """Only to a confirmed registrant; never to the cancelled, refunded or unregistered."""
        return self.workshop.recording_url if self.confirmed else ""

    @property
    def cancel_deadline(self) -> datetime:
        return cancellation_deadline(self.workshop)

    @property
    def can_cancel(self) -> bool:
        return (
            self.registration is not None
            and not self.cancelled
            and self.now <= self.cancel_deadline
        )

    @property
    def claim_url(self) -> str:
        if self.waitlist_entry is None or not self.offered:
            return ""
        return reverse("workshops:claim_offer", args=[claim_token(self.waitlist_entry.pk)])


def workshop_page_state(
    *, workshop: WorkshopPage, user, now: datetime | None = None
) -> WorkshopPageState:
    now = now or timezone.now()
    inventory = SeatInventory.objects.filter(workshop=workshop).first()
    free = inventory.free if inventory else workshop.capacity
    cancelled = inventory is not None and inventory.cancelled_at is not None
    registration = entry = position = None
    if user is not None and user.is_authenticated:
        registration = Registration.objects.filter(
            workshop=workshop, learner=user, status__in=Registration.HOLDS_SEAT
        ).first()
        entry = WaitlistEntry.objects.filter(
            workshop=workshop, learner=user, status__in=WaitlistEntry.OPEN
        ).first()
        if entry is not None and entry.status == WaitlistEntry.Status.WAITING:
            ahead = Q(joined_at__lt=entry.joined_at) | Q(joined_at=entry.joined_at, pk__lt=entry.pk)
            position = (
                WaitlistEntry.objects.filter(workshop=workshop, status=WaitlistEntry.Status.WAITING)
                .filter(ahead)
                .count()
                + 1
            )
    return WorkshopPageState(
        workshop=workshop,
        now=now,
        seats_left=free,
        cancelled=cancelled,
        registration=registration,
        waitlist_entry=entry,
        waitlist_position=position,
        buy_url=None if workshop.is_free else buy_url(workshop),
    )


# The learner's dashboard


@dataclass(frozen=True)
class RegisteredWorkshop:
    """One of the learner's seats, with everything the dashboard shows and links to."""

    registration: Registration
    workshop: WorkshopPage
    url: str
    starts_at: datetime
    ends_at: datetime
    # The start in the creator's zone, shown beside the learner's own.
    starts_creator: datetime
    creator_zone: str
    status: str
    status_label: str
    # Empty unless the learner may use them now.
    join_url: str
    ics_url: str
    recording_url: str
    can_cancel: bool
    cancel_url: str
    cancel_deadline: datetime
    held_until: datetime | None


@dataclass(frozen=True)
class WaitlistPlace:
    """An open waitlist place: waiting, or offered a seat (then ``claim_url`` is set)."""

    entry: WaitlistEntry
    workshop: WorkshopPage
    url: str
    starts_at: datetime
    starts_creator: datetime
    creator_zone: str
    offered: bool
    offer_expires_at: datetime | None
    claim_url: str


@dataclass(frozen=True)
class LearnerWorkshops:
    upcoming: list[RegisteredWorkshop] = field(default_factory=list)
    past: list[RegisteredWorkshop] = field(default_factory=list)
    waitlist: list[WaitlistPlace] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.upcoming or self.past or self.waitlist)


def _registered(registration: Registration, now: datetime) -> RegisteredWorkshop:
    workshop = registration.workshop
    confirmed = registration.status == Registration.Status.CONFIRMED
    cancelled = _is_cancelled(workshop)
    deadline = cancellation_deadline(workshop)
    return RegisteredWorkshop(
        registration=registration,
        workshop=workshop,
        url=workshop.url or "",
        starts_at=workshop.starts_at,
        ends_at=workshop.ends_at,
        starts_creator=workshop.starts_in_creator_zone,
        creator_zone=workshop.zone.key,
        status=registration.status,
        status_label=str(registration.get_status_display()),
        join_url=(
            workshop.join_url
            if confirmed and not cancelled and join_link_open(workshop, now)
            else ""
        ),
        ics_url=reverse("workshops:invite", args=[workshop.pk]) if confirmed else "",
        recording_url=workshop.recording_url if confirmed else "",
        can_cancel=not cancelled and now <= deadline,
        cancel_url=reverse("workshops:cancel", args=[workshop.pk]),
        cancel_deadline=deadline,
        held_until=registration.hold_expires_at,
    )


def learner_workshops(*, learner, now: datetime | None = None) -> LearnerWorkshops:
    """The learner's upcoming seats (held or confirmed, soonest first), their last
    ``PAST_LIMIT`` attended workshops (latest first) and their open waitlist places.

    Two plain queries (seats, waitlist places), and one more for their workshops when there
    are any: a learner with no workshop, most of them, costs two cheap queries (the page-row
    joins of a workshop cost more to build than to run). Plus Wagtail's cached site lookup
    for page URLs.
    """
    now = now or timezone.now()
    # Upcoming seats are held or confirmed, attended ones confirmed: HOLDS_SEAT covers both.
    registrations = list(
        Registration.objects.filter(learner=learner, status__in=Registration.HOLDS_SEAT)
    )
    entries = list(WaitlistEntry.objects.filter(learner=learner, status__in=WaitlistEntry.OPEN))
    workshop_ids = {registration.workshop_id for registration in registrations}
    workshop_ids |= {entry.workshop_id for entry in entries}
    workshops = (
        WorkshopPage.objects.filter(pk__in=workshop_ids)
        .defer_streamfields()
        .select_related("seats")
        .in_bulk()
        if workshop_ids
        else {}
    )
    for registration in registrations:
        registration.workshop = workshops[registration.workshop_id]
    for entry in entries:
        entry.workshop = workshops[entry.workshop_id]
    upcoming = sorted(
        (
            registration
            for registration in registrations
            if registration.status in Registration.HOLDS_SEAT
            and registration.workshop.ends_at > now
        ),
        key=lambda registration: (registration.workshop.starts_at, registration.pk),
    )
    past = sorted(
        (
            registration
            for registration in registrations
            if registration.status == Registration.Status.CONFIRMED
            and registration.workshop.ends_at <= now
        ),
        key=lambda registration: (registration.workshop.starts_at, registration.pk),
        reverse=True,
    )[:PAST_LIMIT]
    waitlist = sorted(
        (entry for entry in entries if entry.workshop.starts_at > now),
        key=lambda entry: (entry.workshop.starts_at, entry.pk),
    )
    return LearnerWorkshops(
        upcoming=[_registered(registration, now) for registration in upcoming],
        past=[_registered(registration, now) for registration in past],
        waitlist=[
            WaitlistPlace(
                entry=entry,
                workshop=entry.workshop,
                url=entry.workshop.url or "",
                starts_at=entry.workshop.starts_at,
                starts_creator=entry.workshop.starts_in_creator_zone,
                creator_zone=entry.workshop.zone.key,
                offered=entry.status == WaitlistEntry.Status.OFFERED,
                offer_expires_at=entry.offer_expires_at,
                claim_url=(
                    reverse("workshops:claim_offer", args=[claim_token(entry.pk)])
                    if entry.status == WaitlistEntry.Status.OFFERED
                    else ""
                ),
            )
            for entry in waitlist
        ],
    )
