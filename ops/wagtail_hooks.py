"""The staff's "System status" page under Settings in the Wagtail admin."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from .views import SystemStatusView


class StaffMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.is_staff


@hooks.register("register_admin_urls")
def register_system_status_url():
    return [path("system-status/", SystemStatusView.as_view(), name="ops_system_status")]


@hooks.register("register_settings_menu_item")
def register_system_status_menu_item():
    return StaffMenuItem(
        gettext_lazy("System status"), reverse("ops_system_status"), icon_name="pick", order=900
    )
