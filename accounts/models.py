import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .timezones import validate_timezone


def default_timezone() -> str:
    return settings.TIME_ZONE


def default_lesson_send_hour() -> int:
    return settings.DEFAULT_LESSON_SEND_HOUR


class UserManager(BaseUserManager["User"]):
    """Users are identified by e-mail address; there is no username."""

    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        """The whole address in lower case, without surrounding spaces.

        Django lowers only the domain; people type their address with any casing, and one
        person must be one account however they type it (a data migration lowered the rows
        made before this). ``AbstractUser.clean()`` uses this too, so every user form stores
        the normalised address.
        """
        return (email or "").strip().lower()

    def get_by_natural_key(self, username: str | None) -> "User":
        # Sign-in by e-mail (ModelBackend, createsuperuser) with any casing.
        return self.get(email=self.normalize_email(username))

    def _create_user(self, email: str, password: str | None, **extra_fields) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in: a learner, and possibly also a creator or staff member.

    The learner's time zone and lesson send hour live here, so every app reads them from the
    user object itself (docs/architecture.md).
    """

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=default_timezone,
        validators=[validate_timezone],
        help_text=_("Lesson e-mails and dates are shown in this zone."),
    )
    lesson_send_hour = models.PositiveSmallIntegerField(
        _("lesson send hour"),
        default=default_lesson_send_hour,
        validators=[MaxValueValidator(23)],
        help_text=_("The local hour (0-23) at which each day's lesson e-mail arrives."),
    )
    # When a mail server permanently refused ``email`` (an SMTP 5xx for this recipient): no
    # more lesson mail goes to it until the learner fixes or confirms the address. Kept beside
    # the address it is about (docs/architecture.md: accounts at the base).
    email_bouncing_since = models.DateTimeField(
        _("e-mail bouncing since"), null=True, blank=True, editable=False
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()  # type: ignore[assignment,misc]  # e-mail-keyed manager

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lesson_send_hour__lte=23), name="lesson_send_hour_0_23"
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The learner's zone as a ``ZoneInfo``; a stale name falls back to the site's zone."""
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo(settings.TIME_ZONE)


class OutboundEmail(models.Model):
    """One e-mail the site must send (the outbox, docs/architecture.md "E-mail delivery").

    Written, already rendered, in the same transaction as the change it reports
    (``accounts.outbox.queue_email``); sent after commit by a worker, outside any transaction,
    under the claim, lease, retry and bounce rules of ``config/mail_delivery.py``. Lives in
    ``accounts``, the lowest app with models: every app may write it, and it sits beside the
    address and its bouncing state. Lesson e-mails have their own outbox
    (``courses.LessonDelivery``), rendered once per batch, on the same rules.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        # Not sent on purpose: a bulk e-mail to an address that bounces.
        SKIPPED = "skipped", _("Skipped")

    to = models.CharField(_("to"), max_length=254)
    from_email = models.CharField(max_length=254)
    # Whose address it is, when it is a user's: a refused address marks that user bouncing.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # What it is, "<app>.<name>" (e.g. "payments.payment_confirmation"): for staff and for the
    # bounce rule (accounts/outbox.py BULK_KINDS).
    kind = models.CharField(max_length=64)
    subject = models.TextField()
    text = models.TextField()
    html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    # [{"filename": ..., "content": ..., "mimetype": ...}]: text content, e.g. a workshop's .ics.
    attachments = models.JSONField(default=list, blank=True)
    # The same logical e-mail queued twice (a replayed event) is one row.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    # When it may go out; a retry waits for ``retry_at`` instead, so due order is kept.
    due_at = models.DateTimeField()
    retry_at = models.DateTimeField(null=True, blank=True)
    # Who owns a ``sending`` row: the send run that claimed it, until ``lease_expires_at``.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Every claim, staff retries included (the row's history).
    attempts = models.PositiveSmallIntegerField(default=0)
    # ``attempts`` when staff last retried the row: the automatic retry budget counts from here.
    attempts_before_staff_retry = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("outbound e-mail")
        verbose_name_plural = _("outbound e-mails")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="sending") | models.Q(lease_expires_at__isnull=False),
                name="sending_email_has_lease",
            ),
        ]
        indexes = [
            # The sweeper's scans: pending rows in due order, and expired leases.
            models.Index(
                fields=["due_at"],
                condition=models.Q(status="pending"),
                name="outbound_pending_due_idx",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=models.Q(status="sending"),
                name="outbound_lease_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} to {self.to}"
