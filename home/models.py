from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from config import pagecache
from config.cards import Card
from config.ownership import CreatorContentForm, CreatorContentMixin
from config.pagecache.restrictions import ViewRestrictionsKeptMixin
from config.validators import validate_single_line

from .blocks import LinkBlock, SectionStreamBlock

# Part of the kept route's name: a change to what is kept must not read older pickles.
ROUTE_VERSION = 1
# How many courses and workshops the home page shows.
FEATURED_COURSES = 6
UPCOMING_WORKSHOPS = 3


class HomePage(ViewRestrictionsKeptMixin, Page):
    """The site's front page: a hero, free sections, and the creators' storefronts."""

    hero_title = models.CharField(max_length=120, default="Learn from people who know")
    hero_text = models.TextField(blank=True)
    hero_cta_label = models.CharField(_("hero button label"), max_length=40, blank=True)
    hero_cta_page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("hero button page"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = StreamField(SectionStreamBlock(), blank=True)

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel(
            [
                FieldPanel("hero_title"),
                FieldPanel("hero_text"),
                FieldPanel("hero_cta_label"),
                FieldPanel("hero_cta_page"),
            ],
            heading=_("Hero"),
        ),
        FieldPanel("body"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("hero_text")]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = [
        "home.StandardPage",
        "home.CreatorPage",
        "courses.CourseIndexPage",
        "workshops.WorkshopIndexPage",
    ]
    max_count = 1

    def route(self, request, path_components):
        """Find the page below the home page at this URL path without Wagtail's walk (a child
        by slug, then its specific page, for every path component: six queries for a lesson).

        Which page a URL path names is kept until that path is purged, which every publish,
        unpublish, move or delete of the page does (config/pagecache; the anonymous page cache
        trusts the same purges). Pages whose class sets ``kept_whole_by_route`` (lessons:
        their body is rendered from a fragment kept per revision) are kept whole, StreamFields
        left out; others are loaded by id, one query. The same page as the walk: no page of
        ours routes its own sub-paths, and the found page's own ``route`` still decides (a
        page that isn't live is a 404). Anything else falls back to the walk."""
        if not path_components:
            return super().route(request, path_components)
        url_path = f"{self.url_path}{'/'.join(path_components)}/"
        # Only found pages are kept: a URL that names none (a typo, a scan) stores nothing.
        found = pagecache.kept_many_until_purged(
            f"route-{ROUTE_VERSION}",
            {url_path: f"/{'/'.join(path_components)}/"},
            render=lambda _missing: self._page_at(url_path),
        ).get(url_path)
        target = found
        if isinstance(found, tuple):
            page_id, content_type_id = found
            model = ContentType.objects.get_for_id(content_type_id).model_class()
            target = model._default_manager.filter(pk=page_id).first() if model else None
        # Deleted, moved or renamed since (a purge not yet there): the walk decides.
        if not isinstance(target, Page) or target.url_path != url_path:
            return super().route(request, path_components)
        return target.route(request, [])

    def _page_at(self, url_path: str) -> dict[str, Page | tuple[int, int]]:
        """What ``route`` keeps for the page below this one at this tree URL path (nothing
        when there is none): the page itself, or its id and content type."""
        page = (
            Page.objects.filter(url_path=url_path, path__startswith=self.path)
            .defer_streamfields()
            .specific()
            .first()
        )
        if page is None:
            return {}
        if getattr(type(page), "kept_whole_by_route", False):
            return {url_path: page}
        return {url_path: (page.pk, page.content_type_id)}

    def get_context(self, request, *args, **kwargs):
        from courses.models import CoursePage
        from courses.selectors import course_cards
        from workshops.models import WorkshopIndexPage
        from workshops.selectors import workshop_cards, workshop_listing

        context = super().get_context(request, *args, **kwargs)
        creators = list(
            CreatorPage.objects.live()
            .public()
            .child_of(self)
            .select_related("avatar")
            .order_by("title")
        )
        featured = (
            CoursePage.objects.live()
            .public()
            .defer_streamfields()
            .select_related("cover_image")
            .prefetch_related("topics", "cover_image__renditions")
            .order_by(models.F("first_published_at").desc(nulls_last=True), "title")[
                :FEATURED_COURSES
            ]
        )
        upcoming = workshop_listing(past=False).workshops[:UPCOMING_WORKSHOPS]
        context.update(
            featured_courses=course_cards(featured, creators=creators),
            upcoming_workshops=[item.card for item in workshop_cards(upcoming)],
            creators=[creator.card for creator in creators],
            workshop_index=WorkshopIndexPage.objects.live().first(),
        )
        return context


class StandardPage(ViewRestrictionsKeptMixin, Page):
    """A plain content page: about, terms, privacy."""

    introduction = models.TextField(blank=True)
    body = StreamField(SectionStreamBlock(), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction"), FieldPanel("body")]
    search_fields = [
        *Page.search_fields,
        index.SearchField("introduction"),
        index.SearchField("body"),
    ]

    parent_page_types = ["home.HomePage", "home.StandardPage"]
    subpage_types = ["home.StandardPage"]


class CreatorPage(CreatorContentMixin, ViewRestrictionsKeptMixin, Page):
    """A creator's storefront, and the root of the page subtree that creator may edit.

    Their courses and workshops are pages below this one.
    """

    base_form_class = CreatorContentForm

    creator = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("creator account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="creator_page",
        # Not editable in the page editor, and kept out of revisions (``with_content_json``):
        # who may edit the subtree and refund its sales is the account's state, set by
        # approving the creator's application, not page content a restored revision rewrites.
        editable=False,
        help_text=_("The account that owns this storefront."),
    )
    # The portrait: square, shown round on cards and the storefront.
    avatar = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("portrait"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("A square photo of you; at least 400 × 400 px."),
    )
    banner = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("banner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("A wide image across the top of your storefront; at least 1600 × 500 px."),
    )
    niche = models.CharField(max_length=120, blank=True, help_text=_("e.g. “Sourdough baking”"))
    bio = RichTextField(features=["bold", "italic", "link", "ol", "ul"], blank=True)
    links = StreamField([("link", LinkBlock())], blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("avatar"),
        FieldPanel("banner"),
        FieldPanel("niche"),
        FieldPanel("bio"),
        FieldPanel("links"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("niche"), index.SearchField("bio")]

    parent_page_types = ["home.HomePage"]
    subpage_types = ["courses.CoursePage", "workshops.WorkshopPage"]
    # The catalog and the workshop list name the storefront in their creator filter.
    page_cache_listed_on = ("courses.CourseIndexPage", "workshops.WorkshopIndexPage")

    class Meta:
        verbose_name = _("creator storefront")

    @property
    def display_name(self) -> str:
        return self.title

    @property
    def share_image(self):
        """The picture of this page's share card (Open Graph, Twitter)."""
        return self.banner or self.avatar

    @property
    def card(self) -> Card:
        return Card(page=self, kind="creator", image=self.avatar, summary=self.niche)

    def get_context(self, request, *args, **kwargs):
        from courses.models import CoursePage
        from courses.selectors import course_cards
        from workshops.selectors import workshop_cards, workshop_listing

        context = super().get_context(request, *args, **kwargs)
        courses = (
            CoursePage.objects.live()
            .public()
            .child_of(self)
            .defer_streamfields()
            .select_related("cover_image")
            .prefetch_related("topics", "cover_image__renditions")
            .order_by("-first_published_at", "title")
        )
        workshops = workshop_listing(past=False, creator=self.slug).workshops
        context.update(
            course_cards=course_cards(courses, creators=[self]),
            workshop_cards=[item.card for item in workshop_cards(workshops)],
        )
        return context

    def with_content_json(self, content):
        """A revision never changes who owns the storefront (Wagtail keeps ``owner`` so too)."""
        page = super().with_content_json(content)
        page.creator_id = self.creator_id
        return page


class CreatorApplication(models.Model):
    """A signed-in user asks to become a creator; staff approve or decline it in the admin.

    Approval (``home.studio.services.approve_application``) makes the storefront, the group
    and the collections; this row only records the request and the decision.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="creator_applications"
    )
    display_name = models.CharField(
        _("display name"), max_length=120, validators=[validate_single_line]
    )
    niche = models.CharField(max_length=120, help_text=_("e.g. “Sourdough baking”"))
    bio = models.TextField(_("short bio"), max_length=1000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("creator application")
        ordering = ["-created_at"]
        constraints = [
            # One pending application at a time, enforced by the database too.
            models.UniqueConstraint(
                fields=["applicant"],
                condition=models.Q(status="pending"),
                name="one_pending_application_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.get_status_display()})"


class Announcement(models.Model):
    """A creator's message to the active learners of one course or the confirmed registrants
    of one workshop; each person's e-mail is a row of the outbox (``accounts/outbox.py``)."""

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="announcements"
    )
    course = models.ForeignKey(
        "courses.CoursePage", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    workshop = models.ForeignKey(
        "workshops.WorkshopPage", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    subject = models.CharField(max_length=150, validators=[validate_single_line])
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField()
    # The log: how many were addressed, and skipped (paused learners). What was sent is on
    # the recipients' outbox rows.
    recipients = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # Unused since announcements went onto the outbox; kept for one release so that the
    # previous release's code runs during a rolling deploy (docs/deploy.md). Drop them next.
    sent = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(course__isnull=False, workshop__isnull=True)
                | models.Q(course__isnull=True, workshop__isnull=False),
                name="announcement_for_one_item",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def item(self):
        """The course or the workshop it went to (exactly one is set, see the constraint)."""
        return self.course if self.course_id else self.workshop


class AnnouncementRecipient(models.Model):
    """One announcement to one person: unique, so each gets it once. Its e-mail is ``email``,
    a row of the site's outbox, which says whether it went out."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SKIPPED = "skipped", _("Skipped (paused)")

    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="recipient_rows"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Unused since the outbox (its row says when it was sent and why it failed); kept for one
    # release for the rolling deploy, like Announcement.sent. Drop them next.
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    email = models.OneToOneField(
        "accounts.OutboundEmail",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["announcement", "recipient"], name="one_announcement_per_recipient"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.announcement} to {self.recipient}"


# Reviews (home/reviews/): home sits above courses and workshops and reads both, so a learner's
# review of either lives here; their page templates include reviews/_summary.html.

REVIEW_BODY_MAX_LENGTH = 1000


class Review(models.Model):
    """One learner's rating (1-5) and short review of one course or workshop page, editable."""

    class Status(models.TextChoices):
        VISIBLE = "visible", _("Visible")
        HIDDEN = "hidden", _("Hidden by the creator")
        REMOVED = "removed", _("Removed by staff")

    # A CoursePage or WorkshopPage (the services check which); reviews outlive no page.
    page = models.ForeignKey("wagtailcore.Page", on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews"
    )
    rating = models.PositiveSmallIntegerField()
    body = models.TextField(max_length=REVIEW_BODY_MAX_LENGTH, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VISIBLE)
    reply = models.TextField(max_length=REVIEW_BODY_MAX_LENGTH, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["page", "author"], name="one_review_per_learner"),
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5"
            ),
        ]
        indexes = [models.Index(fields=["page", "status", "-updated_at"])]

    def __str__(self) -> str:
        return f"{self.rating}/5 by {self.author} on page {self.page_id}"

    @property
    def stars(self) -> str:
        return "★" * self.rating + "☆" * (5 - self.rating)
