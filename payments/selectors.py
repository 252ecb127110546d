"""Reads of the payments app: which orders a staff member or a creator may see."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from wagtail.models import Page

from config.money import format_money
from courses.models import CoursePage
from workshops.models import WorkshopPage

from .models import DiscountCode, Order


def creator_storefront_path(user) -> str | None:
    """The page-tree path of the storefront ``user`` owns, if they are a creator.

    Read through ``home.CreatorPage.creator``'s reverse accessor rather than an import: no app
    imports ``home`` (docs/architecture.md).
    """
    storefront = getattr(user, "creator_page", None)
    return storefront.path if storefront is not None else None


def may_see_orders(user) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_staff or creator_storefront_path(user) is not None


def sold_below(storefront_path: str) -> Q:
    """Orders of the courses and workshop seats below a storefront (its page-tree path)."""
    return Q(course__path__startswith=storefront_path) | Q(
        workshop_registration__workshop__path__startswith=storefront_path
    )


def orders_visible_to(user) -> QuerySet[Order]:
    """Staff see every order; a creator the orders of the courses and workshops below their
    storefront."""
    orders = Order.objects.select_related("buyer", "course", "workshop_registration__workshop")
    if not may_see_orders(user):
        return orders.none()
    if user.is_staff:
        return orders
    storefront_path = creator_storefront_path(user)
    if storefront_path is None:
        return orders.none()
    return orders.filter(sold_below(storefront_path))


def storefronts_that_sell() -> QuerySet[Page]:
    """The creators' storefronts, found as the parent pages of courses and workshops (the
    admin's filter)."""
    item_paths = [
        *CoursePage.objects.values_list("path", flat=True),
        *WorkshopPage.objects.values_list("path", flat=True),
    ]
    parent_paths = {path[: -Page.steplen] for path in item_paths}
    return Page.objects.filter(path__in=parent_paths).order_by("title")


@dataclass(frozen=True)
class CodeFigures:
    """A follower code with what it sold: paid orders, the uses open and paid checkouts hold,
    and the revenue of its paid orders (one line per currency)."""

    code: DiscountCode
    paid_orders: int
    revenue: list[str]


def code_figures(*, storefront: Page) -> list[CodeFigures]:
    """The codes of one storefront with uses and revenue, in two queries however many orders.

    Revenue is what buyers paid (after the discount) on orders that are paid and not refunded.
    """
    codes = list(DiscountCode.objects.filter(storefront=storefront).select_related("item"))
    paid = Order.objects.filter(discount_code__in=codes, status=Order.Status.PAID)
    counts: dict[int, int] = {}
    revenue: dict[int, list[str]] = {}
    for row in (
        paid.values("discount_code_id", "currency")
        .annotate(orders=Count("pk"), total=Sum("amount"))
        .order_by("discount_code_id", "currency")
    ):
        counts[row["discount_code_id"]] = counts.get(row["discount_code_id"], 0) + row["orders"]
        revenue.setdefault(row["discount_code_id"], []).append(
            format_money(row["total"], row["currency"])
        )
    return [
        CodeFigures(code=code, paid_orders=counts.get(code.pk, 0), revenue=revenue.get(code.pk, []))
        for code in codes
    ]
