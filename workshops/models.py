"""Live workshops: the Wagtail pages creators write, and the plain models that hold the seats.

Seat counts, registrations and the waitlist never live on the page: publishing a revision
rewrites every page field (architecture.md #2). ``SeatInventory`` is the one row per workshop
that every seat change updates, under a database CHECK that makes overselling impossible
(invariant 3).
"""

import zoneinfo
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from taggit.models import TaggedItemBase
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from accounts.timezones import validate_timezone
from config import pagecache
from config.money import CURRENCY_CHOICES, DEFAULT_CURRENCY, PricedMixin
from config.ownership import CreatorContentMixin
from config.pagecache.restrictions import ViewRestrictionsKeptMixin
from config.publish_gate import PaidPublishGateMixin

from .blocks import WorkshopDescriptionBlock
from .forms import WorkshopPageForm

WORKSHOP_LIST_PAGE_SIZE = 12


class WorkshopIndexPage(ViewRestrictionsKeptMixin, Page):
    """Upcoming workshops across creators, and an archive of past ones."""

    introduction = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction")]
    parent_page_types = ["home.HomePage"]
    subpage_types: list[str] = []
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        from .selectors import next_listing_change, workshop_cards, workshop_listing

        context = super().get_context(request, *args, **kwargs)
        show_past = request.GET.get("archive") == "1"
        topic = request.GET.get("topic", "")
        creator = request.GET.get("creator", "")
        listing = workshop_listing(past=show_past, topic=topic, creator=creator)
        page_obj = Paginator(listing.workshops, WORKSHOP_LIST_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        query = {"archive": "1" if show_past else "", "topic": topic, "creator": creator}
        # Upcoming workshops move to the archive when they end, by themselves.
        pagecache.cacheable(request, until=next_listing_change())
        context.update(
            cards=workshop_cards(page_obj.object_list),
            page_obj=page_obj,
            show_past=show_past,
            topics=listing.topics,
            creators=listing.creators,
            selected_topic=topic,
            selected_creator=creator,
            extra_query=urlencode({key: value for key, value in query.items() if value}),
        )
        return context


class WorkshopFormat(models.TextChoices):
    ONLINE = "online", _("Online")
    IN_PERSON = "in_person", _("In person")


class WorkshopPage(
    PaidPublishGateMixin, CreatorContentMixin, PricedMixin, ViewRestrictionsKeptMixin, Page
):
    """A live session with a start time, a capacity and a price, on a creator's storefront."""

    cover_image = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tagline = models.CharField(max_length=160, blank=True)
    description = StreamField(WorkshopDescriptionBlock(), blank=True)
    # Free-form topic tags ("baking", "sql"); the workshop list filters by them.
    topics = ClusterTaggableManager(through="workshops.WorkshopTopic", blank=True)
    # Stored in UTC; shown to each visitor in their own zone with the creator's beside it.
    starts_at = models.DateTimeField(help_text=_("In the time zone below."))
    duration_minutes = models.PositiveSmallIntegerField(default=120)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text=_("The creator's zone: the start time is entered and shown in it."),
    )
    format = models.CharField(
        max_length=10, choices=WorkshopFormat.choices, default=WorkshopFormat.ONLINE
    )
    address = models.TextField(blank=True, help_text=_("In-person workshops only."))
    capacity = models.PositiveIntegerField(default=12)
    # In the currency's minor unit (cents; whole yen for JPY). 0 makes the workshop free.
    price_amount = models.PositiveIntegerField(
        _("price"), default=0, help_text=_("In cents (whole units for JPY). 0 = free.")
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default=DEFAULT_CURRENCY)
    # Private: shown only to confirmed registrants, from JOIN_LINK_OPENS_BEFORE the start.
    join_url = models.URLField(blank=True, help_text=_("Shown to registrants an hour before."))
    recording_url = models.URLField(blank=True, help_text=_("Add it after the workshop."))
    materials = RichTextField(blank=True, features=["bold", "italic", "link", "ul", "ol"])
    cancellation_cutoff_hours = models.PositiveSmallIntegerField(
        default=24, help_text=_("Registrants may cancel until this many hours before the start.")
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("tagline"),
        FieldPanel("cover_image"),
        FieldPanel("description"),
        FieldPanel("topics"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("starts_at"), FieldPanel("time_zone")]),
                FieldPanel("duration_minutes"),
                FieldPanel("cancellation_cutoff_hours"),
            ],
            heading=_("When"),
        ),
        MultiFieldPanel(
            [FieldPanel("format"), FieldPanel("address"), FieldPanel("join_url")],
            heading=_("Where"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("capacity"),
                FieldRowPanel([FieldPanel("price_amount"), FieldPanel("currency")]),
            ],
            heading=_("Seats and price"),
        ),
        MultiFieldPanel(
            [FieldPanel("recording_url"), FieldPanel("materials")], heading=_("Afterwards")
        ),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("tagline"),
        index.SearchField("description"),
    ]

    parent_page_types = ["home.CreatorPage"]
    subpage_types: list[str] = []
    base_form_class = WorkshopPageForm
    # Besides its ancestors, the workshop list shows it (config/pagecache purges both).
    page_cache_listed_on = ("workshops.WorkshopIndexPage",)

    class Meta:
        verbose_name = _("workshop")

    @property
    def share_image(self):
        return self.cover_image

    def clean(self):
        super().clean()
        self.clean_price()
        if self.format == WorkshopFormat.IN_PERSON and not self.address:
            raise ValidationError({"address": _("An in-person workshop needs an address.")})
        if self.pk and self.capacity is not None:
            # A friendly early refusal; publishing re-checks in the UPDATE itself
            # (services.sync_published_workshop), so a race cannot shrink below the seats taken.
            inventory = SeatInventory.objects.filter(workshop_id=self.pk).first()
            if inventory is not None and self.capacity < inventory.taken:
                raise ValidationError(
                    {
                        "capacity": _(
                            "%(taken)d seats are already taken or offered: the capacity "
                            "cannot go below that."
                        )
                        % {"taken": inventory.taken}
                    }
                )

    def get_context(self, request, *args, **kwargs):
        from .selectors import workshop_page_state

        context = super().get_context(request, *args, **kwargs)
        context["state"] = workshop_page_state(workshop=self, user=getattr(request, "user", None))
        return context

    def serve(self, request, *args, **kwargs):
        from .selectors import next_change_of_state

        response = super().serve(request, *args, **kwargs)
        if request.user.is_authenticated:
            # The page carries per-user private links (join, recording, waitlist claim): no
            # shared cache and no browser history copy may keep them (docs/architecture.md,
            # invariant 7).
            patch_cache_control(response, private=True, no_store=True)
        else:
            # The same for every anonymous visitor until it starts or ends by itself; seat
            # changes purge it (workshops.services).
            pagecache.cacheable(request, until=next_change_of_state(self))
        return response

    @property
    def ends_at(self):
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The creator's zone, in which the start time is entered and shown beside the reader's."""
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")

    @property
    def starts_in_creator_zone(self):
        return self.starts_at.astimezone(self.zone)

    @property
    def creator_page(self):
        return self.get_parent().specific


class WorkshopTopic(TaggedItemBase):
    content_object = ParentalKey(
        WorkshopPage, on_delete=models.CASCADE, related_name="tagged_topics"
    )


class SeatInventory(models.Model):
    """The seat counts of one workshop; every change is a conditional UPDATE of this row.

    ``held`` seats wait for a payment (or a waitlist claim), ``confirmed`` seats are taken, and
    ``offered`` seats are reserved for the waitlist entries that were offered them. The CHECK
    constraint is the last line of defence: no code path can oversell, even a buggy one.
    """

    workshop = models.OneToOneField(WorkshopPage, on_delete=models.CASCADE, related_name="seats")
    capacity = models.PositiveIntegerField()
    held = models.PositiveIntegerField(default=0)
    confirmed = models.PositiveIntegerField(default=0)
    offered = models.PositiveIntegerField(default=0)
    # The start time registrants were last told about, and the invite's SEQUENCE for it.
    announced_starts_at = models.DateTimeField()
    calendar_sequence = models.PositiveIntegerField(default=0)
    recording_announced_url = models.URLField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "seat inventories"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    held__gte=0,
                    confirmed__gte=0,
                    offered__gte=0,
                    capacity__gte=models.F("held") + models.F("confirmed") + models.F("offered"),
                ),
                name="seats_never_oversold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workshop}: {self.taken}/{self.capacity}"

    @property
    def taken(self) -> int:
        return self.held + self.confirmed + self.offered

    @property
    def free(self) -> int:
        return max(self.capacity - self.taken, 0)


class Registration(models.Model):
    """A learner's seat (held, then confirmed) at one workshop."""

    class Status(models.TextChoices):
        HELD = "held", _("Held for payment")
        CONFIRMED = "confirmed", _("Confirmed")
        RELEASED = "released", _("Released (hold expired)")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    # States that occupy a seat.
    HOLDS_SEAT = (Status.HELD, Status.CONFIRMED)

    workshop = models.ForeignKey(
        WorkshopPage, on_delete=models.CASCADE, related_name="registrations"
    )
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workshop_registrations"
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    # Taken through payment (a held seat): cancelling it once confirmed asks payments to refund.
    # Recorded here rather than read from the page, whose price may change afterwards.
    paid = models.BooleanField(default=False)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    reminded_24h_at = models.DateTimeField(null=True, blank=True)
    reminded_1h_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One live seat per learner and workshop; ended registrations stay as history.
            models.UniqueConstraint(
                fields=["workshop", "learner"],
                condition=models.Q(status__in=["held", "confirmed"]),
                name="one_seat_per_learner",
            ),
        ]
        indexes = [
            models.Index(
                fields=["hold_expires_at"],
                condition=models.Q(status="held"),
                name="registration_hold_expiry_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner} at {self.workshop} ({self.status})"


class WaitlistEntry(models.Model):
    """A learner waiting for a seat on a sold-out workshop; first come, first offered."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offered a seat")
        CLAIMED = "claimed", _("Claimed the seat")
        EXPIRED = "expired", _("Offer expired")
        DECLINED = "declined", _("Declined")
        LEFT = "left", _("Left the waitlist")
        CLOSED = "closed", _("Closed: the workshop was cancelled")

    # States that still wait for (or hold an offer of) a seat.
    OPEN = (Status.WAITING, Status.OFFERED)

    workshop = models.ForeignKey(WorkshopPage, on_delete=models.CASCADE, related_name="waitlist")
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workshop_waitlist"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    joined_at = models.DateTimeField()
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "waitlist entries"
        ordering = ["joined_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["workshop", "learner"],
                condition=models.Q(status__in=["waiting", "offered"]),
                name="one_waitlist_place_per_learner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner} waiting for {self.workshop} ({self.status})"
