from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.mail_delivery import HEALTH_WINDOW

from . import outbox
from .models import OutboundEmail, User


class BouncingFilter(admin.SimpleListFilter):
    """Addresses a mail server refused for good (the delivery health page links here)."""

    title = _("e-mail bouncing")
    parameter_name = "bouncing"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(email_bouncing_since__isnull=False)
        if self.value() == "no":
            return queryset.filter(email_bouncing_since__isnull=True)
        return queryset


class OutboxHealthFilter(admin.SimpleListFilter):
    """The rows behind each figure of the delivery health page (``courses.selectors``)."""

    title = _("delivery health")
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [
            ("due_last_hour", _("Due in the last hour")),
            ("unsent_due", _("Due and not sent yet")),
            ("retrying", _("Waiting for a retry")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "due_last_hour":
            return queryset.filter(due_at__gt=now - HEALTH_WINDOW, due_at__lte=now).exclude(
                status=OutboundEmail.Status.SKIPPED
            )
        if self.value() == "unsent_due":
            return queryset.filter(pk__in=outbox.unsent_due(now=now).values("pk"))
        if self.value() == "retrying":
            return queryset.filter(status=OutboundEmail.Status.PENDING, retry_at__isnull=False)
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin, keyed by e-mail instead of username."""

    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "time_zone"]
    search_fields = ["email", "first_name", "last_name"]
    list_filter = ["is_staff", "is_superuser", "is_active", BouncingFilter]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal info"), {"fields": ["first_name", "last_name"]}),
        (_("Lessons"), {"fields": ["time_zone", "lesson_send_hour"]}),
        (
            _("Permissions"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]}),
    ]


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    """The e-mail outbox, read-only: only ``accounts.outbox`` changes its rows. "Retry" puts
    failed or skipped e-mails back with a fresh attempt budget (needs "change")."""

    list_display = ["created_at", "kind", "to", "subject", "status", "attempts", "last_error"]
    list_filter = ["status", "kind", OutboxHealthFilter]
    search_fields = ["to", "subject", "dedupe_key"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    actions = ["retry"]
    readonly_fields = [field.name for field in OutboundEmail._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # The change page opens read-only (a view); the retry action checks "change" itself.
        return False

    @admin.action(description=_("Retry the selected e-mails (failed or skipped)"))
    def retry(self, request, queryset):
        if not request.user.has_perm("accounts.change_outboundemail"):
            self.message_user(request, _("You may not retry e-mails."), messages.ERROR)
            return
        retried = sum(
            outbox.retry_email(email_id=pk) for pk in queryset.values_list("pk", flat=True)
        )
        left = queryset.count() - retried
        self.message_user(
            request,
            ngettext(
                "%(count)d e-mail will be sent again shortly.",
                "%(count)d e-mails will be sent again shortly.",
                retried,
            )
            % {"count": retried},
            messages.SUCCESS if retried else messages.WARNING,
        )
        if left:
            self.message_user(
                request,
                ngettext(
                    "%(count)d e-mail was left alone: only failed or skipped ones are retried.",
                    "%(count)d e-mails were left alone: only failed or skipped ones are retried.",
                    left,
                )
                % {"count": left},
                messages.WARNING,
            )
