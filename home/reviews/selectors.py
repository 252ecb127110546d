"""Reads of reviews: a page's rating summary (for the page and JSON-LD) and its latest reviews."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, QuerySet
from wagtail.models import Page

from home.models import Review

LATEST_COUNT = 5


@dataclass(frozen=True)
class RatingSummary:
    """The average of a page's visible reviews (one decimal) and how many there are."""

    average: Decimal | None
    count: int

    def as_aggregate_rating(self) -> dict | None:
        """schema.org ``AggregateRating`` for a page's JSON-LD, or None with no reviews (Google
        rejects a rating with a count of 0)."""
        if not self.count or self.average is None:
            return None
        return {
            "@type": "AggregateRating",
            "ratingValue": str(self.average),
            "ratingCount": self.count,
            "bestRating": 5,
            "worstRating": 1,
        }


def _one_decimal(average: float | None) -> Decimal | None:
    if average is None:
        return None
    return Decimal(str(average)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def rating_summaries(page_ids: list[int]) -> dict[int, RatingSummary]:
    """The rating summary of each of ``page_ids`` that has visible reviews, in one query (for a
    listing's cards)."""
    rows = (
        Review.objects.filter(page_id__in=page_ids, status=Review.Status.VISIBLE)
        .values("page_id")
        .annotate(average=Avg("rating"), count=Count("pk"))
    )
    return {
        row["page_id"]: RatingSummary(average=_one_decimal(row["average"]), count=row["count"])
        for row in rows
    }


def rating_summary(page: Page) -> RatingSummary:
    """Average and count of ``page``'s visible reviews, in one query.

    For the JSON-LD of course and workshop pages: ``rating_summary(page).as_aggregate_rating()``
    is the ``aggregateRating`` value (None when there is no review yet).
    """
    figures = Review.objects.filter(page_id=page.pk, status=Review.Status.VISIBLE).aggregate(
        average=Avg("rating"), count=Count("pk")
    )
    return RatingSummary(average=_one_decimal(figures["average"]), count=figures["count"])


def latest_reviews(page: Page, *, include_hidden: bool = False) -> QuerySet[Review]:
    """The newest reviews of ``page``; the creator also sees the ones they hid."""
    statuses = [Review.Status.VISIBLE]
    if include_hidden:
        statuses.append(Review.Status.HIDDEN)
    return (
        Review.objects.filter(page_id=page.pk, status__in=statuses)
        .select_related("author")
        .order_by("-updated_at", "-pk")[:LATEST_COUNT]
    )


def own_review(*, user, page: Page) -> Review | None:
    if not user.is_authenticated:
        return None
    return Review.objects.filter(page_id=page.pk, author=user).first()
