"""Staff views in the Wagtail admin: enrolments and lesson deliveries, and retrying a failed one.

Both listings are read-only: these rows change only through services (docs/architecture.md), so
the admin offers no add, edit or delete, and the one action, "retry", calls
``services.retry_delivery``. Access follows Django permissions: the "view" permission shows a
listing and "change lesson delivery" allows a retry (superusers have both).

The hooks that register them, and the documents hook, are in ``wagtail_hooks.py``.
"""

import django_filters
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import ButtonsColumnMixin, Column, DateColumn, TitleColumn
from wagtail.admin.views.generic import IndexView, PermissionCheckedMixin, WagtailAdminTemplateMixin
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.admin.widgets import ListingButton

from config.admin_permissions import StaffOnlyViewMixin
from config.mail_delivery import HEALTH_WINDOW

from . import dispatch, selectors, services
from .models import CoursePage, Enrollment, LessonDelivery


def _courses():
    return CoursePage.objects.order_by("title")


class ReadOnlyModelViewSet(ModelViewSet):
    """A listing with filters and an inspect view; no forms."""

    inspect_view_enabled = True
    copy_view_enabled = False
    list_per_page = 50

    def get_common_view_kwargs(self, **kwargs):
        # These routes don't exist here; None makes the generic views skip their links.
        return super().get_common_view_kwargs(
            add_url_name=None,
            edit_url_name=None,
            delete_url_name=None,
            history_url_name=None,
            usage_url_name=None,
            **kwargs,
        )

    def get_urlpatterns(self):
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
        ]


# Enrolments


class EnrollmentFilterSet(WagtailFilterSet):
    course = django_filters.ModelChoiceFilter(queryset=_courses(), label=gettext_lazy("Course"))
    status = django_filters.ChoiceFilter(
        choices=Enrollment.Status.choices, label=gettext_lazy("Status")
    )

    class Meta:
        model = Enrollment
        fields = ["course", "status"]


class EnrollmentIndexView(IndexView):
    page_title = gettext_lazy("Enrolments")

    def get_base_queryset(self):
        # Both counts as subqueries: one query for the page however many rows it shows.
        completed = (
            Enrollment.objects.filter(pk=OuterRef("pk"))
            .annotate(
                n=Count(
                    "progress",
                    filter=Q(progress__completed_at__isnull=False, progress__lesson__live=True),
                )
            )
            .values("n")
        )
        total = (
            Enrollment.objects.filter(pk=OuterRef("pk"))
            .annotate(n=Count("deliveries", filter=Q(deliveries__lesson__live=True)))
            .values("n")
        )
        return (
            super()
            .get_base_queryset()
            .select_related("learner", "course")
            .annotate(
                lessons_completed=Coalesce(Subquery(completed), 0),
                lessons_total=Coalesce(Subquery(total), 0),
            )
        )


def _moment(delivery: LessonDelivery) -> str:
    local = date_format(timezone.localtime(delivery.due_at), "D j M Y, H:i")
    return f"{local} ({timezone.get_current_timezone_name()})"


def _progress(enrollment: Enrollment) -> str:
    done = enrollment.lessons_completed  # type: ignore[attr-defined]  # annotated above
    total = enrollment.lessons_total  # type: ignore[attr-defined]
    return _("%(done)s of %(total)s lessons") % {"done": done, "total": total}


class EnrollmentViewSet(ReadOnlyModelViewSet):
    model = Enrollment
    icon = "group"
    menu_label = gettext_lazy("Enrolments")
    add_to_admin_menu = False
    index_view_class = EnrollmentIndexView
    list_display = [
        "learner",
        "course",
        "status",
        DateColumn("enrolled_at", label=gettext_lazy("Enrolled"), sort_key="enrolled_at"),
        Column("progress", label=gettext_lazy("Progress"), accessor=_progress),
    ]
    filterset_class = EnrollmentFilterSet
    search_fields = ["learner__email"]
    ordering = "-enrolled_at"
    inspect_view_fields = [
        "learner",
        "course",
        "status",
        "enrolled_at",
        "start_date",
        "days_shifted",
        "paused_at",
        "completed_at",
        "refunded_at",
        "order_id",
    ]


# Lesson deliveries


class DeliveryFilterSet(WagtailFilterSet):
    course = django_filters.ModelChoiceFilter(
        field_name="enrollment__course", queryset=_courses(), label=gettext_lazy("Course")
    )
    status = django_filters.ChoiceFilter(
        choices=LessonDelivery.Status.choices, label=gettext_lazy("Status")
    )
    # The rows behind each figure of the delivery health page (selectors.delivery_health).
    health = django_filters.ChoiceFilter(
        choices=[
            ("due_last_hour", gettext_lazy("Due in the last hour")),
            ("unsent_due", gettext_lazy("Due and not sent yet")),
            ("retrying", gettext_lazy("Waiting for a retry")),
        ],
        label=gettext_lazy("Delivery health"),
        method="filter_health",
    )

    class Meta:
        model = LessonDelivery
        fields = ["course", "status", "health"]

    def filter_health(self, queryset, name, value):
        now = timezone.now()
        if value == "due_last_hour":
            return queryset.filter(due_at__gt=now - HEALTH_WINDOW, due_at__lte=now).exclude(
                status__in=selectors.NOT_SENT_ON_PURPOSE
            )
        if value == "unsent_due":
            return queryset.filter(pk__in=dispatch.unsent_due(now=now).values("pk"))
        if value == "retrying":
            return queryset.filter(status=LessonDelivery.Status.PENDING, retry_at__isnull=False)
        return queryset


class DeliveryIndexView(IndexView):
    def get_base_queryset(self):
        return (
            super()
            .get_base_queryset()
            .select_related("enrollment__learner", "enrollment__course", "lesson")
            .defer("lesson__body")
        )

    @cached_property
    def columns(self):
        view = self

        class LearnerColumn(ButtonsColumnMixin, TitleColumn):
            """The row's title (linking to "inspect") with the row's buttons, retry included."""

            def get_buttons(self, instance, parent_context):
                return view.get_list_buttons(instance)

        return [
            LearnerColumn(
                "learner",
                label=_("Learner"),
                accessor="enrollment.learner",
                sort_key="enrollment__learner__email",
                get_url=self.get_inspect_url,
            ),
            Column("course", label=_("Course"), accessor="enrollment.course"),
            Column("lesson", label=_("Lesson"), accessor="lesson"),
            Column("status", label=_("Status"), accessor="get_status_display", sort_key="status"),
            # An exact moment: most due times are in the future, which "x ago" can't say.
            Column("due_at", label=_("Due"), accessor=_moment, sort_key="due_at"),
            Column("attempts", label=_("Attempts"), sort_key="attempts"),
            Column("last_error", label=_("Last error")),
        ]

    def get_list_buttons(self, instance):
        buttons = super().get_list_buttons(instance)
        if instance.status == LessonDelivery.Status.FAILED and self.user_has_permission("retry"):
            buttons.insert(
                0,
                ListingButton(
                    _("Retry"),
                    url=reverse("lessondelivery:retry", args=[instance.pk]),
                    icon_name="resubmit",
                    attrs={"aria-label": _("Retry this lesson e-mail")},
                ),
            )
        return buttons


class RetryDeliveryView(PermissionCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    """Confirm, then put a failed lesson e-mail back in the queue (``services.retry_delivery``)."""

    model = LessonDelivery
    permission_required = "retry"
    template_name = "courses/admin/confirm_retry.html"
    page_title = gettext_lazy("Retry lesson e-mail")
    header_icon = "resubmit"
    index_url_name = "lessondelivery:index"

    @cached_property
    def object(self) -> LessonDelivery:
        return get_object_or_404(
            LessonDelivery.objects.select_related("enrollment__learner", "lesson"),
            pk=self.kwargs["pk"],
        )

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse(self.index_url_name), "label": _("Lesson deliveries")},
            {"url": "", "label": self.get_page_title(), "sublabel": str(self.object)},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            object=self.object,
            is_failed=self.object.status == LessonDelivery.Status.FAILED,
            index_url=reverse(self.index_url_name),
        )
        return context

    def post(self, request, *args, **kwargs):
        was_failed = self.object.status == LessonDelivery.Status.FAILED
        delivery = services.retry_delivery(delivery=self.object)
        if was_failed and delivery.status != LessonDelivery.Status.FAILED:
            messages.success(
                request, _("“%(delivery)s” will be sent again shortly.") % {"delivery": delivery}
            )
        else:
            messages.warning(
                request,
                _("Only a failed delivery of an enrolment that was not refunded can be retried."),
            )
        return redirect(self.index_url_name)


class LessonDeliveryViewSet(ReadOnlyModelViewSet):
    model = LessonDelivery
    icon = "mail"
    menu_label = gettext_lazy("Lesson e-mails")
    add_to_admin_menu = False
    index_view_class = DeliveryIndexView
    filterset_class = DeliveryFilterSet
    search_fields = ["enrollment__learner__email"]
    ordering = "-due_at"

    @property
    def retry_view(self):
        return self.construct_view(RetryDeliveryView)

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("retry/<int:pk>/", self.retry_view, name="retry"),
        ]


# Delivery health


class DeliveryHealthView(StaffOnlyViewMixin, WagtailAdminTemplateMixin, TemplateView):
    """Staff only: is e-mail getting out? Figures from ``selectors.delivery_health``, each
    linking to its rows. Reached from the "Learners" menu."""

    template_name = "courses/admin/delivery_health.html"
    page_title = gettext_lazy("Delivery health")
    header_icon = "mail"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(health=selectors.delivery_health(), window=HEALTH_WINDOW)
        return context


def delivery_health_urls():
    return [path("delivery-health/", DeliveryHealthView.as_view(), name="delivery_health")]


class CourseOperationsGroup(ModelViewSetGroup):
    menu_label = gettext_lazy("Learners")
    menu_icon = "group"
    menu_order = 250
    items = (EnrollmentViewSet, LessonDeliveryViewSet)
