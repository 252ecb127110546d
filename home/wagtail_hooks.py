"""The studio in the Wagtail admin: the "Studio" menu item and dashboard, and the staff's
"Creator applications" listing (home/studio/admin_views.py)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.permissions import register_permission_policy

from home.models import CreatorApplication
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
