"""No oversold seat and no double release, under real concurrency.

Threads with their own PostgreSQL connections race through the services under
``django_db(transaction=True)`` (every call commits for real).

The seat guard has two layers in the application, and the race tests below are built to fail
when either is removed:

- the conditional UPDATE in ``hold_seat`` (``workshops.services.seat_is_free``: a seat is taken
  only ``WHERE capacity > held + confirmed + offered``, evaluated by PostgreSQL on the locked
  row);
- the ``seats_never_oversold`` CHECK constraint on ``SeatInventory``.

The guard-removal tests switch off the *real* guard, not a copy written here: they make the real
``hold_seat``'s UPDATE unconditional (``seat_is_free`` replaced by an empty condition through
monkeypatch) and, in the strongest variant, drop the CHECK constraint from this test's database.
Then the very race of the main test oversells, and the main test's own check says so.
"""

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

import pytest
from django.db import connection
from django.db.models import Q
from django.db.utils import IntegrityError
from django.utils import timezone

from tests.support.threads import LockstepThreads, Outcome
from tests.workshops.factories import a_learner, paid_workshop
from workshops import services
from workshops.models import Registration, SeatInventory

pytestmark = pytest.mark.django_db(transaction=True)


SEATS = 10
BUYERS = 50
ROUNDS = 20
CHECK_CONSTRAINT = "seats_never_oversold"


def oversold(workshop) -> bool:
    """The invariant: held + confirmed + offered never exceeds the capacity."""
    row = SeatInventory.objects.get(workshop=workshop)
    return row.held + row.confirmed + row.offered > row.capacity


def reset(workshop) -> None:
    Registration.objects.filter(workshop=workshop).delete()
    SeatInventory.objects.filter(workshop=workshop).update(held=0, confirmed=0, offered=0)


def tally(outcomes: list[Outcome]) -> tuple[int, int, list[BaseException]]:
    holds = sum(
        1
        for outcome in outcomes
        if isinstance(outcome.value, Registration) and outcome.value.status == "held"
    )
    sold_out = sum(1 for outcome in outcomes if isinstance(outcome.error, services.SoldOut))
    others = [
        outcome.error
        for outcome in outcomes
        if outcome.error is not None and not isinstance(outcome.error, services.SoldOut)
    ]
    return holds, sold_out, others


def race_for_the_seats(threads: LockstepThreads, workshop, buyers) -> list[Outcome]:
    """Every buyer calls the real ``hold_seat`` at the same instant, each on its own connection."""
    return threads.run(
        [partial(services.hold_seat, learner=buyer, workshop=workshop) for buyer in buyers]
    )


def assert_sold_exactly_once(workshop, outcomes: list[Outcome], round_number: int = 0) -> None:
    """What the main race test demands: ten holds, forty clean "sold out"s, no oversell."""
    holds, sold_out, others = tally(outcomes)
    assert (holds, sold_out, others) == (SEATS, BUYERS - SEATS, []), round_number
    assert not oversold(workshop), round_number
    assert Registration.objects.filter(workshop=workshop, status="held").count() == SEATS


@contextmanager
def conditional_update_switched_off(monkeypatch) -> Iterator[None]:
    """Make the real ``hold_seat`` take a seat whether or not one is free.

    ``seat_is_free`` is replaced where ``_seat_update`` looks it up (the module that defines
    it, wherever the services package keeps it), so the application's own UPDATE loses its
    condition; everything else in ``hold_seat`` runs as in production.
    """
    guard_module = importlib.import_module(services.seat_is_free.__module__)
    with monkeypatch.context() as patch:
        patch.setattr(guard_module, "seat_is_free", lambda: Q())
        yield


@contextmanager
def check_constraint_dropped() -> Iterator[None]:
    """Drop ``seats_never_oversold`` from this test's database; put it back afterwards.

    The racing threads have their own connections, so the change must be committed to reach
    them; the test database is this test run's own, and the constraint is restored from its
    recorded definition even when the test fails (the rows are reset first, or it could not be).
    """
    table = SeatInventory._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
            [CHECK_CONSTRAINT],
        )
        [definition] = cursor.fetchone()
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {CHECK_CONSTRAINT}")
    try:
        yield
    finally:
        SeatInventory.objects.update(held=0, confirmed=0, offered=0)
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {CHECK_CONSTRAINT} {definition}")


def test_fifty_buyers_for_ten_seats_get_ten_holds_and_forty_clean_sold_outs():
    """The race itself: fifty buyers, ten seats, twenty rounds.

    How it fails: if the conditional UPDATE is removed from ``hold_seat`` (or made to let a
    taken seat through), the eleventh buyer's UPDATE breaks the CHECK constraint and surfaces
    as an IntegrityError instead of a clean ``SoldOut``; if the CHECK is gone too, fifty holds
    succeed and ``oversold`` is true. Both break ``assert_sold_exactly_once``, as the two
    guard-removal tests below show by running this very race without the guard.
    """
    workshop = paid_workshop(capacity=SEATS)
    buyers = [a_learner() for _ in range(BUYERS)]

    with LockstepThreads(BUYERS) as threads:
        for round_number in range(ROUNDS):
            outcomes = race_for_the_seats(threads, workshop, buyers)

            assert_sold_exactly_once(workshop, outcomes, round_number)
            reset(workshop)


def test_without_the_real_guard_the_same_race_oversells(monkeypatch):
    """The guard switched off in the application and the database: the race oversells.

    The real ``hold_seat`` runs with its conditional UPDATE made unconditional and with the
    CHECK constraint dropped; all fifty buyers get a hold on ten seats, and the main test's own
    check fails on it. If this test ever stops overselling, the switch no longer reaches the
    guard the application really uses (someone moved the guard without ``seat_is_free``), and
    the main test would no longer prove anything.
    """
    workshop = paid_workshop(capacity=SEATS)
    buyers = [a_learner() for _ in range(BUYERS)]

    with check_constraint_dropped(), conditional_update_switched_off(monkeypatch):
        try:
            with LockstepThreads(BUYERS) as threads:
                outcomes = race_for_the_seats(threads, workshop, buyers)
            holds, _, others = tally(outcomes)

            assert others == []
            assert holds == BUYERS  # fifty holds for ten seats
            assert oversold(workshop)
            with pytest.raises(AssertionError):
                assert_sold_exactly_once(workshop, outcomes)
        finally:
            reset(workshop)


def test_without_the_conditional_update_the_check_constraint_still_refuses_the_oversell(
    monkeypatch,
):
    """Each layer on its own: with only the UPDATE's condition switched off, the CHECK
    constraint refuses every seat past the tenth, so nothing is oversold, but the losers get a
    database error instead of a clean "sold out", and the main test fails on that."""
    workshop = paid_workshop(capacity=SEATS)
    buyers = [a_learner() for _ in range(BUYERS)]

    with conditional_update_switched_off(monkeypatch), LockstepThreads(BUYERS) as threads:
        outcomes = race_for_the_seats(threads, workshop, buyers)
    holds, sold_out, others = tally(outcomes)

    assert (holds, sold_out, len(others)) == (SEATS, 0, BUYERS - SEATS)
    assert all(isinstance(error, IntegrityError) for error in others), others
    assert not oversold(workshop)
    with pytest.raises(AssertionError):
        assert_sold_exactly_once(workshop, outcomes)


def test_a_hold_released_by_the_sweeper_and_twice_by_webhooks_at_once_frees_one_seat():
    workshop = paid_workshop(capacity=SEATS)
    now = timezone.now()
    for _ in range(3):  # holds that stay
        services.hold_seat(learner=a_learner(), workshop=workshop, now=now)

    with LockstepThreads(3) as threads:
        for round_number in range(10):
            hold = services.hold_seat(
                learner=a_learner(), workshop=workshop, now=now - timedelta(minutes=31)
            )
            before = SeatInventory.objects.get(workshop=workshop).held

            outcomes = threads.run(
                [
                    partial(services.release_expired_holds, now=now),
                    partial(services.release_hold, registration_id=hold.pk, now=now),
                    partial(services.release_hold, registration_id=hold.pk, now=now),
                ]
            )

            assert [outcome.error for outcome in outcomes] == [None] * 3, round_number
            assert sum(int(outcome.value) for outcome in outcomes) == 1, round_number
            assert SeatInventory.objects.get(workshop=workshop).held == before - 1 == 3
            assert Registration.objects.get(pk=hold.pk).status == "released"
