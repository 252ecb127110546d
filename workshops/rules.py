"""The workshop rules that are plain arithmetic on times: no database, no side effects.

Both the services (which change state) and the selectors (which only read) use them, so they
live here, below both.
"""

from datetime import datetime, timedelta

from django.utils import timezone

from .models import WorkshopPage

# A paid seat is held for as long as its Checkout Session lives (Stripe's minimum expires_at is
# 30 minutes out); payments creates the session with this same lifetime.
HOLD_MINUTES = 30
WAITLIST_OFFER_HOURS = 24
# Offers must leave the learner time to claim and pay before the start.
OFFER_CLOSES_BEFORE_START = timedelta(hours=1)
# Confirmed registrants see the join link from this long before the start until the end.
JOIN_LINK_OPENS_BEFORE = timedelta(hours=1)
# Reminder e-mails, longest first: (hours before the start, the registration's flag field).
REMINDERS = ((24, "reminded_24h_at"), (1, "reminded_1h_at"))


def cancellation_deadline(workshop: WorkshopPage) -> datetime:
    """The last moment a learner may cancel a confirmed seat (and be refunded)."""
    return workshop.starts_at - timedelta(hours=workshop.cancellation_cutoff_hours)


def offer_deadline(*, workshop: WorkshopPage, now: datetime) -> datetime | None:
    """When an offer made now expires: 24 hours, less when the workshop is sooner."""
    deadline = min(
        now + timedelta(hours=WAITLIST_OFFER_HOURS), workshop.starts_at - OFFER_CLOSES_BEFORE_START
    )
    return deadline if deadline > now else None


def join_link_open(workshop: WorkshopPage, now: datetime | None = None) -> bool:
    """Whether a confirmed registrant may see the join link now: 1 hour before, until the end."""
    now = now if now is not None else timezone.now()
    return workshop.starts_at - JOIN_LINK_OPENS_BEFORE <= now < workshop.ends_at
