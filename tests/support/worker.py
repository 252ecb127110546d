"""A real Celery worker (``celery -A config worker`` in a subprocess, on Redis) for the tests
and benchmarks whose behaviour depends on one."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection
from django_celery_beat.models import PeriodicTask

from config import queueing
from config.celery import app as celery_app
from tests.support.network import free_port

PROJECT_DIR = Path(__file__).resolve().parents[2]
WORKER_READY_TIMEOUT = 60.0


def this_test_database_url() -> str:
    """The URL of the database this test process uses (pytest-django's ``test_...`` one)."""
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def broker_not_eager() -> Iterator[None]:
    """Make this process's ``.delay()`` publish to Redis instead of running the task here."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


@contextmanager
def broker_unreachable() -> Iterator[None]:
    """This process's ``.delay()`` publishes for real, to a Redis port where nothing listens."""
    # Import the apps' tasks now: config.queueing does it on first use, and Celery's Django
    # fixup then runs django.setup() again, whose logging configuration would drop pytest's
    # log capture in the middle of the test.
    celery_app.loader.import_default_modules()
    previous = celery_app.conf.task_always_eager, celery_app.conf.broker_url
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    _forget_broker_connections()  # those made for the real broker must not be reused
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.broker_url = previous
        _forget_broker_connections()
        # The outbox's publishes pause after a failure; the broker works again from here.
        queueing._BrokerTrouble.failed_at = None


def _forget_broker_connections() -> None:
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def purge_queue() -> None:
    """Drop tasks left in this Redis database's queue by an earlier, interrupted run."""
    with celery_app.connection_for_write() as conn:
        celery_app.control.purge(connection=conn)


@dataclass
class RunningWorker:
    """A worker started by ``celery_worker``: its node name and its main process.

    The worker runs in its own session, so its pool processes share the main process's id as
    their process group.
    """

    node: str
    process: subprocess.Popen

    def pids(self) -> list[int]:
        """The main process and its pool processes."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # Fields after the command (which may contain spaces) end with ")".
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == self.process.pid:  # field 5, the process group
                pids.append(int(entry.name))
        return pids

    def local_ports(self) -> set[int]:
        """The local TCP ports of the sockets these processes hold open."""
        inodes = set()
        for pid in self.pids():
            try:
                fds = list(Path(f"/proc/{pid}/fd").iterdir())
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
        ports = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                columns = line.split()
                if columns[9] in inodes:
                    ports.add(int(columns[1].rsplit(":", 1)[1], 16))
        return ports

    def kill_redis_connections(self) -> int:
        """``CLIENT KILL`` every Redis connection of this worker (and no one else's)."""
        ports = self.local_ports()
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        killed = 0
        try:
            for entry in client.client_list():
                if int(entry["addr"].rsplit(":", 1)[1]) in ports:
                    killed += client.client_kill_filter(_id=entry["id"])
        finally:
            client.close()
        return killed

    def sigkill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a power cut would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@contextmanager
def celery_worker(
    *, smtp_port: int, log_path: Path, concurrency: int = 1, conn_max_age: int = 0
) -> Iterator[RunningWorker]:
    """``celery -A config worker`` in a subprocess on this test's database, Redis and sink.

    ``conn_max_age``: the worker's ``CONN_MAX_AGE``; production's is 60 (its processes keep
    their database connections), the tests' 0.

    Yields the worker once it answers a ping; always stopped on the way out (warm shutdown,
    then a kill of its own process group if it hangs).
    """
    node = f"dispatch-test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    env = {
        **_celery_environment(smtp_port),
        "CONN_MAX_AGE": str(conn_max_age),
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        "--pool=prefork",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        node,
    ]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_ready(process, node, log_path)
            yield RunningWorker(node=node, process=process)
        finally:
            _stop(process)


@contextmanager
def celery_beat(*, log_path: Path) -> Iterator[subprocess.Popen]:
    """``celery -A config beat`` in a subprocess on this test's database and Redis, with the
    project's schedule and scheduler (django-celery-beat's, as in production).

    Yields once the scheduler has written the dispatcher's entry into its table.
    """
    command = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            cwd=PROJECT_DIR,
            env=_celery_environment(smtp_port=0),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + WORKER_READY_TIMEOUT
            while not PeriodicTask.objects.filter(name="dispatch-due-lessons").exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"Beat did not start:\n{log_path.read_text()[-4000:]}")
                time.sleep(0.2)
            yield process
        finally:
            _stop(process)


def _celery_environment(smtp_port: int) -> dict[str, str]:
    """A Celery process's environment: this test's database, Redis and SMTP server."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": this_test_database_url(),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": "config.mail.SMTPBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONWARNINGS": "ignore",
    }


def _wait_until_ready(process: subprocess.Popen, node: str, log_path: Path) -> None:
    deadline = time.monotonic() + WORKER_READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"The worker exited early:\n{log_path.read_text()[-4000:]}")
        if celery_app.control.ping(destination=[node], timeout=0.5):
            return
    raise AssertionError(f"The worker did not start:\n{log_path.read_text()[-4000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # warm shutdown: finish the task in hand
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: this worker and its children
        process.wait(timeout=10)
