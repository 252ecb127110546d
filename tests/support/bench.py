"""Small helpers the benchmarks share: percentiles, and how many PostgreSQL connections a
concurrent benchmark may still open."""

from django.db import connection

# Connections left for everyone else (the test's own, a worker, psql) when sizing a thread pool.
CONNECTION_MARGIN = 10


def free_connections() -> int:
    """PostgreSQL connections still free for a benchmark's threads, less a margin."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
            " - (SELECT count(*) FROM pg_stat_activity)"
        )
        [free] = cursor.fetchone()
    return int(free) - CONNECTION_MARGIN


def percentile(values: list[float], fraction: float) -> float:
    """The value at ``fraction`` (0-1) of the sorted values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
