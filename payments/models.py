"""Orders and the Stripe events that move them (docs/architecture.md, invariants 1 and 4)."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
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
    # The ledger (payments/fees.py): fee + creator share == amount, fixed when checkout starts
    # at the fee percentage of that moment. Both in the currency's minor unit.
    platform_fee_amount = models.PositiveIntegerField(default=0)
    creator_share_amount = models.PositiveIntegerField(default=0)
    # Sums of the succeeded Refund rows, kept in step by services (minor units): all that was
    # refunded, and the part of it that came out of the platform's fee.
    amount_refunded = models.PositiveIntegerField(default=0)
    platform_fee_refunded = models.PositiveIntegerField(default=0)
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
    # Stripe's word for how the dispute ended (won, lost, warning_closed), once it closed.
    dispute_status = models.CharField(max_length=30, blank=True)
    dispute_closed_at = models.DateTimeField(null=True, blank=True)
    # The creator's connected account the creator share was sent to (a destination charge);
    # empty when the platform's own account kept the whole payment (platform content, or a
    # creator who never connected one: see payments/services/connect.py).
    destination_account_id = models.CharField(
        _("paid to (connected account)"), max_length=255, blank=True
    )
    # Paid after its seat was gone (hold expired and resold, workshop cancelled): refunded by
    # the webhook itself, and the learner was told then, so charge.refunded e-mails nobody.
    refunded_automatically = models.BooleanField(default=False)
    # A follower code (payments/discounts.py): ``amount`` is what was charged, ``list_amount``
    # the price before the code and ``discount_amount`` the difference (minor units).
    discount_code = models.ForeignKey(
        "payments.DiscountCode",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    list_amount = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Price before the discount, in the minor unit.")
    )
    discount_amount = models.PositiveIntegerField(
        default=0, help_text=_("Taken off by the code, in the minor unit.")
    )
    # True while this order holds one of its code's counted uses (open or paid); an unpaid end
    # gives the use back once and sets it False.
    discount_use_held = models.BooleanField(default=False)

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
            # One open checkout per buyer and thing: concurrent Buy clicks find the same
            # pending order (and so one Checkout Session) without locking the buyer's row.
            models.UniqueConstraint(
                fields=["buyer", "course"],
                condition=models.Q(status="pending", course__isnull=False),
                name="one_pending_order_per_buyer_and_course",
            ),
            models.UniqueConstraint(
                fields=["workshop_registration"],
                condition=models.Q(status="pending", workshop_registration__isnull=False),
                name="one_pending_order_per_seat",
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

    @property
    def discount_display(self) -> str:
        return format_money(self.discount_amount, self.currency)

    @property
    def list_amount_display(self) -> str:
        return format_money(self.list_amount or self.amount, self.currency)

    @property
    def refundable_amount(self) -> int:
        return max(self.amount - self.amount_refunded, 0)


class DiscountCode(models.Model):
    """A creator's follower code: percent or a fixed amount off one item or all of theirs.

    Our own model rather than Stripe promotion codes: a code belongs to one creator and only
    applies to that creator's items (Stripe coupons belong to the platform account), its uses
    are counted in our database in the same transaction as the order (Stripe counts a
    redemption only once a session completes, so 50 open sessions could all carry a code
    limited to 10), an abandoned checkout gives its use back when we close the order, and the
    emulator needs no coupon API. Stripe just charges the discounted amount.
    """

    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percent off")
        AMOUNT = "amount", _("Fixed amount off")

    # Upper case letters, digits and dashes; unique site-wide because /c/NAME/ finds it.
    name = models.CharField(max_length=40, unique=True)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="discount_codes"
    )
    # The creator's storefront page (no app imports home): the code applies below it only.
    storefront = models.ForeignKey("wagtailcore.Page", on_delete=models.CASCADE, related_name="+")
    # One course or workshop page, or None for every item on the storefront.
    item = models.ForeignKey(
        "wagtailcore.Page", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    percent_off = models.PositiveSmallIntegerField(null=True, blank=True)
    # In the minor unit of ``currency``; applies only to items priced in that currency.
    amount_off = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    # Uses held by open or paid orders; changed only by conditional UPDATEs (discounts.py).
    uses_taken = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The database refuses a use over the limit, whatever the Python above it does.
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True)
                | models.Q(uses_taken__lte=models.F("max_uses")),
                name="discount_code_uses_within_limit",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(
                        kind="percent",
                        percent_off__gte=1,
                        percent_off__lte=100,
                        amount_off__isnull=True,
                    )
                    | models.Q(
                        kind="amount", amount_off__gte=1, percent_off__isnull=True, currency__gt=""
                    )
                ),
                name="discount_code_percent_or_amount",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def value_display(self) -> str:
        if self.kind == self.Kind.PERCENT:
            return f"{self.percent_off}%"
        return format_money(self.amount_off or 0, self.currency)


class Refund(models.Model):
    """Money given back on an order: one row per Stripe refund, partial or full.

    Made by staff or the creator from the Orders admin (``requested_by`` set), by the
    platform itself (a payment for something already owned, a seat gone: ``automatic``), or
    found in Stripe's events (made in Stripe's dashboard). Stripe is the source of truth:
    ``charge.refunded`` and ``refund.updated`` reconcile amount and status, in any order.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")  # our row, Stripe not answered yet
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    class Source(models.TextChoices):
        STAFF = "staff", _("Staff")
        CREATOR = "creator", _("Creator")
        AUTOMATIC = "automatic", _("Automatic")
        STRIPE = "stripe", _("Stripe dashboard")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refund_rows")
    amount = models.PositiveIntegerField(help_text=_("In the currency's minor unit."))
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    # What the platform and the creator each gave back (payments/fees.split_refund).
    platform_fee_refunded = models.PositiveIntegerField(default=0)
    creator_share_reversed = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    source = models.CharField(max_length=10, choices=Source.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{format_money(self.amount, self.currency)} of {self.order_id} ({self.status})"

    @property
    def amount_display(self) -> str:
        return format_money(self.amount, self.currency)


class ConnectedAccount(models.Model):
    """A creator's Stripe Express account: where their share of each sale is transferred.

    Its state is Stripe's, copied from the account object (``account.updated`` events and the
    studio's "Get paid" page, whichever saw the newer state: ``state_as_of``).
    """

    creator = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="connected_account"
    )
    stripe_account_id = models.CharField(max_length=255, unique=True)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    # The account's ``transfers`` capability is active: it can receive its share of a sale.
    transfers_active = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    # Stripe's requirements.currently_due and past_due: what the creator still has to give.
    requirements_due = models.JSONField(default=list, blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    # When Stripe's state copied here was true (an event's ``created``, or when we asked):
    # an older event arriving late changes nothing.
    state_as_of = models.DateTimeField(null=True, blank=True)
    # The platform's fee for this creator instead of PLATFORM_FEE_PERCENT; set by staff only
    # (payments/services/connect.py::set_fee_percent), never by the creator.
    fee_percent_override = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fee_percent_override__isnull=True)
                | models.Q(fee_percent_override__gte=0, fee_percent_override__lte=100),
                name="connected_account_fee_percent_0_to_100",
            )
        ]

    def __str__(self) -> str:
        return f"{self.stripe_account_id} of {self.creator}"

    class State(models.TextChoices):
        ENABLED = "enabled", _("Enabled")
        REQUIREMENTS_DUE = "requirements_due", _("Requirements due")
        RESTRICTED = "restricted", _("Restricted")

    @property
    def can_receive_transfers(self) -> bool:
        return self.transfers_active

    @property
    def state(self) -> "ConnectedAccount.State":
        """Enabled: it can receive its share. Restricted: the creator gave their details and
        Stripe disabled it anyway (``disabled_reason``). Otherwise: onboarding is unfinished."""
        if self.transfers_active:
            return self.State.ENABLED
        if self.details_submitted and self.disabled_reason:
            return self.State.RESTRICTED
        return self.State.REQUIREMENTS_DUE


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
