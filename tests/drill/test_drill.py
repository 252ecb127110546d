"""The drill's short variant: production under honcho, load, a web instance and a worker
SIGKILLed and restarted; every check of ``make drill`` must pass (at most 3 minutes once the
drill's database template, collected static files and locust's virtualenv exist; the first run
also migrates and seeds the database and installs locust)."""

import json
import os
import subprocess
import sys

import pytest

from tests.config.test_production_settings import PROJECT_DIR

pytestmark = pytest.mark.drill


def test_the_short_drill_passes(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    # Its own database and Redis database beside the test run's (both recreated by the drill).
    database = env.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/microcourses")
    env.setdefault("DRILL_DATABASE_URL", f"{database}_drill")
    env.setdefault("DRILL_REDIS_URL", "redis://127.0.0.1:6379/15")
    result = subprocess.run(  # noqa: S603 - our own driver with fixed arguments
        [
            sys.executable,
            "-m",
            "tests.drill.run",
            # Every end check of `make drill`, in at most 3 minutes: a shorter load, and none of
            # the full drill's benchmarks (the 20,000-learner spike, each page's capacity).
            "--seconds",
            "30",
            "--users",
            "6",
            "--spike",
            "0",
            "--capacity-seconds",
            "0",
            "--out",
            str(tmp_path),
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "DRILL PASSED" in result.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["kill"]["web1_back_after_s"] > 0
    assert report["upload_through_one_web_read_through_the_other"] is True
    for kind in ("document", "image", "lesson download"):
        assert report["file_reads"][kind]["ok_through_other_web"] > 0, kind
        assert report["file_reads"][kind]["failed"] == 0, kind
    assert report["5xx"]["unexplained"] == []
    assert report["state"]["paid_orders_not_enrolled_once"] == []
    assert report["state"]["oversold_workshops"] == []
    assert report["state"]["pending_due"] == 0
    # Not vacuous: there were orders, seats and lesson e-mails to check.
    assert report["state"]["paid_orders"] > 0
    assert report["state"]["confirmed_seats"] > 0
    assert report["state"]["lesson_emails_received"] > 0
    assert report["pages"]["lesson page"]["requests"] > 0
