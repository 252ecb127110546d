"""The payments app in the Wagtail admin: the Orders menu item and its views."""

from django.contrib import messages
from django.utils.translation import gettext as _
from wagtail import hooks
from wagtail.permissions import register_permission_policy

from . import discounts
from .admin_views import OrderPermissionPolicy, OrderViewSet
from .models import Order

# Registered at import, before anything asks Wagtail for Order's (default) policy.
register_permission_policy(Order, OrderPermissionPolicy(Order))


@hooks.register("register_admin_viewset")
def register_order_viewset():
    return OrderViewSet()


@hooks.register("before_serve_page")
def remember_code_from_link(page, request, serve_args, serve_kwargs):
    """``?code=NAME`` on any page: keep a usable code for checkout, or say why it isn't one.

    Returns nothing, so Wagtail serves the page as usual (showing the discounted price).
    """
    name = discounts.normalize(request.GET.get("code", ""))
    if not name or request.method != "GET":
        return None
    looked_up = discounts.check(name=name)
    if looked_up.problem is not None:
        messages.warning(request, looked_up.problem)
        return None
    discounts.remember(session=request.session, name=name)
    on_page = discounts.check(name=name, item=page.specific)
    if on_page.offer is not None:
        messages.success(
            request,
            _("Code “%(name)s” applied: %(price)s instead of %(list)s.")
            % {
                "name": name,
                "price": on_page.offer.amount_display,
                "list": on_page.offer.list_display,
            },
        )
    elif hasattr(page.specific, "price_amount") and on_page.problem:
        messages.warning(request, on_page.problem)
    elif (code := discounts.find(name)) is not None:
        # A storefront or any other page: the prices it leads to show the discount.
        messages.success(
            request,
            _("Code “%(name)s” applied: %(value)s off.")
            % {"name": name, "value": code.value_display},
        )
    return None
