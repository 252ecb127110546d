"""The payments app in the Wagtail admin: the Orders menu item and its views."""

from wagtail import hooks
from wagtail.permissions import register_permission_policy

from .admin_views import OrderPermissionPolicy, OrderViewSet
from .models import Order

# Registered at import, before anything asks Wagtail for Order's (default) policy.
register_permission_policy(Order, OrderPermissionPolicy(Order))


@hooks.register("register_admin_viewset")
def register_order_viewset():
    return OrderViewSet()
