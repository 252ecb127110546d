"""Real services for the lesson e-mail tests: a loopback SMTP server and a Celery worker.

Both are real (aiosmtpd speaks SMTP on a socket; the worker is ``celery -A config worker`` in a
subprocess on Redis): only what is outside the machine, the mail provider, is stood in for, and
it is stood in for at the wire.
"""

import asyncio
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import redis
from aiosmtpd.controller import Controller
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection

from config.celery import app as celery_app

PROJECT_DIR = Path(__file__).resolve().parents[2]
WORKER_READY_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpSink:
    """An aiosmtpd handler that keeps what it receives and can refuse on cue.

    ``data_replies``: replies to give, in order, to the next DATA commands instead of accepting
    (e.g. ``"451 4.3.0 Try again later"``); ``always_reply``: a reply to every DATA command;
    ``refuse_recipients``: a reply to RCPT TO per address (e.g. ``"550 5.1.1 No such user"``);
    ``data_delay``: seconds to take over each DATA (a slow provider, so a batch lasts a while).
    """

    def __init__(
        self,
        *,
        data_replies: list[str] | None = None,
        always_reply: str | None = None,
        refuse_recipients: dict[str, str] | None = None,
        data_delay: float = 0.0,
    ):
        self.data_delay = data_delay
        self.data_replies = deque(data_replies or [])
        self.always_reply = always_reply
        self.refuse_recipients = refuse_recipients or {}
        # Kept as received; parsed when a test reads ``messages``, so that the server spends
        # no time parsing while a benchmark measures it.
        self.received: list[bytes] = []
        # The client (host, port) of every mail transaction: one per SMTP connection.
        self.sessions: set[tuple[str, int]] = set()
        self.refused = 0
        self._lock = threading.Lock()
        self.host = "127.0.0.1"
        self.port = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self._lock:
            self.sessions.add(tuple(session.peer[:2]))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_recipients:
            with self._lock:
                self.refused += 1
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        with self._lock:
            if self.always_reply or self.data_replies:
                self.refused += 1
                return self.always_reply or self.data_replies.popleft()
            self.received.append(envelope.original_content or envelope.content)
        return "250 2.0.0 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        """The messages received so far, parsed.

        A method, not a property: aiosmtpd inspects the handler's members on every new
        connection, and would parse every message each time.
        """
        with self._lock:
            received = list(self.received)
        return [
            email.message_from_bytes(content, policy=email.policy.default) for content in received
        ]

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.received)

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self.sessions)


@contextmanager
def smtp_server(sink: SmtpSink | None = None) -> Iterator[SmtpSink]:
    """Run ``sink`` on a free loopback port for the duration of the block."""
    sink = sink or SmtpSink()
    sink.port = free_port()
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def smtp_settings(settings_fixture, sink: SmtpSink) -> None:
    """Point this process's mail at ``sink`` (pytest-django's ``settings`` fixture undoes it)."""
    settings_fixture.EMAIL_BACKEND = "config.mail.SMTPBackend"
    settings_fixture.EMAIL_HOST = sink.host
    settings_fixture.EMAIL_PORT = sink.port
    settings_fixture.EMAIL_USE_TLS = False
    settings_fixture.EMAIL_HOST_USER = ""
    settings_fixture.EMAIL_HOST_PASSWORD = ""


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str, poll: float = 0.1):
    """Poll ``condition`` until true; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(poll)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")


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
    *, smtp_port: int, log_path: Path, concurrency: int = 1
) -> Iterator[RunningWorker]:
    """``celery -A config worker`` in a subprocess on this test's database, Redis and sink.

    Yields the worker once it answers a ping; always stopped on the way out (warm shutdown,
    then a kill of its own process group if it hangs).
    """
    node = f"dispatch-test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    env = {
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


class TimeLimitAfter(locmem.EmailBackend):
    """The in-memory backend, but Celery's soft time limit strikes after ``accept`` messages.

    Stands in for the signal Celery raises inside a task that runs too long.
    """

    accept = 0

    def send_messages(self, messages):
        if len(mail.outbox) >= self.accept:
            raise SoftTimeLimitExceeded()
        return super().send_messages(messages)


def claim_token_of(delivery_ids: list[int]) -> str:
    """The claim token the dispatcher gave ``delivery_ids`` (what their send task carries)."""
    from courses.models import LessonDelivery

    tokens = set(
        LessonDelivery.objects.filter(pk__in=delivery_ids).values_list("claim_token", flat=True)
    )
    assert len(tokens) == 1 and None not in tokens, tokens
    return str(tokens.pop())
