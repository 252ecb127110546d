"""Fail fast, with the command that fixes it, when PostgreSQL or Redis does not answer.

Run as ``python -m tests.services`` (``make test`` does) and from ``tests/conftest.py``.
"""

import os
import socket
import sys
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/microcourses"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": (
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
        "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
    ),
}


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def missing_services() -> list[str]:
    """Human-readable lines, one per service that does not answer; empty when all do."""
    checks = [
        ("PostgreSQL", os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL), 5432),
        ("Redis", os.environ.get("REDIS_URL", DEFAULT_REDIS_URL), 6379),
    ]
    return [
        f"{name} does not answer at {url}. Start it with:\n    {HOW_TO_START[name]}"
        for name, url, port in checks
        if not _answers(url, port)
    ]


def ensure_database() -> None:
    """Create the database named in DATABASE_URL if it is missing.

    Tests run in pytest-django's own ``test_<name>`` database, but ``makemigrations --check``
    looks at the named one and warns when it does not exist.
    """
    import psycopg
    from psycopg import sql

    parts = urlsplit(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    name = parts.path.lstrip("/")
    server = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if exists.fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


if __name__ == "__main__":
    problems = missing_services()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(1)
    ensure_database()
