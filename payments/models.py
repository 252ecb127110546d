"""Orders and the Stripe events that move them (docs/architecture.md, invariants 1 and 4)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from config.money import CURRENCY_CHOICES, format_money


class Order(models.Model):
    """One purchase of exactly one thing, at the price it had when checkout started."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")
        REFUNDED = "refunded", _("Refunded")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    # What was bought: exactly one of these is set (a CHECK constraint says so).
    course = models.ForeignKey(
        "courses.CoursePage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    # A workshop seat: the registration hold_seat made (held while the buyer pays).
    workshop_registration = models.ForeignKey(
        "workshops.Registration",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    item_title = models.CharField(max_length=255, help_text=_("What was bought, as shown."))
    # Copied from the course or workshop when checkout starts: a later price edit changes no
    # open order.
    amount = models.PositiveIntegerField(help_text=_("In the currency's minor unit."))
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # NULL until Stripe assigns one; unique still allows many NULLs.
    stripe_checkout_session_id = models.CharField(max_length=255, unique=True, null=True)  # noqa: DJ001
    stripe_checkout_url = models.URLField(max_length=2000, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, null=True)  # noqa: DJ001
    checkout_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    refund_requested_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    # Paid after its seat was gone (hold expired and resold, workshop cancelled): refunded by
    # the webhook itself, and the learner was told then, so charge.refunded e-mails nobody.
    refunded_automatically = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(course__isnull=False, workshop_registration__isnull=True)
                    | models.Q(course__isnull=True, workshop_registration__isnull=False)
                ),
                name="order_buys_exactly_one_thing",
            ),
        ]
        indexes = [models.Index(fields=["buyer", "status"]), models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.item_title} for {self.buyer} ({self.get_status_display()})"

    @property
    def amount_display(self) -> str:
        return format_money(self.amount, self.currency)

    @property
    def item_page(self):
        """The course or workshop page that was bought (for links and the creator)."""
        if self.course_id is not None:
            return self.course
        return self.workshop_registration.workshop if self.workshop_registration else None

    @property
    def is_workshop_seat(self) -> bool:
        return self.workshop_registration_id is not None


class StripeEvent(models.Model):
    """Every verified Stripe event, stored once by its id: a redelivery finds it and stops."""

    id = models.CharField(max_length=255, primary_key=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["type", "received_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"
