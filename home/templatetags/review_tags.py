"""``{% reviews_of page as reviews %}`` for ``reviews/_summary.html``: everything the reviews
section of a course or workshop page shows this visitor."""

from django import template

from home.reviews import selectors, services
from home.reviews.forms import ReviewForm

register = template.Library()


@register.simple_tag(takes_context=True)
def reviews_of(context, page):
    request = context.get("request")
    user = getattr(request, "user", None)
    is_creator = user is not None and services.is_creator_of(user=user, page=page)
    own = selectors.own_review(user=user, page=page) if user is not None else None
    may_write = None
    if user is not None and user.is_authenticated and not is_creator:
        # The course page read the learner's progress already (its context's ``progress``).
        may_write = (
            services.why_not_review(user=user, page=page, progress=context.get("progress")) is None
        )
    form = None
    if may_write:
        initial = {"rating": own.rating, "body": own.body} if own else None
        form = ReviewForm(initial=initial)
    return {
        "summary": selectors.rating_summary(page, request=request),
        "latest": selectors.latest_reviews(page, include_hidden=is_creator, request=request),
        "own": own,
        "form": form,
        "is_creator": is_creator,
        "is_staff": bool(user is not None and user.is_authenticated and user.is_staff),
    }


@register.simple_tag
def aggregate_rating(page):
    """schema.org ``AggregateRating`` of ``page`` (a dict, or None with no reviews), for a
    page's JSON-LD: ``{% aggregate_rating page as rating %}``."""
    return selectors.rating_summary(page).as_aggregate_rating()


@register.simple_tag
def rate_cards(items) -> str:
    """Give each card of a listing its rating (``card.rating``, ``card.rating_count``), in one
    query for the whole list: ``{% rate_cards cards %}`` before the loop. ``items`` are cards,
    or objects with a ``card`` (the workshop list's). Renders nothing."""
    cards = [getattr(item, "card", item) for item in items]
    summaries = selectors.rating_summaries([card.page.pk for card in cards])
    for card in cards:
        summary = summaries.get(card.page.pk)
        if summary is not None and summary.average is not None:
            card.rating, card.rating_count = float(summary.average), summary.count
    return ""
