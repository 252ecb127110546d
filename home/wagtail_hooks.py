"""The studio in the Wagtail admin: the "Studio" menu item and dashboard, and the staff's
"Creator applications" listing (home/studio/admin_views.py); the staff's "System status" page
under Settings (home/ops.py)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.permissions import register_permission_policy

from home.models import CreatorApplication
from home.ops import system_status_urls
from home.studio import selectors
from home.studio.admin_views import CreatorApplicationViewSet, StaffOnlyPolicy, studio_urls

# Registered at import, before anything asks Wagtail for the model's (default) policy.
register_permission_policy(CreatorApplication, StaffOnlyPolicy(CreatorApplication))


class StudioMenuItem(MenuItem):
    def is_shown(self, request):
        return selectors.may_use_studio(request.user)


@hooks.register("register_admin_urls")
def register_studio_urls():
    return studio_urls()


@hooks.register("register_admin_menu_item")
def register_studio_menu_item():
    return StudioMenuItem(
        gettext_lazy("Studio"), reverse("studio_dashboard"), icon_name="table", order=150
    )


@hooks.register("register_admin_viewset")
def register_creator_applications():
    return CreatorApplicationViewSet()


class StaffMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.is_staff


@hooks.register("register_admin_urls")
def register_system_status_url():
    return system_status_urls()


@hooks.register("register_settings_menu_item")
def register_system_status_menu_item():
    return StaffMenuItem(
        gettext_lazy("System status"), reverse("system_status"), icon_name="pick", order=900
    )
