"""The workshops app in the Wagtail admin: a read-only "Registrations" listing, and a
"Cancel workshop" action on each workshop page (a confirmation, then a POST)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin import widgets as wagtailadmin_widgets
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.models import IndexView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permissions import register_permission_policy

from config.admin_permissions import ReadOnlyPermissionPolicy

from . import services
from .models import Registration, SeatInventory, WaitlistEntry, WorkshopPage

# Registrations change only through the services (which keep the seat counts right): the admin
# may list them, never add, edit or delete one. Registered before any viewset asks for the
# model's policy (wagtail.permissions requires it early).
register_permission_policy(Registration, ReadOnlyPermissionPolicy(Registration))


class RegistrationIndexView(IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("learner", "workshop")


class RegistrationViewSet(ModelViewSet):
    model = Registration
    index_view_class = RegistrationIndexView
    icon = "group"
    menu_label = gettext_lazy("Registrations")
    menu_order = 250
    add_to_admin_menu = True
    copy_view_enabled = False
    list_display = ["learner", "workshop", "status", "paid", "created_at", "confirmed_at"]
    list_filter = ["status", "workshop"]
    list_export = ["learner", "workshop", "status", "paid", "created_at", "confirmed_at"]
    ordering = ["-created_at"]
    # Required by ModelViewSet; the policy above refuses the edit view to everyone.
    form_fields = ["status"]


registration_viewset = RegistrationViewSet("registrations")


@hooks.register("register_admin_viewset")
def register_registration_viewset():
    return registration_viewset


def registrations_url(workshop: WorkshopPage) -> str:
    return reverse(registration_viewset.get_url_name("index")) + f"?workshop={workshop.pk}"


class CancelWorkshopView(WagtailAdminTemplateMixin, TemplateView):
    """GET asks for confirmation; POST cancels through services.cancel_workshop."""

    template_name = "workshops/admin/cancel_workshop.html"
    page_title = gettext_lazy("Cancel workshop")
    header_icon = "warning"

    def dispatch(self, request, *args, **kwargs):
        self.workshop = get_object_or_404(WorkshopPage, pk=kwargs["page_id"])
        if not self.workshop.permissions_for_user(request.user).can_publish():
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return self.workshop.title

    def get_context_data(self, **kwargs):
        inventory = services.inventory_for(self.workshop)
        return super().get_context_data(
            workshop=self.workshop,
            cancelled=inventory.cancelled_at is not None,
            cancelled_at=inventory.cancelled_at,
            registered=Registration.objects.filter(
                workshop=self.workshop, status__in=Registration.HOLDS_SEAT
            ).count(),
            waiting=WaitlistEntry.objects.filter(
                workshop=self.workshop, status__in=WaitlistEntry.OPEN
            ).count(),
            back_url=reverse("wagtailadmin_pages:edit", args=[self.workshop.pk]),
            registrations_url=registrations_url(self.workshop),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        told = services.cancel_workshop(workshop=self.workshop)
        messages.success(
            request,
            _("“%(title)s” is cancelled; %(count)d people were told by e-mail.")
            % {"title": self.workshop.title, "count": told},
        )
        return redirect("wagtailadmin_pages:edit", self.workshop.pk)


@hooks.register("register_admin_urls")
def register_cancel_workshop_url():
    return [
        path(
            "workshops/<int:page_id>/cancel/",
            CancelWorkshopView.as_view(),
            name="workshops_cancel_workshop",
        )
    ]


def _workshop_buttons(page, user, priority: int):
    if page.specific_class is not WorkshopPage or not page.permissions_for_user(user).can_publish():
        return
    yield wagtailadmin_widgets.Button(
        _("Registrations"),
        registrations_url(page),
        icon_name="group",
        priority=priority,
    )
    if not SeatInventory.objects.filter(workshop_id=page.pk, cancelled_at__isnull=False).exists():
        yield wagtailadmin_widgets.Button(
            _("Cancel workshop"),
            reverse("workshops_cancel_workshop", args=[page.pk]),
            icon_name="warning",
            priority=priority + 1,
        )


@hooks.register("register_page_header_buttons")
def workshop_header_buttons(page, user, view_name, next_url=None):
    yield from _workshop_buttons(page, user, priority=80)


@hooks.register("register_page_listing_more_buttons")
def workshop_listing_buttons(page, user, next_url=None):
    yield from _workshop_buttons(page, user, priority=70)
