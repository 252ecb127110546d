"""Business rules of reviews: who may review, write (once, editable), reply, hide, remove.

Who may review: a learner who completed at least half of a course's lessons (a refunded
enrolment doesn't count), or who had a confirmed seat at a workshop that has ended (we have no
attendance register: a confirmed seat at a finished workshop counts as attended).
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import Page

from accounts.models import User
from config import pagecache
from courses import selectors as course_selectors
from courses.models import CoursePage, Enrollment
from home import navigation
from home.models import REVIEW_BODY_MAX_LENGTH, CreatorPage, Review
from workshops.models import Registration, WorkshopPage


class ReviewRefused(Exception):
    """The user may not do this to this review; the message says why (fit to show)."""


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def reviewable(page: Page) -> CoursePage | WorkshopPage | None:
    specific = page.specific
    return specific if isinstance(specific, CoursePage | WorkshopPage) else None


def why_not_review(
    *,
    user: User,
    page: Page,
    now: datetime | None = None,
    progress: course_selectors.CourseProgress | None = None,
) -> str | None:
    """None if ``user`` may review ``page`` now, else the reason (fit to show).

    ``progress``: the user's progress in the course when the caller has read it already (the
    course page has); it is used only if it is this user's enrolment in this course."""
    item = reviewable(page)
    if item is None:
        return _("Only courses and workshops can be reviewed.")
    if not user.is_authenticated:
        return _("Sign in to leave a review.")
    if isinstance(item, CoursePage):
        is_theirs = progress is not None and (
            progress.enrollment.learner_id == user.pk and progress.enrollment.course_id == item.pk
        )
        if not is_theirs:
            enrollment = Enrollment.objects.filter(learner=user, course=item).first()
            progress = None
            if enrollment is not None:
                progress = course_selectors.progress_for(
                    [enrollment], outlines={item.pk: item.outline()}, now=now
                )[0]
        if progress is None or progress.enrollment.status == Enrollment.Status.REFUNDED:
            return _("Only learners of this course can review it.")
        if not progress.lessons_total or 2 * progress.lessons_completed < progress.lessons_total:
            return _("You can review this course once you have completed half of its lessons.")
        return None
    attended = Registration.objects.filter(
        learner=user, workshop=item, status=Registration.Status.CONFIRMED
    ).exists()
    if not attended:
        return _("Only people who attended this workshop can review it.")
    if item.ends_at > _now(now):
        return _("You can review this workshop once it has taken place.")
    return None


def _check_text(body: str) -> str:
    body = (body or "").strip()
    if len(body) > REVIEW_BODY_MAX_LENGTH:
        raise ReviewRefused(
            _("Keep it under %(count)d characters, please.") % {"count": REVIEW_BODY_MAX_LENGTH}
        )
    return body


def write_review(
    *, author: User, page: Page, rating: int, body: str = "", now: datetime | None = None
) -> Review:
    """The author's review of ``page``, new or edited (one per learner and page).

    An edit keeps a creator's hiding; a review staff removed can't be edited back.
    """
    now = _now(now)
    reason = why_not_review(user=author, page=page, now=now)
    if reason is not None:
        raise ReviewRefused(reason)
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ReviewRefused(_("Choose a rating from 1 to 5 stars."))
    body = _check_text(body)
    with transaction.atomic():
        review = Review.objects.select_for_update().filter(page_id=page.pk, author=author).first()
        if review is None:
            try:
                with transaction.atomic():
                    review = Review.objects.create(
                        page_id=page.pk,
                        author=author,
                        rating=rating,
                        body=body,
                        created_at=now,
                        updated_at=now,
                    )
                pagecache.purge_pages_showing_id(page.pk)
                return review
            except IntegrityError:
                # A double submit: the other request made it first; edit that one.
                review = Review.objects.select_for_update().get(page_id=page.pk, author=author)
        if review.status == Review.Status.REMOVED:
            raise ReviewRefused(_("Your review was removed by our staff and can't be edited."))
        review.rating = rating
        review.body = body
        review.updated_at = now
        review.save(update_fields=["rating", "body", "updated_at"])
        pagecache.purge_pages_showing_id(page.pk)
    return review


def is_creator_of(*, user: User, page: Page) -> bool:
    """Whether ``user`` owns the storefront ``page`` is on. Most accounts own none, which the
    header's kept flag already knows without a query (``home.navigation``, purged whenever a
    storefront is saved or deleted, the only ways to gain or lose one); owners are looked up."""
    if not user.is_authenticated or not navigation.has_storefront(user):
        return False
    storefront_path = (
        CreatorPage.objects.filter(creator=user).values_list("path", flat=True).first()
    )
    return storefront_path is not None and page.path.startswith(storefront_path)


def reply(*, user: User, review: Review, text: str, now: datetime | None = None) -> Review:
    """The page's creator answers a review (an empty text takes the answer down)."""
    if not is_creator_of(user=user, page=review.page):
        raise ReviewRefused(_("Only the creator can reply to reviews of their pages."))
    review.reply = _check_text(text)
    review.replied_at = _now(now) if review.reply else None
    review.save(update_fields=["reply", "replied_at"])
    pagecache.purge_pages_showing_id(review.page_id)
    return review


def set_hidden(*, user: User, review: Review, hidden: bool, now: datetime | None = None) -> Review:
    """The creator hides an abusive review from their page (or shows it again)."""
    if not is_creator_of(user=user, page=review.page):
        raise ReviewRefused(_("Only the creator can hide reviews of their pages."))
    if review.status == Review.Status.REMOVED:
        raise ReviewRefused(_("This review was removed by staff."))
    review.status = Review.Status.HIDDEN if hidden else Review.Status.VISIBLE
    review.moderated_by = user
    review.moderated_at = _now(now)
    review.save(update_fields=["status", "moderated_by", "moderated_at"])
    # The average and the latest reviews are on the cached public page.
    pagecache.purge_pages_showing_id(review.page_id)
    return review


def remove(*, user: User, review: Review, now: datetime | None = None) -> Review:
    """Staff take any review down for good (it stays in the database, for the record)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        raise ReviewRefused(_("Only staff can remove reviews."))
    review.status = Review.Status.REMOVED
    review.moderated_by = user
    review.moderated_at = _now(now)
    review.save(update_fields=["status", "moderated_by", "moderated_at"])
    # The average and the latest reviews are on the cached public page.
    pagecache.purge_pages_showing_id(review.page_id)
    return review
