"""The studio in the Wagtail admin: the creator's dashboard, CSV exports, and the staff's
review of creator applications.

Who sees what: a creator sees their own storefront's figures and rows, staff any creator's
(``?creator=<storefront id>``). Everyone else gets 403. Applications are staff-only.
"""

import stripe
from django import forms
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView, View
from wagtail.admin import messages
from wagtail.admin.ui.tables import DateColumn, StatusTagColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies.base import BasePermissionPolicy

from config.csv_export import csv_response
from config.validators import validate_single_line
from courses.models import CoursePage
from home.models import CreatorApplication, CreatorPage
from payments import discounts
from payments import selectors as payment_selectors
from payments.services import connect
from workshops.models import WorkshopPage

from . import announcements, selectors, services
from .charts import bar_chart
from .forms import DiscountCodeForm

# Dashboard and exports


def chosen_storefront(request) -> CreatorPage | None:
    """The storefront whose figures this request may see: staff pick one, a creator has one."""
    user = request.user
    if not selectors.may_use_studio(user):
        raise PermissionDenied
    if user.is_staff:
        picked = request.GET.get("creator", "")
        if picked.isdigit():
            return get_object_or_404(CreatorPage, pk=int(picked))
        return selectors.storefront_of(user) or selectors.storefronts().first()
    return selectors.storefront_of(user)


class StudioDashboardView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "studio/dashboard.html"
    page_title = gettext_lazy("Studio")
    header_icon = "table"
    # No breadcrumbs: Wagtail then shows the full header, "Studio" and the storefront's name,
    # instead of a slim one whose only (and so visible) title is the breadcrumb "Home".
    breadcrumbs_items: list = []

    def dispatch(self, request, *args, **kwargs):
        self.storefront = chosen_storefront(request)
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return self.storefront.title if self.storefront else ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        stats = None
        charts = {}
        if self.storefront is not None:
            stats = selectors.studio_stats(storefront=self.storefront)
            for course in stats.courses:
                charts[course.course_id] = bar_chart(
                    [(week.strftime("%d/%m"), n) for week, n in course.weekly],
                    title=_("Enrolments per week: %(title)s") % {"title": course.title},
                )
                course.chart = charts[course.course_id]  # type: ignore[attr-defined]
        query = f"?creator={self.storefront.pk}" if self.storefront else ""
        context.update(
            stats=stats,
            storefront=self.storefront,
            share_links=selectors.share_links(storefront=self.storefront)
            if self.storefront is not None
            else [],
            is_staff=self.request.user.is_staff,
            storefronts=selectors.storefronts() if self.request.user.is_staff else [],
            learners_csv=reverse("studio_export_learners") + query,
            orders_csv=reverse("studio_export_orders") + query,
            announce_url=reverse("studio_announce") + query,
            codes_url=reverse("studio_codes") + query,
            get_paid_url=reverse("studio_get_paid") + query,
            overview=selectors.staff_overview() if self.request.user.is_staff else None,
            applications_url=reverse("creator_applications:index") + "?status=pending",
        )
        return context


class ExportView(View):
    http_method_names = ["get"]
    kind = ""

    def get(self, request):
        storefront = chosen_storefront(request)
        if storefront is None:
            raise PermissionDenied
        rows = (
            selectors.learner_rows(storefront=storefront)
            if self.kind == "learners"
            else selectors.order_rows(storefront=storefront)
        )
        return csv_response(rows, filename=f"{storefront.slug}-{self.kind}.csv")


class AnnouncementForm(forms.Form):
    item = forms.ChoiceField(label=gettext_lazy("To the learners of"))
    subject = forms.CharField(max_length=150, validators=[validate_single_line])
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), max_length=5000)

    def __init__(self, *args, storefront: CreatorPage, **kwargs):
        super().__init__(*args, **kwargs)
        below = {"path__startswith": storefront.path, "depth": storefront.depth + 1}
        courses = CoursePage.objects.filter(**below).order_by("title").values_list("pk", "title")
        workshops = (
            WorkshopPage.objects.filter(**below).order_by("-starts_at").values_list("pk", "title")
        )
        item = self.fields["item"]
        assert isinstance(item, forms.ChoiceField)  # noqa: S101  # for the type checker
        item.choices = [
            (_("Courses: active learners"), [(f"course-{pk}", title) for pk, title in courses]),
            (
                _("Workshops: confirmed registrants"),
                [(f"workshop-{pk}", title) for pk, title in workshops],
            ),
        ]

    def item_kwargs(self) -> dict:
        kind, pk = self.cleaned_data["item"].split("-")
        if kind == "course":
            return {"course": CoursePage.objects.get(pk=pk)}
        return {"workshop": WorkshopPage.objects.get(pk=pk)}


class StorefrontPageView(WagtailAdminTemplateMixin, TemplateView):
    """A studio page about one storefront: the creator's own, or the one staff picked
    (``chosen_storefront``); 403 for anyone else. ``is_owner``: the creator themselves."""

    breadcrumbs_items: list = []  # the full header, with a visible title (see the dashboard)

    def dispatch(self, request, *args, **kwargs):
        storefront = chosen_storefront(request)
        if storefront is None:
            raise PermissionDenied
        self.storefront: CreatorPage = storefront
        self.is_owner = storefront.creator_id == request.user.pk
        self.prepare(request)
        return super().dispatch(request, *args, **kwargs)

    def prepare(self, request) -> None:
        """What a page sets up once its storefront is known (a form)."""

    def get_page_subtitle(self):
        return self.storefront.title


class AnnounceView(StorefrontPageView):
    """Write to the learners of one of the creator's courses or workshops."""

    template_name = "studio/announce.html"
    page_title = gettext_lazy("Announcements")
    header_icon = "mail"

    def prepare(self, request) -> None:
        self.form = AnnouncementForm(request.POST or None, storefront=self.storefront)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            form=self.form,
            announcements=selectors.announcement_log(self.storefront),
        )
        return context

    def post(self, request, *args, **kwargs):
        if self.form.is_valid():
            try:
                announcement = announcements.announce(
                    author=request.user,
                    subject=self.form.cleaned_data["subject"],
                    body=self.form.cleaned_data["body"],
                    **self.form.item_kwargs(),
                )
            except announcements.AnnouncementRefused as refusal:
                messages.error(request, str(refusal))
            else:
                messages.success(
                    request,
                    _("Sending to %(count)d people (%(skipped)d paused learners skipped).")
                    % {
                        "count": announcement.recipients - announcement.skipped,
                        "skipped": announcement.skipped,
                    },
                )
                return HttpResponseRedirect(request.get_full_path())
        return self.render_to_response(self.get_context_data(), status=400)


class CodesView(WagtailAdminTemplateMixin, TemplateView):
    """The creator's follower codes: make one, switch one off or on, and what each sold."""

    template_name = "studio/codes.html"
    page_title = gettext_lazy("Follower codes")
    header_icon = "tag"

    def dispatch(self, request, *args, **kwargs):
        storefront = chosen_storefront(request)
        if storefront is None:
            raise PermissionDenied
        self.storefront: CreatorPage = storefront
        # Codes are made by the storefront's own creator; staff look on.
        self.is_owner = storefront.creator_id == request.user.pk
        self.form = DiscountCodeForm(
            request.POST if request.POST.get("action") == "create" else None,
            items=discounts.items_of(storefront),
        )
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return self.storefront.title

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            form=self.form,
            is_owner=self.is_owner,
            figures=payment_selectors.code_figures(storefront=self.storefront),
            site_url=settings.SITE_URL.rstrip("/"),
        )
        return context

    def post(self, request, *args, **kwargs):
        if not self.is_owner:
            raise PermissionDenied
        action = request.POST.get("action")
        if action in ("deactivate", "activate"):
            code_id = request.POST.get("code", "")
            if code_id.isdigit() and discounts.set_active(
                creator=request.user, code_id=int(code_id), active=action == "activate"
            ):
                messages.success(request, _("The code is updated."))
            else:
                messages.error(request, _("That code is not one of yours."))
            return HttpResponseRedirect(request.get_full_path())
        if self.form.is_valid():
            try:
                code = discounts.create_code(creator=request.user, **self.form.service_kwargs())
            except (discounts.DiscountCodeError, forms.ValidationError) as problem:
                self.form.add_error(
                    None,
                    problem.messages[0]
                    if isinstance(problem, forms.ValidationError)
                    else str(problem),
                )
            else:
                messages.success(
                    request, _("Code %(name)s is ready to share.") % {"name": code.name}
                )
                return HttpResponseRedirect(request.get_full_path())
        return self.render_to_response(self.get_context_data(), status=400)


class GetPaidView(StorefrontPageView):
    """ "Get paid": the creator's Stripe account (connect it, its state, their Express
    dashboard), their earnings per currency, and what Stripe holds and paid out for them.

    Only the storefront's creator connects or opens the dashboard; staff look on and set the
    creator's own platform fee. Stripe is called outside any transaction (payments.gateway).
    """

    template_name = "studio/get_paid.html"
    page_title = gettext_lazy("Get paid")
    header_icon = "doc-full"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        creator = self.storefront.creator
        account = connect.account_of(creator)
        money = None
        if account is not None and creator is not None:
            try:
                account = connect.refresh_account(creator=creator) or account
            except stripe.StripeError:
                messages.warning(
                    self.request, _("Stripe could not be reached: this is the last known state.")
                )
            money = payment_selectors.connected_money(account)
        context.update(
            account=account,
            money=money,
            is_owner=self.is_owner,
            is_staff=self.request.user.is_staff,
            totals=selectors.studio_stats(storefront=self.storefront).totals,
            default_fee=settings.PLATFORM_FEE_PERCENT,
            earnings_csv=reverse("studio_export_orders") + f"?creator={self.storefront.pk}",
        )
        return context

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action")
        if action == "fee" and request.user.is_staff:
            return self._set_fee(request)
        if not self.is_owner or action not in ("connect", "dashboard"):
            raise PermissionDenied
        try:
            if action == "connect":
                return HttpResponseRedirect(onboarding_url(request))
            return HttpResponseRedirect(connect.dashboard_url(creator=request.user))
        except connect.ConnectError as refusal:
            messages.error(request, str(refusal))
        except stripe.StripeError:
            messages.error(request, _("Stripe could not be reached. Please try again."))
        return HttpResponseRedirect(request.get_full_path())

    def _set_fee(self, request):
        if self.storefront.creator is None:
            raise PermissionDenied
        try:
            connect.set_fee_percent(
                staff_user=request.user,
                creator=self.storefront.creator,
                percent=request.POST.get("fee_percent", ""),
            )
        except connect.ConnectError as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, _("The platform fee of this creator is saved."))
        return HttpResponseRedirect(request.get_full_path())


def onboarding_url(request) -> str:
    """A fresh Account Link for the signed-in creator, coming back to "Get paid"."""
    return connect.onboarding_url(
        creator=request.user,
        refresh_url=request.build_absolute_uri(reverse("studio_get_paid_refresh")),
        return_url=request.build_absolute_uri(reverse("studio_get_paid") + "?returned=1"),
    )


class GetPaidRefreshView(View):
    """Stripe sends the creator here when their onboarding link ran out or was used: a new
    link, straight back to Stripe's onboarding."""

    http_method_names = ["get"]

    def get(self, request):
        if selectors.storefront_of(request.user) is None:
            raise PermissionDenied
        try:
            return HttpResponseRedirect(onboarding_url(request))
        except stripe.StripeError:
            messages.error(request, _("Stripe could not be reached. Please try again."))
            return HttpResponseRedirect(reverse("studio_get_paid"))


def studio_urls():
    return [
        path("studio/", StudioDashboardView.as_view(), name="studio_dashboard"),
        path("studio/codes/", CodesView.as_view(), name="studio_codes"),
        path("studio/announce/", AnnounceView.as_view(), name="studio_announce"),
        path("studio/get-paid/", GetPaidView.as_view(), name="studio_get_paid"),
        path(
            "studio/get-paid/refresh/",
            GetPaidRefreshView.as_view(),
            name="studio_get_paid_refresh",
        ),
        path(
            "studio/export/learners.csv",
            ExportView.as_view(kind="learners"),
            name="studio_export_learners",
        ),
        path(
            "studio/export/orders.csv",
            ExportView.as_view(kind="orders"),
            name="studio_export_orders",
        ),
    ]


# Creator applications (staff only)

DECIDE = "decide"


class StaffOnlyPolicy(BasePermissionPolicy):
    """Staff look at applications and decide them; nobody adds, edits or deletes one by hand."""

    def user_has_permission(self, user, action):
        return (
            action in {"view", DECIDE}
            and user.is_authenticated
            and user.is_active
            and user.is_staff
        )

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)

    def instances_user_has_permission_for(self, user, action):
        if self.user_has_permission(user, action):
            return CreatorApplication.objects.all()
        return CreatorApplication.objects.none()

    def instances_user_has_any_permission_for(self, user, actions):
        if self.user_has_any_permission(user, actions):
            return CreatorApplication.objects.all()
        return CreatorApplication.objects.none()

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_permission(user, action)


class ApplicationInspectView(generic.InspectView):
    template_name = "studio/application_inspect.html"

    def get_applicant_display_value(self):
        return self.object.applicant.email

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            is_pending=self.object.status == CreatorApplication.Status.PENDING,
            approve_url=reverse("creator_applications:approve", args=[self.object.pk]),
            decline_url=reverse("creator_applications:decline", args=[self.object.pk]),
        )
        return context


class DecideView(View):
    """POST approve or decline (CSRF-checked by Django's middleware)."""

    http_method_names = ["post"]
    decision = ""

    def post(self, request, pk):
        if not StaffOnlyPolicy(CreatorApplication).user_has_permission(request.user, DECIDE):
            raise PermissionDenied
        application = get_object_or_404(CreatorApplication, pk=pk)
        service = (
            services.approve_application
            if self.decision == "approve"
            else services.decline_application
        )
        try:
            application = service(application=application, staff_user=request.user)
        except services.ApplicationRefused as refusal:
            messages.error(request, str(refusal))
        else:
            if self.decision == "approve":
                messages.success(
                    request,
                    _("%(name)s is a creator now; their storefront is live.")
                    % {"name": application.display_name},
                )
            else:
                messages.success(
                    request,
                    _("The application of %(name)s was declined; they were told by e-mail.")
                    % {"name": application.display_name},
                )
        return HttpResponseRedirect(reverse("creator_applications:inspect", args=[pk]))


class CreatorApplicationViewSet(ModelViewSet):
    model = CreatorApplication
    name = "creator_applications"
    icon = "user"
    menu_label = gettext_lazy("Creator applications")
    menu_order = 260
    add_to_admin_menu = True
    inspect_view_class = ApplicationInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    list_filter = ["status"]
    search_fields = ["display_name", "applicant__email", "niche"]
    ordering = ["-created_at"]
    list_display = [
        "display_name",
        "applicant",
        "niche",
        StatusTagColumn(
            "get_status_display",
            label=gettext_lazy("Status"),
            sort_key="status",
            primary=lambda application: application.status == "pending",
        ),
        DateColumn("created_at", label=gettext_lazy("Applied"), sort_key="created_at"),
    ]
    inspect_view_fields = [
        "display_name",
        "applicant",
        "niche",
        "bio",
        "status",
        "created_at",
        "decided_by",
        "decided_at",
    ]

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(
            add_url_name=None,
            edit_url_name=None,
            delete_url_name=None,
            history_url_name=None,
            usage_url_name=None,
            **kwargs,
        )

    def get_permissions_to_register(self):
        return Permission.objects.none()

    def get_urlpatterns(self):
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
            path("approve/<int:pk>/", DecideView.as_view(decision="approve"), name="approve"),
            path("decline/<int:pk>/", DecideView.as_view(decision="decline"), name="decline"),
        ]
