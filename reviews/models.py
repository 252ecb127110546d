"""Learners' ratings and short reviews of courses and workshops.

Its own app, above courses and workshops (it reads their enrolments and registrations to decide
who may review), like payments: courses and workshops never import it; their page templates
include ``reviews/_summary.html``, whose template tag asks this app.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

BODY_MAX_LENGTH = 1000


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
    body = models.TextField(max_length=BODY_MAX_LENGTH, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VISIBLE)
    reply = models.TextField(max_length=BODY_MAX_LENGTH, blank=True)
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
