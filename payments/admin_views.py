"""The Orders area of the Wagtail admin: a read-only list, a detail page, and a Refund button.

Staff see every order; a creator (a user whose storefront names them, with admin access) sees
the orders of their own courses and workshops only. Nobody adds, edits or deletes an order by
hand: Stripe's webhooks change orders, and refunds go through ``services.request_refund``,
which checks again who may refund what.
"""

import logging
from typing import cast

import django_filters
import stripe
from django import forms
from django.contrib import messages
from django.contrib.auth.models import Permission
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView, View
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn, StatusFlagColumn, StatusTagColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies.base import BasePermissionPolicy

from accounts.models import User
from config.money import InvalidAmount, format_money, parse_major_units, to_major_units

from . import selectors, services
from .models import Order

logger = logging.getLogger(__name__)

# The one action the policy grants; "add", "change" and "delete" are nobody's.
VIEW = "view"


class OrderPermissionPolicy(BasePermissionPolicy):
    """Who may see which orders in the admin (see the module docstring)."""

    def user_has_permission(self, user, action):
        return action == VIEW and selectors.may_see_orders(user)

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)

    def instances_user_has_permission_for(self, user, action):
        if action != VIEW:
            return Order.objects.none()
        return selectors.orders_visible_to(user)

    def instances_user_has_any_permission_for(self, user, actions):
        if VIEW not in actions:
            return Order.objects.none()
        return selectors.orders_visible_to(user)

    def user_has_permission_for_instance(self, user, action, instance):
        return self.instances_user_has_permission_for(user, action).filter(pk=instance.pk).exists()


class OrderFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("Status"),
        choices=Order.Status.choices,
        widget=forms.RadioSelect,
        empty_label=gettext_lazy("All"),
    )
    creator = django_filters.ChoiceFilter(
        label=gettext_lazy("Creator"), method="filter_creator", empty_label=gettext_lazy("All")
    )
    created_at = django_filters.DateFromToRangeFilter(
        label=gettext_lazy("Date"), widget=DateRangePickerWidget
    )
    kind = django_filters.ChoiceFilter(
        label=gettext_lazy("Item"),
        method="filter_kind",
        choices=[("course", gettext_lazy("Courses")), ("workshop", gettext_lazy("Workshop seats"))],
        empty_label=gettext_lazy("All"),
    )
    disputed = django_filters.BooleanFilter(
        label=gettext_lazy("Disputed"), field_name="disputed_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = Order
        fields = ["status", "kind", "creator", "created_at", "disputed"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["creator"].extra["choices"] = [
            (str(page.pk), page.title) for page in selectors.storefronts_that_sell()
        ]

    def filter_kind(self, queryset, name, value):
        if value == "workshop":
            return queryset.filter(workshop_registration__isnull=False)
        return queryset.filter(course__isnull=False)

    def filter_creator(self, queryset, name, value):
        storefront = selectors.storefronts_that_sell().filter(pk=value).first()
        if storefront is None:
            return queryset.none()
        return queryset.filter(selectors.sold_below(storefront.path))


class OrderIndexView(generic.IndexView):
    def get_base_queryset(self):
        return selectors.orders_visible_to(self.request.user)


class OrderInspectView(generic.InspectView):
    template_name = "payments/admin/order_inspect.html"

    def get_object(self, queryset=None):
        return get_object_or_404(selectors.orders_visible_to(self.request.user), pk=self.pk)

    def get_field_label(self, field_name, field):
        if field_name == "amount_display":
            return _("Amount")
        return super().get_field_label(field_name, field)

    def get_field_display_value(self, field_name, field):
        value = super().get_field_display_value(field_name, field)
        return "-" if value is None else value

    def get_amount_display_value(self):
        return self.object.amount_display

    def get_buyer_display_value(self):
        return self.object.buyer.email

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        reason = services.may_refund(user=self.request.user, order=self.object)
        context["refund_url"] = reverse("orders:refund", args=[self.object.pk])
        context["refund_confirm_url"] = reverse("orders:refund_confirm", args=[self.object.pk])
        context["refund_refused_because"] = reason
        remaining = services.refundable_amount(self.object)
        context["refundable_display"] = format_money(remaining, self.object.currency)
        context["refundable_major"] = to_major_units(remaining, self.object.currency)
        context["ledger_refunds"] = self.object.refund_rows.select_related("requested_by")
        return context


class OrderRefundConfirmView(WagtailAdminTemplateMixin, TemplateView):
    """The confirmation step before a refund: what will be refunded, to whom; nothing changes
    until its button posts to ``OrderRefundView``."""

    template_name = "payments/admin/order_refund_confirm.html"
    page_title = gettext_lazy("Refund")
    header_icon = "form"
    breadcrumbs_items: list = []  # Wagtail's full header: "Refund" and the item, visible

    def dispatch(self, request, *args, **kwargs):
        if not selectors.may_see_orders(request.user):
            return HttpResponseRedirect(reverse("wagtailadmin_home"))
        self.order = get_object_or_404(selectors.orders_visible_to(request.user), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return self.order.item_title

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        order = self.order
        typed = self.request.GET.get("amount", "").strip()
        amount_error = ""
        try:
            # Empty: all that is left; else typed in major units, as on the order page.
            amount = (
                parse_major_units(typed, order.currency)
                if typed
                else services.refundable_amount(order)
            )
        except InvalidAmount as not_an_amount:
            amount, amount_error = 0, str(not_an_amount)
        context.update(
            order=order,
            refund_refused_because=services.may_refund(
                user=cast(User, self.request.user), order=order
            ),
            refund_url=reverse("orders:refund", args=[order.pk]),
            inspect_url=reverse("orders:inspect", args=[order.pk]),
            typed_amount=typed,
            amount_error=amount_error,
            amount_display=format_money(amount, order.currency),
            reason=self.request.GET.get("reason", "").strip()[:255],
        )
        return context


class OrderRefundView(View):
    """The Refund button (POST, CSRF-checked by Django's middleware)."""

    http_method_names = ["post"]

    def post(self, request, pk):
        if not selectors.may_see_orders(request.user):
            return HttpResponseRedirect(reverse("wagtailadmin_home"))
        order = get_object_or_404(selectors.orders_visible_to(request.user), pk=pk)
        amount: int | None = None
        typed = request.POST.get("amount", "").strip()
        try:
            if typed:
                # A partial refund: typed in major units, as prices are ("12.50", "500").
                amount = parse_major_units(typed, order.currency)
            refunding = amount if amount is not None else services.refundable_amount(order)
            services.request_refund(
                user=request.user,
                order=order,
                amount=amount,
                reason=request.POST.get("reason", "").strip(),
            )
        except InvalidAmount as not_an_amount:
            messages.error(request, str(not_an_amount))
        except services.RefundNotAllowed as refusal:
            messages.error(request, str(refusal))
        except stripe.StripeError as problem:
            logger.warning("Stripe refused the refund of order %s", order.pk, exc_info=True)
            messages.error(
                request,
                _("Stripe refused the refund: %(reason)s")
                % {"reason": problem.user_message or str(problem)},
            )
        else:
            messages.success(
                request,
                _(
                    "Refund of %(amount)s requested. A full refund ends the learner's access "
                    "once Stripe confirms it; a partial one keeps it."
                )
                % {"amount": format_money(refunding, order.currency)},
            )
        return HttpResponseRedirect(reverse("orders:inspect", args=[order.pk]))


class OrderViewSet(ModelViewSet):
    model = Order
    name = "orders"
    icon = "form"
    add_to_admin_menu = True
    menu_label = gettext_lazy("Orders")
    menu_order = 300
    index_view_class = OrderIndexView
    inspect_view_class = OrderInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    # Orders point at nothing an editor changes; indexing their references would only cost
    # a query on every save (each webhook).
    add_to_reference_index = False
    filterset_class = OrderFilterSet
    search_fields = ["item_title", "buyer__email"]
    ordering = ["-created_at"]
    # The first entry, a field name, becomes the title column: a link to the detail page.
    list_display = [
        "item_title",
        DateColumn("created_at", label=gettext_lazy("Created"), sort_key="created_at"),
        Column(
            "kind",
            label=gettext_lazy("Item"),
            accessor=lambda order: _("Workshop seat") if order.is_workshop_seat else _("Course"),
        ),
        Column("buyer", label=gettext_lazy("Buyer"), accessor="buyer.email"),
        Column("amount_display", label=gettext_lazy("Amount"), sort_key="amount"),
        StatusTagColumn(
            "get_status_display",
            label=gettext_lazy("Status"),
            sort_key="status",
            primary=lambda order: order.status == Order.Status.PAID,
        ),
        StatusFlagColumn(
            "disputed",
            label=gettext_lazy("Disputed"),
            accessor=lambda order: order.disputed_at is not None,
            true_label=gettext_lazy("Disputed"),
        ),
    ]
    inspect_view_fields = [
        "item_title",
        "course",
        "workshop_registration",
        "buyer",
        "amount_display",
        "platform_fee_amount",
        "creator_share_amount",
        "amount_refunded",
        "status",
        "created_at",
        "paid_at",
        "refund_requested_at",
        "refunded_at",
        "disputed_at",
        "dispute_status",
        "dispute_closed_at",
        "destination_account_id",
        "stripe_checkout_session_id",
        "stripe_payment_intent_id",
        "id",
    ]

    def get_permissions_to_register(self):
        # The policy above decides, not Django's add/change/delete/view permissions: don't
        # offer those in the group editor, where they would change nothing.
        return Permission.objects.none()

    def get_urlpatterns(self):
        # Only the read views: orders are never added, edited, copied or deleted by hand.
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("inspect/<uuid:pk>/", self.inspect_view, name="inspect"),
            path("refund/<uuid:pk>/", OrderRefundView.as_view(), name="refund"),
            path(
                "refund/<uuid:pk>/confirm/",
                OrderRefundConfirmView.as_view(),
                name="refund_confirm",
            ),
        ]
