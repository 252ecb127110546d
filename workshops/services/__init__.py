"""Business rules of workshop seats: hold, confirm, release, cancel, and the waitlist.

Seats are counted in one ``SeatInventory`` row per workshop. Taking a seat is a conditional
``UPDATE ... SET held = held + 1 WHERE capacity > held + confirmed + offered``: PostgreSQL
locks the row and re-checks the condition, so two buyers of the last seat cannot both get it,
and the table's CHECK constraint refuses any write that would oversell (architecture.md #3).

A registration changes state only under its row lock, after re-checking that state, so a hold
released by expiry, by a webhook and by the sweeper at once frees its seat exactly once.

Lock order, to stay clear of deadlocks: a registration or waitlist row first, then the seat row.
``offer_free_seats`` is the one exception (seat row, then a *waiting* entry), and nothing that
locks a waiting entry goes on to the seat row.

E-mails and follow-up work are handed to Celery after the transaction commits (tasks.py).

The package is split by subject: ``seats``, ``waitlist``, ``reminders``, ``publishing``, with
what they share in ``common``; the time rules live in ``workshops/rules.py``. Callers import
the public names from here: ``from workshops import services``.
"""

from ..rules import (
    HOLD_MINUTES,
    JOIN_LINK_OPENS_BEFORE,
    OFFER_CLOSES_BEFORE_START,
    REMINDERS,
    WAITLIST_OFFER_HOURS,
    cancellation_deadline,
    join_link_open,
    offer_deadline,
)
from .common import (
    CANCELLED,
    SOLD_OUT,
    STARTED,
    SoldOut,
    WorkshopError,
    inventory_for,
    seat_is_free,
)
from .publishing import cancel_workshop, sync_published_workshop
from .reminders import send_due_reminders
from .seats import (
    cancel_registration,
    confirm_paid_seat,
    discard_new_hold,
    extend_hold,
    hold_seat,
    mark_refunded,
    register_free,
    release_expired_holds,
    release_hold,
)
from .waitlist import (
    claim_offer,
    expire_offers,
    join_waitlist,
    leave_waitlist,
    offer_free_seats,
)

__all__ = [
    "CANCELLED",
    "HOLD_MINUTES",
    "JOIN_LINK_OPENS_BEFORE",
    "OFFER_CLOSES_BEFORE_START",
    "REMINDERS",
    "SOLD_OUT",
    "STARTED",
    "WAITLIST_OFFER_HOURS",
    "SoldOut",
    "WorkshopError",
    "cancel_registration",
    "cancel_workshop",
    "cancellation_deadline",
    "claim_offer",
    "confirm_paid_seat",
    "discard_new_hold",
    "expire_offers",
    "extend_hold",
    "hold_seat",
    "inventory_for",
    "join_link_open",
    "join_waitlist",
    "leave_waitlist",
    "mark_refunded",
    "offer_deadline",
    "offer_free_seats",
    "register_free",
    "release_expired_holds",
    "release_hold",
    "seat_is_free",
    "send_due_reminders",
    "sync_published_workshop",
]
