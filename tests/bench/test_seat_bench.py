"""Benchmark: seat checkout under contention (``pytest tests/bench --bench -s -q``).

N buyers, each a thread with its own PostgreSQL connection, call ``services.hold_seat`` at the
same instant for a 10-seat workshop, a few rounds per N. Prints holds per second, hold_seat
latency (p50/p95/max) and the seats taken, which must equal the capacity every round.
Bounded: a few hundred calls per level, and no level opens more connections than the server
has free (PostgreSQL's max_connections, less what is in use and a margin).
"""

import statistics
import time
from functools import partial

import pytest

from tests.support.bench import free_connections, percentile
from tests.support.threads import LockstepThreads
from tests.workshops.factories import a_learner, paid_workshop
from workshops import services
from workshops.models import Registration, SeatInventory

pytestmark = pytest.mark.django_db(transaction=True)

SEATS = 10
LEVELS = (25, 50, 100)
ROUNDS = 5
# Connections left for everything else on the server (other test runs, psql, this thread).
HEADER_FORMAT = "{:>12} {:>6} {:>6} {:>8} {:>8} {:>7} {:>7} {:>7} {:>18} {:>8} {:>6}"
LINE_FORMAT = "{:>12} {:>6} {:>6} {:>8.0f} {:>8.1f} {:>7.1f} {:>7.1f} {:>7.1f} {:>18} {:>8} {:>6}"


def test_seat_checkout_under_contention():
    workshop = paid_workshop(capacity=SEATS)
    buyers = [a_learner() for _ in range(max(LEVELS))]
    lines = []
    for wanted in LEVELS:
        threads_count = min(wanted, free_connections())
        calls = [
            partial(services.hold_seat, learner=buyer, workshop=workshop)
            for buyer in buyers[:threads_count]
        ]
        latencies: list[float] = []
        wall = 0.0
        holds = sold_out = errors = 0
        taken_per_round = []
        with LockstepThreads(threads_count) as threads:
            for _ in range(ROUNDS):
                began = time.perf_counter()
                outcomes = threads.run(calls)
                wall += time.perf_counter() - began
                latencies += [outcome.seconds for outcome in outcomes]
                holds += sum(1 for outcome in outcomes if outcome.error is None)
                sold_out += sum(
                    1 for outcome in outcomes if isinstance(outcome.error, services.SoldOut)
                )
                errors += sum(
                    1
                    for outcome in outcomes
                    if outcome.error is not None and not isinstance(outcome.error, services.SoldOut)
                )
                row = SeatInventory.objects.get(workshop=workshop)
                taken_per_round.append(row.taken)
                Registration.objects.filter(workshop=workshop).delete()
                SeatInventory.objects.filter(pk=row.pk).update(held=0, confirmed=0, offered=0)
        assert errors == 0
        assert taken_per_round == [SEATS] * ROUNDS
        assert holds == SEATS * ROUNDS
        lines.append(
            (
                f"{threads_count}" + ("" if threads_count == wanted else f" (of {wanted})"),
                ROUNDS,
                len(latencies),
                len(latencies) / wall,
                holds / wall,
                1000 * statistics.median(latencies),
                1000 * percentile(latencies, 0.95),
                1000 * max(latencies),
                "/".join(str(taken) for taken in taken_per_round),
                sold_out,
                errors,
            )
        )

    header = (
        "buyers",
        "rounds",
        "calls",
        "calls/s",
        "holds/s",
        "p50 ms",
        "p95 ms",
        "max ms",
        "seats taken/round",
        "sold out",
        "errors",
    )
    print(f"\nSeat checkout under contention: {SEATS} seats, services.hold_seat, PostgreSQL")
    print(HEADER_FORMAT.format(*header))
    for line in lines:
        print(LINE_FORMAT.format(*line))
