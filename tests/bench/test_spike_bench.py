"""Benchmark: the 08:00 spike (``make bench``; skipped by ``make test``).

20,000 learners' lessons fall due at the same instant (``BENCH_SPIKE_LEARNERS=100000`` for the
issue's full figure), as 08:00 local brings a whole time zone at once: the next minute
boundary that leaves time to write the rows. Each part runs in its own process, as in
production:

- ``celery beat`` with the project's schedule and django-celery-beat's scheduler, started at
  whatever second of the minute the benchmark reaches it;
- one ``celery worker`` with 2 prefork processes (production's worker on a 2-core machine)
  keeping its database connections (``CONN_MAX_AGE=60``); it runs the dispatcher too, and has
  sent 200 lessons of another course first, as a worker that has run for a while has;
- the drill's loopback SMTP server (tests/drill/smtp_sink.py), which writes down when each
  Message-ID arrived and logs nothing else.

Measured: each lesson's lag, from its ``due_at`` to its arrival at the SMTP server (p50, p95,
max), beside the SMTP server's own time for as many ready-made copies of one lesson e-mail sent
by plain smtplib (tests/bench/smtp_loop.py) on one connection and on two, measured just before.
Target (issue #11): every lesson at the server within 2x its own one-connection time.
"""

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from courses.models import LessonDelivery
from tests.bench.dispatch_bulk import build_outbox
from tests.bench.smtp_loop import smtp_alone_seconds
from tests.bench.test_dispatch_bench import (
    LESSON_BODY,
    lesson_email_file,
    show,
    warm_up_worker,
)
from tests.courses.factories import course, lesson
from tests.support.bench import percentile
from tests.support.network import free_port
from tests.support.waiting import wait_for
from tests.support.worker import (
    PROJECT_DIR,
    broker_not_eager,
    celery_beat,
    celery_worker,
    purge_queue,
)

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SPIKE_LEARNERS = int(os.environ.get("BENCH_SPIKE_LEARNERS", "20000"))
WORKER_PROCESSES = 2
# Seconds to write the spike's rows before they fall due (generate_series: ~1 s per 10,000).
BUILD_MARGIN = 15 + SPIKE_LEARNERS / 5_000
TARGET_FACTOR = 2.0


class ArrivalLog:
    """The SMTP server's record, read as it grows: first arrival and count per Message-ID."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.first_arrival: dict[str, float] = {}
        self.copies: Counter[str] = Counter()

    def read(self) -> int:
        """Reads what was added since the last call; returns how many messages arrived so far."""
        with self.path.open("rb") as log:
            log.seek(self.offset)
            chunk = log.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line being written waits for next time
        self.offset += len(complete)
        for line in complete.splitlines():
            entry = json.loads(line)
            self.copies[entry["message_id"]] += 1
            self.first_arrival.setdefault(entry["message_id"], entry["t"])
        return sum(self.copies.values())


def start_smtp_server(port: int, log_path: Path) -> subprocess.Popen:
    log_path.touch()
    server = subprocess.Popen(  # noqa: S603 - our interpreter, our module
        [sys.executable, "-m", "tests.drill.smtp_sink", "--port", str(port), "--out", log_path],
        cwd=PROJECT_DIR,
        stdout=subprocess.DEVNULL,
    )

    def listening() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    wait_for(listening, timeout=30, what="the SMTP server")
    return server


def next_minute_after(seconds: float) -> datetime:
    earliest = datetime.now(UTC) + timedelta(seconds=seconds)
    return earliest.replace(second=0, microsecond=0) + timedelta(minutes=1)


def test_bench_lessons_due_in_the_same_minute_reach_the_smtp_server(tmp_path):
    port = free_port()
    arrivals = ArrivalLog(tmp_path / "smtp.jsonl")
    server = start_smtp_server(port, arrivals.path)
    try:
        with (
            broker_not_eager(),
            celery_worker(
                smtp_port=port,
                log_path=tmp_path / "worker.log",
                concurrency=WORKER_PROCESSES,
                conn_max_age=60,
            ),
            celery_beat(log_path=tmp_path / "beat.log"),
        ):
            purge_queue()
            warm_up_lesson = warm_up_worker(arrivals.read)

            # The server alone, with the same message (a warm-up learner's: not in the spike).
            message_file = lesson_email_file(warm_up_lesson, tmp_path)
            smtp_alone = {
                connections: smtp_alone_seconds(
                    host="127.0.0.1",
                    port=port,
                    count=SPIKE_LEARNERS,
                    message_file=message_file,
                    connections=connections,
                    timeout=600,
                )
                for connections in (1, 2)
            }

            due_at = next_minute_after(BUILD_MARGIN)
            spike = course(lessons=0, title="Spike")
            lesson(spike, day=0, title="Everyone at once", body=LESSON_BODY)
            outbox = build_outbox(
                course_page=spike,
                learners=SPIKE_LEARNERS,
                sent=0,
                due=1,
                now=due_at,
                tag="spike",
                due_at=due_at,
            )
            written_at = datetime.now(UTC)
            assert outbox.due == SPIKE_LEARNERS
            assert written_at < due_at, "the rows were written after they fell due"
            spike_rows = LessonDelivery.objects.filter(enrollment__course=spike)
            message_ids = {row.message_id for row in spike_rows.only("pk")}

            def all_arrived() -> bool:
                arrivals.read()
                return message_ids <= arrivals.first_arrival.keys()

            wait_for(
                all_arrived,
                timeout=(due_at - written_at).total_seconds() + 4 * smtp_alone[1] + 120,
                what=f"the {SPIKE_LEARNERS:,} spike e-mails",
                poll=0.5,
            )
            time.sleep(2)  # a late duplicate would show now
            arrivals.read()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)

    lags = [arrivals.first_arrival[mid] - due_at.timestamp() for mid in message_ids]
    duplicates = sum(arrivals.copies[mid] - 1 for mid in message_ids)
    limit = TARGET_FACTOR * smtp_alone[1]
    name = f"08:00 spike, {SPIKE_LEARNERS:,} lessons"
    show(
        [
            (name, "due at / rows written", f"{due_at:%H:%M:%S} / {written_at:%H:%M:%S.%f}"[:-3]),
            (name, "SMTP server alone, 1 connection", f"{smtp_alone[1]:.1f} s"),
            (name, "SMTP server alone, 2 connections", f"{smtp_alone[2]:.1f} s"),
            (
                name,
                "lag due -> SMTP p50 / p95 / max",
                f"{statistics.median(lags):.1f} / {percentile(lags, 0.95):.1f} / {max(lags):.1f} s",
            ),
            (
                name,
                f"max lag / limit ({TARGET_FACTOR:g} x 1 connection)",
                f"{max(lags) / limit:.2f}",
            ),
            (name, "first arrival after due", f"{min(lags):.2f} s"),
            (name, "duplicates", str(duplicates)),
            (name, "load average (1 min) at the end", f"{os.getloadavg()[0]:.1f}"),
        ]
    )
    assert duplicates == 0
    assert set(spike_rows.values_list("status", flat=True)) == {"sent"}
    assert max(lags) <= limit, f"the last lesson arrived {max(lags):.1f} s after 08:00"
