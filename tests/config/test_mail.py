"""The site's SMTP backend: ordinary e-mails go out Django's way, ready-made bytes as they are."""

import pytest
from django.core.mail import get_connection
from django.core.mail.message import sanitize_address

from config.mail import PLAIN_ADDRESS, compose_email, envelope_address
from tests.support.smtp import smtp_server


def backend(sink):
    return get_connection(
        "config.mail.SMTPBackend", host=sink.host, port=sink.port, use_tls=False, timeout=10
    )


def test_an_email_without_wire_bytes_goes_out_as_django_writes_it():
    message = compose_email(to="ada@example.com", subject="Hello", text="Hi Ada", html="<p>Hi</p>")

    with smtp_server() as sink:
        sent = backend(sink).send_messages([message])
        [received] = sink.messages()

    assert sent == 1
    assert received["To"] == "ada@example.com" and received["Subject"] == "Hello"
    assert [part.get_content_type() for part in received.iter_parts()] == [
        "text/plain",
        "text/html",
    ]


def test_an_email_with_wire_bytes_goes_out_as_exactly_those_bytes():
    message = compose_email(to="ada@example.com", subject="Hello", text="Hi Ada", html="<p>Hi</p>")
    message.wire_bytes = b"Subject: Made ahead\r\nTo: ada@example.com\r\n\r\nThe body.\r\n"

    with smtp_server() as sink:
        sent = backend(sink).send_messages([message])

    assert sent == 1
    assert sink.received == [message.wire_bytes]


@pytest.mark.parametrize(
    ("address", "plain"),
    [
        ("ada@example.com", True),
        ("bo.o'neil+bread@mail.example.co.uk", True),
        ("microcourses <hello@courses.example.com>", False),
        ("zoë@example.com", False),
        ("ada@bücher.example", False),
        ('"ada lovelace"@example.com', False),
        ("a..b@example.com", False),
    ],
)
def test_envelope_address_is_djangos_sanitized_address(address, plain):
    assert bool(PLAIN_ADDRESS.fullmatch(address)) is plain
    assert envelope_address(address, "utf-8") == sanitize_address(address, "utf-8")
