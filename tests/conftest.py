"""Fixtures shared by every test: real services, the browser, factories' helpers."""

import os
from pathlib import Path

import pytest

from tests.services import missing_services
from tests.support.browser import chromium_launch_args

# pytest-django's live_server runs in a thread beside Playwright's event loop; Django refuses
# ORM calls from a thread with a running loop unless told this is intended.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

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


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Headless Chromium from ``CHROMIUM_PATH`` (default Debian's ``/usr/bin/chromium``)."""
    return chromium_launch_args(browser_type_launch_args)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "timezone_id": "Asia/Tokyo", "locale": "en-GB"}


@pytest.fixture(autouse=True)
def _site_tree_for_real_commits(request):
    """Tests with real commits start with the page tree that the migrations make.

    pytest-django empties the database after each ``transaction=True`` test (its flush keeps
    only what post_migrate recreates: content types and permissions), so the default site
    and home page are rebuilt here. This is simpler and more reliable than
    ``serialized_rollback``, whose snapshot lives on a connection object that Playwright's
    event loop makes Django replace.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("transactional_db")
    from tests.home.factories import home_page

    home_page()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: allauth's rate-limit counters live there."""
    from django.core.cache import cache

    cache.clear()
