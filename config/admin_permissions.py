"""The one permission policy for admin listings of rows that only services may change, and the
gate of the staff's own admin pages (System status, Delivery health)."""

from django.core.exceptions import PermissionDenied
from wagtail.admin.menu import MenuItem
from wagtail.permission_policies import ModelPermissionPolicy


class StaffOnlyViewMixin:
    """An admin view for staff alone: anyone else gets PermissionDenied (Wagtail shows its
    "no permission" message on the dashboard)."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class StaffMenuItem(MenuItem):
    """A menu item shown to staff alone, for a ``StaffOnlyViewMixin`` page."""

    def is_shown(self, request):
        return request.user.is_staff


class ReadOnlyPermissionPolicy(ModelPermissionPolicy):
    """Staff may look (the model's "view" permission); nobody adds, edits or deletes a row by
    hand, since that would skip the services that keep related state right.

    ``actions`` maps an extra admin action to the Django permission it needs, e.g.
    ``{"retry": "change"}`` lets holders of "change lesson delivery" retry a delivery.
    """

    REFUSED = frozenset({"add", "change", "delete"})

    def __init__(self, model, *, actions: dict[str, str] | None = None, **kwargs):
        super().__init__(model, **kwargs)
        self.actions = actions or {}

    def user_has_permission(self, user, action):
        if action in self.actions:
            return super().user_has_permission(user, self.actions[action])
        if action in self.REFUSED:
            return False
        return super().user_has_permission(user, action)
