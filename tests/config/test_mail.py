"""The site's SMTP backend: ordinary e-mails go out Django's way, ready-made bytes as they are."""

from django.core.mail import get_connection

from config.mail import compose_email
from tests.courses.dispatch_helpers import smtp_server


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
