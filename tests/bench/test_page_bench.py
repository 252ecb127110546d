"""Requests per second of the public and signed-in pages under gunicorn, as ratios to a
trivial view served by the same server in the same run.

Run with ``make bench`` (``pytest tests/bench --bench -s -q``). The site has 50 courses (three
lessons each) and 50 workshops on five storefronts, a catalog and a workshop list. gunicorn
runs it with 2 sync workers (``config/gunicorn.conf.py`` if there is one, else flags) on this
test's database with persistent connections (tests/bench/page_bench_site.py). wrk loads each
page for ``BENCH_PAGE_SECONDS`` seconds (default 4) with 2 threads and 8 connections, in
``BENCH_PAGE_ROUNDS`` rounds (default 3); the table shows medians.

Two modes for the anonymous pages: "warm", the same URL again and again (a cached site serves
it from the page cache), and "cold", a different query string on every request (every
request misses the page cache, renders and stores). Signed-in pages are never cached whole.
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client

from courses.models import LessonPage
from tests.bench.conftest import record
from tests.courses.factories import catalog_page, course_page, enroll, learner
from tests.support.network import accepts_connections, free_port
from tests.support.waiting import wait_for
from tests.workshops.factories import index_page, storefront, workshop_page

pytestmark = pytest.mark.django_db(transaction=True)

SECONDS = int(os.environ.get("BENCH_PAGE_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_PAGE_ROUNDS", "3"))
ITEMS = 50
PROJECT_DIR = Path(__file__).resolve().parents[2]
GUNICORN_CONF = PROJECT_DIR / "config" / "gunicorn.conf.py"
# A different query string on each request: every one misses the page cache.
COLD_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, wrk.path .. "?cold=" .. counter .. "-" .. math.random(1, 1e9))
end
"""


@pytest.fixture
def gunicorn(transactional_db, tmp_path) -> Iterator[str]:
    """gunicorn, 2 sync workers, on this test's database; yields its base URL."""
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.bench.page_bench_site",
        "DATABASE_URL": database_url,
        "BENCH_PAGE_CACHE_PREFIX": str(getattr(settings, "PAGE_CACHE", {}).get("KEY_PREFIX", "pc")),
    }
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    if GUNICORN_CONF.exists():
        command += ["--config", str(GUNICORN_CONF)]
    # No control socket: its default path is shared by every gunicorn on the machine.
    command += ["--workers", "2", "--worker-class", "sync", "--no-control-socket"]
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own server with fixed arguments
        command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(
            lambda: process.poll() is not None or accepts_connections(port),
            timeout=60,
            what=f"gunicorn to start; see {log.name}",
            poll=0.2,
        )
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited; see {log.name}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def build_site() -> dict[str, str]:
    """50 courses and 50 workshops on five storefronts; a learner enrolled in five courses."""
    catalog = catalog_page()
    index = index_page()
    fronts = [storefront() for _ in range(5)]
    courses = [
        course_page(
            creator=fronts[n % 5], title=f"Course {n}", slug=f"course-{n}", lessons=3, publish=False
        )
        for n in range(ITEMS)
    ]
    workshops = [
        workshop_page(parent=fronts[n % 5], title=f"Workshop {n}", price_amount=100 * (n % 3))
        for n in range(ITEMS)
    ]
    # The courses read signed in, published through revisions as a creator does in the admin
    # (their lesson bodies are then kept per revision, as on a real site).
    for course in courses[:5]:
        course.save_revision().publish()
        for lesson in LessonPage.objects.child_of(course):
            lesson.save_revision().publish()
    reader = learner(email="bench-reader@example.com")
    for course in courses[:5]:
        enroll(reader, course)
    lesson = LessonPage.objects.child_of(courses[0]).get(day=0)
    return {
        "home": "/",
        "catalog": catalog.url,
        "course": courses[7].url,
        "workshops": index.url,
        "workshop": workshops[7].url,
        "storefront": fronts[1].url,
        "signed_in:lesson": lesson.url,
        "signed_in:course": courses[0].url,
        "signed_in:dashboard": "/dashboard/",
        # For information: the yardstick with the learner's session (its load and the user's),
        # what every signed-in page pays before its own work. Ratios stay to the anonymous one.
        "signed_in:trivial view": "/bench/trivial/",
        "trivial": "/bench/trivial/",
        "session": session_cookie(reader),
    }


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def wrk(url: str, *, cookie: str = "", cold: bool = False, tmp_path: Path) -> tuple[float, float]:
    """(requests per second, median latency in ms) of ``SECONDS`` of load on ``url``."""
    command = ["wrk", "-t2", "-c8", f"-d{SECONDS}s", "--timeout", "10s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    if cold:
        script = tmp_path / "cold.lua"
        script.write_text(COLD_SCRIPT)
        command += ["-s", str(script)]
    finished = subprocess.run(  # noqa: S603 - wrk with fixed arguments
        [*command, url], capture_output=True, text=True, check=False, timeout=SECONDS + 60
    )
    output = finished.stdout
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "Non-2xx" not in output, output
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", output)
    assert p50 is not None, output
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50.group(2)]
    return rate, float(p50.group(1)) * scale


def warm_up(base_url: str, paths: list[str], cookie: str) -> None:
    """Load every page a few times first: each worker's first requests fill its caches."""
    session = requests.Session()
    for path in paths:
        for _ in range(6):
            for headers in ({}, {"Cookie": cookie}):
                response = session.get(base_url + path, headers=headers, timeout=60)
                assert response.status_code == 200, (path, response.status_code)


def test_page_throughput_relative_to_a_trivial_view(gunicorn, tmp_path):
    site = build_site()
    cookie = site.pop("session")
    warm_up(gunicorn, list(site.values()), cookie)
    pages = [name for name in site if name != "trivial"]
    runs: list[tuple[str, str]] = [
        *((name, mode) for name in pages if ":" not in name for mode in ("cold", "warm")),
        *((name, "signed in") for name in pages if ":" in name),
    ]
    rates: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
    latencies: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
    trivial: list[float] = []
    for _round in range(ROUNDS):
        trivial.append(wrk(gunicorn + site["trivial"], tmp_path=tmp_path)[0])
        for name, mode in runs:
            rate, p50 = wrk(
                gunicorn + site[name],
                cookie=cookie if mode == "signed in" else "",
                cold=mode == "cold",
                tmp_path=tmp_path,
            )
            rates[(name, mode)].append(rate)
            latencies[(name, mode)].append(p50)

    trivial_rate = statistics.median(trivial)
    lines = [f"{'page':<22}{'mode':<11}{'req/s':>9}{'x trivial':>11}{'p50 ms':>9}"]
    lines.append(f"{'trivial view':<22}{'':<11}{trivial_rate:>9.0f}{1:>11.3f}{'':>9}")
    record("pages", "trivial view req/s (median)", f"{trivial_rate:.0f}")
    for name, mode in runs:
        rate = statistics.median(rates[(name, mode)])
        p50 = statistics.median(latencies[(name, mode)])
        label = name.split(":")[-1]
        lines.append(f"{label:<22}{mode:<11}{rate:>9.0f}{rate / trivial_rate:>11.3f}{p50:>9.1f}")
        record(
            "pages",
            f"{label} ({mode}) req/s, x trivial, p50 ms",
            f"{rate:.0f}, {rate / trivial_rate:.3f}, {p50:.1f}",
        )
    print("\n" + "\n".join(lines))
    assert trivial_rate > 0
