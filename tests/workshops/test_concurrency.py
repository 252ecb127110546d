"""No oversold seat and no double release, under real concurrency.

Threads with their own PostgreSQL connections race through the services under
``django_db(transaction=True)`` (every call commits for real). The first test is also shown to
be able to fail: with the database guard dropped and a naive count-then-insert path, the same
race oversells and the same check catches it.
"""

import threading
from datetime import timedelta
from functools import partial

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from tests.support.threads import LockstepThreads, Outcome
from tests.workshops.factories import a_learner, paid_workshop
from workshops import services
from workshops.models import Registration, SeatInventory

pytestmark = pytest.mark.django_db(transaction=True)


SEATS = 10
BUYERS = 50
ROUNDS = 20


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


def test_fifty_buyers_for_ten_seats_get_ten_holds_and_forty_clean_sold_outs():
    workshop = paid_workshop(capacity=SEATS)
    buyers = [a_learner() for _ in range(BUYERS)]
    calls = [partial(services.hold_seat, learner=buyer, workshop=workshop) for buyer in buyers]

    with LockstepThreads(BUYERS) as threads:
        for round_number in range(ROUNDS):
            holds, sold_out, others = tally(threads.run(calls))

            assert (holds, sold_out, others) == (SEATS, BUYERS - SEATS, []), round_number
            assert not oversold(workshop), round_number
            assert Registration.objects.filter(workshop=workshop, status="held").count() == SEATS
            reset(workshop)


def test_without_the_database_guard_a_naive_count_then_insert_oversells():
    """Shows the check above can fail: drop the CHECK constraint and take seats the naive
    way (read the counts, decide in Python, then write). A barrier between reading and
    writing makes every buyer see the same free seats, the widest form of the same race."""
    workshop = paid_workshop(capacity=SEATS)
    inventory = SeatInventory.objects.get(workshop=workshop)
    buyers = [a_learner() for _ in range(BUYERS)]
    everyone_has_read = threading.Barrier(BUYERS, timeout=60)

    def naive_hold(buyer):
        with transaction.atomic():
            row = SeatInventory.objects.get(pk=inventory.pk)
            free = row.capacity - (row.held + row.confirmed + row.offered)
            everyone_has_read.wait()
            if free <= 0:
                raise services.SoldOut(services.SOLD_OUT)
            SeatInventory.objects.filter(pk=row.pk).update(held=F("held") + 1)
            return Registration.objects.create(
                workshop=workshop,
                learner=buyer,
                status="held",
                paid=True,
                created_at=timezone.now(),
                hold_expires_at=timezone.now() + timedelta(minutes=30),
            )

    table = SeatInventory._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
            ["seats_never_oversold"],
        )
        [definition] = cursor.fetchone()
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT seats_never_oversold")
    try:
        with LockstepThreads(BUYERS) as threads:
            outcomes = threads.run([partial(naive_hold, buyer) for buyer in buyers])
        holds, _, others = tally(outcomes)

        assert others == []
        assert holds == BUYERS  # fifty holds for ten seats
        assert oversold(workshop)
    finally:
        reset(workshop)
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT seats_never_oversold {definition}")


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
