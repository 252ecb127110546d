"""Fixtures shared by every test: real services, the browser, factories' helpers."""

import os
from pathlib import Path

import pytest

from tests.services import missing_services

# pytest-django's live_server runs in a thread beside Playwright's event loop; Django refuses
# ORM calls from a thread with a running loop unless told this is intended.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
BENCH_DIR = Path(__file__).parent / "bench"


def pytest_addoption(parser):
    parser.addoption("--bench", action="store_true", help="run the benchmarks in tests/bench/")


def pytest_ignore_collect(collection_path, config):
    # Benchmarks are slow and print tables; only `make bench` (--bench) runs them.
    if not config.getoption("--bench") and BENCH_DIR in (collection_path, *collection_path.parents):
        return True
    return None


def pytest_sessionstart(session):
    problems = missing_services()
    if problems:
        pytest.exit("\n".join(problems), returncode=3)


def _share_serialized_contents() -> None:
    """Keep ``serialized_rollback`` working after the first browser test of the session.

    Playwright's sync API marks its event loop as running in the main thread between calls,
    for the rest of the session (the ``playwright`` fixture is session-scoped). Django then
    hands the main thread connections from its async-context storage: new connection objects
    without the ``_test_serialized_contents`` that pytest-django put on the thread's original
    one when it created the test database. A ``serialized_rollback`` test would then restore
    nothing (no Wagtail site) and its flush would re-run post_migrate (content types that the
    next restore collides with). Copy the contents onto the connection in use.
    """
    from django.db import connections

    thread_storage = getattr(getattr(connections, "_connections", None), "_storage", None)
    for alias in connections:
        contents = getattr(getattr(thread_storage, alias, None), "_test_serialized_contents", None)
        if contents is not None and not hasattr(connections[alias], "_test_serialized_contents"):
            connections[alias]._test_serialized_contents = contents  # type: ignore[attr-defined]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _share_serialized_contents()  # before the test database is set up for this test


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    _share_serialized_contents()  # before the flush that ends a transactional test


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, headless, with the flags a root container without a GPU needs."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            # The machine has no internet: don't let Chromium try to phone home.
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "Asia/Tokyo", "locale": "en-GB"}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """Keep serialized rollback working after a browser test.

    Django keeps the migration-made rows (the default site, the home page) that
    ``serialized_rollback`` restores on the connection object. After a Playwright test the
    test thread gets new connection objects (Playwright's greenlet-based sync API changes the
    context that asgiref's ``Local`` keys them on), and without the rows every later
    transactional test would start from an empty database. Keeping them on the class
    reaches every connection object.
    """
    from django.db import connections

    for connection in connections.all():
        contents = getattr(connection, "_test_serialized_contents", None)
        if contents is not None:
            type(connection)._test_serialized_contents = contents  # type: ignore[attr-defined]
    return django_db_setup


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: allauth's rate-limit counters live there."""
    from django.core.cache import cache

    cache.clear()
