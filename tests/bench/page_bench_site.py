"""Settings of the server the page benchmark starts (tests/bench/test_page_bench.py).

The test settings, with persistent database connections and Redis caches as production runs
them, and one more
URL (tests/bench/page_bench_urls.py): a trivial view served through the same middleware by the
same server, the yardstick.
"""

from config.settings.test import *  # noqa: F403

ROOT_URLCONF = "tests.bench.page_bench_urls"
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
# The caches of production (config/settings/production.py): Redis for both aliases, so that the
# cached_db sessions of signed-in pages are read from Redis by both workers.
_redis = {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_URL}  # noqa: F405
CACHES = {"default": _redis, "pages": _redis}
# The benchmark's own keys in the shared Redis: the test process's purges reach them.
PAGE_CACHE = {
    **globals().get("PAGE_CACHE", {}),  # none before the page cache: the "before" figures
    "KEY_PREFIX": env("BENCH_PAGE_CACHE_PREFIX", default="pc-bench"),  # noqa: F405
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
