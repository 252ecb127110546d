"""What every part of the workshop services shares: errors, messages, the seat row's
conditional UPDATE, queuing e-mails, and handing work to Celery after commit."""

from datetime import datetime

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.models import Page

from accounts.models import User
from config import pagecache
from config.queueing import enqueue_on_commit

from .. import emails
from ..models import Registration, SeatInventory, WaitlistEntry, WorkshopPage


class WorkshopError(Exception):
    """A rule forbids this; the message is fit to show the learner."""


class SoldOut(WorkshopError):
    pass


# Messages shown to learners, kept together.
SOLD_OUT = _("This workshop is sold out. Join the waitlist to hear when a seat frees.")
CANCELLED = _("This workshop was cancelled.")
STARTED = _("This workshop has already started.")


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def _queue_email(sender: str, **params) -> None:
    """Write an e-mail of emails.py to the outbox, in the transaction of the change it reports
    (the caller's): it commits with that change and is sent after commit.

    Call it *after* saving the change: the sender re-reads the rows and queues nothing for a
    state that isn't (yet) the one it describes.
    """
    emails.SENDERS[sender](**params)


def _offer_free_seats_after_commit(workshop_id: int) -> None:
    enqueue_on_commit("workshops.tasks.offer_free_seats_task", workshop_id)


def inventory_for(workshop: WorkshopPage) -> SeatInventory:
    """The workshop's seat row, made on first use from the page's capacity and start."""
    inventory, _ = SeatInventory.objects.get_or_create(
        workshop=workshop,
        defaults={"capacity": workshop.capacity, "announced_starts_at": workshop.starts_at},
    )
    return inventory


def seat_is_free() -> Q:
    """The seat guard: the condition a seat row must meet, at the moment of the UPDATE, for a
    seat to be taken (the workshop is not cancelled and a seat is still free).

    PostgreSQL evaluates it on the locked row, so it holds under any concurrency. It is a
    function of its own so that the guard-removal test (tests/workshops/test_concurrency.py)
    can switch off exactly this guard in the real ``hold_seat`` and show the oversell.
    """
    return Q(cancelled_at__isnull=True, capacity__gt=F("held") + F("confirmed") + F("offered"))


def _seat_update(inventory_id: int, *, only_if_free: bool, **changes) -> bool:
    """Apply ``changes`` (F-expressions) to the seat row in one UPDATE; whether it happened."""
    rows = SeatInventory.objects.filter(pk=inventory_id)
    if only_if_free:
        rows = rows.filter(seat_is_free())
    changed = rows.update(**changes) == 1
    if changed:
        _seats_changed(inventory_id)
    return changed


def _seats_changed(inventory_id: int) -> None:
    """Seats left and "sold out" show on public pages: purge the cached pages that show this
    workshop (config/pagecache), at once and again when the change commits."""
    workshop = Page.objects.filter(workshoppage__seats__pk=inventory_id).first()
    if workshop is not None:
        pagecache.purge_pages_showing(workshop)


def _check_open(workshop: WorkshopPage, inventory: SeatInventory, now: datetime) -> None:
    if inventory.cancelled_at is not None:
        raise WorkshopError(CANCELLED)
    if workshop.starts_at <= now:
        raise WorkshopError(STARTED)


def _live_registration(*, learner: User, workshop: WorkshopPage) -> Registration | None:
    return Registration.objects.filter(
        learner=learner, workshop=workshop, status__in=Registration.HOLDS_SEAT
    ).first()


def _open_offer(*, learner: User, workshop: WorkshopPage) -> WaitlistEntry | None:
    return WaitlistEntry.objects.filter(
        learner=learner, workshop=workshop, status=WaitlistEntry.Status.OFFERED
    ).first()


def _leave_line_after_taking_a_seat(*, learner: User, workshop: WorkshopPage) -> None:
    """A learner who got a seat another way no longer waits for one."""
    WaitlistEntry.objects.filter(
        learner=learner, workshop=workshop, status=WaitlistEntry.Status.WAITING
    ).update(status=WaitlistEntry.Status.CLAIMED)


def _locked_registration(registration_id: int) -> Registration:
    # of=("self",): lock the registration only, not the joined page and user rows.
    return (
        Registration.objects.select_for_update(of=("self",))
        .select_related("workshop", "learner")
        .get(pk=registration_id)
    )
