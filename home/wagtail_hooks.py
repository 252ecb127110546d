"""The studio in the Wagtail admin: the "Studio" menu item and dashboard, and the staff's
"Creator applications" listing (home/studio/admin_views.py); the staff's "System status" page
under Settings (home/ops.py)."""

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.bulk_action import BulkAction
from wagtail.admin.views.pages import bulk_actions as page_bulk_action_module
from wagtail.documents.views import bulk_actions as document_bulk_action_module
from wagtail.images.views import bulk_actions as image_bulk_action_module
from wagtail.models import Page
from wagtail.permissions import policy_registry, register_permission_policy
from wagtail.snippets.bulk_actions.delete import DeleteBulkAction as SnippetDeleteBulkAction
from wagtail.users.views import bulk_actions as user_bulk_action_module

from config.admin_permissions import StaffMenuItem
from home.models import CreatorApplication
from home.ops import system_status_urls
from home.studio import selectors
from home.studio.admin_views import CreatorApplicationViewSet, StaffOnlyPolicy, studio_urls

document_bulk_actions = [
    getattr(document_bulk_action_module, name) for name in document_bulk_action_module.__all__
]
image_bulk_actions = [
    getattr(image_bulk_action_module, name) for name in image_bulk_action_module.__all__
]
page_bulk_actions = [
    getattr(page_bulk_action_module, name) for name in page_bulk_action_module.__all__
]
user_bulk_actions = [
    getattr(user_bulk_action_module, name) for name in user_bulk_action_module.__all__
]

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


@hooks.register("register_admin_urls")
def register_system_status_url():
    return system_status_urls()


@hooks.register("register_settings_menu_item")
def register_system_status_menu_item():
    return StaffMenuItem(
        gettext_lazy("System status"), reverse("system_status"), icon_name="pick", order=900
    )


# Creators don't see each other's metadata (issue #10). Wagtail's own listings and choosers
# already follow the collection and page permissions that approval grants; these close the
# two paths that didn't.


def _without_refused_items(action_class: type[BulkAction]) -> type[BulkAction]:
    """``action_class`` whose confirmation page lists only what the user may act on.

    Wagtail's lists the refused items too ("you don't have permission to ..."), with their
    titles, for any id typed into the URL: another creator's image, document or page title,
    a learner's e-mail address.
    """

    class OwnItemsOnly(action_class):
        def get_actionable_objects(self):
            objects, _refused = super().get_actionable_objects()
            return objects, {"items_with_no_access": []}

    OwnItemsOnly.__name__ = OwnItemsOnly.__qualname__ = action_class.__name__
    return OwnItemsOnly


for _action_class in (
    *document_bulk_actions,
    *image_bulk_actions,
    *page_bulk_actions,
    *user_bulk_actions,
    SnippetDeleteBulkAction,
):
    # Registered after Wagtail's (higher order): the registry keeps the last per action.
    hooks.register("register_bulk_action", _without_refused_items(_action_class), order=100)


@hooks.register("construct_page_chooser_queryset")
def hide_other_creators_unpublished_pages(pages, request):
    """Link choosers list live pages (public anyway) and the pages the user may edit: never
    the titles of another creator's drafts."""
    user = request.user
    if user.is_superuser:
        return pages
    editable = policy_registry.get_by_type(Page).instances_user_has_any_permission_for(
        user, ["change", "publish"]
    )
    return pages.filter(Q(live=True) | Q(pk__in=editable.values("pk")))
