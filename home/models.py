from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from .blocks import LinkBlock, SectionStreamBlock


class HomePage(Page):
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

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["creators"] = (
            CreatorPage.objects.live().child_of(self).select_related("avatar").order_by("title")
        )
        return context


class StandardPage(Page):
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


class CreatorPage(Page):
    """A creator's storefront, and the root of the page subtree that creator may edit.

    Their courses and workshops are pages below this one.
    """

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
    avatar = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    niche = models.CharField(max_length=120, blank=True, help_text=_("e.g. “Sourdough baking”"))
    bio = RichTextField(features=["bold", "italic", "link", "ol", "ul"], blank=True)
    links = StreamField([("link", LinkBlock())], blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("avatar"),
        FieldPanel("niche"),
        FieldPanel("bio"),
        FieldPanel("links"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("niche"), index.SearchField("bio")]

    parent_page_types = ["home.HomePage"]
    subpage_types = ["courses.CoursePage", "workshops.WorkshopPage"]

    class Meta:
        verbose_name = _("creator storefront")

    @property
    def display_name(self) -> str:
        return self.title

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
    display_name = models.CharField(_("display name"), max_length=120)
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
    of one workshop; sent by ``home.tasks.send_announcement`` through its recipient rows."""

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="announcements"
    )
    course = models.ForeignKey(
        "courses.CoursePage", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    workshop = models.ForeignKey(
        "workshops.WorkshopPage", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    subject = models.CharField(max_length=150)
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField()
    # The log: how many were addressed, sent, and skipped (paused learners).
    recipients = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
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


class AnnouncementRecipient(models.Model):
    """The outbox row of one announcement to one person: unique, so each gets it once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Skipped (paused)")

    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="recipient_rows"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["announcement", "recipient"], name="one_announcement_per_recipient"
            ),
        ]
        indexes = [
            models.Index(
                fields=["announcement"],
                condition=models.Q(status="pending"),
                name="announcement_pending_idx",
            )
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
