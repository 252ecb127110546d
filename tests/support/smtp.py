"""A loopback SMTP server for delivery tests: aiosmtpd speaks SMTP on a real socket.

Only what is outside the machine, the mail provider, is stood in for, and it is stood in for at
the wire: the site's real SMTP backend talks to it through smtplib.
"""

import asyncio
import email
import email.policy
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.support.network import free_port


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
