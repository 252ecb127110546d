"""Reads of reviews: a page's rating summary (for the page and JSON-LD) and its latest reviews."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count
from wagtail.models import Page

from config import pagecache
from home.models import Review

LATEST_COUNT = 5
SHOWN_FIELDS = ("page", "author", "rating", "body", "status", "reply", "updated_at")


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


def rating_summary(page: Page, *, request=None) -> RatingSummary:
    """Average and count of ``page``'s visible reviews: one query, then kept until the page is
    purged (every change to its reviews purges it, ``services``).

    For the JSON-LD of course and workshop pages: ``rating_summary(page).as_aggregate_rating()``
    is the ``aggregateRating`` value (None when there is no review yet).
    """

    def read() -> RatingSummary:
        figures = Review.objects.filter(page_id=page.pk, status=Review.Status.VISIBLE).aggregate(
            average=Avg("rating"), count=Count("pk")
        )
        return RatingSummary(average=_one_decimal(figures["average"]), count=figures["count"])

    return pagecache.kept_for_page("rating-summary", page, request=request, render=read)


def latest_reviews(page: Page, *, include_hidden: bool = False, request=None) -> list[Review]:
    """The newest reviews of ``page``, with their author's first name only; the creator also
    sees the ones they hid. What every visitor sees is kept until the page is purged."""
    statuses = [Review.Status.VISIBLE]
    if include_hidden:
        statuses.append(Review.Status.HIDDEN)

    def read() -> list[Review]:
        return list(
            Review.objects.filter(page_id=page.pk, status__in=statuses)
            .select_related("author")
            # What the page shows: nothing else of the author goes into the cache.
            .only(*SHOWN_FIELDS, "author__first_name")
            .order_by("-updated_at", "-pk")[:LATEST_COUNT]
        )

    if include_hidden:
        return read()
    return pagecache.kept_for_page("latest-reviews", page, request=request, render=read)


def own_review(*, user, page: Page) -> Review | None:
    if not user.is_authenticated:
        return None
    return Review.objects.filter(page_id=page.pk, author=user).first()
